// Each rank's share of nq-eval: model by model (one activation arena alive at a time), sample
// by sample, prefill the prompt(s) once, then for each row of the model: NLL of the target,
// generation from the cache (truncated back to the prompt afterwards), one record.
#include "eval/eval_generate_rank.h"
#include "eval/eval_user_lora.h"

#include <gsl/gsl_rng.h>
#include <stdlib.h>

#include "base/log.h"
#include "eval/eval_records.h"

// Working state of a rank's generation, sized over its samples.
typedef struct {
  int V;
  eval_work w;        // decoding scratch and the teacher-forced logit rows (max_nt)
  int32_t *gen;       // (max_new) generated ids
  double *nll;        // (max_nt) per-token NLL
  gsl_rng *rng;       // reseeded per (row, sample)
  int max_fwd, max_np, max_nt;  // positions of a forward (prompt + target - 1), prompt, target
  size_t mine;        // samples of this rank
} gen_state;

static void gen_state_create(gen_state *g, const stage_args *s, const eval_opts *o, const eval_samples *d, int V) {
  g->V = V;
  eval_work_init(&g->w, V);
  g->gen = xmalloc((size_t)o->dec.max_new * sizeof(int32_t));
  g->rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!g->rng) error("gsl_rng_alloc(mt19937) failed");
  g->max_fwd = g->max_np = g->max_nt = 1;
  g->mine = 0;
  for (size_t k = (size_t)s->rank; k < d->n; k += (size_t)s->size, g->mine++) {
    int nh, n0;
    size_t nt;
    eval_prompt_of(d, k, 1, &nh);
    eval_prompt_of(d, k, 0, &n0);
    eval_target_of(d, k, &nt);
    int np = nh > n0 ? nh : n0;
    if (np + (int)nt - 1 > g->max_fwd) g->max_fwd = np + (int)nt - 1;
    if (np > g->max_np) g->max_np = np;
    if ((int)nt > g->max_nt) g->max_nt = (int)nt;
  }
  eval_work_reserve(&g->w, g->max_nt);
  g->nll = xmalloc((size_t)g->max_nt * sizeof(double));
}

static void gen_state_free(gen_state *g) {
  free(g->nll);
  free(g->gen);
  gsl_rng_free(g->rng);
  eval_work_free(&g->w);
}

// One model's pass: its activation arena and the two caches (with / without history).
typedef struct {
  int mi;
  model *m;
  int use_h, use_0;       // some row of the model needs the with- / without-history prompt
  model_acts *a;
  model_kv *kvh, *kv0;
} model_pass;

static void model_pass_create(model_pass *p, int mi, model *m, const eval_opts *o, const gen_state *g) {
  p->mi = mi;
  p->m = m;
  p->use_h = p->use_0 = 0;
  for (int r = 0; r < o->n_rows; r++) {
    if (o->rows[r].model != mi) continue;
    p->use_h |= o->rows[r].mode != ROW_NOHIST;
    p->use_0 |= o->rows[r].mode != ROW_HIST;
  }
  if (g->max_fwd > m->cfg.max_seq_len)
    fatal("%s: a sample needs %d positions (prompt + target), the model's max_seq_len is %d",
          o->mpath[mi], g->max_fwd, m->cfg.max_seq_len);
  int cache = g->max_np + o->dec.max_new < m->cfg.max_seq_len ? g->max_np + o->dec.max_new : m->cfg.max_seq_len;
  p->a = model_acts_create(m, g->max_fwd, g->max_fwd);
  p->kvh = model_kv_create(m, cache);
  p->kv0 = model_kv_create(m, cache);
}

static void model_pass_free(model_pass *p) {
  model_acts_free(p->a);
  model_kv_free(p->kvh);
  model_kv_free(p->kv0);
}

static uint64_t gen_seed(uint64_t seed, const char *row, const char *id) {
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "%llu|%s|%s", (unsigned long long)seed, row, id);
  uint64_t h = fnv1a64(b.data, b.len);
  sb_free(&b);
  return h;
}

// Row r of sample k, the prompts already prefilled: NLL, generation, one record.
static void row_generate(gen_state *g, const model_pass *p, const eval_opts *o, const eval_samples *d,
                         size_t k, int r, strbuf *out) {
  const eval_row *row = &o->rows[r];
  const shard_data *sh = eval_sample_shard(d, k);
  size_t i = eval_sample_index(d, k), nt;
  const int32_t *tgt = eval_target_of(d, k, &nt);
  const uint8_t *truth = sh->truth ? sh->truth + sh->target_offset[i] : NULL;
  int nh, n0;
  const int32_t *ph = eval_prompt_of(d, k, 1, &nh), *p0 = eval_prompt_of(d, k, 0, &n0);
  int cos = row->mode == ROW_COS, hist = row->mode != ROW_NOHIST;
  model_kv *kv = hist ? p->kvh : p->kv0, *k0 = cos ? p->kv0 : NULL;
  const float *rows = hist ? g->w.all_h : g->w.all_0;
  int np = hist ? nh : n0;
  eval_nll_rows(rows, cos ? g->w.all_0 : NULL, o->dec.cos_lambda, tgt, (int)nt, g->V, g->w.probs, g->nll);
  eval_sample_scores sc;
  eval_score_nll(g->nll, truth, (int)nt, &sc);
  gsl_rng_set(g->rng, (unsigned long)gen_seed(o->seed, row->name, sh->id[i]));
  int hit = 0;
  int n = eval_generate(p->m, kv, rows, k0, cos ? g->w.all_0 : NULL, hist ? ph : p0, np, &o->dec, g->rng,
                        &g->w, g->gen, &hit);
  kv->len = np;  // back to the prompt for the next row of this model
  if (k0) k0->len = n0;
  eval_record h = {(int32_t)k, r, n, hit, {sc.num[EM_NLL], sc.den[EM_NLL], sc.num[EM_NLL_PREF],
                                           sc.den[EM_NLL_PREF], sc.num[EM_NLL_OTHER], sc.den[EM_NLL_OTHER]}};
  eval_record_append(out, &h, g->gen);
}

// Sample k under one model: prefill the prompts its rows need, then each of its rows.
static void sample_generate(gen_state *g, const model_pass *p, const eval_opts *o, const eval_samples *d,
                            size_t k, strbuf *out) {
  size_t nt;
  eval_target_of(d, k, &nt);
  int nh, n0;
  const int32_t *ph = eval_prompt_of(d, k, 1, &nh), *p0 = eval_prompt_of(d, k, 0, &n0);
  if (p->use_h) eval_prefill(p->m, p->a, p->kvh, ph, nh, (int)nt, g->w.all_h);
  if (p->use_0) eval_prefill(p->m, p->a, p->kv0, p0, n0, (int)nt, g->w.all_0);
  for (int r = 0; r < o->n_rows; r++)
    if (o->rows[r].model == p->mi) row_generate(g, p, o, d, k, r, out);
}

void eval_generate_rank(const stage_args *s, const eval_opts *o, const eval_samples *d, model **ms,
                        strbuf *out) {
  gen_state g;
  gen_state_create(&g, s, o, d, ms[0]->cfg.vocab_size);
  progress pr;
  progress_start(&pr, "evaluating", "samples", (double)(g.mine * (size_t)o->n_models));
  size_t done = 0;
  for (int mi = 0; mi < o->n_models; mi++) {
    model_pass p;
    model_pass_create(&p, mi, ms[mi], o, &g);
    eval_user_lora ul;   // eval.user_adapters rows: each sample's user's adapter merged in
    if (o->udir[mi]) eval_user_lora_open(&ul, o->udir[mi], ms[mi], o->mpath[mi]);
    for (size_t k = (size_t)s->rank; k < d->n; k += (size_t)s->size) {
      if (o->udir[mi]) {
        const shard_data *sh = eval_sample_shard(d, k);
        eval_user_lora_apply(&ul, ms[mi], sh->users[sh->user[eval_sample_index(d, k)]]);
      }
      sample_generate(&g, &p, o, d, k, out);
      progress_update(&pr, (double)++done, NULL);
    }
    if (o->udir[mi]) eval_user_lora_free(&ul);
    model_pass_free(&p);
  }
  progress_finish(&pr, NULL);
  gen_state_free(&g);
}
