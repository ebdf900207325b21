// nq-synth's MPI driver (see synth_run.h and docs/synth.md).
#include "synth/synth_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/path_guard.h"
#include "base/log.h"
#include "base/util.h"
#include "pipeline/run_layout.h"
#include "synth/synth.h"

#define CHUNK ((size_t)1 << 30)  // MPI counts are int

// The generator's parameters from the synth section (and the top-level seed).
static void params_from_settings(const settings *set, synth_params *p) {
  const synth_settings *y = &set->synth;
  *p = (synth_params){.seed = y->seed, .seed_offset = (uint64_t)y->seed_offset, .users = (int)y->users,
                      .reviews_min = (int)y->reviews_min, .reviews_max = (int)y->reviews_max,
                      .items = (int)y->items, .min_profile = (int)y->min_profile,
                      .cold_share = y->cold_share, .brands = (int)y->brands, .pool_size = (int)y->pool_size,
                      .zipf_s = y->zipf_s, .rare_share = y->rare_share, .pref_share = y->pref_share,
                      .pref_strength = y->pref_strength, .petwords_max = (int)y->petwords_max,
                      .habit_share = y->habit_share, .length_max = (int)y->length_max,
                      .persona_topic_share = y->persona_topic_share};
  const char *bad = synth_params_check(p);
  if (bad) fatal("%s: %s", settings_file(set), bad);
}

// ---- working state ---------------------------------------------------------------------
enum { ST_TRAIN, ST_VALID, ST_TEST, ST_COLD, ST_BYTES, ST_WORDS, ST_PREF_BYTES, ST_SPANS, ST_RARE, ST_N };

typedef struct {
  const stage_args *s;
  synth_params p;
  char *out;                  // the JSONL
  strbuf part;                // this rank's JSONL
  unsigned long long tot[ST_N];   // statistics summed over ranks (rank 0)
  double t0;
} synth_job;

static synth_job *synth_job_create(const settings *set, const stage_args *a) {
  synth_job *j = xcalloc(1, sizeof *j);
  j->s = a;
  params_from_settings(set, &j->p);
  j->out = run_path(set, RUN_CORPUS);
  sb_init(&j->part);
  return j;
}

static void synth_job_free(synth_job *j) {
  sb_free(&j->part);
  free(j->out);
  free(j);
}

// ---- generate ----------------------------------------------------------------------------
// This rank's block of users into j->part; the statistics summed on rank 0.
static void generate_part(synth_job *j) {
  j->t0 = wall_seconds();
  synth_world *w = synth_world_new(&j->p);
  int u0 = (int)((long long)j->p.users * j->s->rank / j->s->size);
  int u1 = (int)((long long)j->p.users * (j->s->rank + 1) / j->s->size);
  synth_stats st = {0};
  progress pr;
  progress_start(&pr, "generating", "users", (double)(u1 - u0));
  for (int u = u0; u < u1; u++) {
    synth_user_jsonl(w, u, &j->part, &st);
    progress_update(&pr, (double)(u - u0 + 1), NULL);
  }
  progress_finish(&pr, NULL);
  synth_world_free(w);
  unsigned long long loc[ST_N] = {st.samples[0], st.samples[1], st.samples[2], st.users_cold,
                                  st.output_bytes, st.output_words, st.pref_bytes, st.spans,
                                  st.spans_rare};
  mpicheck(MPI_Reduce(loc, j->tot, ST_N, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD),
           "summing synth statistics");
}

// ---- write -------------------------------------------------------------------------------
static void write_all(FILE *f, const char *path, const char *data, size_t n) {
  if (n && fwrite(data, 1, n, f) != n) error("writing %s: %s", path, strerror(errno));
}

// Ranks other than 0: their block to rank 0, in pieces MPI counts can hold.
static void send_part(const synth_job *j) {
  unsigned long long n = j->part.len;
  mpicheck(MPI_Send(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, 0, MPI_COMM_WORLD), "sending a part size");
  for (size_t done = 0; done < j->part.len;) {
    size_t c = j->part.len - done < CHUNK ? j->part.len - done : CHUNK;
    mpicheck(MPI_Send(j->part.data + done, (int)c, MPI_CHAR, 0, 1, MPI_COMM_WORLD), "sending a part of the JSONL");
    done += c;
  }
}

// Rank 0: rank r's block appended to f.
static void receive_part(int r, FILE *f, const char *path, char **buf) {
  unsigned long long n = 0;
  mpicheck(MPI_Recv(&n, 1, MPI_UNSIGNED_LONG_LONG, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
           "receiving a part size");
  if (!*buf && n) *buf = xmalloc(CHUNK);
  for (size_t done = 0; done < n;) {
    size_t c = n - done < CHUNK ? n - done : CHUNK;
    mpicheck(MPI_Recv(*buf, (int)c, MPI_CHAR, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
             "receiving a part of the JSONL");
    write_all(f, path, *buf, c);
    done += c;
  }
}

// Rank 0: every rank's block in rank order into <out>.tmp, renamed to <out>; then the sidecar.
static void write_output(const synth_job *j) {
  char *dir = xstrdup(j->out);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = 0;
    make_dirs(dir);
  }
  free(dir);
  strbuf sb;
  sb_init(&sb);
  sb_printf(&sb, "%s.tmp", j->out);
  char *tmp = sb_detach(&sb);
  path_guard_check(tmp);
  FILE *f = fopen(tmp, "wb");
  if (!f) error("cannot create %s: %s", tmp, strerror(errno));
  cleanup_file(tmp);
  write_all(f, tmp, j->part.data, j->part.len);
  char *buf = NULL;
  for (int r = 1; r < j->s->size; r++) receive_part(r, f, tmp, &buf);
  free(buf);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) error("flushing %s: %s", tmp, strerror(errno));
  if (fclose(f) != 0) error("closing %s: %s", tmp, strerror(errno));
  rename_atomic(tmp, j->out);
  cleanup_forget(tmp);
  free(tmp);
}

static void report(const synth_job *j) {
  const unsigned long long *t = j->tot;
  unsigned long long n_samples = t[ST_TRAIN] + t[ST_VALID] + t[ST_TEST];
  message("wrote %s: %d users (%llu cold), %llu samples (train %llu, valid %llu, test %llu) "
          "in %.2f s", j->out, j->p.users, t[ST_COLD], n_samples, t[ST_TRAIN], t[ST_VALID], t[ST_TEST],
          wall_seconds() - j->t0);
  message("targets: %llu words, %llu bytes (~%.0f words per review); %.1f%% of target bytes "
          "preference-driven in %llu spans (%llu rare)", t[ST_WORDS], t[ST_BYTES],
          n_samples ? (double)t[ST_WORDS] / (double)n_samples : 0.0,
          t[ST_BYTES] ? 100.0 * (double)t[ST_PREF_BYTES] / (double)t[ST_BYTES] : 0.0, t[ST_SPANS], t[ST_RARE]);
}

int synth_run(const settings *set, const stage_args *a) {
  synth_job *j = synth_job_create(set, a);
  generate_part(j);
  if (a->rank == 0) {
    write_output(j);
    report(j);
  } else {
    send_part(j);
  }
  synth_job_free(j);
  return 0;
}
