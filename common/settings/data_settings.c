// Keys of the `data` section (the corpus and how its records become prompts); each row
// names the data_settings member its value lands in.
#include "settings/data_settings.h"

#include <stddef.h>
#include <string.h>

#include "base/log.h"
#include "base/records.h"

#define F(m) offsetof(data_settings, m)

const cfg_key data_keys[] = {
    {"data.files", CFG_STRING_LIST, "[]", CFG_NO_RANGE, NULL,
     "corpus files whose records carry their split (data.fields.split) or get one by user hash; "
     "JSONL or a JSON array (\"{run_dir}\" in a path is replaced by run_dir)", F(files)},
    {"data.split_files.train", CFG_STRING_LIST, "[]", CFG_NO_RANGE, NULL,
     "files (or globs) whose records are all train samples, whatever their split field", F(split_files.train)},
    {"data.split_files.valid", CFG_STRING_LIST, "[]", CFG_NO_RANGE, NULL,
     "files (or globs) whose records are all valid samples", F(split_files.valid)},
    {"data.split_files.test", CFG_STRING_LIST, "[]", CFG_NO_RANGE, NULL,
     "files (or globs) whose records are all test samples", F(split_files.test)},
    {"data.format", CFG_CHOICE, "\"auto\"", CFG_NO_RANGE, "auto|jsonl|json",
     "input file format: auto = per file, a JSON array if its first byte is '[', else JSONL", F(format)},
    {"data.records", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "in a JSON file: dotted path of the record list inside the top-level object (\"\" = the file is the list)", F(records)},
    {"data.targets.files", CFG_STRING_LIST, "[]", CFG_NO_RANGE, NULL,
     "files holding the targets, joined to the records by id (LaMP's *_outputs.json); [] = targets are in the records", F(targets.files)},
    {"data.targets.records", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "dotted path of the record list in a targets file (LaMP: \"golds\"; \"\" = JSONL or a top-level array)", F(targets.records)},
    {"data.targets.id", CFG_STRING, "\"id\"", CFG_NO_RANGE, NULL,
     "field of a targets record with the sample id (matched to data.fields.id)", F(targets.id)},
    {"data.targets.target", CFG_STRING, "\"output\"", CFG_NO_RANGE, NULL,
     "field of a targets record with the target text (replaces data.fields.target)", F(targets.target)},
    {"data.fields.id", CFG_STRING, "\"id\"", CFG_NO_RANGE, NULL,
     "field with the sample id; \"\" = the file name and record number (\"train.jsonl:12\", \"q.json[3]\")", F(fields.id)},
    {"data.fields.user", CFG_STRING, "\"user_id\"", CFG_NO_RANGE, NULL, "field with the user id", F(fields.user)},
    {"data.fields.history", CFG_STRING, "\"profile\"", CFG_NO_RANGE, NULL,
     "field with the user's history: an array of objects", F(fields.history)},
    {"data.fields.target", CFG_STRING, "\"output\"", CFG_NO_RANGE, NULL, "field with the target text", F(fields.target)},
    {"data.fields.history_order", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "field of a history item to order by (newest = largest); \"\" = file order, newest last", F(fields.history_order)},
    {"data.fields.query", CFG_STRING, "\"input\"", CFG_NO_RANGE, NULL,
     "field with the sample's query text: what data.history_select = \"bm25\" ranks the history items "
     "against", F(fields.query)},
    {"data.fields.split", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "field with train/valid/test; \"\" = split_fallback by a hash of the user", F(fields.split)},
    {"data.fields.truth_spans", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "field with planted preference spans [[start,end],...] (byte offsets into the target)", F(fields.truth_spans)},
    {"data.fields.truth_rare", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "field with one boolean per truth span: the span's preference is rare", F(fields.truth_rare)},
    {"data.fields.truth_decisive", CFG_STRING, "\"\"", CFG_NO_RANGE, NULL,
     "field with the history-decisive spans [[start,end],...] (byte offsets; nq-synth: the first "
     "word of each planted span); needs truth_spans", F(fields.truth_decisive)},
    {"data.prompt_template", CFG_STRING, "\"{history}[Query] {input}\\n[Response] \"", CFG_NO_RANGE, NULL,
     "prompt; {field} / {a.b} from the record, {field:N} at most N tokens, {history} = the rendered history items", F(prompt_template)},
    {"data.history_item_template", CFG_STRING, "\"[Past] {title}: {text}\\n\"", CFG_NO_RANGE, NULL,
     "one history item; {field} from the item ({field:N}: at most N tokens)", F(history_item_template)},
    {"data.empty_history", CFG_STRING, "\"[Past] None\\n\"", CFG_NO_RANGE, NULL,
     "{history} of the without-history prompt (and of users with no usable history)", F(empty_history)},
    {"data.max_history_items", CFG_INT, "8", 0, 100000, NULL,
     "history items kept at most (K): the newest (recent) or the K of highest BM25 score (bm25)", F(max_history_items)},
    {"data.history_select", CFG_CHOICE, "\"recent\"", CFG_NO_RANGE, "recent|bm25",
     "which history items a prompt shows: the newest K, or the K most relevant to the query field by BM25 "
     "over the sample's own history items (ties: the newer item); docs/data.md", F(history_select)},
    {"data.bm25_k1", CFG_FLOAT, "1.2", 0, 100, NULL, "BM25 term-frequency saturation k1", F(bm25_k1)},
    {"data.bm25_b", CFG_FLOAT, "0.75", 0, 1, NULL, "BM25 length normalisation b", F(bm25_b)},
    {"data.max_prompt_tokens", CFG_INT, "768", 1, 1048576, NULL,
     "prompt budget: oldest history items are dropped until the prompt fits", F(max_prompt_tokens)},
    {"data.truncate", CFG_CHOICE, "\"end\"", CFG_NO_RANGE, "end|start",
     "a template field over its budget ({input:256}) loses its end (keeps its first tokens) or its start", F(truncate)},
    {"data.max_target_tokens", CFG_INT, "256", 2, 1048576, NULL,
     "target tokens at most, including <|endoftext|> (longer targets are truncated)", F(max_target_tokens)},
    {"data.split_fallback.valid_fraction", CFG_FLOAT, "0.05", 0, 1, NULL,
     "share of users in valid when there is no split field", F(split_fallback.valid_fraction)},
    {"data.split_fallback.test_fraction", CFG_FLOAT, "0.05", 0, 1, NULL,
     "share of users in test when there is no split field", F(split_fallback.test_fraction)},
    {"data.on_bad_record", CFG_CHOICE, "\"fail\"", CFG_NO_RANGE, "fail|skip",
     "a malformed record stops the stage (fail) or is counted and skipped (skip)", F(on_bad_record)},
    {NULL, 0, NULL, 0, 0, NULL, NULL, 0},
};

_Static_assert(REC_AUTO == 0 && REC_JSONL == 1 && REC_JSON == 2, "data.format's choices follow rec_format");

void data_settings_check(const data_settings *d, const char *file) {
  if (d->split_fallback.valid_fraction + d->split_fallback.test_fraction > 1.0)
    fatal("%s: data.split_fallback: valid_fraction + test_fraction must be <= 1", file);
  if (*d->fields.truth_rare && !*d->fields.truth_spans)
    fatal("%s: data.fields.truth_rare needs data.fields.truth_spans", file);
  if (*d->fields.truth_decisive && !*d->fields.truth_spans)
    fatal("%s: data.fields.truth_decisive needs data.fields.truth_spans", file);
  if (strstr(d->prompt_template, "{history:"))
    fatal("%s: data.prompt_template: {history} takes no token budget (items are dropped to fit "
          "data.max_prompt_tokens; give the item template's fields budgets instead)", file);
  if (!strstr(d->prompt_template, "{history}"))
    fatal("%s: data.prompt_template must contain {history}", file);
  if (d->history_select == DATA_SELECT_BM25 && !*d->fields.query)
    fatal("%s: data.history_select = \"bm25\" needs data.fields.query (the field ranked against)", file);
  if (!*d->fields.user) fatal("%s: data.fields.user must name a field", file);
  if (d->targets.files.n > 0 && !*d->fields.id)
    fatal("%s: data.targets needs data.fields.id: the records are joined to their targets by id", file);
}
