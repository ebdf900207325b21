// nq-effect: counterfactual preference effects of every target token (stage 2).
// For each shard of the chosen splits, the reference model reads the with-history and the
// without-history sequence of every sample; effects/<shard>.h5 stores per target token
// logp_with, logp_without, effect = p_with - p_without, JS divergence and ranks
// (docs/effects-layout.md). Rank 0 hands out shards one at a time; each file is written by
// exactly one rank, so outputs do not depend on the rank count. Existing current outputs
// are kept, so an interrupted run redoes only the missing shards.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "config/config.h"
#include "effect/effect_files.h"
#include "effect/effect_model.h"
#include "effect/effect_run.h"
#include "effect/effect_shard.h"
#include "formats/h5io.h"
#include "base/log.h"
#include "formats/provenance.h"
#include "pipeline/stage.h"
#include "base/util.h"

typedef struct {
  stage_ctx *s;
  char **shards;        // shard paths to compute (todo list, same order on every rank)
  char **outs;          // matching effects/<name>.h5
  int n;
  char *ckpt, *ckpt_digest;
  effect_model em;
  effect_engine g;
  double threshold;
  int use_split[3];
  char *cfg_text;
  // progress (rank 0 counts only its own work; others report per shard)
  progress prog;
  double t0;
  double total_tokens;   // both passes over the todo shards, for the ETA
} run;

static void tick(void *arg, size_t targets_done) {
  (void)targets_done;
  run *r = arg;
  effect_dispatch_poll();
  if (r->s->rank == 0) {
    // all ranks: rank 0's own tokens plus the finished shards the others reported
    double done = (double)r->em.forward_tokens + (double)effect_dispatch_remote_tokens();
    progress_update(&r->prog, done, "(both passes)");
  }
}

static long long work(int job, void *arg) {
  run *r = arg;
  long before = r->em.forward_tokens;
  const char *shard_path = r->shards[job];
  effect_shard sh;
  effect_shard_load(shard_path, r->use_split, r->g.vocab, &sh);
  effect_file e;
  effect_file_alloc(&e, sh.d.n_targets, sh.d.n_samples, sh.d.truth != NULL, sh.d.truth_rare != NULL);
  e.shard = xstrdup(shard_path);
  e.shard_digest = xstrdup(file_digest(shard_path));
  e.checkpoint = xstrdup(r->ckpt);
  e.checkpoint_digest = xstrdup(r->ckpt_digest);
  e.threshold = r->threshold;
  effect_shard_describe(&sh, &e);
  effect_compute(&r->g, sh.samples, sh.d.n_samples, &e, tick, r);
  h5_out o;
  h5_out_create(&o, r->outs[job]);
  effect_file_write(o.file, &e);
  const char *inputs[2] = {shard_path, r->ckpt};
  h5_provenance pv = {"effect", r->cfg_text, r->s->size, 2, inputs, NULL};
  h5_write_provenance(o.file, &pv);
  h5_out_commit(&o);
  if (r->s->rank != 0) message("effect: wrote %s (%zu targets)", r->outs[job], e.n_tokens);
  effect_file_free(&e);
  effect_shard_free(&sh);
  return r->em.forward_tokens - before;
}

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "effect", argc, argv);
  run r;
  memset(&r, 0, sizeof r);
  r.s = &s;
  const config *c = s.cfg;
  const char *run_dir = cfg_str(c, "run_dir");
  r.threshold = cfg_float(c, "effect.threshold");
  r.cfg_text = config_text(c, NULL);
  r.ckpt = effect_find_checkpoint(cfg_str(c, "effect.model"), run_dir, cfg_str(c, "effect.reference_run"));
  r.ckpt_digest = xstrdup(file_digest(r.ckpt));

  for (int i = 0; i < cfg_list_len(c, "effect.splits"); i++) {
    const char *name = cfg_list_str(c, "effect.splits", i);
    int code = effect_split_code(name);
    if (code < 0) fatal("effect.splits: unknown split '%s' (train, valid or test)", name);
    r.use_split[code] = 1;
  }
  char *shard_dir = path_join(run_dir, "shards");
  int n_all;
  char **all = shard_list(shard_dir, &n_all);
  if (!n_all) fatal("%s: no shards (shard-*.h5); run nq-shard first", shard_dir);
  {  // the reference model must speak the shards' tokenizer
    hid_t f0 = h5_open_read(all[0]);
    char *td = h5_attr_get_str(f0, "tokenizer_digest");
    h5_close(f0);
    checkpoint_require_tokenizer(r.ckpt, td, "the reference model");
    checkpoint_require_current_inputs(r.ckpt, "the reference model", NULL, 0);
    free(td);
  }
  free(shard_dir);
  char *out_dir = stage_path(&s, "effects");
  if (s.rank == 0) make_dirs(out_dir);
  // every rank makes the same todo list (same files on the shared file system)
  r.shards = xcalloc((size_t)n_all + 1, sizeof *r.shards);
  r.outs = xcalloc((size_t)n_all + 1, sizeof *r.outs);
  int kept = 0;
  for (int i = 0; i < n_all; i++) {
    const char *base = strrchr(all[i], '/');
    char *out = path_join(out_dir, base ? base + 1 : all[i]);
    const char *why;
    if (effect_output_current(out, file_digest(all[i]), r.ckpt_digest, r.threshold, &why)) {
      kept++;
      free(out);
      continue;
    }
    if (s.rank == 0 && strcmp(why, "missing"))
      message("effect: recomputing %s (%s)", out, why);
    r.shards[r.n] = xstrdup(all[i]);
    r.outs[r.n++] = out;
    if (s.rank == 0) {  // both sequences of every sample: the ETA's total
      hid_t f = h5_open_read(all[i]);
      r.total_tokens += (double)h5_attr_get_i64(f, "n_tokens");
      h5_close(f);
    }
  }
  for (int i = 0; i < n_all; i++) free(all[i]);
  free(all);
  if (s.rank == 0)
    message("effect: reference model %s; %d shards to compute, %d already current", r.ckpt, r.n, kept);

  model *m = checkpoint_load(r.ckpt, 0, NULL);
  model_set_threads((int)cfg_int(c, "model.threads"));
  effect_model_init(&r.em, m);
  r.g = (effect_engine){&r.em, effect_model_forward, m->cfg.vocab_size,
                        (int)cfg_int(c, "effect.micro_batch"), (int)cfg_int(c, "effect.max_batch_tokens")};
  r.t0 = wall_seconds();
  progress_start(&r.prog, "effects", "tok", r.total_tokens);
  effect_dispatch(r.n, work, &r);
  double dt = wall_seconds() - r.t0;
  long long mine = r.em.forward_tokens, total = 0;
  mpicheck(MPI_Reduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD), "summing tokens");
  if (s.rank == 0) {
    char extra[128];
    snprintf(extra, sizeof extra, "%lld tokens (both passes) in %.1fs: %.0f tok/s over %d ranks",
             total, dt, dt > 0 ? (double)total / dt : 0.0, s.size);
    progress_finish(&r.prog, extra);
    message("effect: wrote %s/ (%d new, %d kept)", out_dir, r.n, kept);
  }
  effect_model_free(&r.em);
  model_free(m);
  for (int i = 0; i < r.n; i++) free(r.shards[i]), free(r.outs[i]);
  free(r.shards), free(r.outs), free(out_dir), free(r.ckpt), free(r.ckpt_digest), free(r.cfg_text);
  return stage_end(&s, 0);
}
