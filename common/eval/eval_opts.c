// nq-eval's settings from the config: rows first (one per eval.models entry, then one per
// eval.cos_models entry), then decoding, split and scoring keys.
#include "eval/eval_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "formats/shards_file.h"

int eval_in_list(const config *c, const char *key, const char *name) {
  for (int i = 0; i < cfg_list_len(c, key); i++)
    if (!strcmp(cfg_list_str(c, key, i), name)) return 1;
  return 0;
}

// eval.user_adapters: a model "<name>+user-lora" (the checkpoint of eval.models.<name>, each
// sample's user's adapter merged in) and its row, with history.
static void user_rows_read(eval_opts *o, const config *c, const char *rd, int nu) {
  int base_models = o->n_models;
  for (int i = 0; i < nu; i++) {
    const char *name = cfg_map_name(c, "eval.user_adapters", i), *dir = cfg_map_value(c, "eval.user_adapters", i);
    int b = -1;
    for (int j = 0; j < base_models; j++)
      if (!strcmp(o->mname[j], name)) b = j;
    if (b < 0) fatal("%s: eval.user_adapters.%s: no eval.models entry of that name", config_path(c), name);
    int mi = o->n_models++;
    eval_row *r = &o->rows[o->n_rows++];
    snprintf(r->name, sizeof r->name, "%s+user-lora", name);
    r->model = mi;
    r->mode = ROW_HIST;
    o->mname[mi] = r->name;
    o->mpath[mi] = xstrdup(o->mpath[b]);
    o->udir[mi] = dir[0] == '/' ? xstrdup(dir) : path_join(rd, dir);
  }
}

static void rows_read(eval_opts *o, const config *c) {
  const char *rd = cfg_str(c, "run_dir");
  o->n_models = cfg_map_len(c, "eval.models");
  if (o->n_models == 0) fatal("%s: eval.models is empty", config_path(c));
  int nu = cfg_map_len(c, "eval.user_adapters");
  o->mname = xcalloc((size_t)(o->n_models + nu), sizeof *o->mname);
  o->mpath = xcalloc((size_t)(o->n_models + nu), sizeof *o->mpath);
  o->udir = xcalloc((size_t)(o->n_models + nu), sizeof *o->udir);
  o->rows = xcalloc((size_t)(o->n_models * 2 + nu), sizeof *o->rows);
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
  user_rows_read(o, c, rd, nu);
}

static void decoding_read(eval_decode_opts *d, const config *c) {
  d->max_new = (int)cfg_int(c, "eval.max_new_tokens");
  d->decoding = !strcmp(cfg_str(c, "eval.decoding"), "sample") ? DECODE_SAMPLE : DECODE_GREEDY;
  d->penalty = (float)cfg_float(c, "eval.repetition_penalty");
  d->penalize_prompt = cfg_bool(c, "eval.penalize_prompt");
  d->temperature = (float)cfg_float(c, "eval.temperature");
  d->top_p = (float)cfg_float(c, "eval.top_p");
  d->cos_lambda = (float)cfg_float(c, "eval.cos_lambda");
}

static void baseline_check(const eval_opts *o, const config *c) {
  if (!o->baseline[0]) return;
  int found = 0;
  for (int r = 0; r < o->n_rows; r++) found |= !strcmp(o->rows[r].name, o->baseline);
  if (!found) fatal("%s: eval.baseline \"%s\" is not a row (eval.models names, or <name>+cos); "
                    "set eval.baseline = \"\" for no p-values", config_path(c), o->baseline);
}

void eval_opts_read(eval_opts *o, const config *c) {
  memset(o, 0, sizeof *o);
  rows_read(o, c);
  o->split = !strcmp(cfg_str(c, "eval.split"), "valid") ? SPLIT_VALID : SPLIT_TEST;
  o->max_samples = (int)cfg_int(c, "eval.max_samples");
  decoding_read(&o->dec, c);
  long sd = cfg_int(c, "eval.seed");
  o->seed = (uint64_t)(sd >= 0 ? sd : cfg_int(c, "seed"));
  o->n_boot = (int)cfg_int(c, "eval.bootstrap");
  o->stem = cfg_bool(c, "eval.stem");
  o->baseline = cfg_str(c, "eval.baseline");
  o->phrases_field = cfg_str(c, "eval.phrases_field");
  o->kinds_field = cfg_str(c, "eval.kinds_field");
  o->wordnet_dir = cfg_str(c, "eval.wordnet_dir");
  baseline_check(o, c);
}

void eval_opts_free(eval_opts *o) {
  for (int i = 0; i < o->n_models; i++) {
    free(o->mpath[i]);
    free(o->udir[i]);
  }
  free(o->udir);
  free(o->mpath);
  free(o->mname);
  free(o->rows);
}
