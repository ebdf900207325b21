// train.per_user (docs/training.md, "Per-user adapters"): the LoRA target (train_lora.c)
// driven one user at a time. Every user of the train split gets an adapter of their own,
// train.steps AdamW steps on that user's training samples only, on top of the frozen
// train.init (a global model, e.g. nextquill/model.h5). Users are hashed into
// train.user_groups groups (FNV-1a of the user name: independent of the rank count); rank r
// trains the groups g with g % ranks == r, with no communication at all. A group's adapters
// go to <out>/users/group-<g>.h5, rewritten (atomically) after every finished user, so a run
// stopped by SIGTERM / SIGUSR1 (exit 75) resumes at the first unfinished user.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/adapter_file.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

typedef struct {
  const char *name;
  int *samples;     // indices into the training list (train_sh / train_i)
  int n;
} user_samples;

typedef struct {
  const char *name;
  int i;
} name_index;

static int by_name_index(const void *a, const void *b) {
  const name_index *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->i > y->i) - (x->i < y->i);
}

// The users of the train split with their samples (in training-list order), sorted by name.
static user_samples *users_collect(const train_data *d, int *n) {
  name_index *ni = xmalloc(((size_t)d->n_train + 1) * sizeof *ni);
  for (int i = 0; i < d->n_train; i++) {
    const shard_data *sh = &d->sh[d->train_sh[i]];
    ni[i] = (name_index){sh->users[sh->user[d->train_i[i]]], i};
  }
  qsort(ni, (size_t)d->n_train, sizeof *ni, by_name_index);
  user_samples *u = xcalloc((size_t)d->n_train + 1, sizeof *u);
  int nu = 0;
  for (int i = 0; i < d->n_train; i++) {
    if (nu == 0 || strcmp(u[nu - 1].name, ni[i].name)) {
      u[nu].name = ni[i].name;
      u[nu++].samples = xmalloc((size_t)d->n_train * sizeof(int));
    }
    u[nu - 1].samples[u[nu - 1].n++] = ni[i].i;
  }
  free(ni);
  *n = nu;
  return u;
}

static int group_of(const char *user, int groups) { return (int)(fnv1a64(user, strlen(user)) % (uint64_t)groups); }

// One user's adapter: fresh init (seed and user), train.steps steps of the LoRA target over the
// user's samples in a fixed cyclic order, micro_batch x accum samples per step, with no
// communication (no reduce).
static void train_one_user(trainer *t, const user_samples *u) {
  const train_settings *ts = &t->set->train;
  lora *lo = t->lo;
  uint64_t useed = (uint64_t)ts->seed ^ fnv1a64(u->name, strlen(u->name));
  lora_init(lo, useed);
  memset(lo->m_mem, 0, lo->n_params * sizeof(float));
  memset(lo->v_mem, 0, lo->n_params * sizeof(float));
  int mb = (int)ts->micro_batch, per_step = mb * (int)ts->accum;
  for (long step = 0; step < ts->steps; step++) {
    train_lora_begin(lo, useed + (uint64_t)step);   // dropout masks: f(seed, user, step, pass)
    loss_sums acc = {0};
    for (int a = 0; a < ts->accum; a++) {
      train_batch *b = &t->batch;
      b->n = mb;
      for (int j = 0; j < b->n; j++) {
        int s = u->samples[((size_t)step * per_step + (size_t)a * mb + j) % (size_t)u->n];
        b->shard[j] = t->data.train_sh[s];
        b->index[j] = t->data.train_i[s];
        b->with_history[j] = 1;
      }
      train_micro_batch(&t->work, &t->data, ts, b, 1.0f / (float)per_step, 1, &acc);
    }
    t->target->clip(t);
    t->target->update(t, (float)lr_schedule(&t->schedule, step), step + 1);
  }
}

// The group file's adapters so far (--resume; returns 1), else an empty record (0). --resume
// finishes what is missing: a group file that does not read back whole (truncated by a full
// disk or a copy, not an adapter file) is made again, all its users trained again (each user's
// adapter depends on the seed and the user only: the same file an uninterrupted run writes); a
// whole one whose values were changed in place stops in file_read (its content digest).
static int group_open(adapter_file *f, const char *path, trainer *t) {
  if (file_exists(path) && !t->s->resume && !t->s->force)
    fatal("%s: has per-user adapters; pass --resume to continue or --force to start over", path);
  int whole = file_exists(path) && file_is(&adapter_kind, path);
  if (file_exists(path) && t->s->resume && !whole)
    warning("%s does not read back whole (truncated or not an adapter file); training its users again", path);
  if (whole && t->s->resume) {
    file_read(&adapter_kind, path, f);
    adapter_require_base(f, path, t->o.init);
    if (f->count[ADAPTER_PARAMS] != t->lo->n_params || !f->users)
      fatal("%s: made with other train.lora_* settings; remove it or use another train.name", path);
    return 1;
  }
  train_lora_fill(f, t->lo, t->o.init, t->data.sh[0].tokenizer_digest, t->set->train.steps);
  f->params = NULL;
  f->count[ADAPTER_ADAPTERS] = f->count[ADAPTER_VALUES] = 0;
  return 0;
}

static int group_has(const adapter_file *f, const char *user) {
  for (size_t i = 0; i < f->count[ADAPTER_ADAPTERS]; i++)
    if (!strcmp(f->users[i], user)) return 1;
  return 0;
}

static void group_append(adapter_file *f, const char *user, const lora *lo) {
  size_t n = f->count[ADAPTER_ADAPTERS], P = lo->n_params;
  f->users = xrealloc(f->users, (n + 1) * sizeof *f->users);
  f->users[n] = xstrdup(user);
  f->params = xrealloc(f->params, (n + 1) * P * sizeof(float));
  memcpy(f->params + n * P, lo->params_mem, P * sizeof(float));
  f->count[ADAPTER_ADAPTERS] = n + 1;
  f->count[ADAPTER_VALUES] = (n + 1) * P;
}

// Trains the group's unfinished users; returns the signal that stopped it (0: finished).
static int train_group(trainer *t, int g, const user_samples *u, int nu, const char *dir, long *trained,
                       long *kept) {
  char *path = run_file(dir, RUN_USER_GROUP, g);
  adapter_file f;
  int from_file = group_open(&f, path, t), sig = 0, groups = (int)t->set->train.user_groups;
  for (int j = 0; j < nu && !sig; j++) {
    if (group_of(u[j].name, groups) != g) continue;
    if (group_has(&f, u[j].name)) {   // finished before a stop: not redone
      ++*kept;
      continue;
    }
    train_one_user(t, &u[j]);
    group_append(&f, u[j].name, t->lo);
    file_write(&adapter_kind, path, &f, &t->prov);
    ++*trained;
    progress_update(&t->progress, (double)*trained, u[j].name);
    sig = train_signal_local();
  }
  if (from_file) {
    file_free(&adapter_kind, &f);
  } else {   // built here: the borrowed digests are not freed
    free(f.targets);
    for (size_t i = 0; i < f.count[ADAPTER_ADAPTERS]; i++) free(f.users[i]);
    free(f.users);
    free(f.params);
  }
  free(path);
  return sig;
}

int train_users_run(trainer *t) {
  int nu;
  user_samples *u = users_collect(&t->data, &nu);
  char *dir = xstrdup(t->out_dir);
  char *first = run_file(dir, RUN_USER_GROUP, 0);   // its folder: made here
  *strrchr(first, '/') = 0;
  make_dirs(first);
  free(first);
  long mine = 0, trained = 0, kept = 0;
  int groups = (int)t->set->train.user_groups;
  for (int j = 0; j < nu; j++) mine += group_of(u[j].name, groups) % t->s->size == t->s->rank;
  progress_start(&t->progress, "per-user adapters", "users", (double)mine);
  message("train: per-user adapters: %d users in %d groups; this rank: %ld users, %ld steps each", nu,
          groups, mine, t->set->train.steps);
  int sig = 0;
  for (int g = t->s->rank; g < groups && !sig; g += t->s->size) sig = train_group(t, g, u, nu, dir, &trained, &kept);
  message("train: per-user adapters: %ld trained now, %ld kept from before", trained, kept);
  int any = sig;   // after the loop only: whether any rank stopped early
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on stop");
  if (any && t->s->rank == 0)
    message("train: signal %d: finished users kept in %s; exiting %d (rerun with --resume)", any, dir,
            TRAIN_EXIT_REQUEUE);
  for (int j = 0; j < nu; j++) free(u[j].samples);
  free(u);
  free(dir);
  return any ? TRAIN_EXIT_REQUEUE : 0;
}
