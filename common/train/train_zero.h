// ZeRO stage 1 for nq-train (docs/scaling.md): the AdamW moments are split across the ranks.
// The arena is cut into buckets (contiguous ranges inside one tensor, at most
// mpi_chunk_elems() floats, so every MPI count fits an int); rank r owns piece r of every
// bucket. A step reduce-scatters each bucket's gradients (rank r gets the sum of its piece),
// takes the global norm from the pieces, runs AdamW on its pieces with its moments only, and
// all-gathers the updated weights. Weights and gradients stay whole on every rank (the one
// arena each); only the moments shrink to 1/ranks. Unsharded, the same calls do one chunked
// all-reduce and the whole-arena AdamW of model_adamw_step.
#ifndef NQ_TRAIN_ZERO_H
#define NQ_TRAIN_ZERO_H

#include <mpi.h>
#include <stddef.h>

#include "model/adamw.h"
#include "model/model.h"
#include "settings/train_settings.h"

typedef struct {
  int on;                  // moments sharded (train.shard_optimizer)
  int overlap;             // post buckets during the backward (train.overlap_comm, size > 1)
  int rank, size;
  int n_buckets;
  size_t *b_off, *b_len;   // bucket b: arena floats [b_off, b_off + b_len), inside one tensor
  int *b_tensor;           // the tensor holding bucket b
  int *b_stage;            // backward stage after which bucket b is final (model.h grads_ready)
  unsigned char *b_posted; // bucket b's collective is posted this step
  model *model;            // the model whose gradients the hook posts (train_zero_arm)
  int *queue, q_head, q_tail;  // posted buckets not yet waited for, oldest first
  size_t inflight;         // floats of those buckets (at most mpi_chunk_elems())
  size_t *own_at;          // where this rank's piece of bucket b starts in m / v
  size_t n_owned;          // floats of this rank's pieces
  float *m, *v;            // this rank's AdamW moments (pieces in bucket order)
  int *cnt, *dsp;          // bucket b's piece sizes / offsets per rank: [b * size + r]
  MPI_Request *req;        // one per bucket
  MPI_Status *st;          // their statuses (MPICH's MPI_STATUSES_IGNORE trips gcc 12's -Wstringop-overflow)
  double comm_s;           // seconds waiting for the parameter-sized collectives (all steps)
  double post_s;           // seconds posting / testing buckets inside the backward (all steps)
  long early, posts;       // buckets posted inside the backward / in all (all steps)
} train_zero;

// Whether train.shard_optimizer = `shard` (SHARD_OPT_*) shards the moments at `size` ranks.
int train_zero_wanted(int shard, int size);
// shard = train.shard_optimizer (SHARD_OPT_AUTO: on with more than one rank), overlap =
// train.overlap_comm. Builds the buckets (with more than one rank or sharded);
// sharded, takes this rank's pieces of the model's moments (m->m_mem / v_mem: from a fresh
// init, zero) or of `resume_path`'s moments when given, then frees m->m_mem and m->v_mem.
void train_zero_setup(train_zero *z, model *m, int shard, int overlap, int rank, int size,
                      const char *resume_path);
// Overlap on (train.overlap_comm): the gradient buckets are posted (non-blocking) from inside
// the step's last backward pass, stage by stage, top layer first; train_zero_arm installs the
// hook on `m` for that pass (train_zero_disarm removes it). The results are the same calls on
// the same data as without overlap (posted after the backward), so bit-identical.
void train_zero_arm(train_zero *z, model *m);
void train_zero_disarm(model *m);
void train_zero_free(train_zero *z);
// Gradients summed over the ranks (sharded: only this rank's pieces are sums afterwards):
// posts the buckets not yet posted, waits for all.
void train_zero_reduce(train_zero *z, model *m);
// Global gradient norm (every rank gets the same), clipping to max_norm (sharded: this rank's
// pieces), AdamW; sharded, the updated weights are all-gathered so every rank holds the whole
// model again.
double train_zero_norm(train_zero *z, const model *m);
void train_zero_clip(train_zero *z, model *m, double norm, double max_norm);
void train_zero_update(train_zero *z, model *m, const adamw_config *c, float lr, long t);
// Checkpoint writing: rank 0 passes train_zero_moments as ckpt_save_info.moments (arg = z);
// every other rank calls train_zero_moments_serve at the same time (the same gathers).
void train_zero_moments(void *z, int which, const model_tensor *t, float *dst);
void train_zero_moments_serve(train_zero *z, const model *m);

#endif
