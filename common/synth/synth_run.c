// nq-synth's MPI driver (see synth_run.h and docs/benchmark.md).
#include "synth/synth_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/log.h"
#include "base/util.h"
#include "config/config.h"
#include "synth/synth.h"

// The sections the sidecar keeps. Not s->info->reads ("seed,run_dir,synth"): run_dir only
// places the default output, it does not change a byte of it, so a moved run directory or a
// shared synth.output must not count as a different benchmark.
#define SIDECAR_SECTIONS "seed,synth"
#define CHUNK ((size_t)1 << 30)  // MPI counts are int

static void params_from_config(const config *c, synth_params *p) {
  synth_params_default(p);
  p->seed = (uint64_t)cfg_int(c, "seed");
  p->seed_offset = (uint64_t)cfg_int(c, "synth.seed_offset");
  p->users = (int)cfg_int(c, "synth.users");
  p->reviews_min = (int)cfg_int(c, "synth.reviews_min");
  p->reviews_max = (int)cfg_int(c, "synth.reviews_max");
  p->items = (int)cfg_int(c, "synth.items");
  p->min_profile = (int)cfg_int(c, "synth.min_profile");
  p->cold_share = cfg_float(c, "synth.cold_share");
  p->brands = (int)cfg_int(c, "synth.brands");
  p->pool_size = (int)cfg_int(c, "synth.pool_size");
  p->zipf_s = cfg_float(c, "synth.zipf_s");
  p->rare_share = cfg_float(c, "synth.rare_share");
  p->pref_share = cfg_float(c, "synth.pref_share");
  p->pref_strength = cfg_float(c, "synth.pref_strength");
  p->petwords_max = (int)cfg_int(c, "synth.petwords_max");
  p->habit_share = cfg_float(c, "synth.habit_share");
  p->length_max = (int)cfg_int(c, "synth.length_max");
  const char *bad = synth_params_check(p);
  if (bad) fatal("%s: %s", config_path(c), bad);
}

// ---- working state ---------------------------------------------------------------------
enum { ST_TRAIN, ST_VALID, ST_TEST, ST_COLD, ST_BYTES, ST_WORDS, ST_PREF_BYTES, ST_SPANS, ST_RARE, ST_N };

typedef struct {
  stage_ctx *s;
  synth_params p;
  char *out, *side;           // the JSONL and its sidecar <out>.config
  char *cfg_text;             // what the sidecar holds: generator version + config sections
  strbuf part;                // this rank's JSONL
  unsigned long long tot[ST_N];   // statistics summed over ranks (rank 0)
  double t0;
} synth_job;

static synth_job *synth_job_create(stage_ctx *s) {
  synth_job *j = xcalloc(1, sizeof *j);
  j->s = s;
  params_from_config(s->cfg, &j->p);
  const char *o = cfg_str(s->cfg, "synth.output");
  j->out = o[0] ? xstrdup(o) : stage_path(s, "data/synth.jsonl");
  strbuf sb;
  sb_init(&sb);
  sb_printf(&sb, "%s.config", j->out);
  j->side = sb_detach(&sb);
  char *cfg_only = config_text(s->cfg, SIDECAR_SECTIONS);
  sb_init(&sb);
  sb_printf(&sb, "// synth generator version %d\n%s", SYNTH_GENERATOR_VERSION, cfg_only);
  free(cfg_only);
  j->cfg_text = sb_detach(&sb);
  sb_init(&j->part);
  return j;
}

static void synth_job_free(synth_job *j) {
  sb_free(&j->part);
  free(j->out), free(j->side), free(j->cfg_text);
  free(j);
}

// ---- rerun check -------------------------------------------------------------------------
// 0: output missing (generate), 1: up to date (skip). Stops on a config mismatch without --force.
static int output_state(const synth_job *j) {
  if (!file_exists(j->out)) return 0;
  char *old = read_file(j->side, NULL);
  int same = old && !strcmp(old, j->cfg_text);
  free(old);
  if (same) return 1;
  if (!j->s->force)
    fatal("%s exists and was made with a different synth config or generator version (see %s); "
          "rerun with --force to overwrite", j->out, j->side);
  return 0;
}

// Rank 0 decides, every rank follows.
static int up_to_date(const synth_job *j) {
  int skip = j->s->rank == 0 ? output_state(j) : 0;
  mpicheck(MPI_Bcast(&skip, 1, MPI_INT, 0, MPI_COMM_WORLD), "broadcasting the up-to-date flag");
  if (skip && j->s->rank == 0) message("%s is up to date (same seed and synth config); nothing to do", j->out);
  return skip;
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
  write_file_atomic(j->side, j->cfg_text, strlen(j->cfg_text));
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

int synth_run(stage_ctx *s) {
  synth_job *j = synth_job_create(s);
  if (!up_to_date(j)) {
    generate_part(j);
    if (s->rank == 0) {
      write_output(j);
      report(j);
    } else {
      send_part(j);
    }
  }
  synth_job_free(j);
  return 0;
}
