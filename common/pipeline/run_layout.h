// The run directory, declared once: every path a run holds (docs: results/README.md). A
// directory of the run is a `run_dir_item` whose path run_path() makes from the settings
// (a config key may rename it: effect.output, train.name, ...); a file inside one is a
// `run_file_item` whose name run_file() makes (numbered ones: ckpt-<step>.h5, shard-<i>.h5).
// The stages, the step graph (steps.c), the freshness rule (freshness.c) and the report take
// their paths from here, so one grep of a name finds the one place it is spelled.
//
// defines: run_dir_item, run_file_item, run_layout_check, run_path, run_file, run_file_in,
//          run_file_number, run_list, run_shard_files, run_resolve, run_round_name, run_data_path, run_dir_name, run_record_path, run_relative
#ifndef NQ_RUN_LAYOUT_H
#define NQ_RUN_LAYOUT_H

#include <stdio.h>

#include "settings/settings.h"

typedef enum {
  RUN_CORPUS,          // data/synth.jsonl: nq-synth's benchmark (synth.output: cwd-relative)
  RUN_SHARDS,          // shards/: nq-shard's shard files
  RUN_SHARDS_NEXT,     // shards.tmp/: nq-shard's shards before they are published
  RUN_TOKENIZER,       // tokenizer.json: the shards' tokenizer
  RUN_TOKENIZER_NEXT,  // tokenizer.next.json: the tokenizer before it is published
  RUN_EFFECTS,         // effects/ (effect.output): nq-effect's files, one per shard
  RUN_EFFECTS_READ,    // effects/ (annotate.effects): what nq-annotate reads
  RUN_ANNOTATIONS,     // annotations/ (annotate.output): nq-annotate's files, one per shard
  RUN_WEIGHTS,         // annotations/ (train.annotations): what nq-train's NextQuill reads
  RUN_TRAIN,           // <train.name>/: a training run's checkpoints, model, metrics
  RUN_EVAL,            // eval/ (eval.output): nq-eval's predictions, metrics, tables
  RUN_REPORT,          // report/: nq-report's page and figures
  RUN_LOCKS,           // locks/: one lock file per running stage (stage_lock.c)
  RUN_STAMPS,          // stamps/: one stamp per step (freshness.c)
  RUN_LOGS,            // logs/: one log per step (jobs/run-local.sh, jobs/submit.sh)
  RUN_SEEDS,           // seeds/: the summary across seeds (run-local.sh --seeds, nq-seeds)
  RUN_SWEEP,           // sweep/: a sweep's points (jobs/submit.sh --sweep)
  RUN_N_DIRS
} run_dir_item;

typedef enum {
  RUN_SHARD_FILE,      // shard-<i, 5 digits>.h5 in shards/, effects/, annotations/
  RUN_SUMMARY_JSON,    // summary.json in annotations/
  RUN_CKPT,            // ckpt-<step, 6 digits>.h5 in a training run
  RUN_MODEL,           // model.h5: a finished run's model (LoRA: merged)
  RUN_METRICS,         // metrics.h5: a training run's loss curves
  RUN_ADAPTER,         // adapter.h5: a LoRA run's adapters
  RUN_USER_GROUP,      // users/group-<g, 4 digits>.h5: per-user adapters
  RUN_PREDICTIONS,     // predictions.jsonl in an eval directory
  RUN_EVAL_METRICS,    // metrics.json in an eval directory
  RUN_SUMMARY_MD,      // summary.md: an eval directory's (or nq-seeds') table
  RUN_SUMMARY_CSV,     // summary.csv: the same table for scripts
  RUN_PAGE,            // index.html in report/
  RUN_FIGURE,          // <name>.svg in report/ (run_file_in's `name`)
  RUN_STAMP,           // <output> in stamps/: the stamp record of one output (run_record_path)
  RUN_LOG,             // <step>.log in logs/
  RUN_LOCK,            // <stage>[.<name>].lock in locks/
  RUN_SEED_DIR,        // seed-<s>/ in the run directory (run-local.sh --seeds)
  RUN_POINTS,          // points.tsv in sweep/: a sweep's points (jobs/submit.sh --sweep)
  RUN_DIGESTS,         // .digests in stamps/: the content digests of the run's files, cached
  RUN_N_FILES
} run_file_item;

// The directory item called `id` ("shards", "logs", ...: nq-config --path), or -1; the ids,
// comma separated, to `out`.
int run_dir_item_named(const char *id);
void run_dir_item_ids(FILE *out);
// Stops with one line naming the key when a config key that names a directory of the run
// (train.name, effect.output, annotate.effects, annotate.output, train.annotations,
// eval.output) is not one plain name inside run_dir (settings/run_name.h); stages call it at
// start, run_path and run_dir_name check their own key again.
void run_layout_check(const settings *s);
// The directory `d` of the run `s` describes (created on demand by the caller): under
// run_dir, named by its key or by default (synth.output: as given, cwd-relative); caller frees.
char *run_path(const settings *s, run_dir_item d);
// The same directory's name relative to run_dir ("effects_r2", "nextquill"); NULL when the
// config puts it elsewhere (synth.output given). Caller frees.
char *run_dir_name(const settings *s, run_dir_item d);
// File `f` in `dir`: numbered ones take `n` (step, shard or group index), RUN_FIGURE,
// RUN_STAMP, RUN_LOG and RUN_LOCK a name; caller frees.
char *run_file(const char *dir, run_file_item f, long n);
char *run_file_in(const char *dir, run_file_item f, const char *name);
// The number of the file name `name` (no folder) of the numbered kind `f` ("ckpt-000012.h5":
// 12), or -1 when run_file would never make that name ("ckpt-12.h5", "junk.h5").
long run_file_number(run_file_item f, const char *name);
// The numbers of the files `f` (a numbered kind) in `dir`, ascending (*nums: caller frees);
// their count. A missing directory has none.
int run_list(const char *dir, run_file_item f, long **nums);
// The shard files in `dir` (shards/, or the shard-named files of effects/, annotations/), in
// index order (*n of them; caller frees each and the array); with `check`, verified as one
// complete set written by one nq-shard run (files/shards_file.h), else stop.
char **run_shard_files(const char *dir, int *n, int check);
// A path the user gives for a run's file (train.init, train.reference, eval.models values):
// "" is none (NULL), absolute stays, relative is under run_dir. Caller frees.
char *run_resolve(const settings *s, const char *p);
// The part of `path` under `run_dir` ("shards/shard-00000.h5"), or NULL when it is not inside.
const char *run_relative(const char *run_dir, const char *path);
// The stamp record of output `path` (pipeline/freshness.h): stamps/<path relative to run_dir>
// for an output in the run directory, else <path>.stamp beside it. Caller frees.
char *run_record_path(const char *run_dir, const char *path);
// The stamps folder of the run directory `run_dir` (caller frees).
char *run_stamps_dir(const char *run_dir);
// data.files / data.split_files / data.targets.files entry `p` with its "{run_dir}" replaced.
char *run_data_path(const settings *s, const char *p);
// The name of round k of pipeline.rounds for a directory kind (RUN_EFFECTS: effects_r<k>;
// RUN_ANNOTATIONS: annotations_r<k>) or of a training run (RUN_TRAIN with `run`: <run>_r<k>);
// round 1 is the plain name. Caller frees.
char *run_round_name(run_dir_item d, const char *run, int k);

#endif
