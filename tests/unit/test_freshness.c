// freshness + steps: stamps and states of a tiny fake run (outputs made by hand, records
// written by freshness_record): current for the same settings, stale when a section the stage
// reads changes, when a recorded output changes or goes, or when what it read was made again;
// current after copying the run elsewhere; the step graph's stamps and states agree with the
// invocations'; pipeline_graph_print's columns.
#include "nqtest.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "pipeline/freshness.h"
#include "pipeline/run_layout.h"
#include "pipeline/stages.h"
#include "pipeline/steps.h"
#include "settings/settings.h"

// ---- a fake run -----------------------------------------------------------------------------

typedef struct {
  char *base;     // scratch directory
  char *run_dir;  // base/run
  char *cfg;      // base/t.cfg
  char *corpus;   // base/corpus.jsonl: data.files, read by shard, made by no step
  char *ref;      // base/ref.h5: effect.model, made by no step
} fake_run;

// The graph of this config: shard, effect, annotate, eval (no training run, no synth step);
// `pipeline`: another pipeline section.
static void write_config(const fake_run *r, const char *cfg, const char *run_dir, const char *pipeline) {
  char text[4096];
  snprintf(text, sizeof text,
           "name = \"fr\";\nrun_dir = \"%s\";\nseed = 1;\n"
           "data: { files = [\"%s\"]; };\n"
           "effect: { model = \"%s\"; };\n"
           "eval: { models: { ref = \"ref/model.h5\"; }; cos_models = []; nohist_models = []; baseline = \"\"; };\n"
           "%s\n",
           run_dir, r->corpus, r->ref, pipeline ? pipeline : "pipeline: { train_runs = []; synth = \"never\"; };");
  nqtest_write(cfg, text);
}

static fake_run run_new(const char *pipeline) {
  fake_run r;
  r.base = nqtest_tmpdir();
  r.run_dir = path_join(r.base, "run");
  r.cfg = path_join(r.base, "t.cfg");
  r.corpus = path_join(r.base, "corpus.jsonl");
  r.ref = path_join(r.base, "ref.h5");
  make_dirs(r.run_dir);
  nqtest_write(r.corpus, "{\"id\": 1}\n");
  nqtest_write(r.ref, "reference model bytes");
  write_config(&r, r.cfg, r.run_dir, pipeline);
  return r;
}

static void run_free(fake_run *r) {
  nqtest_rmrf(r->base);
  free(r->base), free(r->run_dir), free(r->cfg), free(r->corpus), free(r->ref);
}

// Each test: a fresh fake run, removed after the test (also when it fails).
static fake_run R;
static int run_setup(void **st) {
  (void)st;
  R = run_new(NULL);
  return 0;
}
static int run_teardown(void **st) {
  (void)st;
  run_free(&R);
  return 0;
}

static void invoke_cfg(fresh_invocation *f, const char *cfg, const char *stage, const char *const *sets, int n) {
  const stage_info *info = stage_find(stage);
  if (!info) fail_msg("no stage %s", stage);
  settings *s = settings_load(cfg, sets, n);
  freshness_invocation(f, s, info);
  settings_free(s);
}
static void invoke(fresh_invocation *f, const fake_run *r, const char *stage, const char *const *sets, int n) {
  invoke_cfg(f, r->cfg, stage, sets, n);
}

// An output as a stage would leave it: a file, or a directory with a shard file in it.
static void make_output(const char *path, const char *tag) {
  const char *base = strrchr(path, '/');
  if (strchr(base ? base + 1 : path, '.')) {
    char *d = xstrdup(path);
    char *slash = strrchr(d, '/');
    if (slash) *slash = 0, make_dirs(d);
    free(d);
    nqtest_write(path, tag);
    return;
  }
  make_dirs(path);
  char *p = run_file(path, RUN_SHARD_FILE, 0);
  nqtest_write(p, tag);
  free(p);
}

// Runs `stage` by hand: its outputs made (content `tag`) and its record written; its stamp.
static void make_step_cfg(const char *cfg, const char *stage, const char *const *sets, int n, const char *tag,
                          char stamp[65]) {
  fresh_invocation f;
  invoke_cfg(&f, cfg, stage, sets, n);
  for (int i = 0; i < f.n_outputs; i++) make_output(f.outputs[i], tag);
  freshness_record(&f);
  if (stamp) memcpy(stamp, f.stamp, 65);
  freshness_invocation_free(&f);
}
static void make_step(const fake_run *r, const char *stage, const char *const *sets, int n, const char *tag,
                      char stamp[65]) {
  make_step_cfg(r->cfg, stage, sets, n, tag, stamp);
}

// The state of `stage` now (why and stamp copied out when non-NULL).
static fresh_state state_cfg(const char *cfg, const char *stage, const char *const *sets, int n, char *why,
                             char *stamp) {
  fresh_invocation f;
  invoke_cfg(&f, cfg, stage, sets, n);
  fresh_state st = f.state;
  if (why) snprintf(why, 512, "%s", f.why);
  if (stamp) memcpy(stamp, f.stamp, 65);
  freshness_invocation_free(&f);
  return st;
}
static fresh_state state(const fake_run *r, const char *stage, const char *const *sets, int n, char *why, char *stamp) {
  return state_cfg(r->cfg, stage, sets, n, why, stamp);
}

static const char *state_name(fresh_state s) {
  return s == FRESH_CURRENT ? "current" : s == FRESH_STALE ? "stale" : s == FRESH_NOT_RUN ? "not run" : "?";
}

#define assert_state(got, want, why)                                                                 \
  do {                                                                                               \
    fresh_state g_ = (got);                                                                          \
    if (g_ != (want)) fail_msg("state %s (%s), want %s", state_name(g_), (why), state_name(want));   \
  } while (0)

static void assert_stale_why(fresh_state got, const char *why, const char *needle) {
  assert_state(got, FRESH_STALE, why);
  if (!strstr(why, needle)) fail_msg("why '%s' lacks '%s'", why, needle);
}

static char *in_run(const fake_run *r, const char *rel) { return path_join(r->run_dir, rel); }

static void write_in_run(const fake_run *r, const char *rel, const char *text) {
  char *p = in_run(r, rel);
  nqtest_write(p, text);
  free(p);
}

// ---- one invocation ---------------------------------------------------------------------------

static void test_invocation_not_run_before_outputs_exist(void **st) {
  (void)st;
  fake_run r = R;
  fresh_invocation f;
  invoke(&f, &r, "shard", NULL, 0);
  assert_state(f.state, FRESH_NOT_RUN, f.why);
  assert_string_equal(f.why, "");
  assert_int_equal(f.n_outputs, 2);
  char *shards = in_run(&r, "shards"), *tok = in_run(&r, "tokenizer.json"), *rec = in_run(&r, "stamps/shards");
  assert_string_equal(f.outputs[0], shards);
  assert_string_equal(f.outputs[1], tok);
  assert_string_equal(f.record, rec);
  assert_int_equal(strlen(f.stamp), 64);
  free(shards), free(tok), free(rec);
  freshness_invocation_free(&f);
}

static void test_outputs_without_record_are_stale(void **st) {
  (void)st;
  fake_run r = R;
  char *shards = in_run(&r, "shards");
  make_output(shards, "s");
  free(shards);
  char why[512];
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, "it has no stamp record");
}

static void test_recorded_step_is_current(void **st) {
  (void)st;
  fake_run r = R;
  char made[65], now[65], why[512];
  make_step(&r, "shard", NULL, 0, "shards v1", made);
  assert_state(state(&r, "shard", NULL, 0, why, now), FRESH_CURRENT, why);
  assert_string_equal(why, "");
  assert_string_equal(now, made);
  // the record: its stamp, the stage, the sections it reads, the file it read, its outputs
  char *rec = in_run(&r, "stamps/shards");
  char *text = read_file(rec, NULL);
  assert_non_null(text);
  char want[256];
  snprintf(want, sizeof want, "stamp %s\n", made);
  assert_memory_equal(text, want, strlen(want));
  const char *lines[] = {"\nstage shard 1\n", "\nconfig seed ", "\nconfig data ", "\nconfig tokenizer ",
                         "\nconfig shard ", "\noutput shards ", "\noutput tokenizer.json "};
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    if (!strstr(text, lines[i])) fail_msg("record lacks '%s':\n%s", lines[i], text);
  snprintf(want, sizeof want, "\nfile %s ", r.corpus);
  assert_non_null(strstr(text, want));
  assert_null(strstr(text, "config model "));
  free(text), free(rec);
}

static void test_changed_read_section_makes_stale(void **st) {
  (void)st;
  fake_run r = R;
  char made[65], now[65], why[512];
  make_step(&r, "shard", NULL, 0, "shards v1", made);
  static const struct { const char *set, *section; } cases[] = {
      {"shard.count=2", "shard"},
      {"data.max_history_items=2", "data"},
      {"data.fields.id=rid", "data"},
      {"tokenizer.vocab_size=300", "tokenizer"},
      {"seed=2", "seed"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *sets[] = {cases[i].set};
    char want[128];
    snprintf(want, sizeof want, "made with another '%s' config", cases[i].section);
    assert_stale_why(state(&r, "shard", sets, 1, why, now), why, want);
    assert_string_not_equal(now, made);
  }
  assert_state(state(&r, "shard", NULL, 0, why, NULL), FRESH_CURRENT, why);   // unchanged by asking
}

static void test_changed_unread_section_keeps_current(void **st) {
  (void)st;
  fake_run r = R;
  char made[65], now[65], why[512];
  make_step(&r, "shard", NULL, 0, "shards v1", made);
  const char *sets[] = {"model.dim=64", "train.steps=3", "eval.max_samples=5", "effect.micro_batch=2",
                        "annotate.hi=0.5", "pipeline.ranks=3", "name=other", "synth.users=7"};
  for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
    assert_state(state(&r, "shard", &sets[i], 1, why, now), FRESH_CURRENT, why);
    assert_string_equal(now, made);
  }
  assert_state(state(&r, "shard", sets, (int)(sizeof sets / sizeof sets[0]), why, now), FRESH_CURRENT, why);
}

static void test_changed_output_makes_stale(void **st) {
  (void)st;
  fake_run r = R;
  char why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  write_in_run(&r, "tokenizer.json", "another tokenizer");
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, "tokenizer.json changed since it was written");
  write_in_run(&r, "tokenizer.json", "v1");   // the recorded bytes again: content, not time, counts
  assert_state(state(&r, "shard", NULL, 0, why, NULL), FRESH_CURRENT, why);
  write_in_run(&r, "shards/shard-00000.h5", "other shard bytes");   // a file inside an output directory
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, "shards changed since it was written");
  write_in_run(&r, "shards/shard-00000.h5", "v1");
  assert_state(state(&r, "shard", NULL, 0, why, NULL), FRESH_CURRENT, why);
  write_in_run(&r, "shards/shard-00001.h5", "v1");   // a file more
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, "shards changed since it was written");
}

static void test_tmp_files_in_output_do_not_count(void **st) {
  (void)st;
  fake_run r = R;
  char why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  write_in_run(&r, "shards/shard-00001.h5.tmp", "half written");
  assert_state(state(&r, "shard", NULL, 0, why, NULL), FRESH_CURRENT, why);
}

static void test_missing_output_makes_stale(void **st) {
  (void)st;
  fake_run r = R;
  char why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  char *tok = in_run(&r, "tokenizer.json"), *shards = in_run(&r, "shards");
  assert_int_equal(unlink(tok), 0);
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, "tokenizer.json is missing");
  make_output(tok, "v1");
  assert_state(state(&r, "shard", NULL, 0, why, NULL), FRESH_CURRENT, why);
  nqtest_rmrf(shards);   // the primary output: its record is still there
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, "shards is missing");
  free(tok), free(shards);
}

static void test_changed_outside_file_makes_stale(void **st) {
  (void)st;
  fake_run r = R;
  char why[512], want[600];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  nqtest_write(r.corpus, "{\"id\": 1}\n{\"id\": 2}\n");
  snprintf(want, sizeof want, "file %s changed since", r.corpus);
  assert_stale_why(state(&r, "shard", NULL, 0, why, NULL), why, want);
}

// A copy of the run (new paths, new inodes, other times) keeps its stamps: fingerprints are of
// the content and paths in the run are recorded relative to it.
static void test_copied_run_stays_current(void **st) {
  (void)st;
  fake_run r = R;
  char shard[65], effect[65], now[65], why[512];
  make_step(&r, "shard", NULL, 0, "v1", shard);
  make_step(&r, "effect", NULL, 0, "e1", effect);
  char *copy = path_join(r.base, "copy_of_run"), *cfg2 = path_join(r.base, "copy.cfg"), cmd[2048];
  snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && find '%s' -exec touch -d '2001-02-03 04:05:06' {} +", r.run_dir,
           copy, copy);
  assert_int_equal(system(cmd), 0);
  write_config(&r, cfg2, copy, NULL);
  assert_state(state_cfg(cfg2, "shard", NULL, 0, why, now), FRESH_CURRENT, why);
  assert_string_equal(now, shard);
  assert_state(state_cfg(cfg2, "effect", NULL, 0, why, now), FRESH_CURRENT, why);
  assert_string_equal(now, effect);
  // and the copy is checked, not the original: a change in the copy is seen
  char *tok = path_join(copy, "tokenizer.json");
  nqtest_write(tok, "changed in the copy");
  assert_stale_why(state_cfg(cfg2, "shard", NULL, 0, why, NULL), why, "tokenizer.json changed since it was written");
  assert_state(state(&r, "shard", NULL, 0, why, NULL), FRESH_CURRENT, why);
  free(tok), free(copy), free(cfg2);
}

// ---- a step and what it reads -------------------------------------------------------------------

static void test_downstream_records_upstream_stamp(void **st) {
  (void)st;
  fake_run r = R;
  char shard[65], why[512];
  make_step(&r, "shard", NULL, 0, "v1", shard);
  fresh_invocation f;
  invoke(&f, &r, "effect", NULL, 0);
  assert_state(f.state, FRESH_NOT_RUN, f.why);
  char want[256];
  snprintf(want, sizeof want, "\ninput shards %s\n", shard);
  if (!strstr(f.body, want)) fail_msg("effect's stamp body lacks '%s':\n%s", want + 1, f.body);
  snprintf(want, sizeof want, "\nfile %s ", r.ref);   // its model: made by no step
  assert_non_null(strstr(f.body, want));
  int files = 0;
  for (const char *p = strstr(f.body, "\nfile "); p; p = strstr(p + 1, "\nfile ")) files++;
  assert_int_equal(files, 1);   // the shards are an input, not a file
  for (int i = 0; i < f.n_outputs; i++) make_output(f.outputs[i], "e1");
  freshness_record(&f);
  freshness_invocation_free(&f);
  assert_state(state(&r, "effect", NULL, 0, why, NULL), FRESH_CURRENT, why);
}

static void test_downstream_stale_when_upstream_made_again(void **st) {
  (void)st;
  fake_run r = R;
  char s1[65], s2[65], why[512];
  make_step(&r, "shard", NULL, 0, "v1", s1);
  make_step(&r, "effect", NULL, 0, "e1", NULL);
  const char *other[] = {"shard.count=2"};
  make_step(&r, "shard", other, 1, "v2", s2);   // made again with another config
  assert_string_not_equal(s1, s2);
  assert_state(state(&r, "shard", other, 1, why, NULL), FRESH_CURRENT, why);
  assert_stale_why(state(&r, "effect", NULL, 0, why, NULL), why, "its input shards was made again since");
  // effect reads no 'shard' section: the same effect invocation with the override is stale too
  assert_stale_why(state(&r, "effect", other, 1, why, NULL), why, "its input shards was made again since");
  make_step(&r, "effect", NULL, 0, "e2", NULL);
  assert_state(state(&r, "effect", NULL, 0, why, NULL), FRESH_CURRENT, why);
}

static void test_downstream_stale_when_upstream_output_changed(void **st) {
  (void)st;
  fake_run r = R;
  char why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  make_step(&r, "effect", NULL, 0, "e1", NULL);
  write_in_run(&r, "tokenizer.json", "edited by hand");
  assert_stale_why(state(&r, "effect", NULL, 0, why, NULL), why, "its input shards");
  write_in_run(&r, "tokenizer.json", "v1");
  assert_state(state(&r, "effect", NULL, 0, why, NULL), FRESH_CURRENT, why);
}

static void test_downstream_config_change_leaves_upstream_current(void **st) {
  (void)st;
  fake_run r = R;
  char why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  make_step(&r, "effect", NULL, 0, "e1", NULL);
  const char *sets[] = {"model.dim=64"};
  assert_stale_why(state(&r, "effect", sets, 1, why, NULL), why, "made with another 'model' config");
  assert_state(state(&r, "shard", sets, 1, why, NULL), FRESH_CURRENT, why);
  const char *eff[] = {"effect.threshold=0.5"};
  assert_stale_why(state(&r, "effect", eff, 1, why, NULL), why, "made with another 'effect' config");
}

// An output outside run_dir keeps its record beside it, where its reader finds it: the corpus
// nq-synth writes to synth.output (the one output a config may put outside run_dir; names
// of the run's folders stay inside it, settings/run_name.h).
static void test_output_outside_run_dir(void **st) {
  (void)st;
  fake_run r = R;
  char *elsewhere = path_join(r.base, "elsewhere/c.jsonl"), set_o[600], set_d[600], s1[65], why[512];
  snprintf(set_o, sizeof set_o, "synth.output=%s", elsewhere);
  snprintf(set_d, sizeof set_d, "data.files=[\"%s\"]", elsewhere);
  const char *sets[] = {set_o, set_d};
  make_step(&r, "synth", sets, 2, "s1", s1);
  char *beside = NULL;
  if (asprintf(&beside, "%s.stamp", elsewhere) < 0) fail_msg("asprintf");
  assert_true(file_exists(beside));
  char *in_stamps = in_run(&r, "stamps/c.jsonl");
  assert_false(file_exists(in_stamps));
  assert_state(state(&r, "synth", sets, 2, why, NULL), FRESH_CURRENT, why);
  fresh_invocation f;
  invoke(&f, &r, "shard", sets, 2);
  char want[1024];
  snprintf(want, sizeof want, "\ninput %s %s\n", elsewhere, s1);
  if (!strstr(f.body, want)) fail_msg("shard's stamp body lacks '%s':\n%s", want + 1, f.body);
  for (int i = 0; i < f.n_outputs; i++) make_output(f.outputs[i], "a1");
  freshness_record(&f);
  freshness_invocation_free(&f);
  assert_state(state(&r, "shard", sets, 2, why, NULL), FRESH_CURRENT, why);
  const char *again[] = {set_o, set_d, "synth.cold_share=0.3"};
  make_step(&r, "synth", again, 3, "s2", NULL);
  assert_stale_why(state(&r, "shard", sets, 2, why, NULL), why, "was made again since");
  free(elsewhere), free(beside), free(in_stamps);
}

// ---- the graph -----------------------------------------------------------------------------------

static pipeline_graph *graph(const char *cfg, const char *const *sets, int n) {
  pipeline_graph *g = pipeline_graph_build(cfg, sets, n, NULL, 0);
  freshness_graph(g);
  return g;
}

static const pipeline_step *step(const pipeline_graph *g, const char *name) {
  int k = pipeline_graph_find(g, name);
  if (k < 0) fail_msg("no step '%s' in the graph", name);
  return &g->s[k];
}

static void assert_step(const pipeline_graph *g, const char *name, fresh_state want, const char *stamp) {
  const pipeline_step *s = step(g, name);
  if (s->state != want) fail_msg("step %s: %s (%s), want %s", name, state_name(s->state), s->why, state_name(want));
  if (stamp && strcmp(s->stamp, stamp)) fail_msg("step %s: graph stamp %s, invocation's %s", name, s->stamp, stamp);
}

static void test_graph_steps_and_order(void **st) {
  (void)st;
  fake_run r = R;
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  assert_int_equal(g->n, 4);
  assert_int_equal(pipeline_graph_find(g, "synth"), -1);   // pipeline.synth = never
  int shard = pipeline_graph_find(g, "shard"), effect = pipeline_graph_find(g, "effect"),
      annotate = pipeline_graph_find(g, "annotate"), eval = pipeline_graph_find(g, "eval");
  assert_true(shard >= 0 && effect >= 0 && annotate >= 0 && eval >= 0);
  assert_true(shard < effect && effect < annotate && shard < eval);
  assert_int_equal(g->s[effect].n_after, 1);
  assert_int_equal(g->s[effect].after[0], shard);
  assert_int_equal(g->s[annotate].n_after, 1);
  assert_int_equal(g->s[annotate].after[0], effect);
  assert_int_equal(g->s[annotate].n_inputs, 2);   // effect, and the shards it checks effect files against
  assert_int_equal(g->s[annotate].inputs[0], shard);
  assert_int_equal(g->s[annotate].inputs[1], effect);
  assert_int_equal(g->s[eval].n_after, 1);
  assert_int_equal(g->s[eval].after[0], shard);
  assert_int_equal(g->s[shard].n_after, 0);
  assert_int_equal(g->s[shard].n_outside, 1);
  assert_string_equal(g->s[shard].outside[0], r.corpus);
  for (int k = 0; k < g->n; k++) assert_step(g, g->s[k].name, FRESH_NOT_RUN, NULL);
  pipeline_graph_free(g);
}

static void test_graph_stamps_and_states_match_invocations(void **st) {
  (void)st;
  fake_run r = R;
  char shard[65], effect[65], annotate[65], eval[65], now[65];
  // before anything ran: the graph's stamps are those the invocations would record
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  state(&r, "shard", NULL, 0, NULL, now);
  assert_step(g, "shard", FRESH_NOT_RUN, now);
  pipeline_graph_free(g);
  make_step(&r, "shard", NULL, 0, "v1", shard);
  make_step(&r, "effect", NULL, 0, "e1", effect);
  g = graph(r.cfg, NULL, 0);
  assert_step(g, "shard", FRESH_CURRENT, shard);
  assert_step(g, "effect", FRESH_CURRENT, effect);
  assert_step(g, "annotate", FRESH_NOT_RUN, NULL);
  assert_step(g, "eval", FRESH_NOT_RUN, NULL);
  state(&r, "annotate", NULL, 0, NULL, now);
  assert_step(g, "annotate", FRESH_NOT_RUN, now);
  state(&r, "eval", NULL, 0, NULL, now);
  assert_step(g, "eval", FRESH_NOT_RUN, now);
  pipeline_graph_free(g);
  make_step(&r, "annotate", NULL, 0, "a1", annotate);
  make_step(&r, "eval", NULL, 0, "p1", eval);
  g = graph(r.cfg, NULL, 0);
  assert_step(g, "shard", FRESH_CURRENT, shard);
  assert_step(g, "effect", FRESH_CURRENT, effect);
  assert_step(g, "annotate", FRESH_CURRENT, annotate);
  assert_step(g, "eval", FRESH_CURRENT, eval);
  for (int k = 0; k < g->n; k++) assert_string_equal(g->s[k].why, "");
  pipeline_graph_free(g);
}

static void test_graph_names_the_stale_input_step(void **st) {
  (void)st;
  fake_run r = R;
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  make_step(&r, "effect", NULL, 0, "e1", NULL);
  make_step(&r, "annotate", NULL, 0, "a1", NULL);
  write_in_run(&r, "tokenizer.json", "edited by hand");
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  const pipeline_step *s = step(g, "shard");
  assert_stale_why(s->state, s->why, "tokenizer.json changed since it was written");
  s = step(g, "effect");
  assert_stale_why(s->state, s->why, "its input shards (step shard) is not current");
  s = step(g, "annotate");
  assert_stale_why(s->state, s->why, "its input effects (step effect) is not current");
  assert_step(g, "eval", FRESH_NOT_RUN, NULL);
  pipeline_graph_free(g);
  // the user's overrides reach every step: a changed shard section
  write_in_run(&r, "tokenizer.json", "v1");
  const char *sets[] = {"shard.count=3"};
  g = graph(r.cfg, sets, 1);
  s = step(g, "shard");
  assert_stale_why(s->state, s->why, "made with another 'shard' config");
  s = step(g, "effect");
  assert_stale_why(s->state, s->why, "its input shards (step shard) is not current");
  pipeline_graph_free(g);
  g = graph(r.cfg, NULL, 0);
  assert_step(g, "shard", FRESH_CURRENT, NULL);
  assert_step(g, "annotate", FRESH_CURRENT, NULL);
  pipeline_graph_free(g);
}

// A training run's step: its overrides (pipeline.runs) are what an invocation needs to match.
static void test_graph_train_step_matches_invocation_with_its_overrides(void **st) {
  (void)st;
  fake_run r = R;
  write_config(&r, r.cfg, r.run_dir, "pipeline: { train_runs = [\"lm\"]; runs: { lm = \"train.objective=lm train.steps=3\"; };"
                       " synth = \"never\"; };");
  char lm[65], why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  const char *sets[] = {"train.name=lm", "train.objective=lm", "train.steps=3"};
  make_step(&r, "train", sets, 3, "m1", lm);
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  const pipeline_step *s = step(g, "lm");
  assert_string_equal(s->stage->name, "train");
  assert_int_equal(s->n_sets, 3);
  assert_string_equal(s->sets[0], "train.name=lm");
  assert_string_equal(s->sets[2], "train.steps=3");
  assert_step(g, "lm", FRESH_CURRENT, lm);
  pipeline_graph_free(g);
  const char *fewer[] = {"train.name=lm"};   // without the run's overrides: another train config
  assert_stale_why(state(&r, "train", fewer, 1, why, NULL), why, "made with another 'train' config");
}

// ---- pipeline_graph_print -------------------------------------------------------------------------

static int split_tabs(char *line, char **cols, int max) {
  int n = 0;
  for (char *p = line;; p++) {
    if (n < max) cols[n] = p;
    n++;
    p = strchr(p, '\t');
    if (!p) break;
    *p = 0;
  }
  return n;
}

static void test_graph_print_columns(void **st) {
  (void)st;
  fake_run r = R;
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  make_step(&r, "effect", NULL, 0, "e1", NULL);
  write_in_run(&r, "effects/shard-00000.h5", "edited");
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  pipeline_graph_print(g, out);
  fclose(out);
  static const struct { const char *name, *stage, *after, *sets, *writes, *state; } want[] = {
      {"shard", "shard", "-", "-", "shards tokenizer.json", "current"},
      {"effect", "effect", "shard", "-", "effects", "stale: effects changed since it was written"},
      {"annotate", "annotate", "effect", "-", "annotations", "not run"},
      {"eval", "eval", "shard", "-", "eval", "not run"},
  };
  int lines = 0;
  char *save = NULL;
  for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save), lines++) {
    char *c[8];
    int n = split_tabs(l, c, 8);
    if (n != 7) fail_msg("line %d has %d columns, want 7", lines, n);
    const pipeline_step *s = step(g, c[0]);
    assert_string_equal(c[3], s->stamp);
    int found = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
      if (strcmp(want[i].name, c[0])) continue;
      found = 1;
      assert_string_equal(c[1], want[i].stage);
      assert_string_equal(c[2], want[i].after);
      assert_string_equal(c[4], want[i].sets);
      assert_string_equal(c[5], want[i].writes);
      assert_string_equal(c[6], want[i].state);
    }
    if (!found) fail_msg("unexpected step '%s'", c[0]);
  }
  assert_int_equal(lines, 4);
  free(buf);
  pipeline_graph_free(g);
}

static void test_graph_print_sets_column(void **st) {
  (void)st;
  fake_run r = R;
  write_config(&r, r.cfg, r.run_dir, "pipeline: { train_runs = [\"lm\"]; runs: { lm = \"train.steps=3\"; }; synth = \"never\"; };\n");
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  pipeline_graph_print(g, out);
  fclose(out);
  const char *lm = strstr(buf, "lm\ttrain\t");
  assert_non_null(lm);
  char line[1024];
  snprintf(line, sizeof line, "%.*s", (int)strcspn(lm, "\n"), lm);
  char *c[8];
  assert_int_equal(split_tabs(line, c, 8), 7);
  assert_string_equal(c[2], "shard");
  assert_string_equal(c[4], "train.name=lm train.steps=3");
  assert_string_equal(c[5], "lm");
  assert_string_equal(c[6], "not run");
  free(buf);
  pipeline_graph_free(g);
}

// An output outside run_dir given as a cwd-relative path (synth.output is cwd-relative) is
// recorded by its absolute path: current after its record, from any working directory.
static void test_cwd_relative_output_is_current_after_record(void **st) {
  (void)st;
  fake_run r = R;
  char *cwd = getcwd(NULL, 0), why[512];
  assert_int_equal(chdir(r.base), 0);
  const char *sets[] = {"synth.output=corpus_rel.jsonl"};
  make_step(&r, "synth", sets, 1, "{}\n", NULL);
  assert_true(file_exists("corpus_rel.jsonl"));
  assert_true(file_exists("corpus_rel.jsonl.stamp"));
  fresh_state got = state(&r, "synth", sets, 1, why, NULL);
  assert_int_equal(chdir(cwd), 0);
  free(cwd);
  assert_state(got, FRESH_CURRENT, why);
}

// A read made by a recorded stage that is no step of the graph (a run trained by hand) is an
// input of the stamp in the graph as in the stage's own check: both say current, one stamp.
static void test_graph_agrees_with_invocation_on_a_run_made_outside_the_graph(void **st) {
  (void)st;
  fake_run r = R;
  char eval[65], why[512];
  make_step(&r, "shard", NULL, 0, "v1", NULL);
  const char *sets[] = {"train.name=ref"};   // eval.models: ref = "ref/model.h5"
  make_step(&r, "train", sets, 1, "m1", NULL);
  make_step(&r, "eval", NULL, 0, "p1", eval);
  assert_state(state(&r, "eval", NULL, 0, why, NULL), FRESH_CURRENT, why);
  pipeline_graph *g = graph(r.cfg, NULL, 0);
  const pipeline_step *s = step(g, "eval");
  fresh_state got = s->state;
  char gwhy[512], gstamp[65];
  snprintf(gwhy, sizeof gwhy, "%s", s->why);
  memcpy(gstamp, s->stamp, 65);
  pipeline_graph_free(g);
  assert_state(got, FRESH_CURRENT, gwhy);
  assert_string_equal(gstamp, eval);
}

int main(void) {
  log_set_quiet(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_invocation_not_run_before_outputs_exist, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_outputs_without_record_are_stale, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_recorded_step_is_current, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_changed_read_section_makes_stale, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_changed_unread_section_keeps_current, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_changed_output_makes_stale, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_tmp_files_in_output_do_not_count, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_missing_output_makes_stale, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_changed_outside_file_makes_stale, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_copied_run_stays_current, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_downstream_records_upstream_stamp, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_downstream_stale_when_upstream_made_again, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_downstream_stale_when_upstream_output_changed, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_downstream_config_change_leaves_upstream_current, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_output_outside_run_dir, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_steps_and_order, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_stamps_and_states_match_invocations, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_names_the_stale_input_step, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_train_step_matches_invocation_with_its_overrides, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_print_columns, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_print_sets_column, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_cwd_relative_output_is_current_after_record, run_setup, run_teardown),
      cmocka_unit_test_setup_teardown(test_graph_agrees_with_invocation_on_a_run_made_outside_the_graph, run_setup,
                                      run_teardown),
  };
  return cmocka_run_group_tests_name("freshness", tests, NULL, NULL);
}
