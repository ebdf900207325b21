// nq-eval's output keys (formats/eval_outputs.c) against docs/eval.md: every table of
// eval_out_tables is documented under a heading "### <table name>" by a Markdown table whose
// first column lists exactly its keys, in backticks, in order. Also: the per-sample score
// fields of predictions.jsonl are the metric keys (BLEU as sentence_bleu), and the walker
// writes each type (NaN as null) and leaves out keys whose condition does not hold.
// Run from the repo root, as tests/run.sh does.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nqtest.h"
#include "base/util.h"
#include "files/eval_outputs.h"

#define DOC "docs/eval.md"

// The backticked first-column names of the first table after the line "### <heading>"
// (header and separator rows skipped); returns how many, up to cap.
static int doc_table_names(const char *doc, const char *heading, char names[][64], int cap) {
  char line[256];
  snprintf(line, sizeof line, "\n### %s\n", heading);
  const char *p = strstr(doc, line);
  if (!p) fail_msg("%s: no heading \"### %s\"", DOC, heading);
  p += strlen(line);
  while (*p && *p != '|') p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
  int n = 0, row = 0;
  while (*p == '|') {
    const char *end = strchr(p, '\n');
    if (!end) end = p + strlen(p);
    if (row++ >= 2) {   // header, separator
      const char *a = p + 1;
      while (*a == ' ') a++;
      if (*a != '`') fail_msg("%s, table \"%s\": first cell not in backticks: %.60s", DOC, heading, p);
      const char *b = strchr(a + 1, '`');
      if (!b || b > end || b - a - 1 >= 64) fail_msg("%s, table \"%s\": bad first cell: %.60s", DOC, heading, p);
      if (n < cap) snprintf(names[n], 64, "%.*s", (int)(b - a - 1), a + 1);
      n++;
    }
    p = *end ? end + 1 : end;
  }
  return n;
}

static void test_docs_list_exactly_the_keys(void **state) {
  (void)state;
  char *doc = read_file(DOC, NULL);
  if (!doc) fail_msg("cannot read %s (run the test from the repo root)", DOC);
  for (const eval_out_table *t = eval_out_tables; t->name; t++) {
    char names[64][64];
    int n = doc_table_names(doc, t->name, names, 64), k = 0;
    for (const eval_out_field *f = t->fields; f->name; f++, k++) {
      if (k >= n) fail_msg("%s, table \"%s\": `%s` is missing", DOC, t->name, f->name);
      if (strcmp(names[k], f->name))
        fail_msg("%s, table \"%s\", row %d: `%s`, the code writes `%s`", DOC, t->name, k + 1, names[k], f->name);
    }
    if (n != k) fail_msg("%s, table \"%s\": %d rows, the code has %d keys", DOC, t->name, n, k);
  }
  free(doc);
}

static void test_score_fields_are_the_metric_keys(void **state) {
  (void)state;
  for (int m = 0; m < EM_COUNT; m++) {
    const eval_out_field *hit = NULL;
    for (const eval_out_field *f = eval_prediction_fields; f->name; f++)
      if (f->member == offsetof(eval_prediction, score) + (size_t)m * sizeof(double)) hit = f;
    assert_non_null(hit);
    assert_int_equal(hit->type, EO_NUM);
    assert_string_equal(hit->name, m == EM_BLEU ? "sentence_bleu" : eval_metric_key[m]);
  }
}

static void test_object_walker(void **state) {
  (void)state;
  eval_prediction p = {.id = "a", .user = "u", .prompt_digest = "0123", .output = "o", .reference = "r",
                       .output_tokens = 3, .stop = "eos", .target_tokens = 7, .pref_tokens = 2,
                       .phrases_used = 1, .phrases = 4};
  for (int m = 0; m < EM_COUNT; m++) p.score[m] = 0.5;
  p.score[EM_RECALL] = NAN;
  json_t *j = eval_out_object(eval_prediction_fields, &p, EO_WITH_PHRASES);
  char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
  assert_string_equal(s, "{\"id\":\"a\",\"user\":\"u\",\"prompt_digest\":\"0123\",\"output\":\"o\","
                         "\"reference\":\"r\",\"output_tokens\":3,\"stop\":\"eos\",\"rouge1\":0.5,"
                         "\"rouge2\":0.5,\"rougeL\":0.5,\"meteor\":0.5,\"sentence_bleu\":0.5,\"nll\":0.5,"
                         "\"nll_pref\":0.5,\"nll_other\":0.5,\"phrase_recall\":null,\"target_tokens\":7,"
                         "\"phrases_used\":1,\"phrases\":4}");
  free(s);
  json_decref(j);
  eval_run_settings st = {.decoding = "greedy", .penalize_prompt = 1, .rouge_stemming = 0, .seed = -1};
  j = eval_out_object(eval_settings_fields, &st, 0);
  assert_true(json_is_true(json_object_get(j, "penalize_prompt")));
  assert_true(json_is_false(json_object_get(j, "rouge_stemming")));
  assert_int_equal(json_integer_value(json_object_get(j, "seed")), -1);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_docs_list_exactly_the_keys),
      cmocka_unit_test(test_score_fields_are_the_metric_keys),
      cmocka_unit_test(test_object_walker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
