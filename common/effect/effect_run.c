// See effect_run.h. Sections: working state, the todo list, the reference model, one job,
// the run.
#include "effect/effect_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "pipeline/mem_plan.h"
#include "base/util.h"
#include "effect/effect_dispatch.h"
#include "effect/effect_files.h"
#include "effect/effect_model.h"
#include "effect/effect_shard.h"
#include "formats/checkpoint.h"
#include "formats/h5io.h"
#include "formats/provenance.h"

// ---- working state ----------------------------------------------------------------------
typedef struct {
  char *shard, *out;    // shard path and matching effects/<name>.h5
  int summaries_only;   // only effect.threshold changed: rewrite the summaries, no model
} effect_job;

typedef struct {
  stage_ctx *s;
  double threshold;
  int use_split[3];
  char *cfg_text, *ckpt, *ckpt_digest, *out_dir;
  double digest_s;      // reading the reference model for its digest (GBs for a big model)
  effect_job *jobs;     // todo list, same order on every rank
  int n_jobs, n_compute, n_kept;
  model *m;             // NULL when no job needs the model
  effect_model em;
  effect_engine g;
  // progress (rank 0 counts only its own work; others report per shard)
  progress prog;
  double total_tokens;  // both passes over the shards to compute, for the ETA
} effect_stage;

static void effect_stage_init(effect_stage *r, stage_ctx *s) {
  memset(r, 0, sizeof *r);
  const config *c = s->cfg;
  r->s = s;
  r->threshold = cfg_float(c, "effect.threshold");
  r->cfg_text = config_text(c, NULL);
  r->ckpt = effect_find_checkpoint(cfg_str(c, "effect.model"), cfg_str(c, "run_dir"),
                                   cfg_str(c, "effect.reference_run"));
  double t0 = wall_seconds();
  r->ckpt_digest = xstrdup(file_digest(r->ckpt));
  r->digest_s = wall_seconds() - t0;
  for (int i = 0; i < cfg_list_len(c, "effect.splits"); i++) {
    const char *name = cfg_list_str(c, "effect.splits", i);
    int code = effect_split_code(name);
    if (code < 0) fatal("effect.splits: unknown split '%s' (train, valid or test)", name);
    r->use_split[code] = 1;
  }
}

static void effect_stage_free(effect_stage *r) {
  effect_engine_free(&r->g);
  effect_model_free(&r->em);
  if (r->m) model_free(r->m);
  for (int i = 0; i < r->n_jobs; i++) free(r->jobs[i].shard), free(r->jobs[i].out);
  free(r->jobs), free(r->out_dir), free(r->ckpt), free(r->ckpt_digest), free(r->cfg_text);
  memset(r, 0, sizeof *r);
}

// ---- the todo list ----------------------------------------------------------------------
// The reference model must speak the shards' tokenizer.
static void require_reference_tokenizer(const effect_stage *r, const char *shard) {
  shard_data head;
  shard_header(shard, &head);
  checkpoint_require_tokenizer(r->ckpt, head.tokenizer_digest, "the reference model");
  checkpoint_require_current_inputs(r->ckpt, "the reference model", NULL, 0);
  shard_data_free(&head);
}

// Tokens (both sequences) of the shard's samples in effect.splits: the ETA's total. With every
// split that is the header's count; otherwise the per-sample splits and lengths are read (small
// next to the forward passes over them).
static double shard_work_tokens(const effect_stage *r, const char *shard) {
  shard_data d;
  if (r->use_split[SPLIT_TRAIN] && r->use_split[SPLIT_VALID] && r->use_split[SPLIT_TEST]) {
    shard_header(shard, &d);
    double n = (double)d.n_tokens;
    shard_data_free(&d);
    return n;
  }
  shard_read(shard, &d);
  double n = 0;
  for (size_t i = 0; i < d.n_samples; i++)
    if (d.split[i] >= 0 && d.split[i] < 3 && r->use_split[d.split[i]])
      n += (double)d.hist_length[i] + (double)d.nohist_length[i];
  shard_data_free(&d);
  return n;
}

// Adds shard -> out to the todo list unless out is current.
static void plan_shard(effect_stage *r, const char *shard, char *out) {
  const char *why = "--force";
  effect_out_state st = r->s->force ? EFFECT_OUT_STALE
                                    : effect_output_state(out, file_digest(shard), r->ckpt_digest, r->threshold, &why);
  if (st == EFFECT_OUT_CURRENT) {
    r->n_kept++;
    free(out);
    return;
  }
  int rank0 = r->s->rank == 0;
  if (rank0 && st == EFFECT_OUT_SUMMARIES) message("effect: rewriting the summaries of %s (%s)", out, why);
  else if (rank0 && strcmp(why, "missing")) message("effect: recomputing %s (%s)", out, why);
  r->jobs[r->n_jobs++] = (effect_job){xstrdup(shard), out, st == EFFECT_OUT_SUMMARIES};
  if (st == EFFECT_OUT_SUMMARIES) return;
  r->n_compute++;
  if (rank0) r->total_tokens += shard_work_tokens(r, shard);
}

// Every rank makes the same todo list (same files on the shared file system).
static void plan_jobs(effect_stage *r) {
  char *shard_dir = stage_path(r->s, "shards");
  int n_all;
  char **all = shard_list_complete(shard_dir, &n_all);
  if (!n_all) fatal("%s: no shards (shard-*.h5); run nq-shard first", shard_dir);
  require_reference_tokenizer(r, all[0]);
  free(shard_dir);
  r->out_dir = stage_path(r->s, cfg_str(r->s->cfg, "effect.output"));
  if (r->s->rank == 0) make_dirs(r->out_dir);
  r->jobs = xcalloc((size_t)n_all + 1, sizeof *r->jobs);
  for (int i = 0; i < n_all; i++) {
    const char *base = strrchr(all[i], '/');
    plan_shard(r, all[i], path_join(r->out_dir, base ? base + 1 : all[i]));
    free(all[i]);
  }
  free(all);
  if (r->s->rank != 0) return;
  int resum = r->n_jobs - r->n_compute;
  char extra[64] = "";
  if (resum) snprintf(extra, sizeof extra, ", %d to re-summarize (effect.threshold changed)", resum);
  message("effect: reference model %s (digest in %.1fs); %d shards to compute, %d already current%s",
          r->ckpt, r->digest_s, r->n_compute, r->n_kept, extra);
}

// ---- the reference model ------------------------------------------------------------------
// Loaded only when a shard is to be computed: rewriting summaries needs no model.
static void reference_model_load(effect_stage *r) {
  if (!r->n_compute) return;
  const config *c = r->s->cfg;
  double t0 = wall_seconds();   // a 3B model takes a while: say so before the first tick
  r->m = checkpoint_load_prec(r->ckpt, 0, model_precision_read(c), NULL);
  model_set_threads((int)cfg_int(c, "model.threads"));
  if (r->s->rank == 0)
    message("effect: loaded %zu parameters in %.1fs; %s", r->m->n_params, wall_seconds() - t0,
            model_precision_describe(r->m));
  effect_model_init(&r->em, r->m);
  r->g = (effect_engine){.model = &r->em, .forward = effect_model_forward, .vocab = r->m->cfg.vocab_size,
                         .micro_batch = (int)cfg_int(c, "effect.micro_batch"),
                         .max_tokens = (int)cfg_int(c, "effect.max_batch_tokens")};
}

// ---- one job ------------------------------------------------------------------------------
static void tick(void *arg, size_t targets_done) {
  (void)targets_done;
  effect_stage *r = arg;
  effect_dispatch_poll();
  if (r->s->rank == 0) {
    // all ranks: rank 0's own tokens plus the finished shards the others reported
    double done = (double)r->em.forward_tokens + (double)effect_dispatch_remote_tokens();
    progress_update(&r->prog, done, "(both passes)");
  }
}

// The shard's effects, with its identity and per-sample descriptions, into e.
static void compute_effects(effect_stage *r, const char *shard_path, effect_file *e) {
  effect_shard sh;
  effect_shard_load(shard_path, r->use_split, r->g.vocab, &sh);
  effect_file_alloc(e, sh.d.n_targets, sh.d.n_samples, sh.d.truth != NULL, sh.d.truth_rare != NULL);
  if (sh.d.truth_decisive) e->truth_decisive = xcalloc(sh.d.n_targets + 1, 1);
  const char *base = strrchr(shard_path, '/');
  e->shard = path_join("shards", base ? base + 1 : shard_path);   // relative to run_dir: a moved run works
  e->shard_digest = xstrdup(file_digest(shard_path));
  e->checkpoint = xstrdup(r->ckpt);
  e->checkpoint_digest = xstrdup(r->ckpt_digest);
  effect_shard_describe(&sh, e);
  effect_compute(&r->g, sh.samples, sh.d.n_samples, e, tick, r);
  effect_shard_free(&sh);
}

static long long work(int job, void *arg) {
  effect_stage *r = arg;
  const effect_job *j = &r->jobs[job];
  const char *inputs[2] = {j->shard, r->ckpt};
  h5_provenance pv = {"effect", r->cfg_text, r->s->size, 2, inputs, NULL};
  if (j->summaries_only) {
    effect_output_resummarize(j->out, r->threshold, &pv);
    effect_dispatch_poll();
    return 0;
  }
  long before = r->em.forward_tokens;
  effect_file e;
  compute_effects(r, j->shard, &e);
  effect_output_write(j->out, &e, r->threshold, &pv);
  if (r->s->rank != 0) message("effect: wrote %s (%zu targets)", j->out, e.n_tokens);
  effect_file_free(&e);
  return r->em.forward_tokens - before;
}

// ---- the run ------------------------------------------------------------------------------
static void report(effect_stage *r, double dt) {
  long long mine = r->em.forward_tokens, total = 0;
  mpicheck(MPI_Reduce(&mine, &total, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD), "summing tokens");
  if (r->s->rank != 0) return;
  char extra[128];
  snprintf(extra, sizeof extra, "%lld tokens (both passes) in %.1fs: %.0f tok/s over %d ranks",
           total, dt, dt > 0 ? (double)total / dt : 0.0, r->s->size);
  progress_finish(&r->prog, extra);
  int resum = r->n_jobs - r->n_compute;
  char more[48] = "";
  if (resum) snprintf(more, sizeof more, ", %d re-summarized", resum);
  message("effect: wrote %s/ (%d new, %d kept%s)", r->out_dir, r->n_compute, r->n_kept, more);
}

// The memory plan of the reference model's passes (mem_plan.h); 1 for --plan.
static int effect_plan(const effect_stage *r) {
  const config *c = r->s->cfg;
  int mb = (int)cfg_int(c, "effect.micro_batch"), cap = (int)cfg_int(c, "effect.max_batch_tokens");
  model_config mc;
  checkpoint_read_config(r->ckpt, &mc);
  int N = cap > 0 ? cap : mb * 2 * mc.max_seq_len;   // both sequences of micro_batch samples
  mem_plan p = {0};
  mem_plan_add_forward(&p, r->ckpt, model_precision_read(c), N, NULL);
  mem_plan_add(&p, "target logits (upper bound)", 4.0 * N / 2 * mc.vocab_size);
  snprintf(p.note, sizeof p.note, "%d tokens per forward (%s)", N,
           cap > 0 ? "effect.max_batch_tokens" : "micro_batch x 2 x max_seq_len");
  return mem_plan_check(r->s, &p);
}

int effect_run(stage_ctx *s) {
  effect_stage r;
  effect_stage_init(&r, s);
  plan_jobs(&r);
  if ((r.n_compute || stage_option_value(s, "--plan")) && effect_plan(&r)) {
    effect_stage_free(&r);
    return 0;
  }
  reference_model_load(&r);
  double t0 = wall_seconds();
  progress_start(&r.prog, "effects", "tok", r.total_tokens);
  effect_dispatch(r.n_jobs, work, &r);
  report(&r, wall_seconds() - t0);
  effect_stage_free(&r);
  return 0;
}
