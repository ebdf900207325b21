// Effect passes over micro-batches (see effect_engine.h).
#include "effect/effect_engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "effect/effect.h"

// One pass (with or without history) over the samples idx[0..nb): packs their sequences,
// asks for logits at every position that predicts a target token, writes them to `logits`
// (T x V; the caller keeps that buffer across micro-batches: a fresh one per pass cost more
// in page faults than the LM head itself).
static void pass_logits(const effect_engine *g, const effect_sample *s, const size_t *idx,
                        size_t nb, int with, size_t n_targets, float *logits) {
  size_t total = 0;
  for (size_t k = 0; k < nb; k++) total += (size_t)(with ? s[idx[k]].n_with : s[idx[k]].n_without);
  int32_t *tok = xmalloc((total + 1) * sizeof *tok);
  int *lens = xmalloc(nb * sizeof *lens);
  int64_t *pos = xmalloc((n_targets + 1) * sizeof *pos);
  size_t at = 0, k = 0;
  for (size_t b = 0; b < nb; b++) {
    const effect_sample *x = &s[idx[b]];
    const int32_t *seq = with ? x->with : x->without;
    int len = with ? x->n_with : x->n_without;
    if (x->n_target < 0 || x->n_target >= len)
      error("sample %zu: %d target tokens in a sequence of %d (needs a prompt token)", idx[b],
            x->n_target, len);
    memcpy(tok + at, seq, (size_t)len * sizeof *tok);
    lens[b] = len;
    // target j sits at len - n_target + j; the logits predicting it are one position earlier
    for (int j = 0; j < x->n_target; j++) pos[k++] = (int64_t)(at + (size_t)(len - x->n_target + j - 1));
    at += (size_t)len;
  }
  g->forward(g->model, tok, lens, (int)nb, pos, (int)n_targets, logits);
  free(tok), free(lens), free(pos);
}

void effect_engine_free(effect_engine *g) {
  free(g->logits);
  g->logits = NULL;
  g->logits_cap = 0;
}

void effect_compute(effect_engine *g, const effect_sample *s, size_t n, effect_file *e,
                    void (*tick)(void *, size_t), void *tick_arg) {
  if (e->n_samples != n) error("effect file sized for %zu samples, got %zu", e->n_samples, n);
  e->offsets[0] = 0;
  for (size_t i = 0; i < n; i++) e->offsets[i + 1] = e->offsets[i] + s[i].n_target;
  if ((size_t)e->offsets[n] != e->n_tokens)
    error("effect file sized for %zu targets, samples have %lld", e->n_tokens, (long long)e->offsets[n]);
  size_t V = (size_t)g->vocab, *idx = xmalloc((n + 1) * sizeof *idx), n_act = 0;
  for (size_t i = 0; i < n; i++) {
    e->sample_computed[i] = !s[i].skip;
    if (!s[i].skip) {
      idx[n_act++] = i;
      continue;
    }
    for (int64_t t = e->offsets[i]; t < e->offsets[i + 1]; t++) {
      e->logp_with[t] = e->logp_without[t] = e->effect[t] = e->js[t] = NAN;
      e->rank_with[t] = e->rank_without[t] = 0;
    }
  }
  size_t done = 0;
  for (size_t a = 0; a < n_act;) {
    // micro-batch: up to micro_batch samples, and under max_tokens when set
    size_t b = a + 1, toks = (size_t)(s[idx[a]].n_with + s[idx[a]].n_without);
    size_t nt = (size_t)s[idx[a]].n_target;
    while (b < n_act && b - a < (size_t)g->micro_batch &&
           (!g->max_tokens ||
            toks + (size_t)(s[idx[b]].n_with + s[idx[b]].n_without) <= (size_t)g->max_tokens)) {
      toks += (size_t)(s[idx[b]].n_with + s[idx[b]].n_without);
      nt += (size_t)s[idx[b]].n_target;
      b++;
    }
    if (2 * (nt + 1) * V > g->logits_cap) {
      free(g->logits);
      g->logits_cap = 2 * (nt + 1) * V;
      g->logits = xmalloc(g->logits_cap * sizeof *g->logits);
    }
    float *zw = g->logits, *z0 = g->logits + (nt + 1) * V;
    pass_logits(g, s, idx + a, b - a, 1, nt, zw);
    pass_logits(g, s, idx + a, b - a, 0, nt, z0);
    size_t k = 0;
    for (size_t q = a; q < b; q++) {
      size_t i = idx[q];
      int len = s[i].n_with;
      for (int j = 0; j < s[i].n_target; j++, k++) {
        int32_t y = s[i].with[len - s[i].n_target + j];
        if (y != s[i].without[s[i].n_without - s[i].n_target + j])
          error("sample %zu: target token %d differs between the two prompts", i, j);
        effect_tok r;
        effect_token(zw + k * V, z0 + k * V, g->vocab, y, &r);
        size_t t = (size_t)e->offsets[i] + (size_t)j;
        e->logp_with[t] = r.logp_with, e->logp_without[t] = r.logp_without;
        e->effect[t] = r.effect, e->js[t] = r.js;
        e->rank_with[t] = r.rank_with, e->rank_without[t] = r.rank_without;
      }
    }
    done += nt;
    a = b;
    if (tick) tick(tick_arg, done);
  }
  free(idx);
}
