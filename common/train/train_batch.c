// Which samples a micro-batch holds. The data order depends on the seed and the global slot
// only (splitmix64), so any rank count sees the same samples per step (docs/training.md).
#include <stdlib.h>

#include "base/util.h"
#include "train/trainer.h"

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

// Uniform in [0, 1) from the seed and the global slot k.
static double slot_uniform(unsigned long long seed, long k) {
  return (mix(seed ^ mix((unsigned long long)k ^ 0x5bd1e995ull)) >> 11) * 0x1.0p-53;
}

// ---- micro-batches ------------------------------------------------------------------------
void train_batch_create(train_batch *b, int micro_batch, int n_train) {
  b->n = 0;
  b->shard = xmalloc((size_t)micro_batch * sizeof(int));
  b->index = xmalloc((size_t)micro_batch * sizeof(int));
  b->with_history = xmalloc((size_t)micro_batch * sizeof(int));
  b->slot = xcalloc((size_t)micro_batch, sizeof(long));
  b->lm = NULL;
  b->order = xmalloc((size_t)n_train * sizeof(int));
  b->order_epoch = -1;
}

void train_batch_free(train_batch *b) {
  free(b->shard);
  free(b->index);
  free(b->with_history);
  free(b->slot);
  free(b->order);
  b->shard = b->index = b->with_history = b->order = NULL;
}

void train_batch_pick_train(train_batch *b, const train_data *d, const train_settings *ts, int rank,
                            int size, long global_batch, long step, int accum_step) {
  int lm = ts->objective == OBJ_LM;
  unsigned long long seed = (unsigned long long)ts->seed;
  b->n = (int)ts->micro_batch;
  b->lm = lm ? &d->lm_train : NULL;
  for (int j = 0; j < b->n; j++) {
    long k = step * global_batch + train_slot(accum_step, rank, j, size, b->n);
    long epoch = k / d->n_train;
    if (epoch != b->order_epoch) {
      train_perm(seed, epoch, d->n_train, b->order);
      b->order_epoch = epoch;
    }
    int t = b->order[k % d->n_train];
    b->shard[j] = lm ? -1 : d->train_sh[t];
    b->index[j] = lm ? t : d->train_i[t];
    b->with_history[j] = !(slot_uniform(seed, k) < ts->history_dropout);
    b->slot[j] = k;
  }
}

void train_batch_pick_valid(train_batch *b, const train_data *d, const train_settings *ts, int first,
                            int n) {
  int lm = ts->objective == OBJ_LM;
  b->n = n;
  b->lm = lm ? &d->lm_valid : NULL;
  for (int j = 0; j < n; j++) {
    b->shard[j] = lm ? -1 : d->valid_sh[first + j];
    b->index[j] = lm ? first + j : d->valid_i[first + j];
    b->with_history[j] = 1;
  }
}
