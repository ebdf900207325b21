// nq-eval's driver (docs/eval.md): options, shards and checkpoints (with provenance checks),
// generation + teacher-forced NLL spread over ranks by sample index, gather on rank 0; the
// scoring and the output files are in eval_write.c. Every number depends only on the sample
// and the row, so the files are the same for any rank count.
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "formats/checkpoint.h"
#include "eval/eval_impl.h"
#include "formats/h5io.h"
#include "formats/hf.h"
#include "base/log.h"

// ---- options --------------------------------------------------------------------------------
int eval_in_list(const config *c, const char *key, const char *name) {
  for (int i = 0; i < cfg_list_len(c, key); i++)
    if (!strcmp(cfg_list_str(c, key, i), name)) return 1;
  return 0;
}

static void opts_read(eval_opts *o, const config *c) {
  memset(o, 0, sizeof *o);
  const char *rd = cfg_str(c, "run_dir");
  o->n_models = cfg_map_len(c, "eval.models");
  if (o->n_models == 0) fatal("%s: eval.models is empty", config_path(c));
  o->mname = xcalloc((size_t)o->n_models, sizeof *o->mname);
  o->mpath = xcalloc((size_t)o->n_models, sizeof *o->mpath);
  o->rows = xcalloc((size_t)o->n_models * 2, sizeof *o->rows);
  for (int i = 0; i < o->n_models; i++) {
    o->mname[i] = cfg_map_name(c, "eval.models", i);
    const char *p = cfg_map_value(c, "eval.models", i);
    o->mpath[i] = p[0] == '/' ? xstrdup(p) : path_join(rd, p);
    eval_row *r = &o->rows[o->n_rows++];
    snprintf(r->name, sizeof r->name, "%s", o->mname[i]);
    r->model = i;
    r->mode = eval_in_list(c, "eval.nohist_models", o->mname[i]) ? ROW_NOHIST : ROW_HIST;
  }
  for (int i = 0; i < o->n_models; i++) {
    if (!eval_in_list(c, "eval.cos_models", o->mname[i])) continue;
    eval_row *r = &o->rows[o->n_rows++];
    snprintf(r->name, sizeof r->name, "%s+cos", o->mname[i]);
    r->model = i;
    r->mode = ROW_COS;
  }
  const char *sp = cfg_str(c, "eval.split");
  o->split = !strcmp(sp, "valid") ? SPLIT_VALID : SPLIT_TEST;
  o->max_samples = (int)cfg_int(c, "eval.max_samples");
  o->dec.max_new = (int)cfg_int(c, "eval.max_new_tokens");
  o->dec.decoding = !strcmp(cfg_str(c, "eval.decoding"), "sample") ? DECODE_SAMPLE : DECODE_GREEDY;
  o->dec.penalty = (float)cfg_float(c, "eval.repetition_penalty");
  o->dec.penalize_prompt = cfg_bool(c, "eval.penalize_prompt");
  o->dec.temperature = (float)cfg_float(c, "eval.temperature");
  o->dec.top_p = (float)cfg_float(c, "eval.top_p");
  o->dec.cos_lambda = (float)cfg_float(c, "eval.cos_lambda");
  long sd = cfg_int(c, "eval.seed");
  o->seed = (uint64_t)(sd >= 0 ? sd : cfg_int(c, "seed"));
  o->n_boot = (int)cfg_int(c, "eval.bootstrap");
  o->stem = cfg_bool(c, "eval.stem");
  o->baseline = cfg_str(c, "eval.baseline");
  o->phrases_field = cfg_str(c, "eval.phrases_field");
  o->kinds_field = cfg_str(c, "eval.kinds_field");
  o->wordnet_dir = cfg_str(c, "eval.wordnet_dir");
  if (o->baseline[0]) {
    int found = 0;
    for (int r = 0; r < o->n_rows; r++) found |= !strcmp(o->rows[r].name, o->baseline);
    if (!found) fatal("%s: eval.baseline \"%s\" is not a row (eval.models names, or <name>+cos); "
                      "set eval.baseline = \"\" for no p-values", config_path(c), o->baseline);
  }
}

static void opts_free(eval_opts *o) {
  for (int i = 0; i < o->n_models; i++) free(o->mpath[i]);
  free(o->mpath);
  free(o->mname);
  free(o->rows);
}

// ---- data -----------------------------------------------------------------------------------

static const eval_data *sort_d;
static int by_id(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  const eval_data *d = sort_d;
  int c = strcmp(d->sh[d->sf[i]].id[d->si[i]], d->sh[d->sf[j]].id[d->si[j]]);
  return c ? c : (i < j ? -1 : i > j);
}

static void data_load(eval_data *d, const stage_ctx *s, const eval_opts *o) {
  memset(d, 0, sizeof *d);
  char *dir = stage_path(s, "shards");
  d->paths = shard_list(dir, &d->n_shards);
  if (d->n_shards == 0) fatal("%s: no shard files; run nq-shard first", dir);
  free(dir);
  d->sh = xcalloc((size_t)d->n_shards, sizeof *d->sh);
  size_t total = 0;
  for (int f = 0; f < d->n_shards; f++) {
    shard_read(d->paths[f], &d->sh[f]);
    if (d->sh[f].vocab_size != d->sh[0].vocab_size || strcmp(d->sh[f].tokenizer_digest, d->sh[0].tokenizer_digest))
      fatal("%s: made with another tokenizer than %s; rerun nq-shard", d->paths[f], d->paths[0]);
    total += d->sh[f].n_samples;
  }
  int *sf = xmalloc((total + 1) * sizeof(int)), *si = xmalloc((total + 1) * sizeof(int));
  size_t n = 0;
  for (int f = 0; f < d->n_shards; f++)
    for (size_t i = 0; i < d->sh[f].n_samples; i++)
      if (d->sh[f].split[i] == o->split) {
        sf[n] = f;
        si[n++] = (int)i;
      }
  if (n == 0) fatal("%s: no samples of split '%s' in the shards", d->paths[0], o->split == SPLIT_VALID ? "valid" : "test");
  d->sf = sf;
  d->si = si;
  size_t *ord = xmalloc(n * sizeof *ord);
  for (size_t i = 0; i < n; i++) ord[i] = i;
  sort_d = d;
  qsort(ord, n, sizeof *ord, by_id);
  size_t keep = o->max_samples > 0 && (size_t)o->max_samples < n ? (size_t)o->max_samples : n;
  d->sf = xmalloc(keep * sizeof(int));
  d->si = xmalloc(keep * sizeof(int));
  for (size_t k = 0; k < keep; k++) {
    size_t j = ord[k * n / keep];  // evenly spaced in id order
    d->sf[k] = sf[j];
    d->si[k] = si[j];
  }
  d->n = keep;
  free(ord);
  free(sf);
  free(si);
}

static void data_free(eval_data *d) {
  for (int f = 0; f < d->n_shards; f++) {
    shard_data_free(&d->sh[f]);
    free(d->paths[f]);
  }
  free(d->paths);
  free(d->sh);
  free(d->sf);
  free(d->si);
}

// prompt of sample k (with or without history): ids and length (the sequence minus the target)
const int32_t *eval_prompt_of(const eval_data *d, size_t k, int hist, int *np) {
  size_t len, nt;
  const int32_t *seq = shard_seq(&d->sh[d->sf[k]], (size_t)d->si[k], hist, &len);
  shard_target(&d->sh[d->sf[k]], (size_t)d->si[k], &nt);
  *np = (int)(len - nt);
  return seq;
}

// ---- checkpoints ----------------------------------------------------------------------------
// Refuse a file that is not one of our checkpoints, or one trained on shards other than ours
// or from a base model changed since (when its provenance lists them).
static void check_checkpoint(const char *path, const eval_data *d) {
  hid_t f = h5_open_read(path);
  int is_model = checkpoint_file_is_model(f);
  h5_close(f);
  if (!is_model) fatal("%s: not a model checkpoint (no model_dim attribute)", path);
  checkpoint_require_current_inputs(path, "this eval.models entry", d->paths, d->n_shards);
}

// ---- generation (each rank its samples) -----------------------------------------------------

static uint64_t gen_seed(uint64_t seed, const char *row, const char *id) {
  strbuf b;
  sb_init(&b);
  sb_printf(&b, "%llu|%s|%s", (unsigned long long)seed, row, id);
  uint64_t h = fnv1a64(b.data, b.len);
  sb_free(&b);
  return h;
}

static void generate_local(const stage_ctx *s, const eval_opts *o, const eval_data *d, model **ms,
                           strbuf *out) {
  int V = ms[0]->cfg.vocab_size;
  eval_work w;
  eval_work_init(&w, V);
  int32_t *gen = xmalloc((size_t)o->dec.max_new * sizeof(int32_t));
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  if (!rng) error("gsl_rng_alloc(mt19937) failed");
  // sizes over this rank's samples: forward = prompt + target - 1, cache = prompt + max_new
  int max_fwd = 1, max_np = 1, max_nt = 1;
  size_t mine = 0;
  for (size_t k = (size_t)s->rank; k < d->n; k += (size_t)s->size, mine++) {
    int nh, n0;
    size_t nt;
    eval_prompt_of(d, k, 1, &nh);
    eval_prompt_of(d, k, 0, &n0);
    shard_target(&d->sh[d->sf[k]], (size_t)d->si[k], &nt);
    int np = nh > n0 ? nh : n0;
    if (np + (int)nt - 1 > max_fwd) max_fwd = np + (int)nt - 1;
    if (np > max_np) max_np = np;
    if ((int)nt > max_nt) max_nt = (int)nt;
  }
  eval_work_reserve(&w, max_nt);
  double *nll = xmalloc((size_t)max_nt * sizeof(double));
  progress pr;
  progress_start(&pr, "evaluating", "samples", (double)(mine * (size_t)o->n_models));
  size_t done = 0;
  // model by model: one activation arena alive at a time
  for (int mi = 0; mi < o->n_models; mi++) {
    model *m = ms[mi];
    int use_h = 0, use_0 = 0;
    for (int r = 0; r < o->n_rows; r++) {
      if (o->rows[r].model != mi) continue;
      use_h |= o->rows[r].mode != ROW_NOHIST;
      use_0 |= o->rows[r].mode != ROW_HIST;
    }
    if (max_fwd > m->cfg.max_seq_len)
      fatal("%s: a sample needs %d positions (prompt + target), the model's max_seq_len is %d",
            o->mpath[mi], max_fwd, m->cfg.max_seq_len);
    int cache = max_np + o->dec.max_new < m->cfg.max_seq_len ? max_np + o->dec.max_new : m->cfg.max_seq_len;
    model_acts *a = model_acts_create(m, max_fwd, max_fwd);
    model_kv *kvh = model_kv_create(m, cache), *kv0 = model_kv_create(m, cache);
    for (size_t k = (size_t)s->rank; k < d->n; k += (size_t)s->size) {
      const shard_data *sh = &d->sh[d->sf[k]];
      size_t i = (size_t)d->si[k], nt;
      const int32_t *tgt = shard_target(sh, i, &nt);
      const uint8_t *truth = sh->truth ? sh->truth + sh->target_offset[i] : NULL;
      int nh, n0;
      const int32_t *ph = eval_prompt_of(d, k, 1, &nh), *p0 = eval_prompt_of(d, k, 0, &n0);
      if (use_h) eval_prefill(m, a, kvh, ph, nh, (int)nt, w.all_h);
      if (use_0) eval_prefill(m, a, kv0, p0, n0, (int)nt, w.all_0);
      for (int r = 0; r < o->n_rows; r++) {
        const eval_row *row = &o->rows[r];
        if (row->model != mi) continue;
        int cos = row->mode == ROW_COS, hist = row->mode != ROW_NOHIST;
        model_kv *kv = hist ? kvh : kv0, *k0 = cos ? kv0 : NULL;
        const float *rows = hist ? w.all_h : w.all_0;
        int np = hist ? nh : n0;
        eval_nll_rows(rows, cos ? w.all_0 : NULL, o->dec.cos_lambda, tgt, (int)nt, V, w.probs, nll);
        eval_sample_scores sc;
        eval_score_nll(nll, truth, (int)nt, &sc);
        gsl_rng_set(rng, (unsigned long)gen_seed(o->seed, row->name, sh->id[i]));
        int hit = 0;
        int n = eval_generate(m, kv, rows, k0, cos ? w.all_0 : NULL, hist ? ph : p0, np, &o->dec, rng, &w,
                              gen, &hit);
        kv->len = np;  // back to the prompt for the next row of this model
        if (k0) k0->len = n0;
        rec_head h = {(int32_t)k, r, n, hit, {sc.num[EM_NLL], sc.den[EM_NLL], sc.num[EM_NLL_PREF],
                                              sc.den[EM_NLL_PREF], sc.num[EM_NLL_OTHER], sc.den[EM_NLL_OTHER]}};
        sb_append(out, (const char *)&h, sizeof h);
        sb_append(out, (const char *)gen, (size_t)n * sizeof(int32_t));
        if (n % 2) sb_append(out, "\0\0\0\0", 4);  // keep the next header 8-byte aligned
      }
      progress_update(&pr, (double)++done, NULL);
    }
    model_acts_free(a);
    model_kv_free(kvh);
    model_kv_free(kv0);
  }
  progress_finish(&pr, NULL);
  free(nll);
  free(gen);
  gsl_rng_free(rng);
  eval_work_free(&w);
}

// Every rank's records to rank 0 (NULL elsewhere), in rank order.
static char *gather(const stage_ctx *s, const strbuf *mine, size_t *total) {
  if (mine->len > (size_t)1 << 30) error("eval: %zu bytes of results on one rank", mine->len);
  int len = (int)mine->len, *lens = NULL, *offs = NULL;
  if (s->rank == 0) {
    lens = xmalloc((size_t)s->size * sizeof(int));
    offs = xmalloc((size_t)s->size * sizeof(int));
  }
  mpicheck(MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD), "gathering result sizes");
  char *all = NULL;
  size_t t = 0;
  if (s->rank == 0) {
    for (int r = 0; r < s->size; r++) {
      offs[r] = (int)t;
      t += (size_t)lens[r];
      if (t > (size_t)1 << 30) error("eval: %zu bytes of results in total", t);
    }
    all = xmalloc(t + 1);
  }
  mpicheck(MPI_Gatherv(mine->data ? mine->data : "", len, MPI_BYTE, all, lens, offs, MPI_BYTE, 0,
                       MPI_COMM_WORLD), "gathering results");
  free(lens);
  free(offs);
  *total = t;
  return all;
}

// ---- the stage ------------------------------------------------------------------------------
int eval_run(stage_ctx *s) {
  double t0 = wall_seconds();
  eval_opts o;
  opts_read(&o, s->cfg);
  eval_data d;
  data_load(&d, s, &o);
  o.dec.eos = d.sh[0].eos_id;
  o.dec.vocab_limit = (int)d.sh[0].vocab_size;
  model **ms = xcalloc((size_t)o.n_models, sizeof *ms);
  for (int mi = 0; mi < o.n_models; mi++) {
    if (!file_exists(o.mpath[mi]))
      fatal("%s: checkpoint of eval.models.%s is missing; train it first", o.mpath[mi], o.mname[mi]);
    if (!hf_is_model_dir(o.mpath[mi])) check_checkpoint(o.mpath[mi], &d);
    checkpoint_require_tokenizer(o.mpath[mi], d.sh[0].tokenizer_digest, "eval.models entry");
    ms[mi] = checkpoint_load(o.mpath[mi], 0, NULL);
    // an HF model's embedding may be padded past the tokenizer (Qwen2.5: 151936 vs 151665)
    if (ms[mi]->cfg.vocab_size < d.sh[0].vocab_size)
      fatal("%s: model vocabulary %d < shards' tokenizer vocabulary %d", o.mpath[mi],
            ms[mi]->cfg.vocab_size, d.sh[0].vocab_size);
  }
  model_set_threads((int)cfg_int(s->cfg, "model.threads"));
  if (s->rank == 0)
    message("eval: %zu %s samples x %d rows (%s decoding, max %d new tokens), %d rank(s)", d.n,
            o.split == SPLIT_VALID ? "valid" : "test", o.n_rows,
            o.dec.decoding == DECODE_SAMPLE ? "sampling" : "greedy", o.dec.max_new, s->size);
  strbuf mine;
  sb_init(&mine);
  generate_local(s, &o, &d, ms, &mine);
  double t_gen = wall_seconds() - t0;
  size_t total = 0;
  char *all = gather(s, &mine, &total);
  sb_free(&mine);
  if (s->rank == 0) {
    eval_score_and_write(s, &o, &d, all, total);
    message("eval: done in %.1f s (generation %.1f s, scoring and files %.1f s)", wall_seconds() - t0,
            t_gen, wall_seconds() - t0 - t_gen);
  }
  free(all);
  for (int mi = 0; mi < o.n_models; mi++) model_free(ms[mi]);
  free(ms);
  data_free(&d);
  opts_free(&o);
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0's outputs");
  return 0;
}
