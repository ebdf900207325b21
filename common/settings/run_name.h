// A config value that becomes a file or folder name inside run_dir (train.name, each
// pipeline.train_runs entry, effect.output, annotate.output, eval.output, ...): one plain
// name, so every path the run layout makes from it stays inside run_dir (docs/reliability.md,
// "run_dir and paths"). Paths outside run_dir are given by other keys (data.files,
// effect.model, model.path, tokenizer.path, train.init, eval.models values) and not checked here.
//
// defines: run_name_problem, run_name_check
#ifndef NQ_RUN_NAME_H
#define NQ_RUN_NAME_H

// What is wrong with `value` as a name inside run_dir ("contains '/'", ...), or NULL: empty,
// absolute, a '/', a leading '.' (".", "..", hidden files), a control character.
const char *run_name_problem(const char *value);
// Stops with one line naming the file, the key and the value when `value` is not a plain name.
void run_name_check(const char *file, const char *key, const char *value);

#endif
