// nq-eval's options from the settings: rows first (one per eval.models entry, then one per
// eval.cos_models entry, then one per eval.user_adapters entry), then decoding, split and
// scoring keys.
#include "eval/eval_opts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "files/shards_file.h"
#include "pipeline/run_layout.h"

// eval.user_adapters: a model "<name>+user-lora" (the checkpoint of eval.models.<name>, each
// sample's user's adapter merged in) and its row, with history. The names are checked at
// stage start (settings_check).
static void user_rows_read(eval_opts *o, const settings *set) {
  const string_map *ua = &set->eval.user_adapters;
  int base_models = o->n_models;
  for (int i = 0; i < ua->n; i++) {
    int b = 0;
    while (b < base_models && strcmp(o->mname[b], ua->name[i])) b++;
    int mi = o->n_models++;
    eval_row *r = &o->rows[o->n_rows++];
    snprintf(r->name, sizeof r->name, "%s+user-lora", ua->name[i]);
    r->model = mi;
    r->mode = ROW_HIST;
    o->mname[mi] = r->name;
    o->mpath[mi] = xstrdup(o->mpath[b]);
    o->udir[mi] = run_resolve(set, ua->value[i]);
  }
}

static void rows_read(eval_opts *o, const settings *set) {
  const eval_settings *e = &set->eval;
  o->n_models = e->models.n;
  int nu = e->user_adapters.n;
  o->mname = xcalloc((size_t)(o->n_models + nu), sizeof *o->mname);
  o->mpath = xcalloc((size_t)(o->n_models + nu), sizeof *o->mpath);
  o->udir = xcalloc((size_t)(o->n_models + nu), sizeof *o->udir);
  o->rows = xcalloc((size_t)(o->n_models * 2 + nu), sizeof *o->rows);
  for (int i = 0; i < o->n_models; i++) {
    o->mname[i] = e->models.name[i];
    o->mpath[i] = run_resolve(set, e->models.value[i]);
    eval_row *r = &o->rows[o->n_rows++];
    snprintf(r->name, sizeof r->name, "%s", o->mname[i]);
    r->model = i;
    r->mode = string_list_has(&e->nohist_models, o->mname[i]) ? ROW_NOHIST : ROW_HIST;
  }
  for (int i = 0; i < o->n_models; i++) {
    if (!string_list_has(&e->cos_models, o->mname[i])) continue;
    eval_row *r = &o->rows[o->n_rows++];
    snprintf(r->name, sizeof r->name, "%s+cos", o->mname[i]);
    r->model = i;
    r->mode = ROW_COS;
  }
  user_rows_read(o, set);
}

void eval_opts_read(eval_opts *o, const settings *set) {
  const eval_settings *e = &set->eval;
  memset(o, 0, sizeof *o);
  o->set = set;
  rows_read(o, set);
  o->split = e->split == EVAL_SPLIT_VALID ? SPLIT_VALID : SPLIT_TEST;
  o->max_samples = (int)e->max_samples;
  o->dec = (eval_decode_opts){.max_new = (int)e->max_new_tokens, .decoding = e->decoding,
                              .penalty = (float)e->repetition_penalty, .penalize_prompt = e->penalize_prompt,
                              .temperature = (float)e->temperature, .top_p = (float)e->top_p,
                              .cos_lambda = (float)e->cos_lambda};
  o->seed = (uint64_t)e->seed;
  o->n_boot = (int)e->bootstrap;
  o->stem = e->stem;
  o->baseline = e->baseline;
  o->phrases_field = e->phrases_field;
  o->kinds_field = e->kinds_field;
  o->wordnet_dir = e->wordnet_dir;
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
