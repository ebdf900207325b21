// The run directory as two tables (see run_layout.h): its directories, each with the config
// key that may rename it, and the files inside them.
#include "pipeline/run_layout.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/shards_file.h"
#include "hf/hf_names.h"
#include "settings/run_name.h"

#define NO_KEY ((size_t)-1)
#define KEY(m) offsetof(settings, m), #m

// A directory: what `nq-config --path` calls it, its default name under run_dir, and the
// member of `settings` (a string key, `key_name`) that names it instead when not "" (NO_KEY:
// none). Such a value is one plain name inside run_dir (settings/run_name.h). `cwd` keys are
// paths relative to the working directory instead (synth.output, as given on the command
// line: the corpus, an input of the run).
static const struct {
  const char *id, *name;
  size_t key;
  const char *key_name;
  int cwd;
} dirs[RUN_N_DIRS] = {
    [RUN_CORPUS] = {"corpus", "data/synth.jsonl", KEY(synth.output), 1},
    [RUN_SHARDS] = {"shards", "shards", NO_KEY, NULL, 0},
    [RUN_SHARDS_NEXT] = {"shards_next", "shards.tmp", NO_KEY, NULL, 0},
    [RUN_TOKENIZER] = {"tokenizer", HF_TOKENIZER, NO_KEY, NULL, 0},   // a Hugging Face tokenizer.json
    [RUN_TOKENIZER_NEXT] = {"tokenizer_next", "tokenizer.next.json", NO_KEY, NULL, 0},
    [RUN_EFFECTS] = {"effects", "effects", KEY(effect.output), 0},
    [RUN_EFFECTS_READ] = {"effects_read", "effects", KEY(annotate.effects), 0},
    [RUN_ANNOTATIONS] = {"annotations", "annotations", KEY(annotate.output), 0},
    [RUN_WEIGHTS] = {"weights", "annotations", KEY(train.annotations), 0},
    [RUN_TRAIN] = {"train", "", KEY(train.name), 0},
    [RUN_EVAL] = {"eval", "eval", KEY(eval.output), 0},
    [RUN_REPORT] = {"report", "report", NO_KEY, NULL, 0},
    [RUN_LOCKS] = {"locks", "locks", NO_KEY, NULL, 0},
    [RUN_STAMPS] = {"stamps", "stamps", NO_KEY, NULL, 0},
    [RUN_LOGS] = {"logs", "logs", NO_KEY, NULL, 0},
    [RUN_SEEDS] = {"seeds", "seeds", NO_KEY, NULL, 0},
    [RUN_SWEEP] = {"sweep", "sweep", NO_KEY, NULL, 0},
};

// A file: its name, a printf pattern of one long for the numbered ones (`digits` > 0) or of
// one string for the named ones (`named`).
static const struct {
  const char *pattern;
  int digits, named;
} files[RUN_N_FILES] = {
    [RUN_SHARD_FILE] = {"shard-%05ld.h5", 5, 0},
    [RUN_SUMMARY_JSON] = {"summary.json", 0, 0},
    [RUN_CKPT] = {"ckpt-%06ld.h5", 6, 0},
    [RUN_MODEL] = {"model.h5", 0, 0},
    [RUN_METRICS] = {"metrics.h5", 0, 0},
    [RUN_ADAPTER] = {"adapter.h5", 0, 0},
    [RUN_USER_GROUP] = {"users/group-%04ld.h5", 4, 0},
    [RUN_PREDICTIONS] = {"predictions.jsonl", 0, 0},
    [RUN_EVAL_METRICS] = {"metrics.json", 0, 0},
    [RUN_SUMMARY_MD] = {"summary.md", 0, 0},
    [RUN_SUMMARY_CSV] = {"summary.csv", 0, 0},
    [RUN_PAGE] = {"index.html", 0, 0},
    [RUN_FIGURE] = {"%s.svg", 0, 1},
    [RUN_STAMP] = {"%s", 0, 1},
    [RUN_LOG] = {"%s.log", 0, 1},
    [RUN_LOCK] = {"%s.lock", 0, 1},
    [RUN_SEED_DIR] = {"seed-%ld", 1, 0},
    [RUN_POINTS] = {"points.tsv", 0, 0},
    [RUN_DIGESTS] = {".digests", 0, 0},
};

// The config's name for directory d, or "" (the default).
static const char *key_value(const settings *s, run_dir_item d) {
  return dirs[d].key == NO_KEY ? "" : *(const char *const *)((const char *)s + dirs[d].key);
}

int run_dir_item_named(const char *id) {
  for (int d = 0; d < RUN_N_DIRS; d++)
    if (!strcmp(dirs[d].id, id)) return d;
  return -1;
}

void run_dir_item_ids(FILE *out) {
  for (int d = 0; d < RUN_N_DIRS; d++) fprintf(out, "%s%s", d ? ", " : "", dirs[d].id);
}

// The config's name for directory d, checked: "" (the default) or one plain name that is not
// the name of a fixed part of the layout (train.name = "shards" would mix a run's checkpoints
// into the folder nq-shard replaces whole; "stamps", "locks": the records of every stage).
static const char *checked_value(const settings *s, run_dir_item d) {
  const char *v = key_value(s, d);
  if (d == RUN_TRAIN && !v[0]) fatal("%s: train.name is empty", settings_file(s));
  if (!v[0] || dirs[d].cwd) return v;
  run_name_check(settings_file(s), dirs[d].key_name, v);
  for (int o = 0; o < RUN_N_DIRS; o++) {
    size_t n = strcspn(dirs[o].name, "/");   // data/synth.jsonl: its folder data/
    if (dirs[o].key == NO_KEY || dirs[o].cwd)
      if (n && strlen(v) == n && !strncmp(v, dirs[o].name, n))
        fatal("%s: %s = \"%s\": that name is the run layout's own %s (results/README.md); choose another",
              settings_file(s), dirs[d].key_name, v, dirs[o].name);
  }
  return v;
}

void run_layout_check(const settings *s) {
  for (int d = 0; d < RUN_N_DIRS; d++)
    if (dirs[d].key != NO_KEY) (void)checked_value(s, (run_dir_item)d);
}

char *run_path(const settings *s, run_dir_item d) {
  const char *v = checked_value(s, d);
  if (!v[0]) return path_join(s->run_dir, dirs[d].name);
  return dirs[d].cwd ? xstrdup(v) : path_join(s->run_dir, v);
}

char *run_dir_name(const settings *s, run_dir_item d) {
  const char *v = checked_value(s, d);
  if (!v[0]) return xstrdup(dirs[d].name);
  return dirs[d].cwd ? NULL : xstrdup(v);
}

char *run_file(const char *dir, run_file_item f, long n) {
  if (files[f].named) error("run_file: %s takes a name (run_file_in)", files[f].pattern);
  char name[128];
  snprintf(name, sizeof name, files[f].pattern, n);
  return path_join(dir, name);
}

char *run_file_in(const char *dir, run_file_item f, const char *name) {
  if (!files[f].named) error("run_file_in: %s takes no name", files[f].pattern);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, files[f].pattern, name);
  char *r = path_join(dir, b.data);
  sb_free(&b);
  return r;
}

static int cmp_long(const void *a, const void *b) {
  return (*(const long *)a > *(const long *)b) - (*(const long *)a < *(const long *)b);
}

// The number of file name `name` for the numbered pattern "<head>%0<k>ld<tail>", or -1.
static long number_of(const char *pattern, const char *name) {
  const char *pct = strchr(pattern, '%'), *tail = strstr(pattern, "ld") + 2;
  const char *base = strrchr(pattern, '/');
  size_t head = (size_t)(pct - (base ? base + 1 : pattern)), nl = strlen(name), tl = strlen(tail);
  if (strncmp(name, base ? base + 1 : pattern, head) || nl < head + tl + 1 || strcmp(name + nl - tl, tail)) return -1;
  long v = 0;
  for (const char *p = name + head; p < name + nl - tl; p++) {
    if (*p < '0' || *p > '9' || v > 100000000000L) return -1;
    v = v * 10 + (*p - '0');
  }
  char again[256];   // only the names run_file makes ("ckpt-10.h5" is not one)
  snprintf(again, sizeof again, base ? base + 1 : pattern, v);
  return strcmp(again, name) ? -1 : v;
}

long run_file_number(run_file_item f, const char *name) {
  if (!files[f].digits) error("run_file_number: %s is not numbered", files[f].pattern);
  return number_of(files[f].pattern, name);
}

int run_list(const char *dir, run_file_item f, long **nums) {
  if (!files[f].digits) error("run_list: %s is not numbered", files[f].pattern);
  *nums = NULL;
  char *sub = NULL;   // users/group-...: the folder part of the pattern
  const char *slash = strrchr(files[f].pattern, '/');
  if (slash) {
    char part[64];
    snprintf(part, sizeof part, "%.*s", (int)(slash - files[f].pattern), files[f].pattern);
    sub = path_join(dir, part);
  }
  DIR *dp = opendir(sub ? sub : dir);
  free(sub);
  if (!dp) return 0;
  int n = 0, cap = 0;
  for (struct dirent *e; (e = readdir(dp));) {
    long v = number_of(files[f].pattern, e->d_name);
    if (v < 0) continue;
    if (n == cap) *nums = xrealloc(*nums, (size_t)(cap = cap ? 2 * cap : 16) * sizeof **nums);
    (*nums)[n++] = v;
  }
  closedir(dp);
  if (n) qsort(*nums, (size_t)n, sizeof **nums, cmp_long);
  return n;
}

char **run_shard_files(const char *dir, int *n, int check) {
  long *nums;
  *n = run_list(dir, RUN_SHARD_FILE, &nums);
  char **paths = xcalloc((size_t)*n + 1, sizeof *paths);
  for (int i = 0; i < *n; i++) paths[i] = run_file(dir, RUN_SHARD_FILE, nums[i]);
  if (check) shard_set_check(paths, nums, *n);
  free(nums);
  return paths;
}

char *run_resolve(const settings *s, const char *p) {
  if (!p || !p[0]) return NULL;
  return p[0] == '/' ? xstrdup(p) : path_join(s->run_dir, p);
}

char *run_stamps_dir(const char *run_dir) { return path_join(run_dir, dirs[RUN_STAMPS].name); }

const char *run_relative(const char *run_dir, const char *path) {
  size_t n = strlen(run_dir);
  return !strncmp(path, run_dir, n) && path[n] == '/' ? path + n + 1 : NULL;
}

char *run_record_path(const char *run_dir, const char *path) {
  const char *inside = run_relative(run_dir, path);
  if (inside) {
    char *stamps = path_join(run_dir, dirs[RUN_STAMPS].name), *r = run_file_in(stamps, RUN_STAMP, inside);
    free(stamps);
    return r;
  }
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "%s.stamp", path);
  return sb_detach(&b);
}

#define RUN_DIR_MARK "{run_dir}"

char *run_data_path(const settings *s, const char *p) {
  const char *at = strstr(p, RUN_DIR_MARK);
  strbuf b;
  sb_init(&b);
  if (at) {
    sb_append(&b, p, (size_t)(at - p));
    sb_puts(&b, s->run_dir);
    sb_puts(&b, at + strlen(RUN_DIR_MARK));
  } else {
    sb_puts(&b, p);
  }
  return sb_detach(&b);
}

char *run_round_name(run_dir_item d, const char *run, int k) {
  const char *base = d == RUN_TRAIN ? run : dirs[d].name;
  if (!base || !base[0]) error("run_round_name: no name for directory kind %d", (int)d);
  strbuf b;
  sb_init(&b);
  sb_puts(&b, base);
  if (k > 1) sb_printf(&b, "_r%d", k);
  return sb_detach(&b);
}
