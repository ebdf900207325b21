// nq-train's loop: see train.h and docs/training.md. Sections: options, data, one
// micro-batch (forward, loss, backward), step, validation, checkpoints and metrics, run.
#include "train/train.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "formats/annotations_file.h"
#include "formats/provenance.h"
#include "model/adamw.h"
#include "formats/checkpoint.h"
#include "config/config.h"
#include "formats/h5io.h"
#include "formats/hf.h"
#include "model/kernels.h"
#include "base/log.h"
#include "model/loss.h"
#include "model/model.h"
#include "formats/shards_file.h"
#include "train/train_lm.h"
#include "base/util.h"

// ---- options ---------------------------------------------------------------------------
typedef struct {
  const char *name;
  int objective, weights, weight_pce, effect_alignment;
  char *init, *reference, *ann_dir;
  unsigned long long seed;
  long steps, warmup;
  int mb, accum, ckpt_every, keep, valid_every, valid_samples, lm_window;
  double lr, min_lr, wd, b1, b2, eps, clip, dropout, alpha, thr, hi, lo;
} train_opts;

static char *under_run_dir(const stage_ctx *s, const char *p) {
  if (!p[0]) return NULL;
  if (p[0] == '/') return xstrdup(p);
  return stage_path(s, p);
}

static void opts_read(train_opts *o, const stage_ctx *s) {
  const config *c = s->cfg;
  o->name = cfg_str(c, "train.name");
  const char *obj = cfg_str(c, "train.objective");
  o->objective = !strcmp(obj, "lm") ? OBJ_LM : !strcmp(obj, "sft") ? OBJ_SFT
                 : !strcmp(obj, "context_sft") ? OBJ_CONTEXT_SFT : OBJ_NEXTQUILL;
  const char *w = cfg_str(c, "train.weights");
  o->weights = !strcmp(w, "annotations") ? W_ANNOTATIONS : !strcmp(w, "online") ? W_ONLINE : W_UNIFORM;
  o->init = under_run_dir(s, cfg_str(c, "train.init"));
  o->reference = under_run_dir(s, cfg_str(c, "train.reference"));
  o->ann_dir = under_run_dir(s, cfg_str(c, "train.annotations"));
  long seed = cfg_int(c, "train.seed");
  o->seed = (unsigned long long)(seed >= 0 ? seed : cfg_int(c, "seed"));
  o->steps = cfg_int(c, "train.steps");
  o->warmup = cfg_int(c, "train.warmup");
  o->mb = (int)cfg_int(c, "train.micro_batch");
  o->accum = (int)cfg_int(c, "train.accum");
  o->ckpt_every = (int)cfg_int(c, "train.ckpt_every");
  o->keep = (int)cfg_int(c, "train.keep");
  o->valid_every = (int)cfg_int(c, "train.valid_every");
  o->valid_samples = (int)cfg_int(c, "train.valid_samples");
  o->lm_window = (int)cfg_int(c, "train.lm_window");
  o->lr = cfg_float(c, "train.lr");
  o->min_lr = cfg_float(c, "train.min_lr");
  o->wd = cfg_float(c, "train.weight_decay");
  o->b1 = cfg_float(c, "train.beta1");
  o->b2 = cfg_float(c, "train.beta2");
  o->eps = cfg_float(c, "train.eps");
  o->clip = cfg_float(c, "train.grad_clip");
  o->dropout = cfg_float(c, "train.history_dropout");
  o->alpha = cfg_float(c, "train.alpha");
  o->weight_pce = cfg_bool(c, "train.weight_pce");
  o->effect_alignment = cfg_bool(c, "train.effect_alignment");
  o->thr = cfg_float(c, "train.online_threshold");
  o->hi = cfg_float(c, "train.online_hi");
  o->lo = cfg_float(c, "train.online_lo");
  if (o->objective == OBJ_NEXTQUILL && o->effect_alignment && !o->reference)
    fatal("%s: train.effect_alignment needs train.reference (a checkpoint)", config_path(c));
  if (o->dropout > 0 && o->objective != OBJ_CONTEXT_SFT)
    warning("train.history_dropout is used by objective context_sft only");
}

// ---- RNG (splitmix64: data order and history dropout depend on seed and indices only) ----
static unsigned long long mix(unsigned long long x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

void train_perm(unsigned long long seed, long epoch, long n, int *perm) {
  unsigned long long st = mix(seed ^ mix((unsigned long long)epoch + 1));
  for (long i = 0; i < n; i++) perm[i] = (int)i;
  for (long i = n - 1; i > 0; i--) {
    st = mix(st);
    long j = (long)(st % (unsigned long long)(i + 1));
    int t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

// ---- data --------------------------------------------------------------------------------
typedef struct {
  int n_shards;
  char **paths;
  shard_data *sh;
  float **weight;       // per shard, per target token (annotations), or NULL
  uint8_t **mask;
  int n_train, n_valid;
  int *train_sh, *train_i, *valid_sh, *valid_i;   // (shard, sample) of each sample
  int max_len;          // longest sequence (with history), or window (lm)
  lm_windows lm_train, lm_valid;   // lm: per-user stream windows (samples = windows)
} train_data;

static void data_load(train_data *d, const stage_ctx *s, const train_opts *o) {
  memset(d, 0, sizeof *d);
  char *dir = stage_path(s, "shards");
  d->paths = shard_list(dir, &d->n_shards);
  if (d->n_shards == 0) fatal("%s: no shard files; run nq-shard first", dir);
  free(dir);
  d->sh = xcalloc(d->n_shards, sizeof *d->sh);
  d->weight = xcalloc(d->n_shards, sizeof *d->weight);
  d->mask = xcalloc(d->n_shards, sizeof *d->mask);
  size_t total = 0;
  for (int f = 0; f < d->n_shards; f++) {
    shard_read(d->paths[f], &d->sh[f]);
    const shard_data *h = &d->sh[f];
    if (h->vocab_size != d->sh[0].vocab_size || strcmp(h->tokenizer_digest, d->sh[0].tokenizer_digest))
      fatal("%s: made with another tokenizer than %s; rerun nq-shard", d->paths[f], d->paths[0]);
    total += h->n_samples;
    for (size_t i = 0; i < h->n_samples; i++) {
      int L = h->hist_length[i] > h->nohist_length[i] ? h->hist_length[i] : h->nohist_length[i];
      if (L > d->max_len) d->max_len = L;
    }
  }
  d->train_sh = xmalloc(total * sizeof(int));
  d->train_i = xmalloc(total * sizeof(int));
  d->valid_sh = xmalloc(total * sizeof(int));
  d->valid_i = xmalloc(total * sizeof(int));
  for (int f = 0; f < d->n_shards; f++)
    for (size_t i = 0; i < d->sh[f].n_samples; i++) {
      if (d->sh[f].split[i] == SPLIT_TRAIN) {
        d->train_sh[d->n_train] = f;
        d->train_i[d->n_train++] = (int)i;
      } else if (d->sh[f].split[i] == SPLIT_VALID) {
        d->valid_sh[d->n_valid] = f;
        d->valid_i[d->n_valid++] = (int)i;
      }
    }
  if (d->n_train == 0) fatal("%s: no training samples (split train) in the shards", d->paths[0]);
  if (o->objective != OBJ_NEXTQUILL || o->weights != W_ANNOTATIONS) return;
  for (int f = 0; f < d->n_shards; f++) {
    const char *base = strrchr(d->paths[f], '/');
    char *ap = path_join(o->ann_dir, base ? base + 1 : d->paths[f]);
    annotations_read_weights(ap, d->paths[f], d->sh[f].n_targets, &d->weight[f], &d->mask[f]);
    free(ap);
  }
}

static void data_free(train_data *d) {
  for (int f = 0; f < d->n_shards; f++) {
    shard_data_free(&d->sh[f]);
    free(d->paths[f]);
    free(d->weight[f]);
    free(d->mask[f]);
  }
  free(d->paths);
  free(d->sh);
  free(d->weight);
  free(d->mask);
  free(d->train_sh);
  free(d->train_i);
  free(d->valid_sh);
  free(d->valid_i);
  lm_windows_free(&d->lm_train);
  lm_windows_free(&d->lm_valid);
}

// Checkpoints record the shards' tokenizer, so effect and eval refuse a model whose ids mean
// other strings (checkpoint_require_tokenizer).
static void ckpt_tokenizer_attr(hid_t f, void *digest) { h5_attr_set_str(f, "tokenizer_digest", digest); }

// lm: the samples are the windows of the per-user streams (train_lm.h), built once the
// model (and so the default window, model.max_seq_len) is known.
static void data_lm_windows(train_data *d, const train_opts *o, int max_seq_len, int rank) {
  int W = o->lm_window > 0 ? o->lm_window : max_seq_len;
  if (W > max_seq_len)
    fatal("train.lm_window %d > model.max_seq_len %d; lower train.lm_window", W, max_seq_len);
  lm_windows_build(&d->lm_train, d->sh, d->n_shards, SPLIT_TRAIN, W);
  lm_windows_build(&d->lm_valid, d->sh, d->n_shards, SPLIT_VALID, W);
  if (d->lm_train.n == 0) fatal("%s: no training text for the lm streams", d->paths[0]);
  d->n_train = d->lm_train.n;
  d->n_valid = d->lm_valid.n;
  d->max_len = d->lm_train.max_len > d->lm_valid.max_len ? d->lm_train.max_len : d->lm_valid.max_len;
  if (rank == 0)
    message("train: lm streams: %ld users, %zu tokens (%zu repeated history tokens removed), "
            "%d windows of <= %d tokens; valid: %d windows", d->lm_train.users,
            d->lm_train.stream_tokens, d->lm_train.removed_tokens, d->lm_train.n, W, d->lm_valid.n);
}

// ---- one micro-batch ----------------------------------------------------------------------
typedef struct {
  model *m, *ref;
  model_acts *ah, *a0, *rh, *r0;    // with/without history (model, reference)
  float *dh, *d0;                   // dlogits of both passes
  int32_t *tok_h, *tok_0;
  int *len_h, *len_0, *use_hist;
  float *w;
  uint8_t *mk;
  int32_t *lm_y;                    // lm: next token of every row (-1 at a window's end)
  float *lm_w, *lm_loss;            // lm: per-row gradient weight and loss
  int V;
} train_work;

typedef struct {
  double L, Ln, Lp, tokens, pref, targets;   // sums over samples (L, Ln, Lp per sample)
} sums;

// Samples (sh[j], idx[j]) for j < B; grads scaled by `scale` when `grad` (else forward only).
// lm: windows idx[j] of `win`; loss of a window = mean next-token CE over its rows.
static void micro_batch_lm(train_work *w, const lm_windows *win, const int *idx, int B, float scale,
                           int grad, sums *acc) {
  int nh = 0;
  for (int j = 0; j < B; j++) {
    int64_t a = win->off[idx[j]], L = win->off[idx[j] + 1] - a;
    memcpy(w->tok_h + nh, win->tokens + a, (size_t)L * sizeof(int32_t));
    for (int t = 0; t < L; t++) {
      w->lm_y[nh + t] = t + 1 < L ? win->tokens[a + t + 1] : -1;
      w->lm_w[nh + t] = t + 1 < L ? scale / (float)(L - 1) : 0.0f;
    }
    w->len_h[j] = (int)L;
    nh += (int)L;
  }
  model_forward(w->m, w->ah, w->tok_h, w->len_h, B);
  if (grad)   // overwrites dlogits (no clearing pass)
    crossentropy_forward_backward(w->lm_loss, w->dh, w->ah->logits, w->lm_y, w->lm_w, nh, w->V);
  else
    crossentropy_forward(w->lm_loss, w->ah->logits, w->lm_y, nh, w->V);
  for (int j = 0, o = 0; j < B; o += w->len_h[j], j++) {
    double l = 0.0;
    for (int t = 0; t + 1 < w->len_h[j]; t++) l += w->lm_loss[o + t];
    l /= w->len_h[j] - 1;
    acc->L += l;
    acc->Ln += l;
    acc->targets += w->len_h[j] - 1;
  }
  acc->tokens += nh;
  if (grad) model_backward(w->m, w->ah, w->dh);
}

static void micro_batch(train_work *w, const train_data *d, const train_opts *o, const int *shi,
                        const int *idx, const int *hist, int B, float scale, int grad, sums *acc) {
  if (o->objective == OBJ_LM) {
    micro_batch_lm(w, grad ? &d->lm_train : &d->lm_valid, idx, B, scale, grad, acc);
    return;
  }
  int two = o->objective == OBJ_NEXTQUILL;
  int nh = 0, n0 = 0;
  for (int j = 0; j < B; j++) {
    const shard_data *h = &d->sh[shi[j]];
    size_t len;
    int with = o->objective == OBJ_NEXTQUILL ||
               (o->objective == OBJ_CONTEXT_SFT && hist[j]);
    const int32_t *sq = shard_seq(h, idx[j], with, &len);
    memcpy(w->tok_h + nh, sq, len * sizeof(int32_t));
    w->len_h[j] = (int)len;
    nh += (int)len;
    if (two) {
      sq = shard_seq(h, idx[j], 0, &len);
      memcpy(w->tok_0 + n0, sq, len * sizeof(int32_t));
      w->len_0[j] = (int)len;
      n0 += (int)len;
    }
  }
  model_forward(w->m, w->ah, w->tok_h, w->len_h, B);
  if (two) model_forward(w->m, w->a0, w->tok_0, w->len_0, B);
  int ref = two && o->effect_alignment && o->alpha != 0;
  if (ref) {
    model_forward(w->ref, w->rh, w->tok_h, w->len_h, B);
    model_forward(w->ref, w->r0, w->tok_0, w->len_0, B);
  }
  size_t V = (size_t)w->V;
  if (grad) {
    memset(w->dh, 0, (size_t)nh * V * sizeof(float));
    if (two) memset(w->d0, 0, (size_t)n0 * V * sizeof(float));
  }
  nq_loss_opts lo = {(float)o->alpha, o->weight_pce, o->effect_alignment};
  int oh = 0, o0 = 0;
  for (int j = 0; j < B; j++) {
    const shard_data *h = &d->sh[shi[j]];
    size_t tl;
    const int32_t *y = shard_target(h, idx[j], &tl);
    int T = (int)tl, Lh = w->len_h[j];
    size_t rh = (size_t)(oh + Lh - T - 1);   // rows predicting the target
    float *dzh = grad ? w->dh + rh * V : NULL;
    if (!two) {
      double l = loss_wce(dzh, w->ah->logits + rh * V, y, NULL, T, w->V, scale);
      acc->L += l;
      acc->Ln += l;
    } else {
      size_t r0 = (size_t)(o0 + w->len_0[j] - T - 1);
      const float *zh = w->ah->logits + rh * V, *z0 = w->a0->logits + r0 * V;
      const float *wt = NULL;
      if (o->weights == W_ANNOTATIONS) {
        int64_t off = h->target_offset[idx[j]];
        wt = d->weight[shi[j]] + off;
        for (int t = 0; t < T; t++) acc->pref += d->mask[shi[j]][off + t];
      } else if (o->weights == W_ONLINE) {
        acc->pref += loss_online_weights(w->w, w->mk, zh, z0, y, T, w->V, (float)o->thr,
                                         (float)o->hi, (float)o->lo);
        wt = w->w;
      } else {
        for (int t = 0; t < T; t++) w->w[t] = 1.0f;
        wt = w->w;
      }
      nq_loss_val v = loss_nextquill(dzh, grad ? w->d0 + r0 * V : NULL, zh, z0,
                                     ref ? w->rh->logits + rh * V : NULL,
                                     ref ? w->r0->logits + r0 * V : NULL, y, wt, T, w->V, &lo, scale);
      acc->L += v.L;
      acc->Ln += v.Ln;
      acc->Lp += v.Lp;
      o0 += w->len_0[j];
    }
    acc->targets += T;
    oh += Lh;
  }
  acc->tokens += nh + n0;
  if (grad) {
    model_backward(w->m, w->ah, w->dh);
    // alpha = 0: the without-history pass gets no gradient (and nextquill = context_sft exactly)
    if (two && o->alpha != 0) model_backward(w->m, w->a0, w->d0);
  }
}

// ---- checkpoints and metrics ---------------------------------------------------------------
typedef struct {
  long n, cap;
  int64_t *step;
  double *loss, *ln, *lp, *lr, *gnorm, *tps, *pref, *secs;
  long nv, capv;
  int64_t *vstep;
  double *vloss;
} metrics_log;

#define GROW(p, cap) ((p) = xrealloc((p), (size_t)(cap) * sizeof *(p)))
static void metrics_push(metrics_log *g, long step, const double v[8]) {
  if (g->n == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 64;
    GROW(g->step, g->cap); GROW(g->loss, g->cap); GROW(g->ln, g->cap); GROW(g->lp, g->cap);
    GROW(g->lr, g->cap); GROW(g->gnorm, g->cap); GROW(g->tps, g->cap); GROW(g->pref, g->cap);
    GROW(g->secs, g->cap);
  }
  g->step[g->n] = step;
  g->loss[g->n] = v[0]; g->ln[g->n] = v[1]; g->lp[g->n] = v[2]; g->lr[g->n] = v[3];
  g->gnorm[g->n] = v[4]; g->tps[g->n] = v[5]; g->pref[g->n] = v[6]; g->secs[g->n] = v[7];
  g->n++;
}
static void metrics_push_valid(metrics_log *g, long step, double loss) {
  if (g->nv == g->capv) {
    g->capv = g->capv ? 2 * g->capv : 16;
    GROW(g->vstep, g->capv); GROW(g->vloss, g->capv);
  }
  g->vstep[g->nv] = step;
  g->vloss[g->nv++] = loss;
}
static void metrics_free(metrics_log *g) {
  free(g->step); free(g->loss); free(g->ln); free(g->lp); free(g->lr); free(g->gnorm);
  free(g->tps); free(g->pref); free(g->secs); free(g->vstep); free(g->vloss);
}

static void metrics_write(const char *path, const metrics_log *g, const h5_provenance *prov) {
  h5_out o;
  h5_out_create(&o, path);
  hid_t grp = h5_group_create(o.file, "metrics");
  h5_write_i64(grp, "step", g->step, g->n);
  h5_write_f64(grp, "loss", g->loss, g->n);
  h5_write_f64(grp, "L_n", g->ln, g->n);
  h5_write_f64(grp, "L_p", g->lp, g->n);
  h5_write_f64(grp, "lr", g->lr, g->n);
  h5_write_f64(grp, "grad_norm", g->gnorm, g->n);
  h5_write_f64(grp, "tokens_per_s", g->tps, g->n);
  h5_write_f64(grp, "pref_share", g->pref, g->n);
  h5_write_f64(grp, "step_seconds", g->secs, g->n);
  h5_group_close(grp);
  grp = h5_group_create(o.file, "valid");
  h5_write_i64(grp, "step", g->vstep, g->nv);
  h5_write_f64(grp, "loss", g->vloss, g->nv);
  h5_group_close(grp);
  h5_write_provenance(o.file, prov);
  h5_out_commit(&o);
}

// Rows of an existing metrics.h5 with step < upto (resume).
static void metrics_read(const char *path, metrics_log *g, long upto) {
  if (!file_exists(path)) return;
  hid_t f = h5_open_read(path);
  size_t n;
  int64_t *st = h5_read_i64(f, "metrics/step", &n);
  double *c[8];
  const char *names[8] = {"metrics/loss", "metrics/L_n", "metrics/L_p", "metrics/lr",
                          "metrics/grad_norm", "metrics/tokens_per_s", "metrics/pref_share",
                          "metrics/step_seconds"};
  size_t m;
  for (int k = 0; k < 8; k++) c[k] = h5_read_f64(f, names[k], &m);
  for (size_t i = 0; i < n && st[i] < upto; i++) {
    double v[8];
    for (int k = 0; k < 8; k++) v[k] = c[k][i];
    metrics_push(g, st[i], v);
  }
  for (int k = 0; k < 8; k++) free(c[k]);
  free(st);
  int64_t *vs = h5_read_i64(f, "valid/step", &n);
  double *vl = h5_read_f64(f, "valid/loss", &m);
  for (size_t i = 0; i < n && vs[i] <= upto; i++) metrics_push_valid(g, vs[i], vl[i]);
  free(vs);
  free(vl);
  h5_close(f);
}

// Steps of the ckpt-<step>.h5 files in dir, sorted ascending; returns the count.
static int ckpt_steps(const char *dir, long **out) {
  *out = NULL;
  DIR *dp = opendir(dir);
  if (!dp) return 0;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    long st;
    char tail[8];
    if (sscanf(e->d_name, "ckpt-%ld.h%2s", &st, tail) == 2 && !strcmp(tail, "5") &&
        strlen(e->d_name) > 8 && !strcmp(e->d_name + strlen(e->d_name) - 3, ".h5")) {
      if (n == cap) {
        cap = cap ? 2 * cap : 8;
        *out = xrealloc(*out, (size_t)cap * sizeof(long));
      }
      (*out)[n++] = st;
    }
  }
  closedir(dp);
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && (*out)[j - 1] > (*out)[j]; j--) {
      long t = (*out)[j];
      (*out)[j] = (*out)[j - 1];
      (*out)[j - 1] = t;
    }
  return n;
}

static char *ckpt_path(const char *dir, long step) {
  char name[64];
  snprintf(name, sizeof name, "ckpt-%06ld.h5", step);
  return path_join(dir, name);
}

// ---- signals ------------------------------------------------------------------------------
static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { stop_requested = sig; }

// ---- run ------------------------------------------------------------------------------------
typedef struct {
  uint64_t seed;
  int64_t step, global_batch, n_train;
} data_state;   // the trainer RNG blob of a checkpoint: data order is f(seed, step)

int train_run(stage_ctx *s) {
  train_opts o;
  opts_read(&o, s);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGUSR1, &sa, NULL))
    error("installing the SIGTERM/SIGUSR1 handlers failed");

  train_data d;
  data_load(&d, s, &o);
  char *out_dir = stage_path(s, o.name);
  make_dirs(out_dir);
  char *metrics_path = path_join(out_dir, "metrics.h5");
  long *cs = NULL;
  int ncs = ckpt_steps(out_dir, &cs);
  if (ncs > 0 && !s->resume && !s->force)
    fatal("%s: has checkpoints (newest step %ld); pass --resume to continue or --force to start over",
          out_dir, cs[ncs - 1]);

  // model: resume > init checkpoint > random
  model *m;
  long step0 = 0;
  const long G = (long)s->size * o.mb * o.accum;
  metrics_log g = {0};
  data_state ds_resume = {0};
  char *resume_path = NULL;
  if (ncs > 0 && s->resume) {
    char *p = ckpt_path(out_dir, cs[ncs - 1]);
    ckpt_load_info li;
    m = checkpoint_load(p, 1, &li);
    data_state ds;
    if (!li.rng || li.rng_len != sizeof ds) fatal("%s: no trainer state; cannot resume", p);
    memcpy(&ds, li.rng, sizeof ds);
    ds_resume = ds;
    step0 = li.step;
    free(li.rng);
    metrics_read(metrics_path, &g, step0);
    if (s->rank == 0) message("train: resuming %s at step %ld", p, step0);
    resume_path = p;
  } else if (o.init || hf_model_path(s->cfg)) {  // train.init, else the HF model.path
    checkpoint_require_tokenizer(o.init ? o.init : hf_model_path(s->cfg), d.sh[0].tokenizer_digest, "train.init");
    m = checkpoint_load(o.init ? o.init : hf_model_path(s->cfg), 1, NULL);
    memset(m->m_mem, 0, m->n_params * sizeof(float));
    memset(m->v_mem, 0, m->n_params * sizeof(float));
  } else {
    model_config mc;
    model_config_read(&mc, s->cfg, d.sh[0].vocab_size);
    m = model_create(&mc, 1);
    long is = cfg_int(s->cfg, "model.init_seed");
    model_init(m, is >= 0 ? (uint64_t)is : (uint64_t)cfg_int(s->cfg, "seed"));
  }
  free(cs);
  model_set_threads((int)cfg_int(s->cfg, "model.threads"));
  // an HF model's embedding may be padded past the tokenizer (Qwen2.5: 151936 vs 151665)
  if (m->cfg.vocab_size < d.sh[0].vocab_size)
    fatal("model vocabulary %d < shards' tokenizer vocabulary %d (%s)", m->cfg.vocab_size,
          d.sh[0].vocab_size, d.paths[0]);
  if (o.objective == OBJ_LM) data_lm_windows(&d, &o, m->cfg.max_seq_len, s->rank);
  if (resume_path) {
    data_state ds = ds_resume;
    if (ds.seed != o.seed || ds.global_batch != G || ds.n_train != d.n_train)
      fatal("%s: made with another seed, global batch (%ld) or data (%ld samples); cannot resume",
            resume_path, (long)ds.global_batch, (long)ds.n_train);
    free(resume_path);
  }
  if (m->cfg.max_seq_len < d.max_len)
    fatal("model.max_seq_len %d < longest shard sequence %d; raise model.max_seq_len or lower "
          "data.max_prompt_tokens", m->cfg.max_seq_len, d.max_len);
  model *ref = NULL;
  if (o.objective == OBJ_NEXTQUILL && o.effect_alignment) {
    ref = checkpoint_load(o.reference, 0, NULL);
    if (ref->cfg.vocab_size != m->cfg.vocab_size)
      fatal("%s: reference vocabulary %d != model vocabulary %d", o.reference, ref->cfg.vocab_size,
            m->cfg.vocab_size);
  }

  // work buffers
  train_work w = {0};
  int B = o.mb, maxN = B * d.max_len, two = o.objective == OBJ_NEXTQUILL;
  w.m = m;
  w.ref = ref;
  w.V = m->cfg.vocab_size;
  w.ah = model_acts_create(m, maxN, d.max_len);
  w.dh = xmalloc((size_t)maxN * w.V * sizeof(float));
  if (two) {
    w.a0 = model_acts_create(m, maxN, d.max_len);
    w.d0 = xmalloc((size_t)maxN * w.V * sizeof(float));
  }
  if (ref) {
    w.rh = model_acts_create(ref, maxN, d.max_len);
    w.r0 = model_acts_create(ref, maxN, d.max_len);
  }
  w.tok_h = xmalloc((size_t)maxN * sizeof(int32_t));
  w.tok_0 = xmalloc((size_t)maxN * sizeof(int32_t));
  w.len_h = xmalloc((size_t)B * sizeof(int));
  w.len_0 = xmalloc((size_t)B * sizeof(int));
  w.w = xmalloc((size_t)d.max_len * sizeof(float));
  w.mk = xmalloc((size_t)d.max_len);
  if (o.objective == OBJ_LM) {
    w.lm_y = xmalloc((size_t)maxN * sizeof(int32_t));
    w.lm_w = xmalloc((size_t)maxN * sizeof(float));
    w.lm_loss = xmalloc((size_t)maxN * sizeof(float));
  }
  int *perm = xmalloc((size_t)d.n_train * sizeof(int));
  long perm_epoch = -1;
  int shi[B], idx[B], hist[B];

  char *cfg_text = config_text(s->cfg, NULL);
  // inputs: the shards, and the checkpoints this run started from or aligned to, so a model
  // trained from a since-retrained init is refused downstream (checkpoint_require_current_inputs)
  const char **inputs = xcalloc((size_t)d.n_shards + 2, sizeof *inputs);
  int n_inputs = 0;
  for (int f = 0; f < d.n_shards; f++) inputs[n_inputs++] = d.paths[f];
  const char *init_path = o.init ? o.init : hf_model_path(s->cfg);
  if (init_path) inputs[n_inputs++] = init_path;
  if (o.effect_alignment && o.reference) inputs[n_inputs++] = o.reference;
  h5_provenance prov = {"train", cfg_text, s->size, n_inputs, inputs, NULL};
  adamw_config ac = {(float)o.b1, (float)o.b2, (float)o.eps, (float)o.wd};
  lr_schedule_config sched = {o.lr, o.min_lr, o.warmup, o.steps};
  if (s->rank == 0)
    message("train: %s, %d train / %d valid samples, %zu parameters, global batch %ld, "
            "starting at step %ld of %ld", cfg_str(s->cfg, "train.objective"), d.n_train,
            d.n_valid, m->n_params, G, step0, o.steps);
  progress pr;
  progress_start(&pr, "training", "steps", (double)o.steps);
  int rc = 0;
  long step = step0;
  double t_run = wall_seconds();

  for (; step < o.steps; step++) {
    double t0 = wall_seconds();
    model_zero_grad(m);
    sums acc = {0};
    for (int a = 0; a < o.accum; a++) {
      for (int j = 0; j < B; j++) {
        long k = step * G + train_slot(a, s->rank, j, s->size, B);   // global sample slot
        long epoch = k / d.n_train;
        if (epoch != perm_epoch) {
          train_perm(o.seed, epoch, d.n_train, perm);
          perm_epoch = epoch;
        }
        int t = perm[k % d.n_train];
        shi[j] = o.objective == OBJ_LM ? -1 : d.train_sh[t];
        idx[j] = o.objective == OBJ_LM ? t : d.train_i[t];
        double u = (mix(o.seed ^ mix((unsigned long long)k ^ 0x5bd1e995ull)) >> 11) * 0x1.0p-53;
        hist[j] = !(u < o.dropout);
      }
      micro_batch(&w, &d, &o, shi, idx, hist, B, (float)(1.0 / G), 1, &acc);
    }
    mpicheck(MPI_Allreduce(MPI_IN_PLACE, m->grads_mem, (int)m->n_params, MPI_FLOAT, MPI_SUM,
                           MPI_COMM_WORLD), "summing gradients");
    double red[6] = {acc.L, acc.Ln, acc.Lp, acc.tokens, acc.pref, acc.targets};
    mpicheck(MPI_Allreduce(MPI_IN_PLACE, red, 6, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "summing losses");
    double norm = grad_global_norm(m->grads_mem, m->n_params);
    grad_clip(m->grads_mem, m->n_params, norm, o.clip);
    double lr = lr_schedule(&sched, step);
    model_adamw_step(m, &ac, (float)lr, step + 1);
    double dt = wall_seconds() - t0;
    double v[8] = {red[0] / G, red[1] / G, red[2] / G, lr, norm, red[3] / (dt > 0 ? dt : 1e-9),
                   two ? red[4] / (red[5] > 0 ? red[5] : 1) : 0, dt};
    metrics_push(&g, step, v);
    char line[160];
    snprintf(line, sizeof line, "loss %.4f L_n %.4f L_p %.4f lr %.2e gnorm %.3f %.0f tok/s", v[0],
             v[1], v[2], lr, norm, v[5]);
    progress_update(&pr, (double)(step + 1), line);

    long done = step + 1;
    int last = done == o.steps;
    if ((o.valid_every > 0 && done % o.valid_every == 0) || last) {
      int nv = o.valid_samples < d.n_valid ? o.valid_samples : d.n_valid;
      sums va = {0};
      for (int k0 = s->rank * B; k0 < nv; k0 += s->size * B) {
        int nb = 0;
        for (int j = 0; j < B && k0 + j < nv; j++, nb++) {
          shi[j] = o.objective == OBJ_LM ? -1 : d.valid_sh[k0 + j];
          idx[j] = o.objective == OBJ_LM ? k0 + j : d.valid_i[k0 + j];
          hist[j] = 1;
        }
        micro_batch(&w, &d, &o, shi, idx, hist, nb, 1.f, 0, &va);
      }
      mpicheck(MPI_Allreduce(MPI_IN_PLACE, &va.L, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
               "summing validation losses");
      if (nv > 0) {
        metrics_push_valid(&g, done, va.L / nv);
        if (s->rank == 0) message("train: step %ld validation loss %.4f (%d samples)", done, va.L / nv, nv);
      }
    }
    int sig = stop_requested;
    mpicheck(MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on stop");
    if ((o.ckpt_every > 0 && done % o.ckpt_every == 0) || last || sig) {
      if (s->rank == 0) {
        data_state ds = {o.seed, done, G, d.n_train};
        char *p = ckpt_path(out_dir, done);
        checkpoint_save(p, m, &(ckpt_save_info){.step = done, .rng = (const uint8_t *)&ds,
                                                .rng_len = sizeof ds, .with_optimizer = 1, .prov = &prov,
                                                .extra = ckpt_tokenizer_attr,
                                                .extra_arg = (void *)d.sh[0].tokenizer_digest});
        metrics_write(metrics_path, &g, &prov);
        free(p);
        long *st = NULL;
        int n = ckpt_steps(out_dir, &st);
        for (int i = 0; i < n - o.keep; i++) {
          char *q = ckpt_path(out_dir, st[i]);
          if (unlink(q) != 0) warning("removing old checkpoint %s failed", q);
          free(q);
        }
        free(st);
        if (last) {
          char *fp = path_join(out_dir, "model.h5");
          checkpoint_save(fp, m, &(ckpt_save_info){.step = done, .with_optimizer = 0, .prov = &prov,
                                                   .extra = ckpt_tokenizer_attr,
                                                   .extra_arg = (void *)d.sh[0].tokenizer_digest});
          free(fp);
        }
      }
      mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for the checkpoint");
    }
    if (sig && !last) {
      if (s->rank == 0)
        message("train: signal %d: checkpoint at step %ld written; exiting %d (rerun with --resume)",
                sig, done, TRAIN_EXIT_REQUEUE);
      rc = TRAIN_EXIT_REQUEUE;
      step++;
      break;
    }
  }
  char fin[96];
  snprintf(fin, sizeof fin, "%ld steps in %.1f s", step - step0, wall_seconds() - t_run);
  progress_finish(&pr, fin);

  free(cfg_text);
  free(perm);
  model_acts_free(w.ah);
  if (w.a0) model_acts_free(w.a0);
  if (w.rh) model_acts_free(w.rh);
  if (w.r0) model_acts_free(w.r0);
  free(w.dh); free(w.d0); free(w.tok_h); free(w.tok_0); free(w.len_h); free(w.len_0);
  free(w.w); free(w.mk); free(w.lm_y); free(w.lm_w); free(w.lm_loss);
  if (ref) model_free(ref);
  model_free(m);
  metrics_free(&g);
  free(metrics_path);
  free(out_dir);
  data_free(&d);
  free(inputs);
  free(o.init); free(o.reference); free(o.ann_dir);
  return rc;
}
