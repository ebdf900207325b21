// nq-train with train.adapter = "lora" (docs/training.md, "LoRA adapters"): the base model
// (train.init) is loaded frozen, without gradients (in bf16 only when model.precision = "bf16"),
// and only the adapters' arena gets gradients, the all-reduce and AdamW. Checkpoints
// ckpt-<step>.h5 hold the adapters with their moments (adapter_file.h); at the end adapter.h5
// (the adapters) and model.h5 (the base with the adapters merged: what effect, eval and export
// read) are written.
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "files/adapter_file.h"
#include "files/checkpoint.h"
#include "h5/h5io.h"
#include "hf/hf.h"
#include "pipeline/run_layout.h"
#include "train/trainer.h"

// --resume: the adapters, their moments and the step of an adapter checkpoint.
static void resume_adapters(trainer *t, const char *path, train_resume_state *rs) {
  adapter_file f;
  file_read(&adapter_kind, path, &f);
  adapter_require_base(&f, path, t->o.init);
  lora *lo = t->m->lora;
  if (f.count[ADAPTER_PARAMS] != lo->n_params || !f.m || !f.v || f.count[ADAPTER_ADAPTERS] != 1)
    fatal("%s: %zu adapter parameters (want %zu, with moments); made with other train.lora_* settings?",
          path, f.count[ADAPTER_PARAMS], lo->n_params);
  memcpy(lo->params_mem, f.params, lo->n_params * sizeof(float));
  memcpy(lo->m_mem, f.m, lo->n_params * sizeof(float));
  memcpy(lo->v_mem, f.v, lo->n_params * sizeof(float));
  train_ckpt_resume_state(path, f.rng, f.count[ADAPTER_RNG_BYTES], rs);
  t->step0 = f.step;
  file_free(&adapter_kind, &f);
  train_log_resume(&t->log, t->metrics_path, t->step0);
  if (t->s->rank == 0) message("train: resuming adapters %s at step %ld", path, t->step0);
}

char *train_lora_start(trainer *t, long newest_ckpt, train_resume_state *rs) {
  checkpoint_require_tokenizer(t->o.init, t->data.sh[0].tokenizer_digest, "train.init");
  model_set_threads((int)t->set->model.threads);
  t->m = checkpoint_load_prec(t->o.init, 0, t->set->model.precision, NULL);   // frozen: no gradients
  mem_trace("train: base model loaded");
  t->m->lora = lora_create(&t->o.lora, &t->m->cfg, 1);
  lora_init(t->m->lora, t->o.seed);
  mem_trace("train: adapters created");
  char *resume_path = NULL;
  if (newest_ckpt >= 0 && t->s->resume) {
    resume_path = train_ckpt_path(t->out_dir, newest_ckpt);
    resume_adapters(t, resume_path, rs);
  }
  if (t->s->rank == 0)
    message("train: %s; LoRA r=%d alpha=%g dropout=%g on %zu adapter parameters (base frozen)",
            model_precision_describe(t->m), t->o.lora.rank, t->o.lora.alpha, t->o.lora.dropout,
            t->m->lora->n_params);
  return resume_path;
}

// ---- the optimizer's view: the adapters' arena, or the whole model's -------------------------
void train_step_begin(trainer *t, long step) {
  lora *lo = t->m->lora;
  if (!lo) {
    model_zero_grad(t->m);
    return;
  }
  lora_zero_grad(lo);
  lo->training = 1;   // dropout masks: f(seed, step, rank, pass)
  lo->seed = t->o.seed * 0x9E3779B97F4A7C15ull + (uint64_t)step * 1000003u + (uint64_t)t->s->rank;
  lo->passes = 0;
}

float *train_grad_arena(trainer *t, size_t *n) {
  lora *lo = t->m->lora;
  *n = lo ? lo->n_params : t->m->n_params;
  return lo ? lo->grads_mem : t->m->grads_mem;
}

void train_optimizer_step(trainer *t, float lr, long tstep) {
  lora *lo = t->m->lora;
  if (!lo) {
    model_adamw_step(t->m, &t->adamw, lr, tstep);
    return;
  }
  lora_adamw_step(lo, &t->adamw, lr, tstep);
  lo->training = 0;   // validation and evaluation without dropout
}

// ---- checkpoints ----------------------------------------------------------------------------
void train_lora_fill(adapter_file *f, const lora *lo, const char *base_path, const char *tok_digest, long step) {
  memset(f, 0, sizeof *f);
  f->rank = lo->cfg.rank;
  f->alpha = lo->cfg.alpha;
  f->dropout = lo->cfg.dropout;
  f->targets = adapter_targets_text(lo->cfg.targets);
  f->base_digest = (char *)lora_base_digest(base_path);
  f->tokenizer_digest = (char *)tok_digest;
  f->step = step;
  f->params = lo->params_mem;
  f->count[ADAPTER_ADAPTERS] = 1;
  f->count[ADAPTER_PARAMS] = f->count[ADAPTER_VALUES] = lo->n_params;
}

// model.h5's tensors one at a time: the base's fp32 values read again from train.init, the
// adapter merged in. Neither a second model nor an fp32 copy of a bf16 base is ever held: the
// write adds one tensor-sized buffer (the embedding's) to the run's memory, where reloading
// the base added the whole model (2 GB at the Qwen2.5-0.5B shape, the peak of the run).
typedef struct {
  hid_t file;
  const char *path;
  const lora *lo;
} merge_source;

static void merged_tensor(void *arg, const model_tensor *t, float *dst) {
  const merge_source *src = arg;
  checkpoint_read_weight(src->file, src->path, t, dst);
  lora_merge_tensor(src->lo, t, dst, 1.0f);
}

// model.h5: the base with the adapters merged, for the stages downstream. A HF directory as
// train.init is loaded whole in fp32 (no per-tensor reader for safetensors here).
static void write_merged(trainer *t, long done) {
  char *fp = run_file(t->out_dir, RUN_MODEL, 0);
  ckpt_save_info info = {.step = done, .prov = &t->prov, .tokenizer_digest = t->data.sh[0].tokenizer_digest};
  if (hf_is_model_dir(t->o.init)) {
    model *full = checkpoint_load(t->o.init, 0, NULL);
    lora_merge(t->m->lora, full, 1.0f);
    checkpoint_save(fp, full, &info);
    model_free(full);
  } else {
    merge_source src = {h5_open_read(t->o.init), t->o.init, t->m->lora};
    info.weights = merged_tensor;
    info.weights_arg = &src;
    checkpoint_save(fp, t->m, &info);
    h5_close(src.file);
  }
  free(fp);
}

void train_lora_checkpoint(trainer *t, long done, int last) {
  lora *lo = t->m->lora;
  train_resume_state rs = {t->o.seed, done, t->global_batch, t->data.n_train};
  adapter_file f;
  train_lora_fill(&f, lo, t->o.init, t->data.sh[0].tokenizer_digest, done);
  f.m = lo->m_mem;
  f.v = lo->v_mem;
  f.rng = (uint8_t *)&rs;
  f.count[ADAPTER_RNG_BYTES] = sizeof rs;
  char *p = train_ckpt_path(t->out_dir, done);
  file_write(&adapter_kind, p, &f, &t->prov);
  free(p);
  if (last) {
    f.m = f.v = NULL;
    f.rng = NULL;
    f.count[ADAPTER_RNG_BYTES] = 0;
    char *ap = run_file(t->out_dir, RUN_ADAPTER, 0);
    file_write(&adapter_kind, ap, &f, &t->prov);
    free(ap);
    // training is over (the last validation ran before): the activations go before the
    // merged write's tensor buffer comes, so the write does not raise the run's peak
    train_work_free(&t->work);
    write_merged(t, done);
  }
  free(f.targets);
}
