// Stamps, stamp records and states (see freshness.h). A record is text, one fact a line:
//   stamp <hex>                 the digest of the lines from "stage" to the last "file"
//   stage <stage> <version>
//   config <section> <hex>      per section the stage reads: the digest of its canonical text
//   input <output> <stamp>      per output it reads that a step made (its recorded stamp, with
//                               "+changed" when that output changed since it was recorded)
//   file <path> <fingerprint>   per file it reads that no step makes
//   output <path> <fingerprint> per path it wrote, as it was when the record was written
// Paths inside the run directory are written relative to it, so a moved run keeps its stamps.
#include "pipeline/freshness.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "pipeline/run_layout.h"

// ---- fingerprints ---------------------------------------------------------------------------
// A fingerprint is of the content: a copied or moved run (new times, new inodes) keeps its
// stamps. The SHA-256 of each file is cached by (size, time, inode) in the run's stamps folder,
// so a file is read again only when it changed or moved.

typedef struct {
  char *path;
  long long size, mtime_ns, ino;
  char hex[65];
} digest_entry;

static struct {
  char *file;            // the cache of the run directory loaded last
  digest_entry *e;
  int n, dirty;
} cache;

// Can `dir`, or its nearest existing ancestor (make_dirs would create the rest), be written?
static int dir_writable(const char *dir) {
  char *d = xstrdup(dir);
  while (access(d, F_OK) != 0 && errno == ENOENT && strrchr(d, '/') && strrchr(d, '/') != d) *strrchr(d, '/') = 0;
  int ok = access(d, W_OK) == 0 || (errno != EROFS && errno != EACCES);
  free(d);
  return ok;
}

static void cache_save(void) {
  if (!cache.file || !cache.dirty) return;
  // only a speed-up: a run looked at read-only (nq-report --out) keeps its digests in memory
  char *stamps = xstrdup(cache.file);
  *strrchr(stamps, '/') = 0;
  int writable = dir_writable(stamps);
  free(stamps);
  if (!writable) return;
  strbuf b;
  sb_init(&b);
  for (int i = 0; i < cache.n; i++)
    sb_printf(&b, "%s %lld %lld %lld %s\n", cache.e[i].hex, cache.e[i].size, cache.e[i].mtime_ns, cache.e[i].ino,
              cache.e[i].path);
  char *dir = xstrdup(cache.file);
  *strrchr(dir, '/') = 0;
  make_dirs(dir);
  free(dir);
  write_file_atomic(cache.file, b.data ? b.data : "", b.len);
  sb_free(&b);
  cache.dirty = 0;
}

static void cache_free(void) {
  for (int i = 0; i < cache.n; i++) free(cache.e[i].path);
  free(cache.e), free(cache.file);
  memset(&cache, 0, sizeof cache);
}

// Uses the cache kept in `stamps_dir` (saving the one in use first).
static void cache_use(const char *stamps_dir) {
  char *file = run_file(stamps_dir, RUN_DIGESTS, 0);
  if (cache.file && !strcmp(cache.file, file)) return free(file);
  cache_save();
  cache_free();
  cache.file = file;
  char *text = read_file(file, NULL), *save = NULL;
  for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
    digest_entry d;
    int at = 0;
    if (sscanf(l, "%64s %lld %lld %lld %n", d.hex, &d.size, &d.mtime_ns, &d.ino, &at) != 4 || !at) continue;
    d.path = xstrdup(l + at);
    cache.e = xrealloc(cache.e, (size_t)(cache.n + 1) * sizeof *cache.e);
    cache.e[cache.n++] = d;
  }
  free(text);
}

// The SHA-256 of the file `path` (st: its stat), from the cache when it is unchanged.
static void file_sha(const char *path, const struct stat *st, char hex[65]) {
  long long mt = (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
  for (int i = 0; i < cache.n; i++) {
    digest_entry *d = &cache.e[i];
    if (strcmp(d->path, path)) continue;
    if (d->size == (long long)st->st_size && d->mtime_ns == mt && d->ino == (long long)st->st_ino)
      return (void)memcpy(hex, d->hex, 65);
    if (sha256_file_hex(path, hex) != 0) snprintf(hex, 65, "unreadable");
    d->size = (long long)st->st_size, d->mtime_ns = mt, d->ino = (long long)st->st_ino;
    memcpy(d->hex, hex, 65);
    cache.dirty = 1;
    return;
  }
  if (sha256_file_hex(path, hex) != 0) snprintf(hex, 65, "unreadable");
  if (!cache.file) return;
  cache.e = xrealloc(cache.e, (size_t)(cache.n + 1) * sizeof *cache.e);
  cache.e[cache.n++] = (digest_entry){xstrdup(path), (long long)st->st_size, mt, (long long)st->st_ino, ""};
  memcpy(cache.e[cache.n - 1].hex, hex, 65);
  cache.dirty = 1;
}

static void walk(sha256_ctx *h, const char *path, const char *rel, int depth) {
  struct stat st;
  if (stat(path, &st) != 0) return;
  char hex[65] = "dir";
  if (!S_ISDIR(st.st_mode)) file_sha(path, &st, hex);
  sha256_update(h, rel, strlen(rel));
  sha256_update(h, " ", 1);
  sha256_update(h, hex, strlen(hex));
  sha256_update(h, "\n", 1);
  if (!S_ISDIR(st.st_mode) || depth > 8) return;
  struct dirent **names;
  int k = scandir(path, &names, NULL, alphasort);
  for (int i = 0; i < k; i++) {
    const char *e = names[i]->d_name;
    size_t len = strlen(e);
    if (strcmp(e, ".") && strcmp(e, "..") && (len < 4 || strcmp(e + len - 4, ".tmp"))) {
      char *sub = path_join(path, e), *subrel = path_join(rel, e);
      walk(h, sub, subrel, depth + 1);
      free(sub), free(subrel);
    }
    free(names[i]);
  }
  if (k >= 0) free(names);
}

// The content of a file, of everything under a directory (names and contents; *.tmp left
// out), or of every file a glob matches (data.split_files), as 24 hex digits; "missing" when
// nothing is there.
static void fingerprint(const char *path, char out[80]) {
  struct stat st;
  glob_t g = {0};
  int is_glob = stat(path, &st) != 0 && strpbrk(path, "*?[") && glob(path, 0, NULL, &g) == 0;
  if (!is_glob && stat(path, &st) != 0) {
    snprintf(out, 80, "missing");
    return;
  }
  sha256_ctx h;
  sha256_init(&h);
  if (!is_glob) walk(&h, path, ".", 0);
  for (size_t i = 0; is_glob && i < g.gl_pathc; i++) walk(&h, g.gl_pathv[i], g.gl_pathv[i], 0);   // glob sorts
  if (is_glob) globfree(&g);
  uint8_t d[32];
  sha256_final(&h, d);
  for (int i = 0; i < 12; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

// `path` relative to run_dir when inside it.
static const char *rel(const char *run_dir, const char *path) {
  const char *inside = run_relative(run_dir, path);
  return inside ? inside : path;
}

// How a record names `path`: relative to run_dir when inside it (a moved run keeps its
// records), else absolute (a record is read back from any working directory). Caller frees.
static char *rec_path(const char *run_dir, const char *path) {
  const char *r = rel(run_dir, path);
  if (r != path || path[0] == '/') return xstrdup(r);
  char *cwd = getcwd(NULL, 0);
  if (!cwd) error("getcwd: %s", strerror(errno));
  char *abs = path_clean(path_join(cwd, path));
  free(cwd);
  return abs;
}

// ---- records ----------------------------------------------------------------------------------

// The lines of the record at `path` (NULL when there is none); *n lines.
static char **record_read(const char *path, int *n) {
  *n = 0;
  char *text = read_file(path, NULL);
  if (!text) return NULL;
  char **lines = NULL, *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    lines = xrealloc(lines, (size_t)(*n + 1) * sizeof *lines);
    lines[(*n)++] = xstrdup(l);
  }
  free(text);
  return lines ? lines : xcalloc(1, sizeof *lines);
}

static void lines_free(char **lines, int n) {
  for (int i = 0; i < n; i++) free(lines[i]);
  free(lines);
}

// ---- stamps -----------------------------------------------------------------------------------

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// The stamp's lines: stage, config, then the inputs and the files, each sorted.
static char *stamp_body(const stage_info *st, const char *config_lines, char **inputs, int n_inputs,
                        char **files, int n_files) {
  qsort(inputs, (size_t)n_inputs, sizeof *inputs, cmp_str);
  qsort(files, (size_t)n_files, sizeof *files, cmp_str);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "stage %s %d\n%s", st->name, st->version, config_lines);
  for (int i = 0; i < n_inputs; i++) sb_printf(&b, "input %s\n", inputs[i]);
  for (int i = 0; i < n_files; i++) sb_printf(&b, "file %s\n", files[i]);
  return sb_detach(&b);
}

// "<key> <fingerprint now>" of an outside file.
static char *file_line(const char *run_dir, const char *path) {
  char fp[80], *p = rec_path(run_dir, path);
  fingerprint(path, fp);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "%s %s", p, fp);
  free(p);
  return sb_detach(&b);
}

static char *input_line(const char *run_dir, const char *output, const char *stamp) {
  char *p = rec_path(run_dir, output);
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "%s %s", p, stamp);
  free(p);
  return sb_detach(&b);
}

// ---- why a record is not current ----------------------------------------------------------------

// The first line of `want` (a stamp body) the record lacks, explained; "" when none.
static void body_differs(char **rec, int n_rec, const char *want, char *why, size_t cap) {
  char *copy = xstrdup(want), *save = NULL;
  for (char *l = strtok_r(copy, "\n", &save); l && !why[0]; l = strtok_r(NULL, "\n", &save)) {
    int found = 0;
    for (int i = 0; i < n_rec && !found; i++) found = !strcmp(rec[i], l);
    if (found) continue;
    char key[16] = "", arg[1024] = "";
    sscanf(l, "%15s %1023s", key, arg);
    if (!strcmp(key, "stage")) snprintf(why, cap, "made by another version of the stage");
    else if (!strcmp(key, "config")) snprintf(why, cap, "made with another '%s' config", arg);
    else if (!strcmp(key, "input")) snprintf(why, cap, "its input %s was made again since, or is not current", arg);
    else snprintf(why, cap, "file %s changed since", arg);
  }
  free(copy);
}

// An "output <path> <fingerprint>" line of a record: 1 with *path (as written: relative to
// run_dir, or absolute; caller frees) and the recorded fingerprint in fp; 0 for another line.
static int output_line(const char *line, const char *run_dir, char **path, char fp[80]) {
  char out[4096];
  if (sscanf(line, "output %4095s %79s", out, fp) != 2) return 0;
  *path = out[0] == '/' ? xstrdup(out) : path_join(run_dir, out);
  return 1;
}

// Why the record `rec` does not stand for `stamp` with outputs unchanged ("" when it does).
static void record_why(char **rec, int n_rec, const char *stamp, const char *want, const char *run_dir,
                       char *why, size_t cap) {
  why[0] = 0;
  if (n_rec == 0 || strncmp(rec[0], "stamp ", 6)) return (void)snprintf(why, cap, "it has no stamp record");
  if (strcmp(rec[0] + 6, stamp)) body_differs(rec, n_rec, want, why, cap);
  if (strcmp(rec[0] + 6, stamp) && !why[0]) snprintf(why, cap, "it no longer reads what it was made from");
  for (int i = 0; i < n_rec && !why[0]; i++) {
    char *path, fp[80], now[80];
    if (!output_line(rec[i], run_dir, &path, fp)) continue;
    fingerprint(path, now);
    if (strcmp(now, fp))
      snprintf(why, cap, "%.400s %s", rel(run_dir, path), strcmp(now, "missing") ? "changed since it was written" : "is missing");
    free(path);
  }
}

// The state of an output whose stamp would be `stamp` (body `want`): not run, stale or current.
static fresh_state state_of(const char *run_dir, const char *primary, const char *stamp, const char *want,
                            char *why, size_t cap) {
  char *rp = run_record_path(run_dir, primary);
  int n;
  char **rec = record_read(rp, &n);
  free(rp);
  fresh_state st = FRESH_CURRENT;
  if (!rec && !file_exists(primary)) st = FRESH_NOT_RUN, why[0] = 0;
  else {
    record_why(rec, n, stamp, want, run_dir, why, cap);
    if (why[0]) st = FRESH_STALE;
  }
  lines_free(rec, n);
  return st;
}

// ---- one invocation -----------------------------------------------------------------------------
// What it reads is matched against the records on disk, not the graph: a stage run by hand
// with any overrides finds the outputs it reads by their records' "output" lines.

typedef struct {
  char *path;            // the record
  char stamp[80];        // its stamp; "<stamp>+changed" once an output is found changed since
  char **outputs;        // resolved against run_dir
  char (*fps)[80];       // their recorded fingerprints
  int n_outputs;
  int checked;           // the outputs were fingerprinted (only for a record that is read)
} known_record;

static void known_add(known_record **v, int *n, const char *run_dir, const char *record) {
  int nl;
  char **lines = record_read(record, &nl);
  if (nl == 0 || strncmp(lines[0], "stamp ", 6)) return lines_free(lines, nl);
  *v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
  known_record *k = &(*v)[(*n)++];
  memset(k, 0, sizeof *k);
  k->path = xstrdup(record);
  snprintf(k->stamp, sizeof k->stamp, "%s", lines[0] + 6);
  for (int i = 0; i < nl; i++) {
    char *path, fp[80];
    if (!output_line(lines[i], run_dir, &path, fp)) continue;
    k->outputs = xrealloc(k->outputs, (size_t)(k->n_outputs + 1) * sizeof *k->outputs);
    k->fps = xrealloc(k->fps, (size_t)(k->n_outputs + 1) * sizeof *k->fps);
    memcpy(k->fps[k->n_outputs], fp, sizeof fp);
    k->outputs[k->n_outputs++] = path;
  }
  lines_free(lines, nl);
}

// Marks k's stamp "+changed" when an output is not what was recorded (once, when first read).
static void known_check(known_record *k) {
  if (k->checked) return;
  k->checked = 1;
  for (int j = 0; j < k->n_outputs; j++) {
    char now[80];
    fingerprint(k->outputs[j], now);
    if (strcmp(now, k->fps[j])) {
      strcat(k->stamp, "+changed");   // what is read is not what was recorded
      return;
    }
  }
}

// Every record under `dir` (the stamps folder, recursively).
static void known_scan(known_record **v, int *n, const char *run_dir, const char *dir) {
  struct dirent **names;
  int k = scandir(dir, &names, NULL, alphasort);
  for (int i = 0; i < k; i++) {
    const char *e = names[i]->d_name;
    size_t len = strlen(e);
    char *sub = path_join(dir, e);
    if (e[0] != '.') {   // not ., .., nor the digest cache
      if (dir_exists(sub)) known_scan(v, n, run_dir, sub);
      else if (len < 4 || strcmp(e + len - 4, ".tmp")) known_add(v, n, run_dir, sub);
    }
    free(sub);
    free(names[i]);
  }
  if (k >= 0) free(names);
}

static void known_free(known_record *v, int n) {
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < v[i].n_outputs; j++) free(v[i].outputs[j]);
    free(v[i].outputs), free(v[i].fps), free(v[i].path);
  }
  free(v);
}

// The records of the outputs `path` is or lies in (but `own`): their input lines; 1 when any.
static int producers_of(known_record *v, int n, const char *path, const char *own, const char *run_dir,
                        char ***inputs, int *n_inputs) {
  int found = 0;
  for (int a = 0; a < n; a++) {
    if (!strcmp(v[a].path, own) || !v[a].n_outputs) continue;
    int hit = 0;
    for (int j = 0; j < v[a].n_outputs && !hit; j++)
      hit = path_within(path, v[a].outputs[j]) || path_within(v[a].outputs[j], path);
    if (!hit) continue;
    found = 1;
    known_check(&v[a]);
    char *line = input_line(run_dir, v[a].outputs[0], v[a].stamp);
    int dup = 0;
    for (int i = 0; i < *n_inputs && !dup; i++) dup = !strcmp((*inputs)[i], line);
    if (dup) free(line);
    else (*inputs)[(*n_inputs)++] = line;
  }
  return found;
}

// The records that may hold what the invocation reads: those of the stamps folder, and
// <path>.stamp of each read outside run_dir.
static known_record *known_records(const char *run_dir, char **reads, int n_reads, int *n) {
  known_record *v = NULL;
  *n = 0;
  char *stamps = run_stamps_dir(run_dir);
  known_scan(&v, n, run_dir, stamps);
  free(stamps);
  for (int i = 0; i < n_reads; i++) {
    char *r = run_record_path(run_dir, reads[i]);
    if (!path_within(reads[i], run_dir) && file_exists(r)) known_add(&v, n, run_dir, r);
    free(r);
  }
  return v;
}

// ---- the graph ----------------------------------------------------------------------------------

void freshness_graph(pipeline_graph *g) {
  char *stamps = run_stamps_dir(g->run_dir);
  cache_use(stamps);
  free(stamps);
  int n_outside = 0, n_known = 0;
  for (int k = 0; k < g->n; k++) n_outside += g->s[k].n_outside;
  char **outside = xcalloc((size_t)n_outside + 1, sizeof *outside);
  n_outside = 0;
  for (int k = 0; k < g->n; k++)
    for (int i = 0; i < g->s[k].n_outside; i++) outside[n_outside++] = g->s[k].outside[i];
  // the records on disk matter only for what no step of the graph makes
  known_record *known = n_outside ? known_records(g->run_dir, outside, n_outside, &n_known) : NULL;
  free(outside);
  for (int k = 0; k < g->n; k++) {   // ordered: the steps it reads from have their stamps
    pipeline_step *s = &g->s[k];
    char **inputs = xcalloc((size_t)(s->n_inputs + n_known) + 1, sizeof *inputs);
    char **files = xcalloc((size_t)s->n_outside + 1, sizeof *files), *own = run_record_path(g->run_dir, s->writes[0]);
    int n_inputs = 0, n_files = 0;
    for (int i = 0; i < s->n_inputs; i++) {
      const pipeline_step *p = &g->s[s->inputs[i]];
      inputs[n_inputs++] = input_line(g->run_dir, p->writes[0], p->stamp);
    }
    for (int i = 0; i < s->n_outside; i++)   // made by a stage run outside the graph (its record), or a file
      if (!producers_of(known, n_known, s->outside[i], own, g->run_dir, &inputs, &n_inputs))
        files[n_files++] = file_line(g->run_dir, s->outside[i]);
    free(own);
    char *body = stamp_body(s->stage, s->config_lines, inputs, n_inputs, files, n_files);
    sha256_hex(body, strlen(body), s->stamp);
    s->state = state_of(g->run_dir, s->writes[0], s->stamp, body, s->why, sizeof s->why);
    // what it read is not current: stale, naming the nearest such input (a step it waits for
    // directly before one reached through it)
    for (int pass = 0; pass < 2 && s->state != FRESH_NOT_RUN; pass++)
      for (int i = 0; i < (pass ? s->n_inputs : s->n_after); i++) {
        const pipeline_step *in = &g->s[pass ? s->inputs[i] : s->after[i]];
        if (in->state == FRESH_CURRENT) continue;
        s->state = FRESH_STALE;
        snprintf(s->why, sizeof s->why, "its input %s (step %s) is not current", rel(g->run_dir, in->writes[0]), in->name);
        pass = 2;
        break;
      }
    for (int i = 0; i < n_inputs; i++) free(inputs[i]);
    for (int i = 0; i < n_files; i++) free(files[i]);
    free(inputs), free(files), free(body);
  }
  known_free(known, n_known);
  cache_save();
}

void freshness_invocation(fresh_invocation *f, const settings *set, const stage_info *stage) {
  memset(f, 0, sizeof *f);
  char **reads;
  int n_reads, n_known;
  step_paths(set, stage, &reads, &n_reads, &f->outputs, &f->n_outputs);
  if (!f->n_outputs) error("freshness: stage %s writes nothing", stage->name);
  f->run_dir = path_clean(xstrdup(set->run_dir));
  f->record = run_record_path(f->run_dir, f->outputs[0]);
  char *stamps = run_stamps_dir(f->run_dir);
  cache_use(stamps);
  free(stamps);
  known_record *known = known_records(f->run_dir, reads, n_reads, &n_known);
  char **inputs = xcalloc((size_t)(n_known + 1), sizeof *inputs), **files = xcalloc((size_t)n_reads + 1, sizeof *files);
  int n_inputs = 0, n_files = 0;
  for (int i = 0; i < n_reads; i++)
    if (!producers_of(known, n_known, reads[i], f->record, f->run_dir, &inputs, &n_inputs))
      files[n_files++] = file_line(f->run_dir, reads[i]);
  char *config_lines = step_config_lines(set, stage);
  f->body = stamp_body(stage, config_lines, inputs, n_inputs, files, n_files);
  free(config_lines);
  sha256_hex(f->body, strlen(f->body), f->stamp);
  f->state = state_of(f->run_dir, f->outputs[0], f->stamp, f->body, f->why, sizeof f->why);
  for (int i = 0; i < n_inputs; i++) free(inputs[i]);
  for (int i = 0; i < n_files; i++) free(files[i]);
  for (int i = 0; i < n_reads; i++) free(reads[i]);
  free(inputs), free(files), free(reads);
  known_free(known, n_known);
  cache_save();
}

void freshness_record(const fresh_invocation *f) {
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "stamp %s\n%s", f->stamp, f->body);
  for (int i = 0; i < f->n_outputs; i++) {
    char fp[80];
    fingerprint(f->outputs[i], fp);
    char *p = rec_path(f->run_dir, f->outputs[i]);
    sb_printf(&b, "output %s %s\n", p, fp);
    free(p);
  }
  char *dir = xstrdup(f->record);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0, make_dirs(dir);
  free(dir);
  write_file_atomic(f->record, b.data, b.len);
  sb_free(&b);
  cache_save();
}

void freshness_invocation_free(fresh_invocation *f) {
  for (int i = 0; i < f->n_outputs; i++) free(f->outputs[i]);
  free(f->outputs), free(f->record), free(f->body), free(f->run_dir);
  memset(f, 0, sizeof *f);
}
