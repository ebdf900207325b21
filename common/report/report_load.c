// Reads the eval table (<run_dir>/eval/: summary.csv for the row order, each row's
// metrics.json and predictions.jsonl) and every training run's metrics.h5. JSON keys are
// looked up in nq-eval's own tables (formats/eval_outputs.h), never spelled here.
#include "report/report_load.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "base/util.h"
#include "h5/h5io.h"
#include "h5/provenance.h"
#include "pipeline/run_layout.h"

void report_note_missing(report *r, const char *fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  r->missing = xrealloc(r->missing, (size_t)(r->n_missing + 1) * sizeof *r->missing);
  r->missing[r->n_missing++] = xstrdup(line);
  log_message("report: %s", line);
}

// The JSON key of the field at `member` of a table (the table is where keys are spelled).
static const char *key_of(const eval_out_field *fields, size_t member) {
  for (const eval_out_field *f = fields; f->name; f++)
    if (f->member == member) return f->name;
  error("report: no field at offset %zu in an eval output table", member);
}
#define ROW_KEY(m) key_of(eval_row_metrics_fields, offsetof(eval_row_metrics, m))
#define SUM_KEY(m) key_of(eval_metric_summary_fields, offsetof(eval_metric_summary, m))
#define SET_KEY(m) key_of(eval_settings_fields, offsetof(eval_run_settings, m))
#define PRED_KEY(m) key_of(eval_prediction_fields, offsetof(eval_prediction, m))

static double num_or_nan(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

static char *str_or(const json_t *o, const char *key, const char *dflt) {
  const char *s = json_string_value(json_object_get(o, key));
  return xstrdup(s ? s : dflt);
}

// "greedy, repetition penalty 1.2 over prompt + output": what distinguishes decodings.
static char *decoding_line(const json_t *settings) {
  char buf[256];
  const char *dec = json_string_value(json_object_get(settings, SET_KEY(decoding)));
  double pen = num_or_nan(settings, SET_KEY(repetition_penalty));
  int over_prompt = json_is_true(json_object_get(settings, SET_KEY(penalize_prompt)));
  if (isnan(pen) || pen == 1.0)
    snprintf(buf, sizeof buf, "%s, no repetition penalty", dec ? dec : "?");
  else
    snprintf(buf, sizeof buf, "%s, repetition penalty %g over %s", dec ? dec : "?", pen,
             over_prompt ? "prompt + output" : "output only");
  return xstrdup(buf);
}

static void load_predictions(report_row *row, const char *path) {
  jsonl_reader rd;
  jsonl_open(&rd, path, 0, jsonl_file_size(path));
  json_t *o;
  char err[256];
  int rc;
  size_t cap = 0;
  while ((rc = jsonl_next(&rd, &o, err, sizeof err)) > 0) {
    if (row->n_preds == cap) {
      cap = cap ? 2 * cap : 256;
      row->preds = xrealloc(row->preds, cap * sizeof *row->preds);
    }
    report_pred *p = &row->preds[row->n_preds++];
    p->id = str_or(o, PRED_KEY(id), "");
    p->user = str_or(o, PRED_KEY(user), "");
    p->output = str_or(o, PRED_KEY(output), "");
    p->rougeL = num_or_nan(o, PRED_KEY(score[EM_ROUGEL]));
    json_decref(o);
  }
  if (rc < 0) fatal("%s: %s", path, err);
  jsonl_close(&rd);
}

static void load_row(report_row *row, const char *dir, const char *name) {
  char *rdir = path_join(dir, name);
  char *mpath = run_file(rdir, RUN_EVAL_METRICS, 0), *ppath = run_file(rdir, RUN_PREDICTIONS, 0);
  json_error_t je;
  json_t *m = json_load_file(mpath, 0, &je);
  if (!m) fatal("%s:%d: %s", mpath, je.line, je.text);
  row->name = xstrdup(name);
  row->prompt = str_or(m, ROW_KEY(prompt), "");
  row->baseline = str_or(m, ROW_KEY(baseline), "");
  json_t *n = json_object_get(m, ROW_KEY(n_samples));
  row->n_samples = json_is_integer(n) ? json_integer_value(n) : 0;
  row->decoding = decoding_line(json_object_get(m, ROW_KEY(settings)));
  const json_t *metrics = json_object_get(m, ROW_KEY(metrics));
  for (int k = 0; k < EM_COUNT; k++) {
    const json_t *s = json_object_get(metrics, eval_metric_key[k]);
    row->mean[k] = num_or_nan(s, SUM_KEY(mean));
    row->lo[k] = num_or_nan(s, SUM_KEY(lo));
    row->hi[k] = num_or_nan(s, SUM_KEY(hi));
    row->p[k] = num_or_nan(s, SUM_KEY(p_vs_baseline));
  }
  json_decref(m);
  if (file_exists(ppath)) load_predictions(row, ppath);
  free(rdir);
  free(mpath);
  free(ppath);
}

void report_load_eval(report *r, const char *eval_dir) {
  char *csv = run_file(eval_dir, RUN_SUMMARY_CSV, 0);
  size_t len;
  char *text = file_exists(csv) ? read_file(csv, &len) : NULL;
  if (!text) {
    report_note_missing(r, "no %s: the eval step has not run (nq-eval)", csv);
    free(csv);
    return;
  }
  // the first column of each line after the header names a row, in table order
  char *save = NULL;
  strtok_r(text, "\n", &save);
  for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    line[strcspn(line, ",")] = 0;
    char *dir = path_join(eval_dir, line), *m = run_file(dir, RUN_EVAL_METRICS, 0);
    if (file_exists(m)) {
      r->rows = xrealloc(r->rows, (size_t)(r->n_rows + 1) * sizeof *r->rows);
      memset(&r->rows[r->n_rows], 0, sizeof *r->rows);
      load_row(&r->rows[r->n_rows++], eval_dir, line);
    } else {
      report_note_missing(r, "no %s (row %s of summary.csv)", m, line);
    }
    free(dir);
    free(m);
  }
  free(text);
  free(csv);
}

// Why the metrics file of the training step `s` is not that step's current run (caller frees),
// or NULL: its stamp is the step's stamp as the graph gives it now. Another seed's file copied
// in, or one of an older config, has another.
static char *metrics_not_current(const char *path, const pipeline_step *s) {
  hid_t f = h5_try_open_read(path);
  if (f < 0) return xstrdup("does not open");
  h5_provenance_info p;
  char *why = NULL;
  if (!h5_provenance_read(f, &p) || !p.stamp) why = xstrdup("it has no stamp");
  else if (strcmp(p.stamp, s->stamp)) {
    strbuf b;
    sb_init(&b);
    sb_printf(&b, "written under stamp %.12s, step '%s' is at %.12s: another run's or an older config's", p.stamp,
              s->name, s->stamp);
    why = sb_detach(&b);
  }
  h5_provenance_info_free(&p);
  h5_close(f);
  return why;
}

void report_load_runs(report *r) {
  for (int i = 0; i < r->graph->n; i++) {
    const pipeline_step *s = &r->graph->s[i];
    if (strcmp(s->stage->name, "train")) continue;
    const char *name = s->name, *dir = s->writes[0];
    char *path = run_file(dir, RUN_METRICS, 0);
    char *why = NULL;
    if (!file_exists(path)) report_note_missing(r, "no %s: training run '%s' has not run", path, name);
    else if (!file_is(&train_metrics_kind, path))
      report_note_missing(r, "%s: unreadable (truncated, not HDF5 or not nq-train's metrics): not drawn; rerun "
                          "nq-train --force for run '%s'", path, name);
    else if ((why = metrics_not_current(path, s)))
      report_note_missing(r, "%s: not current (%s): not drawn", path, why);
    else {
      r->runs = xrealloc(r->runs, (size_t)(r->n_runs + 1) * sizeof *r->runs);
      report_train *t = &r->runs[r->n_runs++];
      t->name = xstrdup(name);
      file_read(&train_metrics_kind, path, &t->m);
    }
    free(why);
    free(path);
  }
}

void report_free(report *r) {
  for (int i = 0; i < r->n_missing; i++) free(r->missing[i]);
  free(r->missing);
  for (int i = 0; i < r->n_rows; i++) {
    report_row *w = &r->rows[i];
    for (size_t j = 0; j < w->n_preds; j++) {
      free(w->preds[j].id);
      free(w->preds[j].user);
      free(w->preds[j].output);
    }
    free(w->preds);
    free(w->name);
    free(w->prompt);
    free(w->baseline);
    free(w->decoding);
  }
  free(r->rows);
  for (int i = 0; i < r->n_runs; i++) {
    free(r->runs[i].name);
    file_free(&train_metrics_kind, &r->runs[i].m);
  }
  free(r->runs);
  if (r->tok) tok_free(r->tok);
  free(r->roc_score);
  free(r->roc_truth);
  free(r->roc_start);
  free(r->tok_sum);
  free(r->tok_count);
  for (int i = 0; i < r->n_users; i++) free(r->users[i]);
  free(r->users);
  for (size_t i = 0; i < r->n_samples; i++) {
    report_sample *s = &r->samples[i];
    for (size_t u = 0; u < s->n_units; u++) free(s->units[u].text);
    free(s->units);
    free(s->id);
    free(s->user);
  }
  free(r->samples);
  memset(r, 0, sizeof *r);
}
