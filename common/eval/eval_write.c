// nq-eval's output files. Every JSON object is built from its table in formats/eval_outputs.c;
// no time stamp or rank count is written, so reruns with the same inputs give the same bytes.
#include "eval/eval_write.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/publish.h"
#include "base/sha256.h"
#include "base/util.h"
#include "files/eval_outputs.h"
#include "h5/provenance.h"
#include "pipeline/run_layout.h"

static const char *const row_prompt[] = {"history", "no history", "history + no history (CoS)"};

static void jset(json_t *o, const char *k, json_t *v) {
  if (!v || json_object_set_new(o, k, v) != 0) error("building JSON key '%s'", k);
}

// Added to the evaluation's publish set: every file is renamed into place once all are written.
static void add_json(publish_set *ps, const char *path, json_t *j) {
  char *text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!text) error("%s: cannot serialize the JSON to write", path);
  size_t n = strlen(text);
  text = xrealloc(text, n + 2);
  text[n++] = '\n';
  publish_add(ps, path, text, n);
  free(text);
}

// metrics.json "provenance": version, effective config, tokenizer, and every input's digest.
static json_t *provenance_json(const stage_args *s, const eval_opts *o, const eval_samples *d) {
  json_t *p = json_object();
  jset(p, "nq_version", json_string(nq_version()));
  char *ct = settings_text(o->set, NULL);
  jset(p, "config", json_string(ct));
  free(ct);
  if (s->stamp[0]) jset(p, "stamp", json_string(s->stamp));
  jset(p, "tokenizer_digest", json_string(d->sh[0].tokenizer_digest));
  json_t *sh = json_array(), *ck = json_object();
  for (int f = 0; f < d->n_shards; f++) {
    json_t *e = json_object();
    jset(e, "path", json_string(d->paths[f]));
    jset(e, "sha256", json_string(file_digest(d->paths[f])));
    json_array_append_new(sh, e);
  }
  for (int mi = 0; mi < o->n_models; mi++) {
    json_t *e = json_object();
    jset(e, "path", json_string(o->mpath[mi]));
    jset(e, "sha256", json_string(file_digest(o->mpath[mi])));
    jset(ck, o->mname[mi], e);
  }
  jset(p, "shard_files", sh);
  jset(p, "checkpoints", ck);
  return p;
}

// ---- <row>/predictions.jsonl ----------------------------------------------------------------
static double ratio(const eval_sample_scores *e, int m) { return e->den[m] > 0 ? e->num[m] / e->den[m] : NAN; }

// One line: sample k of row r.
static void prediction_line(strbuf *b, const eval_opts *o, const eval_samples *d, const eval_results *r,
                            int row, size_t k) {
  size_t at = (size_t)row * r->n + k;
  const eval_record *h = r->rec[at];
  const eval_sample_scores *e = &r->sc[at];
  const shard_data *sh = eval_sample_shard(d, k);
  size_t i = eval_sample_index(d, k);
  int np;
  const int32_t *pp = eval_prompt_of(d, k, o->rows[row].mode != ROW_NOHIST, &np);
  char hex[65];
  sha256_hex(pp, (size_t)np * sizeof(int32_t), hex);
  hex[16] = 0;
  eval_prediction p = {.id = sh->id[i], .user = sh->users[sh->user[i]], .prompt_digest = hex,
                       .output = r->out[at], .reference = r->ref[k], .output_tokens = h->n,
                       .stop = h->eos ? "eos" : "length",
                       .target_tokens = (int64_t)e->den[EM_NLL], .pref_tokens = (int64_t)e->den[EM_NLL_PREF],
                       .phrases_used = (int64_t)e->num[EM_RECALL], .phrases = (int64_t)e->den[EM_RECALL]};
  for (int m = 0; m < EM_COUNT; m++) p.score[m] = ratio(e, m);
  unsigned have = (sh->truth ? EO_WITH_TRUTH : 0) | (r->have_phrases ? EO_WITH_PHRASES : 0);
  json_t *j = eval_out_object(eval_prediction_fields, &p, have);
  char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  if (!line) error("json_dumps of a prediction failed");
  sb_puts(b, line);
  sb_puts(b, "\n");
  free(line);
  json_decref(j);
}

static void predictions_write(publish_set *ps, const char *rdir, const eval_opts *o, const eval_samples *d,
                              const eval_results *r, int row) {
  strbuf pj;
  sb_init(&pj);
  for (size_t k = 0; k < r->n; k++) prediction_line(&pj, o, d, r, row, k);
  char *path = run_file(rdir, RUN_PREDICTIONS, 0);
  publish_add(ps, path, pj.data ? pj.data : "", pj.len);
  free(path);
  sb_free(&pj);
}

// ---- <row>/metrics.json ---------------------------------------------------------------------
static json_t *metrics_json(const eval_row_summary *sum) {
  json_t *mm = json_object();
  for (int m = 0; m < EM_COUNT; m++) {
    eval_metric_summary ms = {sum->ci[m].mean, sum->ci[m].lo, sum->ci[m].hi, sum->p[m]};
    jset(mm, eval_metric_key[m], eval_out_object(eval_metric_summary_fields, &ms, 0));
  }
  return mm;
}

static json_t *settings_json(const eval_opts *o) {
  eval_run_settings st = {.decoding = o->dec.decoding == DECODE_SAMPLE ? "sample" : "greedy",
                      .max_new_tokens = o->dec.max_new, .repetition_penalty = o->dec.penalty,
                      .penalize_prompt = o->dec.penalize_prompt, .temperature = o->dec.temperature,
                      .top_p = o->dec.top_p, .seed = (int64_t)o->seed, .rouge_stemming = o->stem,
                      .bootstrap = o->n_boot};
  return eval_out_object(eval_settings_fields, &st, 0);
}

static void metrics_write(publish_set *ps, const char *rdir, const eval_opts *o, const eval_results *r, int row,
                          json_t *prov) {
  const eval_row *er = &o->rows[row];
  size_t n_eos = 0, n_tok = 0;
  for (size_t k = 0; k < r->n; k++) {
    n_eos += (size_t)r->rec[(size_t)row * r->n + k]->eos;
    n_tok += (size_t)r->rec[(size_t)row * r->n + k]->n;
  }
  eval_row_metrics rm = {.model = er->name, .checkpoint = o->mpath[er->model], .prompt = row_prompt[er->mode],
                         .cos_lambda = o->dec.cos_lambda, .split = o->split == SPLIT_VALID ? "valid" : "test",
                         .n_samples = (int64_t)r->n, .baseline = o->baseline, .stopped_at_eos = (int64_t)n_eos,
                         .mean_output_tokens = (double)n_tok / (double)r->n,
                         .metrics = metrics_json(&r->sum[row]), .settings = settings_json(o), .provenance = prov};
  json_t *mj = eval_out_object(eval_row_metrics_fields, &rm, er->mode == ROW_COS ? EO_COS_ROW : 0);
  json_decref(rm.metrics);
  json_decref(rm.settings);
  char *path = run_file(rdir, RUN_EVAL_METRICS, 0);
  add_json(ps, path, mj);
  free(path);
  json_decref(mj);
}

// ---- summary.md / summary.csv ---------------------------------------------------------------
static void summary_write(publish_set *ps, const char *dir, const eval_opts *o, const eval_results *r) {
  const char **names = xcalloc((size_t)r->n_rows, sizeof *names);
  for (int row = 0; row < r->n_rows; row++) names[row] = o->rows[row].name;
  strbuf md, csv;
  sb_init(&md);
  sb_init(&csv);
  eval_table_md(&md, names, r->sum, r->n_rows, r->n, r->baseline >= 0 ? o->baseline : "");
  eval_table_csv(&csv, names, r->sum, r->n_rows, r->n);
  char *p1 = run_file(dir, RUN_SUMMARY_MD, 0), *p2 = run_file(dir, RUN_SUMMARY_CSV, 0);
  publish_add(ps, p2, csv.data, strlen(csv.data));
  publish_add(ps, p1, md.data, strlen(md.data));   // summary.md last: the file a reader opens
  publish_commit(ps);
  printf("\n%s\n", md.data);
  fflush(stdout);
  message("eval: wrote %s, %s and %d model directories", p1, p2, r->n_rows);
  free(p1);
  free(p2);
  sb_free(&md);
  sb_free(&csv);
  free(names);
}

void eval_write(const stage_args *s, const eval_opts *o, const eval_samples *d, const eval_results *r) {
  char *dir = run_path(o->set, RUN_EVAL);
  // nothing is renamed into place before every file is written (publish.h): a full disk leaves
  // no row's metrics.json without its summary
  publish_set ps;
  publish_init(&ps);
  publish_dir(&ps, dir);
  json_t *prov = provenance_json(s, o, d);
  for (int row = 0; row < r->n_rows; row++) {
    char *rdir = path_join(dir, o->rows[row].name);
    publish_dir(&ps, rdir);
    predictions_write(&ps, rdir, o, d, r, row);
    metrics_write(&ps, rdir, o, r, row, prov);
    free(rdir);
  }
  summary_write(&ps, dir, o, r);
  json_decref(prov);
  free(dir);
}
