// nq-shard's MPI driver (see shard_run.h and docs/hdf5-layout.md).
//  1. rerun check: complete shards made from the same inputs and config -> nothing to do
//  2. tokenizer: load tokenizer.path, or rank 0 trains one on the first records; every rank
//     loads the saved <run_dir>/tokenizer.json so all encode identically
//  3. each rank reads its line-aligned byte range of every file into samples
//  4. per-sample costs are gathered, the assignment to shards is computed identically on every
//     rank from (file, line) order, and samples travel to the owner rank (shard % size)
//  5. owners write into shards.tmp/; rank 0 swaps it in as shards/ (no partial outputs)
#include "shard/shard_run.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/hf.h"
#include "base/jsonl.h"
#include "base/log.h"
#include "shard/shard.h"
#include "base/util.h"
#include "formats/provenance.h"

// tokenizer.path, or <model.path>/tokenizer.json for an HF model, or "" (train one).
static const char *given_tokenizer(const config *c) {
  static char *path = NULL;  // the config does not change within a run
  if (!path) {
    path = hf_tokenizer_path(c);
    if (!path) path = xstrdup("");
  }
  return path;
}

#define SECTIONS "seed,data,tokenizer,shard"
#define MAX_BAD_SHOWN 5

// data.files with "{run_dir}" replaced.
static char **input_files(const config *c, int *n) {
  *n = cfg_list_len(c, "data.files");
  if (*n == 0) fatal("%s: data.files is empty", config_path(c));
  const char *rd = cfg_str(c, "run_dir");
  char **r = xcalloc((size_t)*n, sizeof *r);
  for (int i = 0; i < *n; i++) {
    const char *f = cfg_list_str(c, "data.files", i);
    const char *p = strstr(f, "{run_dir}");
    strbuf b;
    sb_init(&b);
    if (p) {
      sb_append(&b, f, (size_t)(p - f));
      sb_puts(&b, rd);
      sb_puts(&b, p + 9);
    } else {
      sb_puts(&b, f);
    }
    r[i] = sb_detach(&b);
  }
  return r;
}

// Remove the files of a directory we own (shards/ or shards.tmp/) and the directory.
static void remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    if (errno == ENOENT) return;
    error("cannot open directory %s: %s", dir, strerror(errno));
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char *p = path_join(dir, e->d_name);
    if (unlink(p) != 0) error("cannot remove %s: %s", p, strerror(errno));
    free(p);
  }
  closedir(d);
  if (rmdir(dir) != 0) error("cannot remove directory %s: %s", dir, strerror(errno));
}

// Rank 0: 1 when shards/ holds `count` shards from the same config and inputs; 0 when there
// are none or --force; fatal when they differ without --force.
static tokenizer *load_tokenizer(const char *path);

static int outputs_current(stage_ctx *s, const char *dir, int count, char **files, int n_files,
                           const char *tok_path) {
  int n;
  char **have = shard_list(dir, &n);
  if (n == 0) { free(have); return 0; }
  char *want = config_text(s->cfg, SECTIONS);
  const char *why = NULL;
  char name[64];
  for (int i = 0; i < n && !why; i++) {
    shard_file_name(i, name, sizeof name);
    if (n != count) { why = "a different shard.count"; break; }
    char *p = path_join(dir, name);
    if (strcmp(p, have[i])) why = "an incomplete set of shard files";
    hid_t f = why ? -1 : h5_open_read(p);
    if (f >= 0) {
      char *stage = h5_attr_exists(f, "nq_stage") ? h5_attr_get_str(f, "nq_stage") : xstrdup("");
      char *cfg = h5_attr_exists(f, "nq_config") ? h5_attr_get_str(f, "nq_config") : xstrdup("");
      char *inp = h5_attr_exists(f, "nq_inputs") ? h5_attr_get_str(f, "nq_inputs") : xstrdup("");
      char *old = config_text_sections(cfg, SECTIONS);
      if (strcmp(stage, "shard")) why = "files not written by nq-shard";
      else if (!old || strcmp(old, want)) why = "a different config";
      else if (!file_exists(tok_path)) why = "a tokenizer that is no longer there";
      else {
        tokenizer *t = load_tokenizer(tok_path);
        char *d = h5_attr_exists(f, "tokenizer_digest") ? h5_attr_get_str(f, "tokenizer_digest") : xstrdup("");
        if (strcmp(d, tok_digest(t))) why = "another tokenizer than the one in the run directory";
        free(d);
        tok_free(t);
      }
      for (int k = 0; k < n_files && !why; k++)
        if (!strstr(inp, file_digest(files[k]))) why = "different input data";
      const char *given = given_tokenizer(s->cfg);
      if (!why && *given && (!file_exists(given) || !strstr(inp, file_digest(given))))
        why = "a different tokenizer.path file";
      free(stage), free(cfg), free(inp), free(old);
      h5_close(f);
    }
    free(p);
  }
  for (int i = 0; i < n; i++) free(have[i]);
  free(have);
  free(want);
  if (!why) return 1;
  if (!s->force) fatal("%s holds shards made with %s; rerun with --force to replace them", dir, why);
  message("shard: replacing %s (made with %s; --force)", dir, why);
  return 0;
}

// Rank 0: train on the first tokenizer.train_samples records (prompt texts + targets).
static void train_tokenizer(const config *c, const shard_opts *o, char **files, int n_files,
                            const char *out) {
  long want = cfg_int(c, "tokenizer.train_samples");
  size_t n = 0, cap = 0;
  char **texts = NULL;
  for (int f = 0; f < n_files && (long)n < 2 * want; f++) {
    jsonl_reader r;
    jsonl_open(&r, files[f], 0, jsonl_file_size(files[f]));
    json_t *rec;
    char err[1024];
    int rc;
    while ((long)n < 2 * want && (rc = jsonl_next(&r, &rec, err, sizeof err)) != 0) {
      if (rc < 0) continue;   // reported by the main pass
      char *p, *t;
      if (shard_sample_texts(o, rec, &p, &t, err, sizeof err) == 0) {
        if (n + 2 > cap) texts = xrealloc(texts, (cap = cap ? 2 * cap : 1024) * sizeof *texts);
        texts[n++] = p;
        texts[n++] = t;
      }
      json_decref(rec);
    }
    jsonl_close(&r);
  }
  int ns = cfg_list_len(c, "tokenizer.specials");
  const char **sp = xcalloc((size_t)ns + 1, sizeof *sp);
  for (int i = 0; i < ns; i++) sp[i] = cfg_list_str(c, "tokenizer.specials", i);
  double t0 = wall_seconds();
  tokenizer *t = tok_train((const char *const *)texts, n, (int)cfg_int(c, "tokenizer.vocab_size"), sp, ns);
  if (!t) error("tokenizer training failed");
  message("shard: trained a %d-token tokenizer on %zu texts in %.1fs", tok_vocab_size(t), n, wall_seconds() - t0);
  if (tok_save_json(t, out) != 0) error("cannot save tokenizer %s", out);
  tok_free(t);
  for (size_t i = 0; i < n; i++) free(texts[i]);
  free(texts);
  free(sp);
}

static tokenizer *load_tokenizer(const char *path) {
  char err[1024];
  tokenizer *t = tok_load_json(path, err, sizeof err);
  if (!t) fatal("%s", err);
  return t;
}

typedef struct { int64_t order, cost; } order_cost;
static int cmp_oc(const void *a, const void *b) {
  const order_cost *x = a, *y = b;
  return (x->order > y->order) - (x->order < y->order);
}

void shard_run(stage_ctx *s) {
  const config *c = s->cfg;
  shard_opts o;
  int count = (int)cfg_int(c, "shard.count");
  int n_files;
  char **files = input_files(c, &n_files);
  // config and file problems: rank 0 reports them first (one line), the others wait
  for (int pass = 0; pass < 2; pass++) {
    if ((s->rank == 0) == (pass == 0)) {
      shard_opts_from_config(&o, c);
      for (int f = 0; f < n_files; f++) (void)jsonl_file_size(files[f]);   // missing / empty: fatal
    }
    if (pass == 0) mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0's input checks");
  }
  char *dir = stage_path(s, "shards"), *tmp_dir = stage_path(s, "shards.tmp");
  char *tok_path = stage_path(s, "tokenizer.json");
  // the new tokenizer replaces tokenizer.json only when the shards are published
  char *tok_next = stage_path(s, "tokenizer.next.json");

  // 1. rerun check
  int current = 0;
  if (s->rank == 0) current = outputs_current(s, dir, count, files, n_files, tok_path);
  mpicheck(MPI_Bcast(&current, 1, MPI_INT, 0, MPI_COMM_WORLD), "broadcasting the rerun check");
  if (current) {
    if (s->rank == 0) message("shard: %s is up to date (same inputs and config); nothing to do", dir);
    goto done;
  }

  // 2. tokenizer
  if (s->rank == 0) {
    const char *given = given_tokenizer(c);
    if (*given) {
      tokenizer *t = load_tokenizer(given);
      if (tok_save_json(t, tok_next) != 0) error("cannot save tokenizer %s", tok_next);
      tok_free(t);
    } else {
      train_tokenizer(c, &o, files, n_files, tok_next);
    }
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the tokenizer");
  tokenizer *tok = load_tokenizer(tok_next);
  if (tok_special_id(tok, "<|endoftext|>") < 0)
    fatal("%s: the tokenizer has no <|endoftext|> token (add it to tokenizer.specials)", given_tokenizer(c));

  // 3. read my part of every file
  double t0 = wall_seconds();
  size_t n = 0, cap = 0;
  shard_sample *mine = NULL;
  long bad = 0, truncated = 0;
  int64_t first_bad = INT64_MAX;   // fail mode: order key of my first bad record
  char first_msg[1300] = "";
  for (int f = 0; f < n_files && first_bad == INT64_MAX; f++) {
    long long a, b;
    jsonl_range(files[f], s->rank, s->size, &a, &b);
    jsonl_reader r;
    jsonl_open(&r, files[f], a, b);
    json_t *rec;
    char err[1024], err2[1200];
    int rc;
    while ((rc = jsonl_next(&r, &rec, err, sizeof err)) != 0) {
      if (rc > 0) {
        if (n == cap) mine = xrealloc(mine, (cap = cap ? 2 * cap : 1024) * sizeof *mine);
        rc = shard_sample_make(&o, tok, rec, &mine[n], &truncated, err, sizeof err);
        json_decref(rec);
        if (rc == 0) {
          mine[n++].order = ((int64_t)f << 40) | (int64_t)r.line;
          continue;
        }
        snprintf(err2, sizeof err2, "%s:%ld: %s", files[f], r.line, err);
      } else {
        snprintf(err2, sizeof err2, "%s", err);
      }
      if (!o.skip_bad) {
        first_bad = ((int64_t)f << 40) | (int64_t)r.line;
        snprintf(first_msg, sizeof first_msg, "%s", err2);
        break;
      }
      if (bad++ < MAX_BAD_SHOWN) message("shard: skipping bad record: %s", err2);
    }
    jsonl_close(&r);
  }
  // fail mode: only the first bad record of the corpus is reported, whatever the rank count
  int64_t global_bad;
  mpicheck(MPI_Allreduce(&first_bad, &global_bad, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD), "finding the first bad record");
  if (global_bad != INT64_MAX) {
    if (first_bad == global_bad) fatal("%s", first_msg);
    mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the rank reporting a bad record");
    error("the rank reporting the first bad record did not stop the job");
  }
  long tot[3] = {bad, truncated, (long)n}, sum[3];
  mpicheck(MPI_Allreduce(tot, sum, 3, MPI_LONG, MPI_SUM, MPI_COMM_WORLD), "summing record counts");
  if (s->rank == 0) {
    if (sum[0]) message("shard: skipped %ld bad records (data.on_bad_record = \"skip\")", sum[0]);
    if (sum[1]) message("shard: truncated %ld targets to data.max_target_tokens", sum[1]);
    message("shard: %ld samples tokenized in %.1fs", sum[2], wall_seconds() - t0);
  }
  if (sum[2] == 0) fatal("no usable records in data.files (%ld bad)", sum[0]);
  if (sum[2] < count) fatal("only %ld samples for shard.count = %d; lower shard.count", sum[2], count);

  // 4. assignment: identical on every rank, independent of the rank count
  int nl = (int)n, *cnt = xcalloc((size_t)s->size, sizeof *cnt), *dsp = xcalloc((size_t)s->size, sizeof *dsp);
  mpicheck(MPI_Allgather(&nl, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD), "gathering sample counts");
  size_t total = 0;
  for (int r = 0; r < s->size; r++) {
    dsp[r] = (int)total * 2;
    total += (size_t)cnt[r];
    cnt[r] *= 2;
  }
  order_cost *oc = xmalloc((n ? n : 1) * sizeof *oc), *all = xmalloc(total * sizeof *all);
  for (size_t i = 0; i < n; i++) oc[i] = (order_cost){mine[i].order, (int64_t)mine[i].hist_len + mine[i].nohist_len};
  mpicheck(MPI_Allgatherv(oc, nl * 2, MPI_INT64_T, all, cnt, dsp, MPI_INT64_T, MPI_COMM_WORLD),
           "gathering sample costs");
  qsort(all, total, sizeof *all, cmp_oc);
  int64_t *cost = xmalloc(total * sizeof *cost);
  for (size_t i = 0; i < total; i++) cost[i] = all[i].cost;
  int32_t *shard_of = xmalloc(total * sizeof *shard_of);
  shard_assign(cost, total, count, shard_of);

  // exchange: samples travel to the rank owning their shard (shard % size)
  strbuf *out = xcalloc((size_t)s->size, sizeof *out);
  for (int r = 0; r < s->size; r++) sb_init(&out[r]);
  for (size_t i = 0; i < n; i++) {
    order_cost key = {mine[i].order, 0};
    order_cost *hit = bsearch(&key, all, total, sizeof *all, cmp_oc);
    if (!hit) error("sample %s missing from the gathered order", mine[i].id);
    int sh = shard_of[hit - all];
    shard_sample_pack(&mine[i], &out[sh % s->size]);
    shard_sample_free(&mine[i]);
  }
  free(mine);
  int *scnt = xcalloc((size_t)s->size, sizeof *scnt), *sdsp = xcalloc((size_t)s->size, sizeof *sdsp);
  int *rcnt = xcalloc((size_t)s->size, sizeof *rcnt), *rdsp = xcalloc((size_t)s->size, sizeof *rdsp);
  strbuf send;
  sb_init(&send);
  for (int r = 0; r < s->size; r++) {
    if (send.len + out[r].len > INT_MAX) fatal("shard exchange over 2 GB per rank; run with more ranks");
    sdsp[r] = (int)send.len;
    scnt[r] = (int)out[r].len;
    sb_append(&send, out[r].data ? out[r].data : "", out[r].len);
    sb_free(&out[r]);
  }
  free(out);
  mpicheck(MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD), "exchanging sample sizes");
  size_t rtotal = 0;
  for (int r = 0; r < s->size; r++) {
    if (rtotal + (size_t)rcnt[r] > INT_MAX) fatal("shard exchange over 2 GB per rank; run with more ranks");
    rdsp[r] = (int)rtotal;
    rtotal += (size_t)rcnt[r];
  }
  char *recv = xmalloc(rtotal ? rtotal : 1);
  mpicheck(MPI_Alltoallv(send.data ? send.data : "", scnt, sdsp, MPI_BYTE, recv, rcnt, rdsp, MPI_BYTE,
                         MPI_COMM_WORLD), "exchanging samples");
  sb_free(&send);

  // samples received, grouped by shard
  size_t nr = 0, rcap = 0;
  shard_sample *got = NULL;
  for (size_t at = 0; at < rtotal;) {
    if (nr == rcap) got = xrealloc(got, (rcap = rcap ? 2 * rcap : 1024) * sizeof *got);
    at += shard_sample_unpack(recv + at, rtotal - at, &got[nr++]);
  }
  free(recv);

  // 5. write my shards into shards.tmp/, then publish
  if (s->rank == 0) {
    remove_dir(tmp_dir);
    make_dirs(tmp_dir);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for shards.tmp");
  const char **inputs = xcalloc((size_t)n_files + 1, sizeof *inputs);
  int n_inputs = 0;
  for (int f = 0; f < n_files; f++) inputs[n_inputs++] = files[f];
  if (*given_tokenizer(c)) inputs[n_inputs++] = given_tokenizer(c);
  h5_provenance prov = {.stage = "shard", .config_text = NULL, .mpi_size = s->size, .n_inputs = n_inputs,
                        .inputs = inputs, .digests = NULL};
  char *ctext = config_text(c, NULL);
  prov.config_text = ctext;
  shard_write_info wi = {.count = count, .tokenizer_digest = tok_digest(tok), .vocab_size = tok_vocab_size(tok),
                         .eos_id = tok_special_id(tok, "<|endoftext|>"), .bad_records = sum[0],
                         .truncated_targets = sum[1], .has_truth = *o.f_truth != 0,
                         .has_truth_rare = *o.f_truth_rare != 0, .prov = &prov};
  shard_sample *part = xmalloc((nr ? nr : 1) * sizeof *part);
  for (int sh = s->rank; sh < count; sh += s->size) {
    size_t k = 0;
    for (size_t i = 0; i < nr; i++) {
      order_cost key = {got[i].order, 0};
      order_cost *hit = bsearch(&key, all, total, sizeof *all, cmp_oc);
      if (shard_of[hit - all] == sh) part[k++] = got[i];
    }
    char name[64];
    shard_file_name(sh, name, sizeof name);
    char *p = path_join(tmp_dir, name);
    wi.index = sh;
    shard_write(p, part, k, &wi);
    free(p);
  }
  free(part);
  for (size_t i = 0; i < nr; i++) shard_sample_free(&got[i]);
  free(got);
  free(ctext);
  free(inputs);
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for every shard");
  if (s->rank == 0) {
    remove_dir(dir);
    rename_atomic(tmp_dir, dir);
    rename_atomic(tok_next, tok_path);
    message("shard: wrote %d shards (%zu samples) to %s, tokenizer %s", count, total, dir, tok_path);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the shards to be published");
  free(cnt), free(dsp), free(oc), free(all), free(cost), free(shard_of);
  free(scnt), free(sdsp), free(rcnt), free(rdsp);
  tok_free(tok);
done:
  for (int f = 0; f < n_files; f++) free(files[f]);
  free(files);
  free(dir), free(tmp_dir), free(tok_path), free(tok_next);
}
