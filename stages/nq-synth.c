// nq-synth: write the embedded personalization benchmark (docs/benchmark.md) as JSONL.
// Ranks generate disjoint blocks of users; rank 0 writes its block and then each other
// rank's, in rank (= user) order, so the file is the same for any rank count.
// A sidecar `<output>.config` keeps the effective `seed` + `synth` config: a rerun with the
// same config does nothing; a different config needs --force.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "base/log.h"
#include "pipeline/stage.h"
#include "synth/synth.h"
#include "base/util.h"

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

// 0: output missing (generate), 1: up to date (skip). Stops on a config mismatch without --force.
static int output_state(const stage_ctx *s, const char *out, const char *side, const char *cfg_text) {
  if (!file_exists(out)) return 0;
  char *old = read_file(side, NULL);
  int same = old && !strcmp(old, cfg_text);
  free(old);
  if (same) return 1;
  if (!s->force)
    fatal("%s exists and was made with a different synth config or generator version (see %s); "
          "rerun with --force to overwrite", out, side);
  return 0;
}

static void write_all(FILE *f, const char *path, const char *data, size_t n) {
  if (n && fwrite(data, 1, n, f) != n) error("writing %s: %s", path, strerror(errno));
}

#define CHUNK ((size_t)1 << 30)  // MPI counts are int

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "synth", argc, argv);
  synth_params p;
  params_from_config(s.cfg, &p);

  const char *o = cfg_str(s.cfg, "synth.output");
  char *out = o[0] ? xstrdup(o) : stage_path(&s, "data/synth.jsonl");
  strbuf sb;
  sb_init(&sb);
  sb_printf(&sb, "%s.config", out);
  char *side = sb_detach(&sb);
  char *cfg_only = config_text(s.cfg, "seed,synth");
  sb_init(&sb);
  sb_printf(&sb, "// synth generator version %d\n%s", SYNTH_GENERATOR_VERSION, cfg_only);
  free(cfg_only);
  char *cfg_text = sb_detach(&sb);

  int skip = 0;
  if (s.rank == 0) skip = output_state(&s, out, side, cfg_text);
  mpicheck(MPI_Bcast(&skip, 1, MPI_INT, 0, MPI_COMM_WORLD), "broadcasting the up-to-date flag");
  if (skip) {
    if (s.rank == 0) message("%s is up to date (same seed and synth config); nothing to do", out);
    free(out), free(side), free(cfg_text);
    return stage_end(&s, 0);
  }

  double t0 = wall_seconds();
  synth_world *w = synth_world_new(&p);
  int u0 = (int)((long long)p.users * s.rank / s.size);
  int u1 = (int)((long long)p.users * (s.rank + 1) / s.size);
  strbuf part;
  sb_init(&part);
  synth_stats st = {0};
  progress pr;
  progress_start(&pr, "generating", "users", (double)(u1 - u0));
  for (int u = u0; u < u1; u++) {
    synth_user_jsonl(w, u, &part, &st);
    progress_update(&pr, (double)(u - u0 + 1), NULL);
  }
  progress_finish(&pr, NULL);
  synth_world_free(w);

  // stats: sum over ranks
  unsigned long long loc[9] = {st.samples[0], st.samples[1], st.samples[2], st.users_cold,
                               st.output_bytes, st.output_words, st.pref_bytes, st.spans,
                               st.spans_rare};
  unsigned long long tot[9];
  mpicheck(MPI_Reduce(loc, tot, 9, MPI_UNSIGNED_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD),
           "summing synth statistics");

  if (s.rank == 0) {
    char *dir = xstrdup(out);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
      *slash = 0;
      make_dirs(dir);
    }
    free(dir);
    sb_init(&sb);
    sb_printf(&sb, "%s.tmp", out);
    char *tmp = sb_detach(&sb);
    FILE *f = fopen(tmp, "wb");
    if (!f) error("cannot create %s: %s", tmp, strerror(errno));
    write_all(f, tmp, part.data, part.len);
    char *buf = NULL;
    for (int r = 1; r < s.size; r++) {
      unsigned long long n = 0;
      mpicheck(MPI_Recv(&n, 1, MPI_UNSIGNED_LONG_LONG, r, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
               "receiving a part size");
      if (!buf && n) buf = xmalloc(CHUNK);
      for (size_t done = 0; done < n;) {
        size_t c = n - done < CHUNK ? n - done : CHUNK;
        mpicheck(MPI_Recv(buf, (int)c, MPI_CHAR, r, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
                 "receiving a part of the JSONL");
        write_all(f, tmp, buf, c);
        done += c;
      }
    }
    free(buf);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) error("flushing %s: %s", tmp, strerror(errno));
    if (fclose(f) != 0) error("closing %s: %s", tmp, strerror(errno));
    rename_atomic(tmp, out);
    write_file_atomic(side, cfg_text, strlen(cfg_text));
    free(tmp);
    unsigned long long n_samples = tot[0] + tot[1] + tot[2];
    message("wrote %s: %d users (%llu cold), %llu samples (train %llu, valid %llu, test %llu) "
            "in %.2f s", out, p.users, tot[3], n_samples, tot[0], tot[1], tot[2],
            wall_seconds() - t0);
    message("targets: %llu words, %llu bytes (~%.0f words per review); %.1f%% of target bytes "
            "preference-driven in %llu spans (%llu rare)", tot[5], tot[4],
            n_samples ? (double)tot[5] / (double)n_samples : 0.0,
            tot[4] ? 100.0 * (double)tot[6] / (double)tot[4] : 0.0, tot[7], tot[8]);
  } else {
    unsigned long long n = part.len;
    mpicheck(MPI_Send(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, 0, MPI_COMM_WORLD), "sending a part size");
    for (size_t done = 0; done < part.len;) {
      size_t c = part.len - done < CHUNK ? part.len - done : CHUNK;
      mpicheck(MPI_Send(part.data + done, (int)c, MPI_CHAR, 0, 1, MPI_COMM_WORLD),
               "sending a part of the JSONL");
      done += c;
    }
  }
  sb_free(&part);
  free(out), free(side), free(cfg_text);
  return stage_end(&s, 0);
}
