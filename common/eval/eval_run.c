// nq-eval's driver (docs/eval.md): options, samples, checkpoints (with provenance checks),
// generation + teacher-forced NLL spread over ranks by sample index, gather on rank 0, then
// rank 0 scores and writes the files. Every number depends only on the sample and the row, so
// the files are the same for any rank count.
#include <stdlib.h>

#include "base/log.h"
#include "pipeline/mem_plan.h"
#include "eval/eval.h"
#include "eval/eval_generate_rank.h"
#include "eval/eval_opts.h"
#include "eval/eval_records.h"
#include "eval/eval_results.h"
#include "eval/eval_samples.h"
#include "eval/eval_write.h"
#include "files/checkpoint.h"
#include "hf/hf.h"

// Refuse a file that is not one of our checkpoints, or one trained on shards other than ours
// or from a base model changed since (when its provenance lists them).
static void check_checkpoint(const char *path, const eval_samples *d) {
  if (!file_is(&checkpoint_kind, path)) fatal("%s: not a model checkpoint (no model_dim attribute)", path);
  checkpoint_require_current_inputs(path, "this eval.models entry", d->paths, d->n_shards);
}

// Every eval.models checkpoint, checked against the shards (o->n_models of them; free with
// models_free).
static model **models_load(const eval_opts *o, const eval_samples *d, int precision) {
  model **ms = xcalloc((size_t)o->n_models, sizeof *ms);
  for (int mi = 0; mi < o->n_models; mi++) {
    if (!file_exists(o->mpath[mi]))
      fatal("%s: checkpoint of eval.models.%s is missing; train it first", o->mpath[mi], o->mname[mi]);
    if (!hf_is_model_dir(o->mpath[mi])) check_checkpoint(o->mpath[mi], d);
    checkpoint_require_tokenizer(o->mpath[mi], d->sh[0].tokenizer_digest, "eval.models entry");
    ms[mi] = checkpoint_load_prec(o->mpath[mi], 0, precision, NULL);   // bf16: weights in bf16 only
    // an HF model's embedding may be padded past the tokenizer (Qwen2.5: 151936 vs 151665)
    if (ms[mi]->cfg.vocab_size < d->sh[0].vocab_size)
      fatal("%s: model vocabulary %d < shards' tokenizer vocabulary %d", o->mpath[mi],
            ms[mi]->cfg.vocab_size, d->sh[0].vocab_size);
  }
  return ms;
}

static void models_free(model **ms, int n) {
  for (int mi = 0; mi < n; mi++) model_free(ms[mi]);
  free(ms);
}

// Rank 0: decode, score, summarize, write.
static void score_and_write(const stage_args *s, const eval_opts *o, const eval_samples *d, const char *all,
                            size_t total) {
  eval_results r;
  eval_results_create(&r, o, d, all, total);
  eval_write(s, o, d, &r);
  eval_results_free(&r);
}

// The memory plan of every model's passes and KV caches (mem_plan.h); 1 for --plan.
static int eval_plan(const stage_args *s, const eval_opts *o, int precision) {
  mem_plan p = {0};
  model_config mc = {0};
  double acts = 0, kv = 0;   // the passes run one model at a time: the largest one's activations
  for (int mi = 0; mi < o->n_models && p.n + 3 <= MEM_PLAN_MAX; mi++) {
    if (!file_exists(o->mpath[mi])) continue;   // models_load names it
    mem_plan_add_weights(&p, o->mpath[mi], precision, &mc);
    double a = (double)model_acts_bytes(&mc, precision, mc.max_seq_len, mc.max_seq_len);
    double k = 2.0 * 2 * mc.n_layers * (double)mc.max_seq_len * mc.n_kv_heads * (mc.dim / mc.n_heads) * 4;
    acts = a > acts ? a : acts;
    kv += k;   // 2 caches per model, all models' held together
  }
  if (mc.dim) {
    mem_plan_add(&p, "activations (one pass)", acts);
    mem_plan_add(&p, "KV caches (2 per model)", kv);
  }
  snprintf(p.note, sizeof p.note, "%d model(s), passes of up to max_seq_len %d tokens", o->n_models, mc.max_seq_len);
  return mem_plan_check(o->set, s, &p);
}

int eval_run(const settings *set, const stage_args *s) {
  double t0 = wall_seconds();
  eval_opts o;
  eval_opts_read(&o, set);
  eval_samples d;
  eval_samples_load(&d, &o);
  o.dec.eos = d.sh[0].eos_id;
  o.dec.vocab_limit = (int)d.sh[0].vocab_size;
  model_set_threads((int)set->model.threads);
  if (eval_plan(s, &o, set->model.precision)) {
    eval_samples_free(&d);
    eval_opts_free(&o);
    return 0;
  }
  model **ms = models_load(&o, &d, set->model.precision);
  if (s->rank == 0) message("eval: %s", model_precision_describe(ms[0]));
  if (s->rank == 0)
    message("eval: %zu %s samples x %d rows (%s decoding, max %d new tokens), %d rank(s)", d.n,
            o.split == SPLIT_VALID ? "valid" : "test", o.n_rows,
            o.dec.decoding == DECODE_SAMPLE ? "sampling" : "greedy", o.dec.max_new, s->size);
  strbuf mine;
  sb_init(&mine);
  eval_generate_rank(s, &o, &d, ms, &mine);
  double t_gen = wall_seconds() - t0;
  size_t total = 0;
  char *all = eval_records_gather(s, &mine, &total);
  sb_free(&mine);
  if (s->rank == 0) {
    score_and_write(s, &o, &d, all, total);
    message("eval: done in %.1f s (generation %.1f s, scoring and files %.1f s)", wall_seconds() - t0,
            t_gen, wall_seconds() - t0 - t_gen);
  }
  free(all);
  models_free(ms, o.n_models);
  eval_samples_free(&d);
  eval_opts_free(&o);
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0's outputs");
  return 0;
}
