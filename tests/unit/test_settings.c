// settings: every section's struct filled from the file, the defaults and --set overrides;
// seed fallbacks; every CFG_CHOICE value to its enum; the cross-key rules of settings_check;
// the canonical text; the schema tables' fields against their structs; the repo's configs.
#include "nqtest.h"

#include <glob.h>
#include <stdalign.h>

#include "base/records.h"
#include "base/util.h"
#include "config/config.h"
#include "settings/settings.h"

static char path[512];

// ---- helpers ------------------------------------------------------------------------------

static const char *write_cfg_as(const char *file, const char *text) {
  snprintf(path, sizeof path, "%s/%s", nqtest_dir, file);
  nqtest_write(path, text);
  return path;
}
static const char *write_cfg(const char *text) { return write_cfg_as("t.cfg", text); }

static const char *minimal_cfg = "name = \"t\";\nrun_dir = \"/tmp/nq-settings-test\";\n";

static settings *load(const char *text, const char *const *sets, int n) {
  return settings_load(write_cfg(text), sets, n);
}

// The sections with their tables and where their structs sit in `settings`.
static const struct {
  const char *name;
  const cfg_key *keys;
  size_t at, size;
} sections[] = {
    {"data", data_keys, offsetof(settings, data), sizeof(data_settings)},
    {"tokenizer", tokenizer_keys, offsetof(settings, tokenizer), sizeof(tokenizer_settings)},
    {"shard", shard_keys, offsetof(settings, shard), sizeof(shard_settings)},
    {"synth", synth_keys, offsetof(settings, synth), sizeof(synth_settings)},
    {"model", model_keys, offsetof(settings, model), sizeof(model_settings)},
    {"train", train_keys, offsetof(settings, train), sizeof(train_settings)},
    {"effect", effect_keys, offsetof(settings, effect), sizeof(effect_settings)},
    {"annotate", annotate_keys, offsetof(settings, annotate), sizeof(annotate_settings)},
    {"eval", eval_keys, offsetof(settings, eval), sizeof(eval_settings)},
    {"pipeline", pipeline_keys, offsetof(settings, pipeline), sizeof(pipeline_settings)},
};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

// The schema row of `key` and the address of its field in `s` (top-level keys: in settings).
static const cfg_key *row_of(const char *key, size_t *at) {
  size_t top = strcspn(key, ".");
  for (size_t i = 0; i < N_SECTIONS; i++) {
    if (strlen(sections[i].name) != top || strncmp(sections[i].name, key, top)) continue;
    for (const cfg_key *k = sections[i].keys; k->path; k++)
      if (!strcmp(k->path, key)) {
        *at = sections[i].at + k->field;
        return k;
      }
  }
  int n;
  const cfg_key *all = config_schema(&n);
  for (int i = 0; i < n; i++)
    if (!strchr(all[i].path, '.') && !strcmp(all[i].path, key)) {
      *at = all[i].field;
      return &all[i];
    }
  return NULL;
}

static void *field_of(settings *s, const char *key) {
  size_t at;
  if (!row_of(key, &at)) fail_msg("no schema row '%s'", key);
  return (char *)s + at;
}

static size_t type_size(cfg_type t) {
  switch (t) {
    case CFG_INT: return sizeof(long);
    case CFG_FLOAT: return sizeof(double);
    case CFG_BOOL: case CFG_CHOICE: return sizeof(int);
    case CFG_STRING: return sizeof(const char *);
    case CFG_STRING_LIST: return sizeof(string_list);
    case CFG_STRING_MAP: return sizeof(string_map);
  }
  fail_msg("unknown cfg_type %d", (int)t);
  return 0;
}

static size_t type_align(cfg_type t) {
  switch (t) {
    case CFG_INT: return alignof(long);
    case CFG_FLOAT: return alignof(double);
    case CFG_BOOL: case CFG_CHOICE: return alignof(int);
    case CFG_STRING: return alignof(const char *);
    case CFG_STRING_LIST: return alignof(string_list);
    case CFG_STRING_MAP: return alignof(string_map);
  }
  return 1;
}

static int is_resolved_seed(const char *key) {
  return !strcmp(key, "train.seed") || !strcmp(key, "eval.seed") || !strcmp(key, "model.init_seed");
}

// Every key's struct field holds what the loaded config says (seeds: resolved).
static void assert_struct_matches_config(settings *s) {
  int n;
  const cfg_key *all = config_schema(&n);
  for (int i = 0; i < n; i++) {
    const cfg_key *k = &all[i];
    const char *f = field_of(s, k->path);
    switch (k->type) {
      case CFG_INT: {
        long want = cfg_int(s->cfg, k->path);
        if (is_resolved_seed(k->path) && want == -1) want = s->seed;
        if (*(const long *)f != want) fail_msg("%s: field %ld, config %ld", k->path, *(const long *)f, want);
        break;
      }
      case CFG_FLOAT:
        if (*(const double *)f != cfg_float(s->cfg, k->path))
          fail_msg("%s: field %g, config %g", k->path, *(const double *)f, cfg_float(s->cfg, k->path));
        break;
      case CFG_BOOL:
        if (*(const int *)f != cfg_bool(s->cfg, k->path)) fail_msg("%s: field %d", k->path, *(const int *)f);
        break;
      case CFG_STRING:
        if (strcmp(*(const char *const *)f, cfg_str(s->cfg, k->path)))
          fail_msg("%s: field '%s', config '%s'", k->path, *(const char *const *)f, cfg_str(s->cfg, k->path));
        break;
      case CFG_CHOICE:
        if (strcmp(config_choice_name(k->choices, *(const int *)f), cfg_str(s->cfg, k->path)))
          fail_msg("%s: field %d, config '%s'", k->path, *(const int *)f, cfg_str(s->cfg, k->path));
        break;
      case CFG_STRING_LIST: {
        const string_list *l = (const string_list *)f;
        if (l->n != cfg_list_len(s->cfg, k->path)) fail_msg("%s: %d items, config %d", k->path, l->n, cfg_list_len(s->cfg, k->path));
        for (int j = 0; j < l->n; j++)
          if (strcmp(l->v[j], cfg_list_str(s->cfg, k->path, j))) fail_msg("%s[%d]: '%s'", k->path, j, l->v[j]);
        break;
      }
      case CFG_STRING_MAP: {
        const string_map *m = (const string_map *)f;
        if (m->n != cfg_map_len(s->cfg, k->path)) fail_msg("%s: %d entries, config %d", k->path, m->n, cfg_map_len(s->cfg, k->path));
        for (int j = 0; j < m->n; j++)
          if (strcmp(m->name[j], cfg_map_name(s->cfg, k->path, j)) || strcmp(m->value[j], cfg_map_value(s->cfg, k->path, j)))
            fail_msg("%s[%d]: %s = '%s'", k->path, j, m->name[j], m->value[j]);
        break;
      }
    }
  }
}

// ---- values: defaults, file, --set --------------------------------------------------------

static void test_defaults_fill_every_section(void **st) {
  (void)st;
  settings *s = load(minimal_cfg, NULL, 0);
  assert_string_equal(s->name, "t");
  assert_string_equal(s->run_dir, "/tmp/nq-settings-test");
  assert_int_equal(s->seed, 1234);
  assert_string_equal(s->memory_limit, "auto");
  // data (nested groups, a list, floats, choices)
  assert_int_equal(s->data.files.n, 0);
  assert_string_equal(s->data.fields.id, "id");
  assert_string_equal(s->data.fields.user, "user_id");
  assert_string_equal(s->data.fields.split, "");
  assert_string_equal(s->data.targets.target, "output");
  assert_string_equal(s->data.prompt_template, "{history}[Query] {input}\n[Response] ");
  assert_int_equal(s->data.max_history_items, 8);
  assert_true(s->data.split_fallback.valid_fraction == 0.05);
  assert_true(s->data.split_fallback.test_fraction == 0.05);
  assert_int_equal(s->data.truncate, DATA_TRUNCATE_END);
  assert_int_equal(s->data.on_bad_record, DATA_BAD_FAIL);
  assert_int_equal(s->data.format, REC_AUTO);
  // tokenizer
  assert_int_equal(s->tokenizer.vocab_size, 4096);
  assert_int_equal(s->tokenizer.specials.n, 2);
  assert_string_equal(s->tokenizer.specials.v[0], "<|endoftext|>");
  assert_string_equal(s->tokenizer.specials.v[1], "<pad>");
  // shard, synth
  assert_int_equal(s->shard.count, 4);
  assert_string_equal(s->synth.output, "");
  assert_int_equal(s->synth.users, 400);
  assert_true(s->synth.zipf_s == 1.1);
  // model (bools both ways, a choice)
  assert_int_equal(s->model.dim, 192);
  assert_int_equal(s->model.qkv_bias, 0);
  assert_int_equal(s->model.tie_embeddings, 1);
  assert_int_equal(s->model.precision, MODEL_FP32);
  assert_true(s->model.rope_theta == 10000.0);
  // train
  assert_string_equal(s->train.name, "train");
  assert_int_equal(s->train.objective, OBJ_CONTEXT_SFT);
  assert_int_equal(s->train.weights, W_ANNOTATIONS);
  assert_int_equal(s->train.adapter, ADAPTER_NONE);
  assert_int_equal(s->train.shard_optimizer, SHARD_OPT_AUTO);
  assert_int_equal(s->train.overlap_comm, 1);
  assert_true(s->train.lr == 1e-3);
  assert_true(s->train.lora_alpha == 16.0);   // default written as an int literal
  assert_int_equal(s->train.lora_targets.n, 7);
  assert_string_equal(s->train.lora_targets.v[6], "down");
  // effect, annotate
  assert_string_equal(s->effect.reference_run, "context_sft");
  assert_int_equal(s->effect.splits.n, 3);
  assert_string_equal(s->effect.splits.v[2], "test");
  assert_int_equal(s->annotate.rule, AR_THRESHOLD);
  assert_true(s->annotate.hi == 0.9);
  assert_int_equal(s->annotate.hist_bins, 40);
  // eval (a map in order)
  assert_int_equal(s->eval.models.n, 4);
  assert_string_equal(s->eval.models.name[0], "base");
  assert_string_equal(s->eval.models.value[0], "lm/model.h5");
  assert_string_equal(s->eval.models.name[3], "nextquill");
  assert_string_equal(s->eval.models.value[3], "nextquill/model.h5");
  assert_int_equal(s->eval.user_adapters.n, 0);
  assert_int_equal(s->eval.split, EVAL_SPLIT_TEST);
  assert_int_equal(s->eval.decoding, DECODE_GREEDY);
  assert_int_equal(s->eval.penalize_prompt, 1);
  assert_string_equal(s->eval.baseline, "context_sft");
  // pipeline
  assert_int_equal(s->pipeline.train_runs.n, 4);
  assert_string_equal(s->pipeline.train_runs.v[3], "nextquill");
  assert_int_equal(s->pipeline.runs.n, 0);
  assert_int_equal(s->pipeline.rounds, 1);
  assert_int_equal(s->pipeline.ranks, 2);
  assert_int_equal(s->pipeline.synth, SYNTH_STEP_AUTO);
  settings_free(s);
}

// Non-default values of every section, with nested groups, lists, maps, choices, bools and
// float keys given as int literals.
static const char *full_cfg =
    "name = \"full\"; run_dir = \"/tmp/nq-full\"; seed = 99; memory_limit = \"20G\";\n"
    "data: {\n"
    "  files = [\"a.jsonl\", \"{run_dir}/b.jsonl\"];\n"
    "  split_files: { test = [\"t.json\"]; };\n"
    "  format = \"json\";\n"
    "  targets: { files = [\"o.json\"]; records = \"golds\"; };\n"
    "  fields: { id = \"rid\"; user = \"uid\"; truth_spans = \"sp\"; };\n"
    "  max_history_items = 3;\n"
    "  truncate = \"start\";\n"
    "  split_fallback: { valid_fraction = 0.1; test_fraction = 0; };\n"
    "  on_bad_record = \"skip\";\n"
    "};\n"
    "tokenizer: { vocab_size = 500; specials = [\"<s>\"]; };\n"
    "shard: { count = 3; };\n"
    "synth: { output = \"out.jsonl\"; users = 10; zipf_s = 2; };\n"
    "model: { dim = 64; qkv_bias = true; tie_embeddings = false; rope_theta = 1000000; precision = \"bf16\"; };\n"
    "train: { name = \"run1\"; objective = \"nextquill\"; steps = 7; lr = 0.5; weights = \"uniform\";\n"
    "         alpha = 2; lora_targets = [\"q\", \"v\"]; overlap_comm = false; };\n"
    "effect: { output = \"eff\"; splits = [\"test\"]; micro_batch = 3; threshold = 0.25; };\n"
    "annotate: { rule = \"js\"; effects = \"e2\"; hi = 3; };\n"
    "eval: { models: { a = \"a/model.h5\"; b = \"/abs/b.h5\"; }; cos_models = []; split = \"valid\";\n"
    "        decoding = \"sample\"; penalize_prompt = false; top_p = 0.5; baseline = \"a\"; };\n"
    "pipeline: { train_runs = [\"x\", \"y\"]; runs: { x = \"train.steps=1\"; }; rounds = 3; rounds_run = \"y\";\n"
    "            evals: { e2 = \"eval.output=e2\"; }; ranks = 4; synth = \"never\"; };\n";

static void test_file_values_fill_every_section(void **st) {
  (void)st;
  settings *s = load(full_cfg, NULL, 0);
  assert_string_equal(s->name, "full");
  assert_string_equal(s->run_dir, "/tmp/nq-full");
  assert_int_equal(s->seed, 99);
  assert_string_equal(s->memory_limit, "20G");
  assert_int_equal(s->data.files.n, 2);
  assert_string_equal(s->data.files.v[0], "a.jsonl");
  assert_string_equal(s->data.files.v[1], "{run_dir}/b.jsonl");
  assert_int_equal(s->data.split_files.test.n, 1);
  assert_string_equal(s->data.split_files.test.v[0], "t.json");
  assert_int_equal(s->data.split_files.train.n, 0);
  assert_int_equal(s->data.format, REC_JSON);
  assert_int_equal(s->data.targets.files.n, 1);
  assert_string_equal(s->data.targets.records, "golds");
  assert_string_equal(s->data.targets.id, "id");   // default beside a given sibling
  assert_string_equal(s->data.fields.id, "rid");
  assert_string_equal(s->data.fields.user, "uid");
  assert_string_equal(s->data.fields.history, "profile");
  assert_string_equal(s->data.fields.truth_spans, "sp");
  assert_int_equal(s->data.max_history_items, 3);
  assert_int_equal(s->data.truncate, DATA_TRUNCATE_START);
  assert_true(s->data.split_fallback.valid_fraction == 0.1);
  assert_true(s->data.split_fallback.test_fraction == 0.0);   // int literal 0
  assert_int_equal(s->data.on_bad_record, DATA_BAD_SKIP);
  assert_int_equal(s->tokenizer.vocab_size, 500);
  assert_int_equal(s->tokenizer.specials.n, 1);
  assert_string_equal(s->tokenizer.specials.v[0], "<s>");
  assert_int_equal(s->shard.count, 3);
  assert_string_equal(s->synth.output, "out.jsonl");
  assert_int_equal(s->synth.users, 10);
  assert_true(s->synth.zipf_s == 2.0);   // int literal
  assert_int_equal(s->model.dim, 64);
  assert_int_equal(s->model.qkv_bias, 1);
  assert_int_equal(s->model.tie_embeddings, 0);
  assert_true(s->model.rope_theta == 1e6);
  assert_int_equal(s->model.precision, MODEL_BF16);
  assert_string_equal(s->train.name, "run1");
  assert_int_equal(s->train.objective, OBJ_NEXTQUILL);
  assert_int_equal(s->train.steps, 7);
  assert_true(s->train.lr == 0.5);
  assert_int_equal(s->train.weights, W_UNIFORM);
  assert_true(s->train.alpha == 2.0);
  assert_int_equal(s->train.lora_targets.n, 2);
  assert_string_equal(s->train.lora_targets.v[1], "v");
  assert_int_equal(s->train.overlap_comm, 0);
  assert_string_equal(s->effect.output, "eff");
  assert_int_equal(s->effect.splits.n, 1);
  assert_int_equal(s->effect.micro_batch, 3);
  assert_true(s->effect.threshold == 0.25);
  assert_int_equal(s->annotate.rule, AR_JS);
  assert_string_equal(s->annotate.effects, "e2");
  assert_true(s->annotate.hi == 3.0);
  assert_int_equal(s->eval.models.n, 2);
  assert_string_equal(s->eval.models.name[1], "b");
  assert_string_equal(s->eval.models.value[1], "/abs/b.h5");
  assert_int_equal(s->eval.cos_models.n, 0);
  assert_int_equal(s->eval.split, EVAL_SPLIT_VALID);
  assert_int_equal(s->eval.decoding, DECODE_SAMPLE);
  assert_int_equal(s->eval.penalize_prompt, 0);
  assert_true(s->eval.top_p == 0.5);
  assert_string_equal(s->eval.baseline, "a");
  assert_int_equal(s->pipeline.train_runs.n, 2);
  assert_string_equal(s->pipeline.train_runs.v[0], "x");
  assert_int_equal(s->pipeline.runs.n, 1);
  assert_string_equal(s->pipeline.runs.name[0], "x");
  assert_string_equal(s->pipeline.runs.value[0], "train.steps=1");
  assert_int_equal(s->pipeline.rounds, 3);
  assert_string_equal(s->pipeline.rounds_run, "y");
  assert_int_equal(s->pipeline.evals.n, 1);
  assert_string_equal(s->pipeline.evals.value[0], "eval.output=e2");
  assert_int_equal(s->pipeline.ranks, 4);
  assert_int_equal(s->pipeline.synth, SYNTH_STEP_NEVER);
  settings_free(s);
}

static const char *const full_sets[] = {
    "seed=5",
    "memory_limit=none",
    "data.fields.id=oid",
    "data.split_fallback.valid_fraction=0.25",
    "data.files=c.jsonl,d.jsonl,e.jsonl",
    "data.truncate=end",
    "tokenizer.specials=[\"<a>\", \"<b>\"]",
    "shard.count=12",
    "synth.cold_share=1",          // a float key given an int literal
    "model.precision=fp32",
    "model.qkv_bias=false",
    "train.objective=lm",
    "train.lr=2",
    "effect.splits=train",
    "annotate.rule=top_fraction",
    "eval.models={ z = \"z.h5\"; }",
    "eval.penalize_prompt=true",
    "pipeline.synth=always",
    "pipeline.runs={ y = \"train.steps=2\"; x = \"train.steps=3\"; }",
};
#define N_FULL_SETS (int)(sizeof full_sets / sizeof full_sets[0])

static void test_set_overrides_fill_every_section(void **st) {
  (void)st;
  settings *s = load(full_cfg, full_sets, N_FULL_SETS);
  assert_int_equal(s->seed, 5);
  assert_string_equal(s->memory_limit, "none");
  assert_string_equal(s->data.fields.id, "oid");
  assert_string_equal(s->data.fields.user, "uid");   // its sibling keeps the file's value
  assert_true(s->data.split_fallback.valid_fraction == 0.25);
  assert_true(s->data.split_fallback.test_fraction == 0.0);
  assert_int_equal(s->data.files.n, 3);
  assert_string_equal(s->data.files.v[2], "e.jsonl");
  assert_int_equal(s->data.truncate, DATA_TRUNCATE_END);
  assert_int_equal(s->tokenizer.specials.n, 2);
  assert_string_equal(s->tokenizer.specials.v[1], "<b>");
  assert_int_equal(s->shard.count, 12);
  assert_true(s->synth.cold_share == 1.0);
  assert_int_equal(s->synth.users, 10);
  assert_int_equal(s->model.precision, MODEL_FP32);
  assert_int_equal(s->model.qkv_bias, 0);
  assert_int_equal(s->train.objective, OBJ_LM);
  assert_true(s->train.lr == 2.0);
  assert_int_equal(s->train.steps, 7);
  assert_int_equal(s->effect.splits.n, 1);
  assert_string_equal(s->effect.splits.v[0], "train");
  assert_int_equal(s->annotate.rule, AR_TOP_FRACTION);
  assert_int_equal(s->eval.models.n, 1);   // a map override replaces the whole map
  assert_string_equal(s->eval.models.name[0], "z");
  assert_string_equal(s->eval.models.value[0], "z.h5");
  assert_int_equal(s->eval.penalize_prompt, 1);
  assert_int_equal(s->pipeline.synth, SYNTH_STEP_ALWAYS);
  assert_int_equal(s->pipeline.runs.n, 2);
  assert_string_equal(s->pipeline.runs.name[0], "y");
  assert_string_equal(s->pipeline.runs.value[1], "train.steps=3");
  settings_free(s);
}

static void test_last_override_of_a_key_wins(void **st) {
  (void)st;
  const char *sets[] = {"shard.count=2", "model.precision=bf16", "shard.count=9"};
  settings *s = load(minimal_cfg, sets, 3);
  assert_int_equal(s->shard.count, 9);
  assert_int_equal(s->model.precision, MODEL_BF16);
  settings_free(s);
}

// config_fill and the accessors agree on every key: defaults, a full file, and overrides.
static void test_every_field_matches_the_config(void **st) {
  (void)st;
  settings *s = load(minimal_cfg, NULL, 0);
  assert_struct_matches_config(s);
  settings_free(s);
  s = load(full_cfg, NULL, 0);
  assert_struct_matches_config(s);
  settings_free(s);
  s = load(full_cfg, full_sets, N_FULL_SETS);
  assert_struct_matches_config(s);
  settings_free(s);
}

static void test_config_fill_writes_only_its_table(void **st) {
  (void)st;
  settings *s = load(full_cfg, NULL, 0);
  shard_settings sh;
  memset(&sh, 0xab, sizeof sh);
  config_fill(s->cfg, shard_keys, &sh);
  assert_int_equal(sh.count, 3);
  struct { char before[64]; annotate_settings a; char after[64]; } guard;
  memset(&guard, 0x5a, sizeof guard);
  config_fill(s->cfg, annotate_keys, &guard.a);
  assert_int_equal(guard.a.rule, AR_JS);
  assert_true(guard.a.hi == 3.0);
  for (size_t i = 0; i < sizeof guard.before; i++) assert_int_equal((unsigned char)guard.before[i], 0x5a);
  for (size_t i = 0; i < sizeof guard.after; i++) assert_int_equal((unsigned char)guard.after[i], 0x5a);
  settings_free(s);
}

// ---- seeds ----------------------------------------------------------------------------------

static void test_seed_fallbacks_take_top_level_seed(void **st) {
  (void)st;
  settings *s = load("name = \"t\"; run_dir = \"/tmp/x\"; seed = 77;\n"
                     "train: { seed = -1; }; eval: { seed = -1; }; model: { init_seed = -1; };\n",
                     NULL, 0);
  assert_int_equal(s->train.seed, 77);
  assert_int_equal(s->eval.seed, 77);
  assert_int_equal(s->model.init_seed, 77);
  assert_int_equal(s->synth.seed, 77);
  settings_free(s);
  s = load(minimal_cfg, NULL, 0);   // -1 is the default of each
  assert_int_equal(s->train.seed, 1234);
  assert_int_equal(s->eval.seed, 1234);
  assert_int_equal(s->model.init_seed, 1234);
  assert_int_equal(s->synth.seed, 1234);
  settings_free(s);
}

static void test_explicit_seeds_are_kept(void **st) {
  (void)st;
  settings *s = load("name = \"t\"; run_dir = \"/tmp/x\"; seed = 77;\n"
                     "train: { seed = 5; }; eval: { seed = 0; }; model: { init_seed = 123; };\n"
                     "synth: { seed_offset = 4; };\n",
                     NULL, 0);
  assert_int_equal(s->train.seed, 5);
  assert_int_equal(s->eval.seed, 0);   // 0 is a seed, not "unset"
  assert_int_equal(s->model.init_seed, 123);
  assert_int_equal(s->synth.seed, 77);   // synth has no own seed: always the top-level one
  assert_int_equal(s->synth.seed_offset, 4);
  settings_free(s);
}

static void test_seed_override_moves_the_fallbacks_only(void **st) {
  (void)st;
  const char *sets[] = {"seed=31", "train.seed=8"};
  settings *s = load(minimal_cfg, sets, 2);
  assert_int_equal(s->seed, 31);
  assert_int_equal(s->train.seed, 8);
  assert_int_equal(s->eval.seed, 31);
  assert_int_equal(s->model.init_seed, 31);
  assert_int_equal(s->synth.seed, 31);
  settings_free(s);
}

// ---- choices -------------------------------------------------------------------------------

static const struct {
  const char *key, *value;
  int want;
} choice_enums[] = {
    {"data.format", "auto", REC_AUTO}, {"data.format", "jsonl", REC_JSONL}, {"data.format", "json", REC_JSON},
    {"data.truncate", "end", DATA_TRUNCATE_END}, {"data.truncate", "start", DATA_TRUNCATE_START},
    {"data.on_bad_record", "fail", DATA_BAD_FAIL}, {"data.on_bad_record", "skip", DATA_BAD_SKIP},
    {"data.history_select", "recent", DATA_SELECT_RECENT}, {"data.history_select", "bm25", DATA_SELECT_BM25},
    {"model.precision", "fp32", MODEL_FP32}, {"model.precision", "bf16", MODEL_BF16},
    {"train.objective", "lm", OBJ_LM}, {"train.objective", "sft", OBJ_SFT},
    {"train.objective", "context_sft", OBJ_CONTEXT_SFT}, {"train.objective", "nextquill", OBJ_NEXTQUILL},
    {"train.weights", "annotations", W_ANNOTATIONS}, {"train.weights", "online", W_ONLINE},
    {"train.weights", "uniform", W_UNIFORM}, {"train.weights", "ratio", W_RATIO},
    {"train.weights", "ratio_online", W_RATIO_ONLINE},
    {"train.adapter", "none", ADAPTER_NONE}, {"train.adapter", "lora", ADAPTER_LORA},
    {"train.shard_optimizer", "auto", SHARD_OPT_AUTO}, {"train.shard_optimizer", "true", SHARD_OPT_TRUE},
    {"train.shard_optimizer", "false", SHARD_OPT_FALSE},
    {"annotate.rule", "threshold", AR_THRESHOLD}, {"annotate.rule", "log_ratio", AR_LOG_RATIO},
    {"annotate.rule", "top_fraction", AR_TOP_FRACTION}, {"annotate.rule", "js", AR_JS},
    {"eval.split", "test", EVAL_SPLIT_TEST}, {"eval.split", "valid", EVAL_SPLIT_VALID},
    {"eval.decoding", "greedy", DECODE_GREEDY}, {"eval.decoding", "sample", DECODE_SAMPLE},
    {"pipeline.synth", "auto", SYNTH_STEP_AUTO}, {"pipeline.synth", "always", SYNTH_STEP_ALWAYS},
    {"pipeline.synth", "never", SYNTH_STEP_NEVER},
};
#define N_CHOICE_ENUMS (sizeof choice_enums / sizeof choice_enums[0])

// Walks the schema: every choice of every CFG_CHOICE key, set with --set, lands as its
// index in the key's int field, and that index is the enum the code compares it with.
static void test_every_choice_maps_to_its_enum(void **st) {
  (void)st;
  // (the section tables, not config_schema(): settings_load installs the schema anew)
  int seen = 0;
  for (size_t sec = 0; sec < N_SECTIONS; sec++)
  for (const cfg_key *k = sections[sec].keys; k->path; k++) {
    if (k->type != CFG_CHOICE) continue;
    assert_non_null(k->choices);
    const char *p = k->choices;
    for (int i = 0; *p; i++, p += strcspn(p, "|") + (p[strcspn(p, "|")] == '|')) {
      char value[64];
      snprintf(value, sizeof value, "%.*s", (int)strcspn(p, "|"), p);
      assert_string_equal(config_choice_name(k->choices, i), value);
      char set[128];
      snprintf(set, sizeof set, "%s=%s", k->path, value);
      const char *sets[] = {set};
      settings *s = load(minimal_cfg, sets, 1);
      int got = *(const int *)field_of(s, k->path);
      if (got != i) fail_msg("%s = %s: field %d, want index %d", k->path, value, got, i);
      int listed = 0;
      for (size_t e = 0; e < N_CHOICE_ENUMS; e++) {
        if (strcmp(choice_enums[e].key, k->path) || strcmp(choice_enums[e].value, value)) continue;
        listed = 1;
        if (got != choice_enums[e].want)
          fail_msg("%s = %s: field %d, enum %d", k->path, value, got, choice_enums[e].want);
      }
      if (!listed) fail_msg("choice %s = %s has no enum in this test's table", k->path, value);
      seen++;
      settings_free(s);
      // also given in the file
      char text[512];
      const char *dot = strrchr(k->path, '.');
      snprintf(text, sizeof text, "%s%.*s: { %s = \"%s\"; };\n", minimal_cfg, (int)(dot - k->path), k->path,
               dot + 1, value);
      s = load(text, NULL, 0);
      assert_int_equal(*(const int *)field_of(s, k->path), i);
      settings_free(s);
    }
  }
  assert_int_equal(seen, (int)N_CHOICE_ENUMS);   // no stale row in the table either
}

static void bad_choice(void *arg) {
  const char *sets[] = {arg};
  settings_free(load(minimal_cfg, sets, 1));
}

static void test_choice_outside_its_choices_is_an_error(void **st) {
  (void)st;
  expect_fatal(bad_choice, "model.precision=fp16", "key 'model.precision' = \"fp16\" is not one of fp32|bf16");
  expect_fatal(bad_choice, "train.objective=LM", "train.objective");
}

static void choice_name_out_of_range(void *arg) {
  (void)arg;
  config_choice_name("a|b|c", 3);
}

static void test_config_choice_name(void **st) {
  (void)st;
  static const char choices[] = "alpha|beta|gamma";
  assert_string_equal(config_choice_name(choices, 0), "alpha");
  assert_string_equal(config_choice_name(choices, 1), "beta");
  assert_string_equal(config_choice_name(choices, 2), "gamma");
  assert_ptr_equal(config_choice_name(choices, 1), config_choice_name(choices, 1));   // kept
  assert_string_equal(config_choice_name(TRAIN_OBJECTIVES, OBJ_CONTEXT_SFT), "context_sft");
  expect_fatal(choice_name_out_of_range, NULL, "choice 3 of 'a|b|c' does not exist");
}

static char *print_value(const config *c, const char *key, int *rc) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  *rc = config_print_value(c, key, f);
  fclose(f);
  return buf;
}

static void test_config_print_value(void **st) {
  (void)st;
  settings *s = load(full_cfg, NULL, 0);
  static const struct { const char *key, *want; } cases[] = {
      {"shard.count", "3\n"},
      {"train.lr", "0.5\n"},
      {"synth.zipf_s", "2\n"},
      {"model.qkv_bias", "true\n"},
      {"eval.penalize_prompt", "false\n"},
      {"train.objective", "nextquill\n"},
      {"data.fields.id", "rid\n"},
      {"data.files", "a.jsonl\n{run_dir}/b.jsonl\n"},
      {"eval.cos_models", ""},
      {"eval.models", "a\ta/model.h5\nb\t/abs/b.h5\n"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int rc;
    char *got = print_value(s->cfg, cases[i].key, &rc);
    assert_int_equal(rc, 0);
    if (strcmp(got, cases[i].want)) fail_msg("%s: printed '%s', want '%s'", cases[i].key, got, cases[i].want);
    free(got);
  }
  int rc;
  char *got = print_value(s->cfg, "no.such.key", &rc);
  assert_int_equal(rc, -1);
  assert_string_equal(got, "");
  free(got);
  settings_free(s);
}

// ---- settings_check ---------------------------------------------------------------------------

typedef struct {
  const char *text;
  const char *sections;
} check_args;

static void load_and_check(void *arg) {
  const check_args *a = arg;
  settings *s = settings_load(write_cfg(a->text), NULL, 0);
  settings_check(s, a->sections);
  settings_free(s);
}

// The config `extra` added to a minimal one, checked (sections: all) -> stops naming `needle`
// and the config file.
static void expect_rejected(const char *extra, const char *needle) {
  static char text[4096];
  snprintf(text, sizeof text, "%s%s", minimal_cfg, extra);
  check_args a = {text, NULL};
  const char *msg = expect_fatal(load_and_check, &a, needle);
  if (!strstr(msg, "/t.cfg")) fail_msg("message '%s' does not name the config file", msg);
}

static void expect_accepted(const char *extra, const char *sections) {
  static char text[4096];
  snprintf(text, sizeof text, "%s%s", minimal_cfg, extra);
  check_args a = {text, sections};
  const char *msg = nqtest_fatal_message(load_and_check, &a);
  if (msg) fail_msg("config '%s' (sections %s) was rejected: %s", extra, sections ? sections : "all", msg);
}

static void test_check_rejects_data_rules(void **st) {
  (void)st;
  expect_rejected("data: { split_fallback: { valid_fraction = 0.6; test_fraction = 0.5; }; };",
                  "data.split_fallback: valid_fraction + test_fraction must be <= 1");
  expect_rejected("data: { fields: { truth_rare = \"r\"; }; };", "data.fields.truth_rare needs data.fields.truth_spans");
  expect_rejected("data: { fields: { truth_decisive = \"d\"; }; };",
                  "data.fields.truth_decisive needs data.fields.truth_spans");
  expect_rejected("data: { prompt_template = \"[Q] {input}\"; };", "data.prompt_template must contain {history}");
  expect_rejected("data: { prompt_template = \"{history}[Q] {input} {history:50}\"; };",
                  "data.prompt_template: {history} takes no token budget");
  expect_rejected("data: { fields: { user = \"\"; }; };", "data.fields.user must name a field");
  expect_rejected("data: { targets: { files = [\"o.json\"]; }; fields: { id = \"\"; }; };",
                  "data.targets needs data.fields.id");
  expect_rejected("data: { history_select = \"bm25\"; fields: { query = \"\"; }; };",
                  "data.history_select = \"bm25\" needs data.fields.query");
}

static void test_check_rejects_train_rules(void **st) {
  (void)st;
  expect_rejected("train: { objective = \"nextquill\"; effect_alignment = true; };",
                  "train.effect_alignment needs train.reference");
  expect_rejected("train: { per_user = true; };", "train.per_user needs train.adapter = \"lora\"");
  expect_rejected("train: { per_user = true; adapter = \"lora\"; init = \"lm/model.h5\"; objective = \"lm\"; };",
                  "train.per_user needs a sample objective, not lm");
  expect_rejected("train: { adapter = \"lora\"; init = \"lm/model.h5\"; lora_targets = []; };",
                  "field 'train.lora_targets' is empty");
  expect_rejected("train: { adapter = \"lora\"; };", "train.adapter = \"lora\" needs train.init");
  expect_rejected("train: { ratio_min = 2.0; ratio_max = 1.0; };", "train.ratio_min (2) must be <= train.ratio_max (1)");
  expect_rejected("train: { ratio_min = 0.0; ratio_max = 0.0; };", "train.ratio_max must be > 0");
}

static void test_check_rejects_eval_rules(void **st) {
  (void)st;
  expect_rejected("eval: { models: {}; baseline = \"\"; };", "eval.models is empty");
  expect_rejected("eval: { user_adapters: { ghost = \"ghost/users\"; }; };",
                  "eval.user_adapters.ghost: no eval.models entry of that name");
  expect_rejected("eval: { baseline = \"nosuch\"; };", "eval.baseline \"nosuch\" is not a row");
  // "+cos" only of a model listed in cos_models, "+user-lora" only of one with user adapters
  expect_rejected("eval: { baseline = \"sft+cos\"; };", "eval.baseline \"sft+cos\" is not a row");
  expect_rejected("eval: { baseline = \"sft+user-lora\"; };", "eval.baseline \"sft+user-lora\" is not a row");
}

static void test_check_rejects_pipeline_rules(void **st) {
  (void)st;
  expect_rejected("pipeline: { train_runs = [\"lm\", \"sft\"]; rounds = 2; };",
                  "pipeline.rounds_run: 'nextquill' is not in pipeline.train_runs");
}

static void test_check_accepts_valid_configs(void **st) {
  (void)st;
  expect_accepted("", NULL);   // the defaults
  expect_accepted("data: { split_fallback: { valid_fraction = 0.5; test_fraction = 0.5; }; };", NULL);   // = 1
  expect_accepted("data: { fields: { truth_spans = \"s\"; truth_rare = \"r\"; truth_decisive = \"d\"; }; };", NULL);
  expect_accepted("data: { targets: { files = [\"o.json\"]; }; };", NULL);
  expect_accepted("train: { objective = \"nextquill\"; effect_alignment = true; reference = \"r.h5\"; };", NULL);
  expect_accepted("train: { objective = \"sft\"; adapter = \"lora\"; init = \"lm/model.h5\"; per_user = true; };",
                  NULL);
  expect_accepted("eval: { baseline = \"nextquill+cos\"; };", NULL);
  expect_accepted("eval: { baseline = \"sft+user-lora\"; user_adapters: { sft = \"u/users\"; }; };", NULL);
  expect_accepted("eval: { baseline = \"\"; };", NULL);
  expect_accepted("pipeline: { train_runs = [\"lm\", \"nq\"]; rounds = 3; rounds_run = \"nq\"; };", NULL);
  expect_accepted("pipeline: { train_runs = []; rounds = 1; };", NULL);
}

// A rule of a section is applied only when the section is listed.
static void test_check_applies_only_listed_sections(void **st) {
  (void)st;
  const char *bad_data = "data: { fields: { user = \"\"; }; };";
  const char *bad_train = "train: { per_user = true; };";
  const char *bad_eval = "eval: { baseline = \"nosuch\"; };";
  const char *bad_pipeline = "pipeline: { train_runs = []; rounds = 2; };";
  expect_accepted(bad_data, "seed,train,eval,pipeline,model");
  expect_accepted(bad_train, "data,eval,pipeline");
  expect_accepted(bad_eval, "data,train,pipeline");
  expect_accepted(bad_pipeline, "data,train,eval");
  expect_accepted(bad_data, "dat,datas");   // whole names only
  char text[1024];
  const struct { const char *extra, *sections, *needle; } cases[] = {
      {bad_data, "seed,data", "data.fields.user"},
      {bad_train, "seed,model,train", "train.per_user"},
      {bad_eval, "eval", "eval.baseline"},
      {bad_pipeline, "train,pipeline", "pipeline.rounds_run"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(text, sizeof text, "%s%s", minimal_cfg, cases[i].extra);
    check_args a = {text, cases[i].sections};
    expect_fatal(load_and_check, &a, cases[i].needle);
  }
}

// ---- canonical text ---------------------------------------------------------------------------

static const char *order_a =
    "name = \"t\"; run_dir = \"/tmp/x\"; seed = 3;\n"
    "data: { fields: { user = \"u\"; id = \"i\"; }; max_history_items = 2; files = [\"a\", \"b\"];\n"
    "        split_fallback: { test_fraction = 0.2; valid_fraction = 0.1; }; };\n"
    "train: { lr = 0.5; objective = \"sft\"; steps = 9; alpha = 1; };\n"
    "eval: { models: { a = \"a.h5\"; b = \"b.h5\"; }; baseline = \"a\"; };\n"
    "shard: { count = 4; };\n";
// the same settings: other order of sections, keys and groups, other spellings of numbers,
// a default left out
static const char *order_b =
    "shard: { };\n"
    "eval: { baseline = \"a\"; models: { a = \"a.h5\"; b = \"b.h5\"; }; };\n"
    "train: { alpha = 1.0; steps = 9; objective = \"sft\"; lr = 5e-1; };\n"
    "data: { split_fallback: { valid_fraction = 0.1; test_fraction = 0.2; }; files = [\"a\", \"b\"];\n"
    "        max_history_items = 2; fields: { id = \"i\"; user = \"u\"; }; };\n"
    "seed = 3; run_dir = \"/tmp/x\"; name = \"t\";\n";

static void test_canonical_text_ignores_file_order(void **st) {
  (void)st;
  settings *a = settings_load(write_cfg_as("a.cfg", order_a), NULL, 0);
  settings *b = settings_load(write_cfg_as("b.cfg", order_b), NULL, 0);
  const char *restrictions[] = {NULL, "data", "seed,data,tokenizer,shard", "train", "eval,train"};
  for (size_t i = 0; i < sizeof restrictions / sizeof restrictions[0]; i++) {
    char *ta = settings_text(a, restrictions[i]), *tb = settings_text(b, restrictions[i]);
    assert_true(strlen(ta) > 0);
    assert_string_equal(ta, tb);
    free(ta), free(tb);
  }
  settings_free(a), settings_free(b);
}

static void test_canonical_text_same_from_override(void **st) {
  (void)st;
  settings *a = settings_load(write_cfg_as("a.cfg", order_a), NULL, 0);
  const char *sets[] = {"shard.count=4", "train.lr=0.5", "data.fields.id=i"};
  settings *b = settings_load(write_cfg_as("b.cfg", order_b), sets, 3);
  char *ta = settings_text(a, NULL), *tb = settings_text(b, NULL);
  assert_string_equal(ta, tb);
  free(ta), free(tb);
  settings_free(a), settings_free(b);
}

static void test_canonical_text_follows_a_change(void **st) {
  (void)st;
  settings *a = settings_load(write_cfg_as("a.cfg", order_a), NULL, 0);
  const char *sets[] = {"data.split_fallback.test_fraction=0.3"};
  settings *b = settings_load(write_cfg_as("a.cfg", order_a), sets, 1);
  char *da = settings_text(a, "data"), *db = settings_text(b, "data");
  char *ra = settings_text(a, "seed,train,eval"), *rb = settings_text(b, "seed,train,eval");
  assert_string_not_equal(da, db);
  assert_non_null(strstr(db, "test_fraction = 0.3;"));
  assert_string_equal(ra, rb);   // other sections: the same text
  assert_null(strstr(ra, "data"));
  free(da), free(db), free(ra), free(rb);
  settings_free(a), settings_free(b);
}

// The canonical text is itself a config that loads to the same settings.
static void test_canonical_text_round_trips(void **st) {
  (void)st;
  settings *a = settings_load(write_cfg_as("a.cfg", full_cfg), full_sets, N_FULL_SETS);
  char *ta = settings_text(a, NULL);
  settings *b = settings_load(write_cfg_as("b.cfg", ta), NULL, 0);
  char *tb = settings_text(b, NULL);
  assert_string_equal(ta, tb);
  assert_int_equal(b->shard.count, 12);
  assert_int_equal(b->eval.models.n, 1);
  assert_true(b->synth.cold_share == 1.0);
  free(ta), free(tb);
  settings_free(a), settings_free(b);
}

// ---- the schema tables against their structs ----------------------------------------------

static void test_schema_fields_inside_struct_and_distinct(void **st) {
  (void)st;
  for (size_t i = 0; i < N_SECTIONS; i++) {
    const char *sec = sections[i].name;
    size_t len = strlen(sec);
    int rows = 0;
    for (const cfg_key *k = sections[i].keys; k->path; k++, rows++) {
      if (strncmp(k->path, sec, len) || k->path[len] != '.')
        fail_msg("table of '%s' holds key '%s'", sec, k->path);
      size_t size = type_size(k->type);
      if (k->field + size > sections[i].size)
        fail_msg("%s: field at %zu (+%zu) outside %s's struct (%zu bytes)", k->path, k->field, size, sec,
                 sections[i].size);
      if (k->field % type_align(k->type)) fail_msg("%s: field at %zu is misaligned for its type", k->path, k->field);
      for (const cfg_key *o = sections[i].keys; o < k; o++) {
        size_t osize = type_size(o->type);
        if (k->field < o->field + osize && o->field < k->field + size)
          fail_msg("%s and %s share bytes of %s's struct (fields %zu, %zu)", o->path, k->path, sec, o->field, k->field);
      }
    }
    assert_true(rows > 0);
  }
}

// The tables above are the whole schema, and the top-level keys land inside `settings`
// before the sections, without overlap.
static void test_schema_is_the_union_of_the_tables(void **st) {
  (void)st;
  settings_schema_install();
  int n, in_tables = 0;
  const cfg_key *all = config_schema(&n);
  for (size_t i = 0; i < N_SECTIONS; i++)
    for (const cfg_key *k = sections[i].keys; k->path; k++) in_tables++;
  int top = 0;
  for (int r = 0; r < n; r++) {
    if (strchr(all[r].path, '.')) continue;
    top++;
    size_t size = type_size(all[r].type);
    if (all[r].field < offsetof(settings, name) || all[r].field + size > offsetof(settings, data))
      fail_msg("top-level key %s lands at %zu, not among settings' own members", all[r].path, all[r].field);
    for (int o = 0; o < r; o++)
      if (!strchr(all[o].path, '.') && all[r].field < all[o].field + type_size(all[o].type) &&
          all[o].field < all[r].field + size)
        fail_msg("top-level keys %s and %s share a field", all[o].path, all[r].path);
  }
  assert_int_equal(top, 4);   // name, run_dir, seed, memory_limit
  assert_int_equal(n, in_tables + top);
  for (int r = 0; r < n; r++) {   // each key once
    for (int o = 0; o < r; o++)
      if (!strcmp(all[r].path, all[o].path)) fail_msg("key %s is in the schema twice", all[r].path);
    assert_non_null(row_of(all[r].path, &(size_t){0}));
  }
}

// ---- the repo's configs ----------------------------------------------------------------------

static void load_and_check_file(void *arg) {
  settings *s = settings_load(arg, NULL, 0);
  settings_check(s, NULL);
  settings_free(s);
}

// `make test` runs the unit tests from the repo root (tests/run.sh cds there).
static void test_repo_configs_load_and_pass_check(void **st) {
  (void)st;
  glob_t g;
  if (glob("configs/*.cfg", 0, NULL, &g) != 0 || g.gl_pathc == 0)
    fail_msg("no configs/*.cfg here: run the test from the repo root");
  int found_default = 0;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    found_default |= !strcmp(g.gl_pathv[i], "configs/default.cfg");
    const char *msg = nqtest_fatal_message(load_and_check_file, g.gl_pathv[i]);
    if (msg) fail_msg("%s: %s", g.gl_pathv[i], msg);
    settings *s = settings_load(g.gl_pathv[i], NULL, 0);
    assert_struct_matches_config(s);
    settings_free(s);
  }
  globfree(&g);
  assert_true(found_default);
}

// A prompt template that gives {history} a token budget is told so (not that it lacks {history}).
static void test_check_history_budget_message(void **st) {
  (void)st;
  expect_rejected("data: { prompt_template = \"{history:50}[Q] {input}\"; };",
                  "data.prompt_template: {history} takes no token budget");
}

int main(void) {
  log_set_quiet(1);
  settings_schema_install();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_fill_every_section),
      cmocka_unit_test(test_file_values_fill_every_section),
      cmocka_unit_test(test_set_overrides_fill_every_section),
      cmocka_unit_test(test_last_override_of_a_key_wins),
      cmocka_unit_test(test_every_field_matches_the_config),
      cmocka_unit_test(test_config_fill_writes_only_its_table),
      cmocka_unit_test(test_seed_fallbacks_take_top_level_seed),
      cmocka_unit_test(test_explicit_seeds_are_kept),
      cmocka_unit_test(test_seed_override_moves_the_fallbacks_only),
      cmocka_unit_test(test_every_choice_maps_to_its_enum),
      cmocka_unit_test(test_choice_outside_its_choices_is_an_error),
      cmocka_unit_test(test_config_choice_name),
      cmocka_unit_test(test_config_print_value),
      cmocka_unit_test(test_check_rejects_data_rules),
      cmocka_unit_test(test_check_rejects_train_rules),
      cmocka_unit_test(test_check_rejects_eval_rules),
      cmocka_unit_test(test_check_rejects_pipeline_rules),
      cmocka_unit_test(test_check_accepts_valid_configs),
      cmocka_unit_test(test_check_applies_only_listed_sections),
      cmocka_unit_test(test_canonical_text_ignores_file_order),
      cmocka_unit_test(test_canonical_text_same_from_override),
      cmocka_unit_test(test_canonical_text_follows_a_change),
      cmocka_unit_test(test_canonical_text_round_trips),
      cmocka_unit_test(test_schema_fields_inside_struct_and_distinct),
      cmocka_unit_test(test_schema_is_the_union_of_the_tables),
      cmocka_unit_test(test_repo_configs_load_and_pass_check),
      cmocka_unit_test(test_check_history_budget_message),
  };
  return cmocka_run_group_tests_name("settings", tests, nqtest_dir_setup, nqtest_dir_teardown);
}
