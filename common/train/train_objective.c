// One micro-batch under the objective (docs/training.md, "Objectives"): pack the sequences,
// forward, the loss of each sample, backward. lm: next-token CE over stream windows; sft and
// context_sft: CE of the targets; nextquill: a with- and a without-history pass (loss.h).
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "model/kernels.h"
#include "model/loss.h"
#include "train/trainer.h"

// ---- buffers ----------------------------------------------------------------------------------
void train_work_create(train_work *w, model *m, model *ref, const train_settings *ts, int micro_batch,
                       int max_len) {
  memset(w, 0, sizeof *w);
  int max_tokens = micro_batch * max_len, two_passes = ts->objective == OBJ_NEXTQUILL;
  size_t logits = (size_t)max_tokens * (size_t)m->cfg.vocab_size;
  w->m = m;
  w->ref = ref;
  w->vocab = m->cfg.vocab_size;
  w->acts_hist = model_acts_create(m, max_tokens, max_len);
  w->dlogits_hist = xmalloc(logits * sizeof(float));
  if (two_passes) {
    w->acts_nohist = model_acts_create(m, max_tokens, max_len);
    w->dlogits_nohist = xmalloc(logits * sizeof(float));
  }
  if (ref) {
    w->ref_acts_hist = model_acts_create(ref, max_tokens, max_len);
    w->ref_acts_nohist = model_acts_create(ref, max_tokens, max_len);
  }
  w->tokens_hist = xmalloc((size_t)max_tokens * sizeof(int32_t));
  w->tokens_nohist = xmalloc((size_t)max_tokens * sizeof(int32_t));
  w->lens_hist = xmalloc((size_t)micro_batch * sizeof(int));
  w->lens_nohist = xmalloc((size_t)micro_batch * sizeof(int));
  w->token_weight = xmalloc((size_t)max_len * sizeof(float));
  w->online_mask = xmalloc((size_t)max_len);
  if (ts->objective == OBJ_LM) {
    w->lm_next = xmalloc((size_t)max_tokens * sizeof(int32_t));
    w->lm_weight = xmalloc((size_t)max_tokens * sizeof(float));
    w->lm_row_loss = xmalloc((size_t)max_tokens * sizeof(float));
  }
}

void train_work_free(train_work *w) {
  model_acts *acts[] = {w->acts_hist, w->acts_nohist, w->ref_acts_hist, w->ref_acts_nohist};
  for (size_t i = 0; i < sizeof acts / sizeof *acts; i++)
    if (acts[i]) model_acts_free(acts[i]);
  free(w->dlogits_hist), free(w->dlogits_nohist);
  free(w->tokens_hist), free(w->tokens_nohist), free(w->lens_hist), free(w->lens_nohist);
  free(w->token_weight), free(w->online_mask);
  free(w->lm_next), free(w->lm_weight), free(w->lm_row_loss);
  memset(w, 0, sizeof *w);
}

// ---- lm --------------------------------------------------------------------------------------
// Windows b->index[j] of b->lm; the loss of a window is the mean next-token CE over its rows.
static void micro_batch_lm(train_work *w, const train_batch *b, float scale, int grad, loss_sums *acc) {
  const lm_windows *win = b->lm;
  int n_rows = 0;
  for (int j = 0; j < b->n; j++) {
    int64_t a = win->off[b->index[j]], L = win->off[b->index[j] + 1] - a;
    memcpy(w->tokens_hist + n_rows, win->tokens + a, (size_t)L * sizeof(int32_t));
    for (int t = 0; t < L; t++) {
      w->lm_next[n_rows + t] = t + 1 < L ? win->tokens[a + t + 1] : -1;
      w->lm_weight[n_rows + t] = t + 1 < L ? scale / (float)(L - 1) : 0.0f;
    }
    w->lens_hist[j] = (int)L;
    n_rows += (int)L;
  }
  model_forward(w->m, w->acts_hist, w->tokens_hist, w->lens_hist, b->n);
  if (grad)   // overwrites dlogits (no clearing pass)
    crossentropy_forward_backward(w->lm_row_loss, w->dlogits_hist, w->acts_hist->logits, w->lm_next,
                                  w->lm_weight, n_rows, w->vocab);
  else
    crossentropy_forward(w->lm_row_loss, w->acts_hist->logits, w->lm_next, n_rows, w->vocab);
  for (int j = 0, o = 0; j < b->n; o += w->lens_hist[j], j++) {
    double l = 0.0;
    for (int t = 0; t + 1 < w->lens_hist[j]; t++) l += w->lm_row_loss[o + t];
    l /= w->lens_hist[j] - 1;
    acc->loss += l;
    acc->loss_n += l;
    acc->targets += w->lens_hist[j] - 1;
  }
  acc->tokens += n_rows;
  if (grad) model_backward(w->m, w->acts_hist, w->dlogits_hist);
}

// ---- sft, context_sft, nextquill ---------------------------------------------------------------
// Packs each sample's sequence into tokens_hist (with history for nextquill, for context_sft
// unless dropped; sft never) and, for nextquill, its without-history sequence into
// tokens_nohist. *n_hist, *n_nohist: tokens packed.
static void pack_sequences(train_work *w, const train_data *d, const train_settings *ts, const train_batch *b,
                           int two_passes, int *n_hist, int *n_nohist) {
  int packed_hist = 0, packed_nohist = 0;
  for (int j = 0; j < b->n; j++) {
    const shard_data *h = &d->sh[b->shard[j]];
    size_t len;
    int with = ts->objective == OBJ_NEXTQUILL || (ts->objective == OBJ_CONTEXT_SFT && b->with_history[j]);
    const int32_t *seq = shard_seq(h, b->index[j], with, &len);
    memcpy(w->tokens_hist + packed_hist, seq, len * sizeof(int32_t));
    w->lens_hist[j] = (int)len;
    packed_hist += (int)len;
    if (two_passes) {
      seq = shard_seq(h, b->index[j], 0, &len);
      memcpy(w->tokens_nohist + packed_nohist, seq, len * sizeof(int32_t));
      w->lens_nohist[j] = (int)len;
      packed_nohist += (int)len;
    }
  }
  *n_hist = packed_hist;
  *n_nohist = packed_nohist;
}

// nextquill's per-target-token weights of sample j (T targets y; zh, z0 its logits): from the
// annotations, the online rule or 1; adds the preference-bearing tokens to acc->pref_tokens.
static const float *target_weights(train_work *w, const train_data *d, const train_settings *ts,
                                   const train_batch *b, int j, const float *zh, const float *z0,
                                   const int32_t *y, int T, loss_sums *acc) {
  if (ts->weights == W_ANNOTATIONS || ts->weights == W_RATIO) {   // read at start (train_data.c)
    int s = b->shard[j];
    int64_t off = d->sh[s].target_offset[b->index[j]];
    for (int t = 0; t < T; t++) acc->pref_tokens += d->mask[s][off + t];
    return d->weight[s] + off;
  }
  if (ts->weights == W_ONLINE) {
    acc->pref_tokens += loss_online_weights(w->token_weight, w->online_mask, zh, z0, y, T, w->vocab,
                                            (float)ts->online_threshold, (float)ts->online_hi,
                                            (float)ts->online_lo);
    return w->token_weight;
  }
  if (ts->weights == W_RATIO_ONLINE) {
    acc->pref_tokens += loss_ratio_weights(w->token_weight, w->online_mask, zh, z0, y, T, w->vocab,
                                           (float)ts->ratio_min, (float)ts->ratio_max);
    return w->token_weight;
  }
  for (int t = 0; t < T; t++) w->token_weight[t] = 1.0f;
  return w->token_weight;
}

// The targets' losses of every sample; gradients into the dlogits when `grad`. A sample's T
// targets are predicted by the T rows before its sequence's last.
static void sample_losses(train_work *w, const train_data *d, const train_settings *ts, const train_batch *b,
                          int two_passes, int use_ref, float scale, int grad, loss_sums *acc) {
  size_t V = (size_t)w->vocab;
  nq_loss_opts loss_opts = {(float)ts->alpha, ts->weight_pce, ts->effect_alignment};
  int row0_hist = 0, row0_nohist = 0;   // first row of sample j in each pass
  for (int j = 0; j < b->n; j++) {
    size_t tl;
    const int32_t *y = shard_target(&d->sh[b->shard[j]], b->index[j], &tl);
    int T = (int)tl;
    // the rows predicting the targets, in each pass
    size_t pred_hist = (size_t)(row0_hist + w->lens_hist[j] - T - 1);
    float *dzh = grad ? w->dlogits_hist + pred_hist * V : NULL;
    const float *zh = w->acts_hist->logits + pred_hist * V;
    if (!two_passes) {
      double l = loss_wce(dzh, zh, y, NULL, T, w->vocab, scale);
      acc->loss += l;
      acc->loss_n += l;
    } else {
      size_t pred_nohist = (size_t)(row0_nohist + w->lens_nohist[j] - T - 1);
      const float *z0 = w->acts_nohist->logits + pred_nohist * V;
      const float *weights = target_weights(w, d, ts, b, j, zh, z0, y, T, acc);
      float *dz0 = grad ? w->dlogits_nohist + pred_nohist * V : NULL;
      const float *rh = use_ref ? w->ref_acts_hist->logits + pred_hist * V : NULL;
      const float *r0 = use_ref ? w->ref_acts_nohist->logits + pred_nohist * V : NULL;
      nq_loss_val v = loss_nextquill(dzh, dz0, zh, z0, rh, r0, y, weights, T, w->vocab, &loss_opts, scale);
      acc->loss += v.L;
      acc->loss_n += v.Ln;
      acc->loss_p += v.Lp;
      row0_nohist += w->lens_nohist[j];
    }
    acc->targets += T;
    row0_hist += w->lens_hist[j];
  }
}

void train_micro_batch(train_work *w, const train_data *d, const train_settings *ts, const train_batch *b,
                       float scale, int grad, loss_sums *acc) {
  if (ts->objective == OBJ_LM) {
    micro_batch_lm(w, b, scale, grad, acc);
    return;
  }
  int two_passes = ts->objective == OBJ_NEXTQUILL, n_hist, n_nohist;
  pack_sequences(w, d, ts, b, two_passes, &n_hist, &n_nohist);
  model_forward(w->m, w->acts_hist, w->tokens_hist, w->lens_hist, b->n);
  if (two_passes) model_forward(w->m, w->acts_nohist, w->tokens_nohist, w->lens_nohist, b->n);
  int use_ref = two_passes && ts->effect_alignment && ts->alpha != 0;
  if (use_ref) {
    model_forward(w->ref, w->ref_acts_hist, w->tokens_hist, w->lens_hist, b->n);
    model_forward(w->ref, w->ref_acts_nohist, w->tokens_nohist, w->lens_nohist, b->n);
  }
  if (grad) {   // the losses add their gradients into cleared dlogits
    memset(w->dlogits_hist, 0, (size_t)n_hist * (size_t)w->vocab * sizeof(float));
    if (two_passes) memset(w->dlogits_nohist, 0, (size_t)n_nohist * (size_t)w->vocab * sizeof(float));
  }
  sample_losses(w, d, ts, b, two_passes, use_ref, scale, grad, acc);
  acc->tokens += n_hist + n_nohist;
  if (grad) {
    // alpha = 0: the without-history pass gets no gradient (and nextquill = context_sft exactly)
    int second = two_passes && ts->alpha != 0;
    void (*ready)(void *, int) = w->m->grads_ready;   // the overlap hook: last pass only
    if (second) w->m->grads_ready = NULL;
    model_backward(w->m, w->acts_hist, w->dlogits_hist);
    w->m->grads_ready = ready;
    if (second) model_backward(w->m, w->acts_nohist, w->dlogits_nohist);
  }
}
