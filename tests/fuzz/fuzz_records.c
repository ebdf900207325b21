// Fuzz target: a corpus file as nq-shard and nq-eval read it, and a prompt template over its
// records. Input: one option byte, a template, a NUL byte, then the file (no NUL: the default
// template and the rest is the file). Option bits: 0-1 format (auto, jsonl, json, auto),
// 2 list path "golds" (LaMP outputs files), 3-4 ranks - 1 (each rank's part is read, as
// with mpirun -n), 5 budgets cut the start, 6 a rendered history is passed.
// Per record (rec_next checks every string: UTF-8, no NUL): its place (rec_where,
// corpus_auto_id), the id/user fields (corpus_key_text) escaped for a terminal, and
// the template rendered with {field:N} budgets counted by the test tokenizer.
#include "fuzz.h"

#include "base/records.h"
#include "base/term_escape.h"
#include "base/utf8.h"
#include "pipeline/corpus.h"
#include "text/template.h"

#define DEFAULT_TPL "{input:8} | {profile.0.text:4} | {history} {{x}} {user_id}"
#define TOKENIZER "tests/integration/eval/golden_tokenizer.json"

static const tokenizer *test_tokenizer(void) {
  static tokenizer *tok;
  if (!tok) {
    char err[512];
    const char *p = getenv("NQ_FUZZ_TOKENIZER");
    tok = tok_load_json(p ? p : TOKENIZER, err, sizeof err);
    if (!tok) { fprintf(stderr, "fuzz_records: %s (run from the repository root)\n", err); abort(); }
  }
  return tok;
}

static void one_record(const rec_reader *r, json_t *obj, const char *tpl, int tpl_ok, int opt) {
  char where[256], id[256], err[512];
  rec_where(r, where, sizeof where);
  corpus_auto_id(r, id, sizeof id);
  (void)rec_number(r);
  const char *keys[] = {"id", "user_id", "profile.0.id"};
  for (int k = 0; k < 3; k++) {
    char *s = NULL;
    if (corpus_key_text(obj, keys[k], &s, err, sizeof err) == 0) {
      strbuf shown;   // as a terminal would get it (nq-report --user, --preview)
      sb_init(&shown);
      term_escape(&shown, s, strlen(s), k);
      sb_free(&shown);
      free(s);
    }
  }
  if (!tpl_ok) return;
  tpl_budget b = {.tok = test_tokenizer(), .cut_start = (opt >> 5) & 1};
  strbuf out;
  sb_init(&out);
  tpl_render(tpl, "fuzz.template", obj, (opt & 64) ? "earlier text" : NULL, &b, &out, err, sizeof err);
  sb_free(&out);
}

static void read_all(const char *path, int opt, const char *tpl, int tpl_ok) {
  static const rec_format formats[] = {REC_AUTO, REC_JSONL, REC_JSON, REC_AUTO};
  const char *list_path = (opt & 4) ? "golds" : "";
  int size = ((opt >> 3) & 3) + 1;
  for (int rank = 0; rank < size; rank++) {
    rec_reader r;
    char err[512];
    if (rec_open(&r, path, formats[opt & 3], list_path, rank, size, err, sizeof err)) {
      rec_close(&r);   // a failed open keeps the file open until closed (as shard_run.c does)
      continue;
    }
    json_t *obj;
    int rc;
    for (int n = 0; n < 100000 && (rc = rec_next(&r, &obj, err, sizeof err)) != 0 && rc != -2; n++) {
      if (rc == 1) { one_record(&r, obj, tpl, tpl_ok, opt); json_decref(obj); }
    }
    rec_close(&r);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int opt = data[0];
  data++, size--;
  const uint8_t *nul = memchr(data, 0, size);
  char *volatile tpl;
  if (nul) {
    tpl = strndup((const char *)data, (size_t)(nul - data));
    size -= (size_t)(nul - data) + 1;
    data = nul + 1;
  } else {
    tpl = strdup(DEFAULT_TPL);
  }
  test_tokenizer();
  FZ_TRY(tpl_check(tpl, "fuzz.template"));
  int tpl_ok = !fz_fataled;
  const char *path = fz_write_file("input", data, size);
  FZ_TRY(read_all(path, opt, tpl, tpl_ok));
  free(tpl);
  return 0;
}
