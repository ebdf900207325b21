// The samples nq-train trains on: every shard's training and validation samples, and the
// nextquill weights of the annotation files (train_data, trainer.h).
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/annotations_file.h"
#include "files/effects_file.h"
#include "files/shards_file.h"
#include "hf/hf.h"
#include "model/loss.h"
#include "pipeline/run_layout.h"
#include "text/tokenizer.h"
#include "train/trainer.h"

// train.weights = "ratio": per target token clip(p_h / p_0) from the reference effect file of
// each shard (effects/<shard name>), mask = p_h > p_0; samples nq-effect skipped get weight 1.
static void ratio_weights_load(train_data *d, const settings *set) {
  char *dir = run_path(set, RUN_EFFECTS);
  for (int f = 0; f < d->n_shards; f++) {
    const char *base = strrchr(d->paths[f], '/');
    char *ep = path_join(dir, base ? base + 1 : d->paths[f]);
    if (!file_exists(ep)) fatal("%s: missing effect file (train.weights = \"ratio\"); run nq-effect", ep);
    effect_file e;
    file_read(&effects_kind, ep, &e);
    if (strcmp(e.shard_digest, file_digest(d->paths[f])))
      fatal("%s was computed from another version of %s; rerun nq-effect", ep, d->paths[f]);
    if (e.n_tokens != d->sh[f].n_targets)
      fatal("%s: %zu tokens, the shard has %zu target tokens; rerun nq-effect", ep, e.n_tokens, d->sh[f].n_targets);
    d->weight[f] = xmalloc((e.n_tokens + 1) * sizeof(float));
    d->mask[f] = xmalloc(e.n_tokens + 1);
    for (size_t i = 0; i < e.n_samples; i++)
      for (int64_t t = e.offsets[i]; t < e.offsets[i + 1]; t++) {
        int computed = e.sample_computed[i];
        d->weight[f][t] = computed ? loss_ratio_weight(e.logp_with[t], e.logp_without[t], set->train.ratio_min,
                                                       set->train.ratio_max) : 1.0f;
        d->mask[f][t] = (uint8_t)(computed && e.logp_with[t] > e.logp_without[t]);
      }
    file_free(&effects_kind, &e);
    free(ep);
  }
  free(dir);
}

// The training and validation samples (train_data, trainer.h) of every shard, and the
// nextquill weights of annotation files.
void train_data_load(train_data *d, const settings *set) {
  memset(d, 0, sizeof *d);
  char *dir = run_path(set, RUN_SHARDS);
  d->paths = run_shard_files(dir, &d->n_shards, 1);
  if (d->n_shards == 0) fatal("%s: no shard files; run nq-shard first", dir);
  free(dir);
  d->sh = xcalloc(d->n_shards, sizeof *d->sh);
  d->weight = xcalloc(d->n_shards, sizeof *d->weight);
  d->mask = xcalloc(d->n_shards, sizeof *d->mask);
  size_t total = 0;
  for (int f = 0; f < d->n_shards; f++) {
    file_read(&shard_kind, d->paths[f], &d->sh[f]);
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
  if (set->train.objective != OBJ_NEXTQUILL) return;
  if (set->train.weights == W_RATIO) {
    ratio_weights_load(d, set);
    return;
  }
  if (set->train.weights != W_ANNOTATIONS) return;
  char *ann_dir = run_path(set, RUN_WEIGHTS);
  for (int f = 0; f < d->n_shards; f++) {
    const char *base = strrchr(d->paths[f], '/');
    char *ap = path_join(ann_dir, base ? base + 1 : d->paths[f]);
    annotations_read_weights(ap, d->paths[f], set->run_dir, d->sh[f].n_targets, &d->weight[f], &d->mask[f]);
    free(ap);
  }
  free(ann_dir);
}

int train_data_shapes(train_data *d, const settings *set) {
  char *dir = run_path(set, RUN_SHARDS);
  int n = 0;
  char **paths = dir_exists(dir) ? run_shard_files(dir, &n, 0) : NULL;
  for (int i = 0; i < n; i++) free(paths[i]);
  free(paths), free(dir);
  if (n > 0) return 0;
  memset(d, 0, sizeof *d);
  d->shapes_only = 1;
  d->max_len = (int)(set->data.max_prompt_tokens + set->data.max_target_tokens);
  d->sh = xcalloc(1, sizeof *d->sh);
  d->sh[0].vocab_size = (int)set->tokenizer.vocab_size;
  char *tp = hf_tokenizer_path(set), err[512];
  if (tp && file_exists(tp)) {
    tokenizer *tok = tok_load_json(tp, err, sizeof err);
    if (!tok) fatal("%s", err);
    d->sh[0].vocab_size = tok_vocab_size(tok);
    tok_free(tok);
  }
  free(tp);
  return 1;
}

void train_data_free(train_data *d) {
  for (int f = 0; f < d->n_shards; f++) {
    file_free(&shard_kind, &d->sh[f]);
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
