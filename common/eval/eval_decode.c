// Decoding for nq-eval: the logits processors of HF generate() that the paper's evaluation ran
// (repetition penalty; temperature and top-p for sampling), context steering (CoS), the
// generation loop over the KV cache and teacher-forced NLL.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "base/log.h"

// ---- token set --------------------------------------------------------------------------
void eval_seen_init(eval_seen *s, int V) {
  s->V = V;
  s->n = 0;
  s->mark = xcalloc((size_t)V, 1);
  s->ids = xmalloc((size_t)V * sizeof(int32_t));
}

void eval_seen_add(eval_seen *s, int32_t id) {
  if (id < 0 || id >= s->V) error("eval_seen_add: id %d outside vocabulary %d", id, s->V);
  if (s->mark[id]) return;
  s->mark[id] = 1;
  s->ids[s->n++] = id;
}

void eval_seen_clear(eval_seen *s) {
  for (int i = 0; i < s->n; i++) s->mark[s->ids[i]] = 0;
  s->n = 0;
}

void eval_seen_free(eval_seen *s) {
  free(s->mark);
  free(s->ids);
  memset(s, 0, sizeof *s);
}

// ---- logits processors ------------------------------------------------------------------
void eval_repetition_penalty(float *logits, const eval_seen *s, float penalty) {
  if (penalty == 1.0f) return;
  // HF gathers the scores of input_ids, rescales, scatters back: a repeated id counts once
  for (int i = 0; i < s->n; i++) {
    float *z = &logits[s->ids[i]];
    *z = *z < 0 ? *z * penalty : *z / penalty;
  }
}

void eval_cos_combine(float *out, const float *zh, const float *z0, int V, float lambda) {
  for (int i = 0; i < V; i++) out[i] = zh[i] + lambda * (zh[i] - z0[i]);
}

static int by_prob_desc(const void *a, const void *b, void *arg) {
  const float *p = arg;
  int i = *(const int *)a, j = *(const int *)b;
  if (p[i] != p[j]) return p[i] > p[j] ? -1 : 1;
  return i - j;
}

int eval_sample_top_p(const float *logits, int V, float temperature, float top_p, double u,
                      float *probs, int *order) {
  if (!(temperature > 0)) error("eval_sample_top_p: temperature %g must be > 0", (double)temperature);
  float mx = -INFINITY;
  for (int i = 0; i < V; i++) mx = logits[i] > mx ? logits[i] : mx;
  double sum = 0;
  for (int i = 0; i < V; i++) {
    probs[i] = expf((logits[i] - mx) / temperature);
    sum += probs[i];
  }
  int kept = V;
  if (top_p < 1.0f) {
    for (int i = 0; i < V; i++) order[i] = i;
    qsort_r(order, (size_t)V, sizeof *order, by_prob_desc, probs);
    double before = 0;
    kept = 0;
    while (kept < V && (kept == 0 || before < top_p * sum)) before += probs[order[kept++]];
  } else {
    for (int i = 0; i < V; i++) order[i] = i;
  }
  double mass = 0;
  for (int k = 0; k < kept; k++) mass += probs[order[k]];
  double target = u * mass, acc = 0;
  for (int k = 0; k < kept; k++) {
    acc += probs[order[k]];
    if (target < acc) return order[k];
  }
  return order[kept - 1];  // u * mass rounded up to the total
}

double eval_token_nll(const float *z, int V, int t) {
  double mx = -INFINITY;
  for (int i = 0; i < V; i++) mx = z[i] > mx ? z[i] : mx;
  double s = 0;
  for (int i = 0; i < V; i++) s += exp((double)z[i] - mx);
  return mx + log(s) - (double)z[t];
}

// ---- scratch ----------------------------------------------------------------------------
void eval_work_init(eval_work *w, int V) {
  memset(w, 0, sizeof *w);
  w->V = V;
  w->z = xmalloc((size_t)V * sizeof(float));
  w->z0 = xmalloc((size_t)V * sizeof(float));
  w->probs = xmalloc((size_t)V * sizeof(float));
  w->order = xmalloc((size_t)V * sizeof(int));
  eval_seen_init(&w->seen, V);
}

void eval_work_free(eval_work *w) {
  free(w->z);
  free(w->z0);
  free(w->probs);
  free(w->order);
  free(w->all_h);
  free(w->all_0);
  eval_seen_free(&w->seen);
  memset(w, 0, sizeof *w);
}

void eval_work_reserve(eval_work *w, int n) {
  if (n <= w->cap) return;
  free(w->all_h);
  free(w->all_0);
  w->all_h = xmalloc((size_t)n * w->V * sizeof(float));
  w->all_0 = xmalloc((size_t)n * w->V * sizeof(float));
  w->cap = n;
}

// ---- generation -------------------------------------------------------------------------
int eval_generate(const model *m, model_kv *kv, const float *last, model_kv *kv0,
                  const float *last0, const int32_t *prompt, int np, const eval_decode_opts *o,
                  gsl_rng *rng, eval_work *w, int32_t *out, int *hit_eos) {
  int V = m->cfg.vocab_size;
  // real HF vocabularies are padded past the tokenizer's last id: never pick a padding id
  int Vt = o->vocab_limit > 0 && o->vocab_limit < V ? o->vocab_limit : V;
  eval_seen_clear(&w->seen);
  if (o->penalize_prompt)
    for (int i = 0; i < np; i++) eval_seen_add(&w->seen, prompt[i]);
  memcpy(w->z, last, (size_t)V * sizeof(float));
  if (kv0) memcpy(w->z0, last0, (size_t)V * sizeof(float));
  int n = 0;
  *hit_eos = 0;
  for (;;) {
    if (kv0) eval_cos_combine(w->z, w->z, w->z0, V, o->cos_lambda);
    eval_repetition_penalty(w->z, &w->seen, o->penalty);
    int t = o->decoding == DECODE_GREEDY
                ? argmax_f32(w->z, Vt)
                : eval_sample_top_p(w->z, Vt, o->temperature, o->top_p, gsl_rng_uniform(rng), w->probs,
                                    w->order);
    if (t == o->eos) {
      *hit_eos = 1;
      break;
    }
    out[n++] = t;
    // the next step needs room for this token in every cache
    if (n >= o->max_new || kv->len >= kv->max_len || (kv0 && kv0->len >= kv0->max_len)) break;
    eval_seen_add(&w->seen, t);
    model_kv_step(m, kv, t, w->z);   // one row: matrix-vector products (model_decode.c)
    if (kv0) model_kv_step(m, kv0, t, w->z0);
  }
  return n;
}

// ---- prefill and teacher-forced NLL ------------------------------------------------------
void eval_prefill(model *m, model_acts *a, model_kv *kv, const int32_t *seq, int np, int nt,
                  float *rows) {
  const model_config *c = &m->cfg;
  int V = c->vocab_size, kd = c->n_kv_heads * (c->dim / c->n_heads), n = np + nt - 1;
  if (np < 1 || nt < 1) error("eval_prefill: prompt %d and target %d tokens", np, nt);
  if (np > kv->max_len) error("eval_prefill: prompt of %d tokens exceeds the cache of %d", np, kv->max_len);
  model_forward(m, a, seq, &n, 1);
  // the forward keeps every layer's keys (after RoPE) and values: the cache is their prefix
  size_t MN = (size_t)a->max_tokens;
  for (int l = 0; l < c->n_layers; l++) {
    memcpy(kv->k + (size_t)l * kv->max_len * kd, a->k + l * MN * kd, (size_t)np * kd * sizeof(float));
    memcpy(kv->v + (size_t)l * kv->max_len * kd, a->v + l * MN * kd, (size_t)np * kd * sizeof(float));
  }
  kv->len = np;
  memcpy(rows, a->logits + (size_t)(np - 1) * V, (size_t)nt * V * sizeof(float));
}

void eval_nll_rows(const float *rows, const float *rows0, float lambda, const int32_t *tgt, int nt,
                   int V, float *scratch, double *nll) {
  for (int j = 0; j < nt; j++) {
    const float *z = rows + (size_t)j * V;
    if (rows0) {
      eval_cos_combine(scratch, z, rows0 + (size_t)j * V, V, lambda);
      z = scratch;
    }
    nll[j] = eval_token_nll(z, V, tgt[j]);
  }
}
