// ZeRO-1: buckets, reduce-scatter, sharded AdamW, all-gather (train_zero.h, docs/scaling.md).
#include "train/train_zero.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/checkpoint.h"
#include "pipeline/mpi_chunked.h"
#include "pipeline/stage.h"

// Piece r of a bucket of n floats: [n * r / size, n * (r + 1) / size).
static size_t piece_at(size_t n, int r, int size) { return n * (size_t)r / (size_t)size; }

// The backward stage after which a tensor's gradient is final (model.h grads_ready): the
// embedding last (tied, it also takes the LM head's gradient), the head and final norm first.
static int stage_of(const model_tensor *t, int n_layers) {
  if (t->kind == P_EMBED) return -1;
  return t->layer >= 0 ? t->layer : n_layers;
}

static void build_buckets(train_zero *z, const model *m) {
  size_t c = mpi_chunk_elems(), total = 0;
  int nb = 0;
  for (int i = 0; i < m->n_tensors; i++) nb += (int)((m->tensors[i].numel + c - 1) / c);
  z->b_off = xcalloc((size_t)nb, sizeof *z->b_off);
  z->b_len = xcalloc((size_t)nb, sizeof *z->b_len);
  z->b_tensor = xcalloc((size_t)nb, sizeof *z->b_tensor);
  z->b_stage = xcalloc((size_t)nb, sizeof *z->b_stage);
  z->b_posted = xcalloc((size_t)nb, sizeof *z->b_posted);
  z->queue = xcalloc((size_t)nb, sizeof *z->queue);
  z->own_at = xcalloc((size_t)nb, sizeof *z->own_at);
  z->cnt = xcalloc((size_t)nb * z->size, sizeof *z->cnt);
  z->dsp = xcalloc((size_t)nb * z->size, sizeof *z->dsp);
  z->req = xcalloc((size_t)nb, sizeof *z->req);
  z->st = xcalloc((size_t)nb, sizeof *z->st);
  for (int b = 0; b < nb; b++) z->req[b] = MPI_REQUEST_NULL;   // Testall before all are posted
  for (int i = 0; i < m->n_tensors; i++) {
    const model_tensor *t = &m->tensors[i];
    for (size_t at = 0; at < t->numel; at += c, z->n_buckets++) {
      int b = z->n_buckets;
      z->b_off[b] = t->offset + at;
      z->b_len[b] = t->numel - at < c ? t->numel - at : c;
      z->b_tensor[b] = i;
      z->b_stage[b] = stage_of(t, m->cfg.n_layers);
      for (int r = 0; r < z->size; r++) {
        z->dsp[b * z->size + r] = (int)piece_at(z->b_len[b], r, z->size);
        z->cnt[b * z->size + r] = (int)(piece_at(z->b_len[b], r + 1, z->size) - z->dsp[b * z->size + r]);
      }
      z->own_at[b] = z->n_owned;
      z->n_owned += (size_t)z->cnt[b * z->size + z->rank];
    }
    total += t->numel;
  }
  if (total != m->n_params) error("train_zero: tensors cover %zu of %zu floats", total, m->n_params);
}

// This rank's pieces of one tensor's moment `which`, from a tensor-sized array `src`.
static void take_pieces(void *arg, int which, const model_tensor *t, const float *src) {
  train_zero *z = arg;
  float *dst = which ? z->v : z->m;
  for (int b = 0; b < z->n_buckets; b++) {
    if (z->b_off[b] < t->offset || z->b_off[b] >= t->offset + t->numel) continue;
    size_t from = z->b_off[b] - t->offset + (size_t)z->dsp[b * z->size + z->rank];
    memcpy(dst + z->own_at[b], src + from, (size_t)z->cnt[b * z->size + z->rank] * sizeof(float));
  }
}

int train_zero_wanted(int shard, int size) {
  return shard == SHARD_OPT_TRUE || (shard == SHARD_OPT_AUTO && size > 1);
}

void train_zero_setup(train_zero *z, model *m, int shard, int overlap, int rank, int size,
                      const char *resume_path) {
  memset(z, 0, sizeof *z);
  z->rank = rank, z->size = size;
  z->on = train_zero_wanted(shard, size);
  z->overlap = overlap && size > 1;
  if (size > 1 || z->on) build_buckets(z, m);   // unsharded: the buckets of the all-reduce
  if (!z->on) return;
  z->m = xcalloc(z->n_owned ? z->n_owned : 1, sizeof(float));
  z->v = xcalloc(z->n_owned ? z->n_owned : 1, sizeof(float));
  if (resume_path) {
    log_set_collective(1);   // every rank reads the same file: a bad one is reported once
    checkpoint_read_moments(resume_path, m, take_pieces, z);
    log_set_collective(0);
  } else if (m->m_mem) {
    for (int i = 0; i < m->n_tensors; i++) {
      take_pieces(z, 0, &m->tensors[i], m->m_mem + m->tensors[i].offset);
      take_pieces(z, 1, &m->tensors[i], m->v_mem + m->tensors[i].offset);
    }
  }
  free(m->m_mem), free(m->v_mem);
  m->m_mem = m->v_mem = NULL;
}

void train_zero_free(train_zero *z) {
  free(z->b_off), free(z->b_len), free(z->b_tensor), free(z->b_stage), free(z->b_posted), free(z->queue), free(z->own_at);
  free(z->m), free(z->v), free(z->cnt), free(z->dsp), free(z->req), free(z->st);
  memset(z, 0, sizeof *z);
}

static void wait_all(train_zero *z, const char *what) {
  double t0 = wall_seconds();
  mpicheck(MPI_Waitall(z->n_buckets, z->req, z->st), what);
  z->comm_s += wall_seconds() - t0;
}

// Bucket b's sum over the ranks, non-blocking: reduce-scatter (in place: the sum of my piece
// lands at b_off) when sharded, else all-reduce.
static void post_bucket(train_zero *z, model *m, int b) {
  // At most mpi_chunk_elems() floats in flight: Open MPI's libnbc gives each posted bucket a
  // temporary copy on rank 0 (measured: +1.6 GiB at 0.5B with every bucket posted at once), so
  // the oldest are waited for first (the same order on every rank; results unchanged).
  while (z->q_head < z->q_tail && z->inflight + z->b_len[b] > mpi_chunk_elems()) {
    int o = z->queue[z->q_head++];
    double t0 = wall_seconds();
    mpicheck(MPI_Wait(&z->req[o], MPI_STATUS_IGNORE), "summing gradients");
    z->comm_s += wall_seconds() - t0;
    z->inflight -= z->b_len[o];
  }
  z->queue[z->q_tail++] = b;
  z->inflight += z->b_len[b];
  float *g = m->grads_mem + z->b_off[b];
  if (z->on)
    mpicheck(MPI_Ireduce_scatter(MPI_IN_PLACE, g, z->cnt + (size_t)b * z->size, MPI_FLOAT, MPI_SUM,
                                 MPI_COMM_WORLD, &z->req[b]),
             "reduce-scattering gradients");
  else
    mpicheck(MPI_Iallreduce(MPI_IN_PLACE, g, (int)z->b_len[b], MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &z->req[b]),
             "summing gradients");
  z->b_posted[b] = 1;
  z->posts++;
}

// model.h grads_ready: post the buckets that became final, then one MPI_Testall over everything
// posted so far (Open MPI progresses non-blocking collectives only inside MPI calls).
static void on_grads_ready(void *arg, int stage) {
  train_zero *z = arg;
  double t0 = wall_seconds(), w0 = z->comm_s;
  int flag;
  for (int b = 0; b < z->n_buckets; b++)
    if (z->b_stage[b] == stage && !z->b_posted[b]) post_bucket(z, z->model, b), z->early++;
  mpicheck(MPI_Testall(z->n_buckets, z->req, &flag, z->st), "testing gradient sums");
  z->post_s += wall_seconds() - t0 - (z->comm_s - w0);   // waits for the in-flight cap: comm_s
}

void train_zero_arm(train_zero *z, model *m) {
  if (!z->overlap) return;
  z->model = m;
  m->grads_ready = on_grads_ready;
  m->grads_ready_arg = z;
}

void train_zero_disarm(model *m) {
  m->grads_ready = NULL;
  m->grads_ready_arg = NULL;
}

void train_zero_reduce(train_zero *z, model *m) {
  if (z->n_buckets == 0) return;   // one rank, whole optimizer: nothing to sum
  for (int b = 0; b < z->n_buckets; b++)
    if (!z->b_posted[b]) post_bucket(z, m, b);
  wait_all(z, "summing gradients");
  memset(z->b_posted, 0, (size_t)z->n_buckets);
  z->q_head = z->q_tail = 0, z->inflight = 0;
  if (!z->on) return;
  for (int b = 0; b < z->n_buckets; b++) {
    float *g = m->grads_mem + z->b_off[b];
    memmove(g + z->dsp[b * z->size + z->rank], g, (size_t)z->cnt[b * z->size + z->rank] * sizeof(float));
  }
}

double train_zero_norm(train_zero *z, const model *m) {
  if (!z->on) return grad_global_norm(m->grads_mem, m->n_params);
  double ss = 0;
  for (int b = 0; b < z->n_buckets; b++) {
    double n = grad_global_norm(m->grads_mem + z->b_off[b] + z->dsp[b * z->size + z->rank],
                                (size_t)z->cnt[b * z->size + z->rank]);
    ss += n * n;
  }
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, &ss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "summing the norm");
  return sqrt(ss);
}

void train_zero_clip(train_zero *z, model *m, double norm, double max_norm) {
  if (!z->on) {
    grad_clip(m->grads_mem, m->n_params, norm, max_norm);
    return;
  }
  for (int b = 0; b < z->n_buckets; b++)   // this rank's pieces: the only sums it holds
    grad_clip(m->grads_mem + z->b_off[b] + (size_t)z->dsp[b * z->size + z->rank],
              (size_t)z->cnt[b * z->size + z->rank], norm, max_norm);
}

void train_zero_update(train_zero *z, model *m, const adamw_config *c, float lr, long t) {
  if (!z->on) {
    model_adamw_step(m, c, lr, t);
    return;
  }
  for (int b = 0; b < z->n_buckets; b++) {
    size_t at = z->b_off[b] + (size_t)z->dsp[b * z->size + z->rank];
    size_t n = (size_t)z->cnt[b * z->size + z->rank];
    const model_tensor *ts = &m->tensors[z->b_tensor[b]];
    adamw_update(m->params_mem + at, m->grads_mem + at, z->m + z->own_at[b], z->v + z->own_at[b], n, c,
                 lr, ts->decay ? c->weight_decay : 0.0f, t);
  }
  for (int b = 0; b < z->n_buckets; b++)
    mpicheck(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, m->params_mem + z->b_off[b],
                             z->cnt + (size_t)b * z->size, z->dsp + (size_t)b * z->size, MPI_FLOAT,
                             MPI_COMM_WORLD, &z->req[b]),
             "all-gathering weights");
  wait_all(z, "all-gathering weights");
}

// The gathers of one tensor's moment onto rank 0 (dst: rank 0's tensor-sized buffer).
static void gather_tensor(train_zero *z, int which, const model_tensor *t, float *dst) {
  const float *mine = which ? z->v : z->m;
  for (int b = 0; b < z->n_buckets; b++) {
    if (z->b_off[b] < t->offset || z->b_off[b] >= t->offset + t->numel) continue;
    mpicheck(MPI_Gatherv(mine + z->own_at[b], z->cnt[b * z->size + z->rank], MPI_FLOAT,
                         dst ? dst + (z->b_off[b] - t->offset) : NULL, z->cnt + (size_t)b * z->size,
                         z->dsp + (size_t)b * z->size, MPI_FLOAT, 0, MPI_COMM_WORLD),
             "gathering optimizer moments");
  }
}

void train_zero_moments(void *z, int which, const model_tensor *t, float *dst) {
  gather_tensor(z, which, t, dst);
}

void train_zero_moments_serve(train_zero *z, const model *m) {
  for (int which = 0; which < 2; which++)
    for (int i = 0; i < m->n_tensors; i++) gather_tensor(z, which, &m->tensors[i], NULL);
}
