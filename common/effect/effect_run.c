// See effect_run.h. Sections: working state, the todo list, the reference model, one job,
// the run.
#include "effect/effect_run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/path_guard.h"
#include "pipeline/mem_plan.h"
#include "base/util.h"
#include "effect/effect_dispatch.h"
#include "effect/effect_files.h"
#include "effect/effect_model.h"
#include "effect/effect_shard.h"
#include "files/checkpoint.h"
#include "h5/h5io.h"
#include "h5/provenance.h"
#include "pipeline/run_layout.h"

// ---- working state ----------------------------------------------------------------------
typedef struct {
  char *shard, *out;    // shard path and matching effects/<name>.h5
} effect_job;

typedef struct {
  const settings *set;
  const stage_args *s;
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

static void effect_stage_init(effect_stage *r, const settings *set, const stage_args *a) {
  memset(r, 0, sizeof *r);
  const effect_settings *e = &set->effect;
  r->set = set;
  r->s = a;
  r->threshold = e->threshold;
  r->cfg_text = settings_text(set, NULL);
  r->ckpt = effect_find_checkpoint(set);
  double t0 = wall_seconds();
  r->ckpt_digest = xstrdup(file_digest(r->ckpt));
  r->digest_s = wall_seconds() - t0;
  for (int i = 0; i < e->splits.n; i++) {
    const char *name = e->splits.v[i];
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
  file_read_attrs(&shard_kind, shard, &head);
  checkpoint_require_tokenizer(r->ckpt, head.tokenizer_digest, "the reference model");
  checkpoint_require_current_inputs(r->ckpt, "the reference model", NULL, 0);
  file_free(&shard_kind, &head);
}

// Tokens (both sequences) of the shard's samples in effect.splits: the ETA's total. With every
// split that is the header's count; otherwise the per-sample splits and lengths are read (small
// next to the forward passes over them).
static double shard_work_tokens(const effect_stage *r, const char *shard) {
  shard_data d;
  if (r->use_split[SPLIT_TRAIN] && r->use_split[SPLIT_VALID] && r->use_split[SPLIT_TEST]) {
    file_read_attrs(&shard_kind, shard, &d);
    double n = (double)d.n_tokens;
    file_free(&shard_kind, &d);
    return n;
  }
  file_read(&shard_kind, shard, &d);
  double n = 0;
  for (size_t i = 0; i < d.n_samples; i++)
    if (d.split[i] >= 0 && d.split[i] < 3 && r->use_split[d.split[i]])
      n += (double)d.hist_length[i] + (double)d.nohist_length[i];
  file_free(&shard_kind, &d);
  return n;
}

// Adds shard -> out to the todo list unless out is current: written under this invocation's
// stamp (an interrupted run keeps the files it finished; pipeline/freshness.h).
static void plan_shard(effect_stage *r, const char *shard, char *out) {
  const char *why = r->s->force ? "--force" : effect_output_stale(out, r->s->stamp);
  if (!why) {
    r->n_kept++;
    free(out);
    return;
  }
  int rank0 = r->s->rank == 0;
  if (rank0 && strcmp(why, "missing")) message("effect: recomputing %s (%s)", out, why);
  r->jobs[r->n_jobs++] = (effect_job){xstrdup(shard), out};
  r->n_compute++;
  if (rank0) r->total_tokens += shard_work_tokens(r, shard);
}

// Every rank makes the same todo list (same files on the shared file system).
static void plan_jobs(effect_stage *r) {
  char *shard_dir = run_path(r->set, RUN_SHARDS);
  int n_all;
  char **all = run_shard_files(shard_dir, &n_all, 1);
  if (!n_all) fatal("%s: no shards (shard-*.h5); run nq-shard first", shard_dir);
  require_reference_tokenizer(r, all[0]);
  free(shard_dir);
  r->out_dir = run_path(r->set, RUN_EFFECTS);
  if (r->s->rank == 0) make_dirs(r->out_dir);
  r->jobs = xcalloc((size_t)n_all + 1, sizeof *r->jobs);
  for (int i = 0; i < n_all; i++) {
    const char *base = strrchr(all[i], '/');
    plan_shard(r, all[i], path_join(r->out_dir, base ? base + 1 : all[i]));   // the shard's name
    free(all[i]);
  }
  free(all);
  if (r->s->rank != 0) return;
  message("effect: reference model %s (digest in %.1fs); %d shards to compute, %d already current",
          r->ckpt, r->digest_s, r->n_compute, r->n_kept);
}

// Effect files of shards that are gone (a smaller shard.count since): files of nq-effect's
// own names, which nq-annotate would refuse as a set, so rank 0 removes them. Files of
// other names in the folder are not nq-effect's and are left alone.
static void remove_orphans(const effect_stage *r) {
  if (r->s->rank != 0) return;
  char *shard_dir = run_path(r->set, RUN_SHARDS);
  long *shards, *mine;
  int ns = run_list(shard_dir, RUN_SHARD_FILE, &shards), nm = run_list(r->out_dir, RUN_SHARD_FILE, &mine);
  for (int i = 0, s = 0; i < nm; i++) {
    while (s < ns && shards[s] < mine[i]) s++;
    if (s < ns && shards[s] == mine[i]) continue;
    char *p = run_file(r->out_dir, RUN_SHARD_FILE, mine[i]);
    path_guard_check(p);
    if (unlink(p) != 0) error("cannot remove %s: %s", p, strerror(errno));
    message("effect: removed %s (no shard of that number in %s)", p, shard_dir);
    free(p);
  }
  free(shards), free(mine), free(shard_dir);
}

// ---- the reference model ------------------------------------------------------------------
// Loaded only when a shard is to be computed.
static void reference_model_load(effect_stage *r) {
  if (!r->n_compute) return;
  const settings *set = r->set;
  double t0 = wall_seconds();   // a 3B model takes a while: say so before the first tick
  r->m = checkpoint_load_prec(r->ckpt, 0, set->model.precision, NULL);
  model_set_threads((int)set->model.threads);
  if (r->s->rank == 0)
    message("effect: loaded %zu parameters in %.1fs; %s", r->m->n_params, wall_seconds() - t0,
            model_precision_describe(r->m));
  effect_model_init(&r->em, r->m);
  r->g = (effect_engine){.model = &r->em, .forward = effect_model_forward, .vocab = r->m->cfg.vocab_size,
                         .micro_batch = (int)set->effect.micro_batch,
                         .max_tokens = (int)set->effect.max_batch_tokens};
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
  char *dir = run_dir_name(r->set, RUN_SHARDS);   // relative to run_dir: a moved run works
  e->shard = path_join(dir, base ? base + 1 : shard_path);
  free(dir);
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
  h5_provenance pv = {"effect", r->cfg_text, r->s->size, 2, inputs, NULL, r->s->stamp};
  long before = r->em.forward_tokens;
  effect_file e;
  compute_effects(r, j->shard, &e);
  effect_output_write(j->out, &e, r->threshold, &pv);
  if (r->s->rank != 0) message("effect: wrote %s (%zu targets)", j->out, e.n_tokens);
  file_free(&effects_kind, &e);
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
  message("effect: wrote %s/ (%d new, %d kept)", r->out_dir, r->n_compute, r->n_kept);
}

// The memory plan of the reference model's passes (mem_plan.h); 1 for --plan.
static int effect_plan(const effect_stage *r) {
  const effect_settings *e = &r->set->effect;
  int mb = (int)e->micro_batch, cap = (int)e->max_batch_tokens;
  model_config mc;
  checkpoint_read_config(r->ckpt, &mc);
  int N = cap > 0 ? cap : mb * 2 * mc.max_seq_len;   // both sequences of micro_batch samples
  mem_plan p = {0};
  mem_plan_add_forward(&p, r->ckpt, r->set->model.precision, N, NULL);
  mem_plan_add(&p, "target logits (upper bound)", 4.0 * N / 2 * mc.vocab_size);
  snprintf(p.note, sizeof p.note, "%d tokens per forward (%s)", N,
           cap > 0 ? "effect.max_batch_tokens" : "micro_batch x 2 x max_seq_len");
  return mem_plan_check(r->set, r->s, &p);
}

int effect_run(const settings *set, const stage_args *a) {
  effect_stage r;
  effect_stage_init(&r, set, a);
  plan_jobs(&r);
  if ((r.n_compute || stage_option_value(a, "--plan")) && effect_plan(&r)) {
    effect_stage_free(&r);
    return 0;
  }
  remove_orphans(&r);
  reference_model_load(&r);
  double t0 = wall_seconds();
  progress_start(&r.prog, "effect estimation", "tok", r.total_tokens);
  effect_dispatch(r.n_jobs, work, &r);
  report(&r, wall_seconds() - t0);
  effect_stage_free(&r);
  return 0;
}
