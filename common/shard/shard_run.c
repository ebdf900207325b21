// nq-shard's MPI driver (see shard_run.h and docs/hdf5-layout.md).
//  (whether shards/ is current is the stamps' answer, asked at start-up: pipeline/freshness.h)
//  2. tokenizer: load tokenizer.path, or rank 0 trains one on the first train-split records; every rank
//     loads the saved <run_dir>/tokenizer.next.json so all encode identically
//  3. each rank reads its part of every file (JSONL: a line-aligned byte range; JSON array:
//     every size-th record) into samples, joining each to its targets record (data.targets)
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

#include "base/cleanup.h"
#include "base/records.h"
#include "base/log.h"
#include "base/mpi_counts.h"
#include "base/path_guard.h"
#include "base/util.h"
#include "hf/hf.h"
#include "h5/provenance.h"
#include "files/shards_file.h"
#include "pipeline/run_layout.h"
#include "shard/shard.h"
#include "shard/shard_input.h"
#include "shard/shard_preview.h"

#define MAX_BAD_SHOWN 5

// tokenizer.path, or <model.path>/tokenizer.json for an HF model, or "" (train one).
static const char *given_tokenizer(const settings *set) {
  static char *path = NULL;  // the settings do not change within a run
  if (!path) {
    path = hf_tokenizer_path(set);
    if (!path) path = xstrdup("");
  }
  return path;
}

static tokenizer *load_tokenizer(const char *path) {
  char err[1024];
  tokenizer *t = tok_load_json(path, err, sizeof err);
  if (!t) fatal("%s", err);
  return t;
}

// Is `name` a file nq-shard writes in shards/ or shards.tmp/: shard-<i>.h5, or its
// <name>.tmp while being written?
static int shard_own_name(const char *name) {
  if (run_file_number(RUN_SHARD_FILE, name) >= 0) return 1;
  size_t n = strlen(name);
  if (n < 5 || strcmp(name + n - 4, ".tmp")) return 0;
  char *base = xstrdup(name);
  base[n - 4] = 0;
  int own = run_file_number(RUN_SHARD_FILE, base) >= 0;
  free(base);
  return own;
}

// A folder nq-shard owns (shards/ or shards.tmp/; replaced whole, as one set): checked, and
// with `remove` its shard files removed, then the folder. A link, or any file nq-shard does
// not write (a user's notes.txt), stops it before a file goes, named: --force deletes only
// the stage's own files.
static void own_dir(const char *dir, int remove) {
  path_guard_check(dir);
  for (int pass = 0; pass < 1 + remove; pass++) {   // 0: check every name, 1: remove
    DIR *d = opendir(dir);
    if (!d) {
      if (errno == ENOENT) return;
      error("cannot open directory %s: %s", dir, strerror(errno));
    }
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      char *p = path_join(dir, e->d_name);
      if (pass == 0 && !shard_own_name(e->d_name))
        fatal("%s: not a file nq-shard writes; move it out of %s (nq-shard replaces that folder whole)", p, dir);
      if (pass == 1 && unlink(p) != 0) error("cannot remove %s: %s", p, strerror(errno));
      free(p);
    }
    closedir(d);
  }
  if (remove && rmdir(dir) != 0) error("cannot remove directory %s: %s", dir, strerror(errno));
}

// ---- working state ---------------------------------------------------------------------
// id_hash: FNV-1a of the sample id, to find duplicate ids across ranks (a 64-bit collision
// between different ids is taken for a duplicate: odds ~1e-19 for a million samples).
typedef struct { int64_t order, cost, id_hash; } order_cost;
#define OC_WORDS 3   // int64s in an order_cost

static int cmp_i64(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  return (*x > *y) - (*x < *y);
}

static int cmp_oc(const void *a, const void *b) {
  const order_cost *x = a, *y = b;
  return (x->order > y->order) - (x->order < y->order);
}

// A sample's place in the corpus: files in order (corpus_files), then lines or array indices.
static int64_t corpus_order(int file, long line) { return ((int64_t)file << 40) | (int64_t)line; }

typedef struct {
  const stage_args *s;
  const settings *set;
  shard_input in;                  // options, input files, targets table
  int count;                       // shard.count
  char *dir, *tmp_dir;             // <run_dir>/shards/ and the shards.tmp/ it is written in
  char *tok_path, *tok_next;       // tokenizer.json, and tokenizer.next.json that replaces it
                                   // only when the shards are published
  tokenizer *tok;
  shard_sample *mine;              // the samples this rank holds: those it read, then, after
  size_t n_mine, cap_mine;         // the exchange, those of the shards it writes
  long bad;                        // this rank's bad records
  shard_counts n;                  // this rank's truncated targets and fields
  long total_bad;                  // the corpus's counts
  shard_counts total;
  order_cost *all;                 // every sample of the corpus, sorted by order
  size_t n_all;
  int32_t *shard_of;               // the shard of all[i]
} shard_job;

// Config and file problems: rank 0 reports them first (one line), the others wait.
static void check_inputs(shard_job *j) {
  for (int pass = 0; pass < 2; pass++) {
    if ((j->s->rank == 0) == (pass == 0)) {
      shard_input_open(&j->in, j->set);
    }
    if (pass == 0) mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0's input checks");
  }
}

static shard_job *shard_job_create(const settings *set, const stage_args *a) {
  shard_job *j = xcalloc(1, sizeof *j);
  j->s = a;
  j->set = set;
  j->count = (int)set->shard.count;
  check_inputs(j);
  make_dirs(set->run_dir);
  j->dir = run_path(set, RUN_SHARDS);
  j->tmp_dir = run_path(set, RUN_SHARDS_NEXT);
  j->tok_path = run_path(set, RUN_TOKENIZER);
  j->tok_next = run_path(set, RUN_TOKENIZER_NEXT);
  return j;
}

static void shard_job_free(shard_job *j) {
  for (size_t i = 0; i < j->n_mine; i++) shard_sample_free(&j->mine[i]);
  free(j->mine);
  shard_input_close(&j->in);
  free(j->dir), free(j->tmp_dir), free(j->tok_path), free(j->tok_next);
  if (j->tok) tok_free(j->tok);
  free(j->all), free(j->shard_of);
  free(j);
}

// ---- 2. tokenizer ------------------------------------------------------------------------
// Rank 0: train on the first train-split records (prompt texts + targets) and save to `out`.
static void train_tokenizer(const shard_job *j, const char *out) {
  size_t n;
  double t0 = wall_seconds();
  tokenizer *t = shard_input_train_tokenizer(&j->in, 0, &n);
  message("shard: trained a %d-token tokenizer on %zu texts of the train split in %.1fs", tok_vocab_size(t), n,
          wall_seconds() - t0);
  if (tok_save_json(t, out) != 0) error("cannot save tokenizer %s", out);
  tok_free(t);
}

// Rank 0 saves tokenizer.path (or a trained one) as tokenizer.next.json; every rank loads it.
// Any failure before the publication (a bad record, a full disk) removes it again.
static void prepare_tokenizer(shard_job *j) {
  cleanup_file(j->tok_next);
  if (j->s->rank == 0) {
    const char *given = given_tokenizer(j->set);
    if (*given) {
      tokenizer *t = load_tokenizer(given);
      if (tok_save_json(t, j->tok_next) != 0) error("cannot save tokenizer %s", j->tok_next);
      tok_free(t);
    } else {
      train_tokenizer(j, j->tok_next);
    }
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the tokenizer");
  j->tok = load_tokenizer(j->tok_next);
  if (tok_special_id(j->tok, "<|endoftext|>") < 0)
    fatal("%s: the tokenizer has no <|endoftext|> token (add it to tokenizer.specials)", given_tokenizer(j->set));
}

// ---- 3. read -----------------------------------------------------------------------------
// Fail mode: this rank's first bad record (order INT64_MAX: none).
typedef struct {
  int64_t order;
  char msg[1800];
} first_bad;

static int add_sample(shard_job *j, int f, const rec_reader *r, const json_t *rec, char *err, size_t errlen) {
  if (j->n_mine == j->cap_mine) j->mine = xrealloc(j->mine, (j->cap_mine = j->cap_mine ? 2 * j->cap_mine : 1024) * sizeof *j->mine);
  shard_src src;
  char id[600];
  int rc = shard_input_src(&j->in, f, r, rec, &src, id, sizeof id, err, errlen);
  if (rc == 0) rc = shard_sample_make(&j->in.o, j->tok, rec, &src, &j->mine[j->n_mine], &j->n, err, errlen);
  if (rc == 0) j->mine[j->n_mine++].order = corpus_order(f, rec_number(r));
  return rc;
}

// This rank's part of file f; bad records are skipped (counted, the first few shown) or, in
// fail mode, the first one stops the reading.
static void read_part(shard_job *j, int f, first_bad *fb) {
  rec_reader r;
  json_t *rec;
  char err[1024], err2[1700], where[600];
  if (corpus_open(&r, &j->set->data, j->in.files[f].path, j->s->rank, j->s->size, err, sizeof err)) {
    fb->order = corpus_order(f, 0);   // the file itself is unreadable: stops in either mode
    snprintf(fb->msg, sizeof fb->msg, "%s", err);
    rec_close(&r);
    return;
  }
  int rc;
  while ((rc = rec_next(&r, &rec, err, sizeof err)) != 0) {
    if (rc > 0) {
      rc = add_sample(j, f, &r, rec, err, sizeof err);
      json_decref(rec);
      if (rc == 0) continue;
      rec_where(&r, where, sizeof where);
      snprintf(err2, sizeof err2, "%s: %s", where, err);
    } else {
      snprintf(err2, sizeof err2, "%s", err);
    }
    if (!j->in.o.skip_bad || rc == -2) {   // -2: the rest of the file is unreadable
      fb->order = corpus_order(f, rec_number(&r));
      snprintf(fb->msg, sizeof fb->msg, "%s", err2);
      break;
    }
    if (j->bad++ < MAX_BAD_SHOWN) message("shard: skipping bad record: %s", err2);
  }
  rec_close(&r);
}

// Fail mode: only the first bad record of the corpus is reported, whatever the rank count.
static void stop_at_first_bad(const first_bad *fb) {
  int64_t global_bad;
  mpicheck(MPI_Allreduce(&fb->order, &global_bad, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD), "finding the first bad record");
  if (global_bad == INT64_MAX) return;
  if (fb->order == global_bad) fatal("%s", fb->msg);
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the rank reporting a bad record");
  error("the rank reporting the first bad record did not stop the job");
}

// The corpus's counts, logged; too few samples stop here.
static void count_samples(shard_job *j, double t0) {
  long tot[4] = {j->bad, j->n.truncated_targets, (long)j->n_mine, j->n.truncated_fields}, sum[4];
  mpicheck(MPI_Allreduce(tot, sum, 4, MPI_LONG, MPI_SUM, MPI_COMM_WORLD), "summing record counts");
  j->total_bad = sum[0], j->total.truncated_targets = sum[1], j->total.truncated_fields = sum[3];
  if (j->s->rank == 0) {
    if (sum[0]) message("shard: skipped %ld bad records (data.on_bad_record = \"skip\")", sum[0]);
    if (sum[1]) message("shard: truncated %ld targets to data.max_target_tokens", sum[1]);
    if (sum[3]) message("shard: truncated fields of %ld records to their template budgets ({field:N})", sum[3]);
    message("shard: %ld samples tokenized in %.1fs", sum[2], wall_seconds() - t0);
  }
  if (sum[2] == 0) fatal("no usable records in the input files (%ld bad)", sum[0]);
  if (sum[2] < j->count) fatal("only %ld samples for shard.count = %d; lower shard.count", sum[2], j->count);
}

static void read_samples(shard_job *j) {
  double t0 = wall_seconds();
  first_bad fb = {INT64_MAX, ""};
  for (int f = 0; f < j->in.n_files && fb.order == INT64_MAX; f++) read_part(j, f, &fb);
  stop_at_first_bad(&fb);
  count_samples(j, t0);
}

// ---- 4. duplicate ids, assignment and exchange --------------------------------------------
static int cmp_id_order(const void *a, const void *b) {
  const order_cost *x = a, *y = b;
  if (x->id_hash != y->id_hash) return x->id_hash < y->id_hash ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

// The place of a corpus order: "file:line", or for a JSON array "file[index] (line L)" (the
// order holds the index: several elements can share a line).
static void order_where(const shard_job *j, int64_t order, char *buf, size_t n) {
  const char *path = j->in.files[order >> 40].path;
  const data_settings *d = &j->set->data;
  rec_place(path, rec_detect(path, (rec_format)d->format, d->records), d->records,
            (long)(order & (((int64_t)1 << 40) - 1)), buf, n);
}

static const shard_sample *mine_at(const shard_job *j, int64_t order) {
  for (size_t i = 0; i < j->n_mine; i++)
    if (j->mine[i].order == order) return &j->mine[i];
  return NULL;
}

// Two records with one id would let eval score one model's output against the other's
// reference: the later of each pair is an error naming both (fail), or dropped and counted
// (skip). Identical on every rank (j->all is); *drop gets the dropped orders, sorted.
static size_t find_duplicates(shard_job *j, int64_t **drop) {
  order_cost *by_id = xmalloc((j->n_all ? j->n_all : 1) * sizeof *by_id);
  memcpy(by_id, j->all, j->n_all * sizeof *by_id);
  qsort(by_id, j->n_all, sizeof *by_id, cmp_id_order);
  size_t n = 0;
  *drop = xmalloc((j->n_all ? j->n_all : 1) * sizeof **drop);
  int64_t first_kept = 0, first_dup = INT64_MAX;
  for (size_t i = 1; i < j->n_all; i++) {
    if (by_id[i].id_hash != by_id[i - 1].id_hash) continue;
    size_t k = i;   // the group's first record is kept
    while (k > 0 && by_id[k - 1].id_hash == by_id[i].id_hash) k--;
    (*drop)[n++] = by_id[i].order;
    if (by_id[i].order < first_dup) first_dup = by_id[i].order, first_kept = by_id[k].order;
  }
  free(by_id);
  if (!n) return 0;
  char a[700], b[700];
  order_where(j, first_kept, a, sizeof a);
  order_where(j, first_dup, b, sizeof b);
  if (!j->in.o.skip_bad) {
    const shard_sample *s = mine_at(j, first_dup);   // the rank holding it names the id
    if (s) fatal("%s: duplicate sample id '%s' (also at %s); ids must be unique (data.on_bad_record = "
                 "\"skip\" keeps the first)", b, s->id, a);
    mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the rank reporting a duplicate id");
    error("the rank reporting a duplicate id did not stop the job");
  }
  int64_t *d = *drop;
  qsort(d, n, sizeof *d, cmp_i64);
  if (j->s->rank == 0)
    message("shard: skipped %zu records with a duplicate sample id (the first: %s repeats %s)", n, b, a);
  return n;
}

// Duplicates dropped from this rank's samples and from the gathered order (skip mode).
static void drop_duplicates(shard_job *j) {
  int64_t *drop;
  size_t n = find_duplicates(j, &drop);
  size_t k = 0;
  for (size_t i = 0; i < j->n_all; i++)
    if (!n || !bsearch(&j->all[i].order, drop, n, sizeof *drop, cmp_i64)) j->all[k++] = j->all[i];
  j->n_all = k;
  k = 0;
  for (size_t i = 0; i < j->n_mine; i++)
    if (n && bsearch(&j->mine[i].order, drop, n, sizeof *drop, cmp_i64)) shard_sample_free(&j->mine[i]);
    else j->mine[k++] = j->mine[i];
  j->n_mine = k;
  j->total_bad += (long)n;
  free(drop);
  if ((long)j->n_all < j->count) fatal("only %zu samples for shard.count = %d; lower shard.count", j->n_all, j->count);
}

// Every sample's (order, cost) on every rank, sorted by order, and its shard: identical on
// every rank, independent of the rank count.
static void assign_shards(shard_job *j) {
  int size = j->s->size, nl = mpi_int_count(j->n_mine * OC_WORDS, "shard: this rank's sample costs") / OC_WORDS;
  int *cnt = xcalloc((size_t)size, sizeof *cnt), *dsp = xcalloc((size_t)size, sizeof *dsp);
  mpicheck(MPI_Allgather(&nl, 1, MPI_INT, cnt, 1, MPI_INT, MPI_COMM_WORLD), "gathering sample counts");
  size_t *n = xmalloc((size_t)size * sizeof *n);
  for (int r = 0; r < size; r++) n[r] = (size_t)cnt[r];
  // counts of int64s: OC_WORDS per order_cost
  j->n_all = (size_t)mpi_int_counts_or_die(n, size, OC_WORDS, cnt, dsp, "shard: gathering sample costs") / OC_WORDS;
  free(n);
  order_cost *oc = xmalloc((j->n_mine ? j->n_mine : 1) * sizeof *oc);
  for (size_t i = 0; i < j->n_mine; i++)
    oc[i] = (order_cost){j->mine[i].order, (int64_t)j->mine[i].hist_len + j->mine[i].nohist_len,
                         (int64_t)fnv1a64(j->mine[i].id, strlen(j->mine[i].id))};
  j->all = xmalloc((j->n_all ? j->n_all : 1) * sizeof *j->all);
  mpicheck(MPI_Allgatherv(oc, nl * OC_WORDS, MPI_INT64_T, j->all, cnt, dsp, MPI_INT64_T, MPI_COMM_WORLD),
           "gathering sample costs");
  qsort(j->all, j->n_all, sizeof *j->all, cmp_oc);
  drop_duplicates(j);
  int64_t *cost = xmalloc(j->n_all * sizeof *cost);
  for (size_t i = 0; i < j->n_all; i++) cost[i] = j->all[i].cost;
  j->shard_of = xmalloc(j->n_all * sizeof *j->shard_of);
  shard_assign(cost, j->n_all, j->count, j->shard_of);
  free(cost), free(oc), free(cnt), free(dsp);
}

static int shard_of_sample(const shard_job *j, const shard_sample *s) {
  order_cost key = {s->order, 0, 0};
  order_cost *hit = bsearch(&key, j->all, j->n_all, sizeof *j->all, cmp_oc);
  if (!hit) error("sample %s missing from the gathered order", s->id);
  return j->shard_of[hit - j->all];
}

// This rank's samples packed into one buffer per destination rank (the owner of their
// shard, shard % size), then freed.
static strbuf *pack_by_owner(shard_job *j) {
  strbuf *out = xcalloc((size_t)j->s->size, sizeof *out);
  for (int r = 0; r < j->s->size; r++) sb_init(&out[r]);
  for (size_t i = 0; i < j->n_mine; i++) {
    shard_sample_pack(&j->mine[i], &out[shard_of_sample(j, &j->mine[i]) % j->s->size]);
    shard_sample_free(&j->mine[i]);
  }
  j->n_mine = 0;
  return out;
}

// MPI_Alltoallv of the packed buffers (freed); returns the received bytes, *n of them.
static char *exchange_bytes(int size, strbuf *out, size_t *n) {
  int *scnt = xcalloc((size_t)size, sizeof *scnt), *sdsp = xcalloc((size_t)size, sizeof *sdsp);
  int *rcnt = xcalloc((size_t)size, sizeof *rcnt), *rdsp = xcalloc((size_t)size, sizeof *rdsp);
  size_t *bytes = xmalloc((size_t)size * sizeof *bytes);
  for (int r = 0; r < size; r++) bytes[r] = out[r].len;
  mpi_int_counts_or_die(bytes, size, 1, scnt, sdsp, "shard exchange: bytes this rank sends");
  strbuf send;
  sb_init(&send);
  for (int r = 0; r < size; r++) {
    sb_append(&send, out[r].data ? out[r].data : "", out[r].len);
    sb_free(&out[r]);
  }
  free(out);
  mpicheck(MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, MPI_COMM_WORLD), "exchanging sample sizes");
  for (int r = 0; r < size; r++) bytes[r] = (size_t)rcnt[r];
  *n = (size_t)mpi_int_counts_or_die(bytes, size, 1, rcnt, rdsp, "shard exchange: bytes this rank receives");
  free(bytes);
  char *recv = xmalloc(*n ? *n : 1);
  mpicheck(MPI_Alltoallv(send.data ? send.data : "", scnt, sdsp, MPI_BYTE, recv, rcnt, rdsp, MPI_BYTE,
                         MPI_COMM_WORLD), "exchanging samples");
  sb_free(&send);
  free(scnt), free(sdsp), free(rcnt), free(rdsp);
  return recv;
}

// Samples travel to the rank owning their shard: afterwards j->mine holds those.
static void exchange_samples(shard_job *j) {
  size_t n;
  char *recv = exchange_bytes(j->s->size, pack_by_owner(j), &n);
  for (size_t at = 0; at < n;) {
    if (j->n_mine == j->cap_mine) j->mine = xrealloc(j->mine, (j->cap_mine = j->cap_mine ? 2 * j->cap_mine : 1024) * sizeof *j->mine);
    at += shard_sample_unpack(recv + at, n - at, &j->mine[j->n_mine++]);
  }
  free(recv);
}

// ---- 5. write and publish ----------------------------------------------------------------
// This rank's shards (shard % size == rank) into shards.tmp/.
static void write_shards(shard_job *j, const h5_provenance *prov) {
  shard_write_info wi = {.count = j->count, .tokenizer_digest = tok_digest(j->tok),
                         .vocab_size = tok_vocab_size(j->tok), .eos_id = tok_special_id(j->tok, "<|endoftext|>"),
                         .bad_records = j->total_bad, .truncated_targets = j->total.truncated_targets,
                         .truncated_fields = j->total.truncated_fields,
                         .has_truth = *j->in.o.f_truth != 0, .has_truth_rare = *j->in.o.f_truth_rare != 0,
                         .has_truth_decisive = *j->in.o.f_truth_decisive != 0, .prov = prov};
  shard_sample *part = xmalloc((j->n_mine ? j->n_mine : 1) * sizeof *part);
  for (int sh = j->s->rank; sh < j->count; sh += j->s->size) {
    size_t k = 0;
    for (size_t i = 0; i < j->n_mine; i++)
      if (shard_of_sample(j, &j->mine[i]) == sh) part[k++] = j->mine[i];
    char *p = run_file(j->tmp_dir, RUN_SHARD_FILE, sh);
    wi.index = sh;
    shard_write_samples(p, part, k, &wi);
    free(p);
  }
  free(part);
}

// shards.tmp/ made afresh, every rank's shards written into it, then renamed to shards/
// with the tokenizer they were encoded with.
static void write_and_publish(shard_job *j) {
  cleanup_dir(j->tmp_dir);   // on every rank: whichever fails removes the half-written set
  if (j->s->rank == 0) {
    own_dir(j->dir, 0);   // refused now, before the work, rather than when publishing
    own_dir(j->tmp_dir, 1);
    make_dirs(j->tmp_dir);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for shards.tmp");
  const char **inputs = xcalloc((size_t)(j->in.n_files + j->in.targets.n_files) + 1, sizeof *inputs);
  int n_inputs = 0;
  for (int f = 0; f < j->in.n_files; f++) inputs[n_inputs++] = j->in.files[f].path;
  for (int f = 0; f < j->in.targets.n_files; f++) inputs[n_inputs++] = j->in.targets.files[f];
  if (*given_tokenizer(j->set)) inputs[n_inputs++] = given_tokenizer(j->set);
  char *ctext = settings_text(j->set, NULL);
  h5_provenance prov = {.stage = "shard", .config_text = ctext, .mpi_size = j->s->size, .n_inputs = n_inputs,
                        .inputs = inputs, .digests = NULL, .stamp = j->s->stamp};
  write_shards(j, &prov);
  free(ctext);
  free(inputs);
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for every shard");
  if (j->s->rank == 0) {
    own_dir(j->dir, 1);
    rename_atomic(j->tmp_dir, j->dir);
    rename_atomic(j->tok_next, j->tok_path);
    cleanup_forget(j->tmp_dir), cleanup_forget(j->tok_next);
    message("shard: wrote %d shards (%zu samples) to %s, tokenizer %s", j->count, j->n_all, j->dir, j->tok_path);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the shards to be published");
  cleanup_forget(j->tmp_dir), cleanup_forget(j->tok_next);
}

int shard_run(const settings *set, const stage_args *a) {
  if (a->preview) return shard_preview(set, a);
  shard_job *j = shard_job_create(set, a);
  prepare_tokenizer(j);
  read_samples(j);
  assign_shards(j);
  exchange_samples(j);
  write_and_publish(j);
  shard_job_free(j);
  return 0;
}
