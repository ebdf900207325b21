// One JSONL record -> one shard_sample (see shard.h): keys and split, the history items,
// both prompts rendered and tokenized, the target and its truth flags.
#include "shard/shard.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "pipeline/corpus.h"
#include "text/bm25.h"
#include "text/template.h"

#define BAD(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

static int split_of(const shard_opts *o, const json_t *rec, const shard_src *src, const char *user,
                    int8_t *split, char *err, size_t errlen) {
  if (src && src->split >= 0) {   // the file's split (data.split_files) wins over the field
    *split = (int8_t)src->split;
    return 0;
  }
  if (*o->f_split) {
    const json_t *v = json_path_get(rec, o->f_split);
    if (!v) { snprintf(err, errlen, "field '%s': missing", o->f_split); return -1; }
    const char *s = json_is_string(v) ? json_string_value(v) : NULL;
    if (s && !strcmp(s, "train")) *split = SPLIT_TRAIN;
    else if (s && (!strcmp(s, "valid") || !strcmp(s, "validation") || !strcmp(s, "dev") || !strcmp(s, "val")))
      *split = SPLIT_VALID;
    else if (s && !strcmp(s, "test")) *split = SPLIT_TEST;
    else {
      snprintf(err, errlen, "field '%s': expected \"train\", \"valid\" (or \"dev\") or \"test\"", o->f_split);
      return -1;
    }
    return 0;
  }
  // fallback: by a hash of the user, so all of a user's samples share a split
  uint64_t h = fnv1a64(user, strlen(user));
  // FNV's high bits barely move between short similar ids ("user1", "user2"): mix (murmur3 fmix64)
  h ^= h >> 33, h *= 0xff51afd7ed558ccdULL, h ^= h >> 33, h *= 0xc4ceb9fe1a85ec53ULL, h ^= h >> 33;
  double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
  *split = u < o->test_fraction ? SPLIT_TEST : u < o->test_fraction + o->valid_fraction ? SPLIT_VALID : SPLIT_TRAIN;
  return 0;
}

typedef struct { const json_t *item; size_t index; double score; size_t pos; } hist_item;
static const char *g_order_field;   // qsort has no context argument in C11

// Oldest first: by the order field (numbers numerically, strings bytewise), then file order.
static int cmp_hist(const void *a, const void *b) {
  const hist_item *x = a, *y = b;
  if (g_order_field) {
    const json_t *u = json_path_get(x->item, g_order_field), *v = json_path_get(y->item, g_order_field);
    int c = 0;
    if (json_is_string(u)) c = strcmp(json_string_value(u), json_string_value(v));
    else {
      double p = json_number_value(u), q = json_number_value(v);
      c = (p > q) - (p < q);
    }
    if (c) return c;
  }
  return (x->index > y->index) - (x->index < y->index);
}

// BM25 rank order: higher score first; equal scores, the newer item first (larger pos).
static int cmp_relevance(const void *a, const void *b) {
  const hist_item *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  return (x->pos < y->pos) - (x->pos > y->pos);
}

// The record's items checked and sorted oldest first (it[i].pos = i); *n_out of them.
static int sorted_items(const shard_opts *o, const json_t *rec, hist_item **out, size_t *n_out, char *err,
                        size_t errlen) {
  const json_t *h = json_path_get(rec, o->f_history);
  if (!h) { snprintf(err, errlen, "field '%s': missing", o->f_history); return -1; }
  if (!json_is_array(h)) { snprintf(err, errlen, "field '%s': expected an array of objects", o->f_history); return -1; }
  size_t n = json_array_size(h);
  hist_item *it = xcalloc(n ? n : 1, sizeof *it);
  int kind = 0;   // 1 string, 2 number
  for (size_t i = 0; i < n; i++) {
    it[i].item = json_array_get(h, i);
    it[i].index = i;
    if (!json_is_object(it[i].item)) {
      free(it);
      snprintf(err, errlen, "field '%s[%zu]': expected an object", o->f_history, i);
      return -1;
    }
    if (*o->f_order) {
      const json_t *v = json_path_get(it[i].item, o->f_order);
      int k = json_is_string(v) ? 1 : json_is_number(v) ? 2 : 0;
      if (!k || (kind && k != kind)) {
        free(it);
        snprintf(err, errlen, "field '%s[%zu].%s': %s", o->f_history, i, o->f_order,
                 !v ? "missing" : "expected strings or numbers throughout");
        return -1;
      }
      kind = k;
    }
  }
  g_order_field = *o->f_order ? o->f_order : NULL;
  qsort(it, n, sizeof *it, cmp_hist);
  for (size_t i = 0; i < n; i++) it[i].pos = i;
  *out = it, *n_out = n;
  return 0;
}

// bm25: it[].score of every item, each rendered by the item template without budgets (the
// document) against the record's query field; then it[] in rank order (cmp_relevance).
static int rank_by_bm25(const shard_opts *o, const json_t *rec, hist_item *it, size_t n, char *err, size_t errlen) {
  const json_t *q = json_path_get(rec, o->f_query);
  if (!q) { snprintf(err, errlen, "field '%s': missing (data.fields.query)", o->f_query); return -1; }
  if (!json_is_string(q)) { snprintf(err, errlen, "field '%s': expected a string (data.fields.query)", o->f_query); return -1; }
  char **docs = xcalloc(n + 1, sizeof *docs);
  double *score = xcalloc(n + 1, sizeof *score);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    strbuf b;
    sb_init(&b);
    char e2[512];
    rc = tpl_render(o->item_tpl, "data.history_item_template", it[i].item, NULL, NULL, &b, e2, sizeof e2);
    if (rc) snprintf(err, errlen, "%s[%zu]: %s", o->f_history, it[i].index, e2);
    sb_puts(&b, "");
    docs[i] = sb_detach(&b);
  }
  if (!rc) bm25_scores(json_string_value(q), (const char *const *)docs, (int)n, o->bm25_k1, o->bm25_b, score);
  for (size_t i = 0; i < n; i++) it[i].score = score[i], free(docs[i]);
  free(docs), free(score);
  if (!rc) qsort(it, n, sizeof *it, cmp_relevance);
  return rc;
}

// The K = max_history_items items a prompt shows, in prompt order, rendered one string each:
// recent, the newest K oldest first; bm25, the K of highest score, least relevant first (the
// most relevant sits next to the query, and a prompt over budget drops from the front).
// *cand (may be NULL): every item in time order with its score and whether it was kept.
static int history_items(const shard_opts *o, const json_t *rec, tpl_budget *budget, char ***out, int *n_out,
                         shard_hist_cand **cand, int32_t *n_cand, char *err, size_t errlen) {
  *out = NULL;
  *n_out = 0;
  hist_item *it;
  size_t n;
  if (sorted_items(o, rec, &it, &n, err, errlen)) return -1;
  size_t k = n > (size_t)o->max_history_items ? (size_t)o->max_history_items : n;
  hist_item *keep = it + (n - k);   // recent: the newest k, oldest first
  if (o->select_bm25) {
    if (rank_by_bm25(o, rec, it, n, err, errlen)) { free(it); return -1; }
    for (size_t i = 0; i < k / 2; i++) {   // the top k, reversed: least relevant first
      hist_item t = it[i];
      it[i] = it[k - 1 - i], it[k - 1 - i] = t;
    }
    keep = it;
  }
  if (cand) {
    *cand = xcalloc(n + 1, sizeof **cand);
    *n_cand = (int32_t)n;
    for (size_t i = 0; i < n; i++)
      (*cand)[it[i].pos] = (shard_hist_cand){(int32_t)it[i].index, it[i].score, (int8_t)(it + i >= keep && it + i < keep + k)};
  }
  char **r = xcalloc(k + 1, sizeof *r);
  for (size_t i = 0; i < k; i++) {
    strbuf b;
    sb_init(&b);
    char e2[512];
    if (tpl_render(o->item_tpl, "data.history_item_template", keep[i].item, NULL, budget, &b, e2, sizeof e2)) {
      snprintf(err, errlen, "%s[%zu]: %s", o->f_history, keep[i].index, e2);
      sb_free(&b);
      for (size_t j = 0; j < i; j++) free(r[j]);
      free(r), free(it);
      if (cand) free(*cand), *cand = NULL, *n_cand = 0;
      return -1;
    }
    sb_puts(&b, "");
    r[i] = sb_detach(&b);
  }
  free(it);
  *out = r;
  *n_out = (int)k;
  return 0;
}

static void free_items(char **items, int n) {
  for (int i = 0; i < n; i++) free(items[i]);
  free(items);
}

// Prompt with items [k0, n) of the kept history (k0 == n: empty_history).
static int render_prompt(const shard_opts *o, const json_t *rec, char **items, int k0, int n,
                         tpl_budget *budget, strbuf *out, char *err, size_t errlen) {
  strbuf h;
  sb_init(&h);
  if (k0 >= n) sb_puts(&h, o->empty_history);
  for (int i = k0; i < n; i++) sb_puts(&h, items[i]);
  sb_puts(&h, "");
  out->len = 0;
  int rc = tpl_render(o->prompt_tpl, "data.prompt_template", rec, h.data, budget, out, err, errlen);
  sb_puts(out, "");
  sb_free(&h);
  return rc;
}

// The target: a field of the record, or of its joined targets record (data.targets).
static int target_text(const shard_opts *o, const json_t *rec, const shard_src *src, const char **s, size_t *len,
                       char *err, size_t errlen) {
  const char *field = src && src->gold ? o->f_gold_target : o->f_target;
  const char *where = src && src->gold ? " of its targets record" : "";
  const json_t *v = json_path_get(src && src->gold ? src->gold : rec, field);
  if (!v) { snprintf(err, errlen, "field '%s'%s: missing", field, where); return -1; }
  if (!json_is_string(v)) { snprintf(err, errlen, "field '%s'%s: expected a string", field, where); return -1; }
  *s = json_string_value(v);
  *len = json_string_length(v);
  // an empty target would train (and score) an end-of-text-only sample without a word
  if (*len == 0) { snprintf(err, errlen, "field '%s'%s: empty target", field, where); return -1; }
  return 0;
}

// Token i is 1 when its bytes overlap any span [s, e) whose flag (NULL = all) is set.
static void mark_spans(const json_t *spans, const json_t *flags, const int32_t *tok_end, int32_t n,
                       uint8_t *out) {
  for (size_t k = 0; k < json_array_size(spans); k++) {
    if (flags && !json_is_true(json_array_get(flags, k))) continue;
    const json_t *sp = json_array_get(spans, k);
    long long s = json_integer_value(json_array_get(sp, 0)), e = json_integer_value(json_array_get(sp, 1));
    for (int32_t i = 0; i < n; i++) {
      long long a = i ? tok_end[i - 1] : 0, b = tok_end[i];
      if (a < e && s < b) out[i] = 1;
    }
  }
}


// ---- the sample, step by step ----------------------------------------------------------
// Working state of one sample's construction: sample_work_free releases it on every path.
typedef struct {
  const char *target;         // the target text (inside the record) and its bytes
  size_t target_bytes;
  const json_t *spans, *rare; // the truth fields, NULL when not configured
  const json_t *decisive;     // data.fields.truth_decisive spans, NULL when not configured
  char **items;               // rendered history items, oldest first
  int n_items;
  strbuf text;                // the prompt being tokenized
  int32_t *prompt;            // its tokens
  size_t np, cp;
  int32_t *tgt;               // target tokens, ending in <|endoftext|>
  size_t nt, ct;
  tpl_budget budget;          // {field:N} placeholders; .truncated once any was cut
} sample_work;

static void sample_work_init(sample_work *w) {
  memset(w, 0, sizeof *w);
  sb_init(&w->text);
}

static void sample_work_free(sample_work *w) {
  free_items(w->items, w->n_items);
  sb_free(&w->text);
  free(w->prompt), free(w->tgt);
}

// id, user and split of the record.
static int read_keys(const shard_opts *o, const json_t *rec, const shard_src *src, shard_sample *s, char *err,
                     size_t errlen) {
  if (!*o->f_id && src && src->auto_id) s->id = xstrdup(src->auto_id);
  else if (corpus_key_text(rec, o->f_id, &s->id, err, errlen)) return -1;
  if (corpus_key_text(rec, o->f_user, &s->user, err, errlen)) return -1;
  return split_of(o, rec, src, s->user, &s->split, err, errlen);
}

int shard_sample_split(const shard_opts *o, const json_t *rec, const shard_src *src, char *err, size_t errlen) {
  shard_sample s;
  memset(&s, 0, sizeof s);
  int rc = read_keys(o, rec, src, &s, err, errlen);
  int split = rc ? -1 : s.split;
  shard_sample_free(&s);
  return split;
}

// data.fields.truth_spans (and truth_decisive): [start, end) byte offsets inside the target.
static int read_spans(const char *field, const json_t *rec, const sample_work *w, const json_t **out,
                      char *err, size_t errlen) {
  const json_t *spans = *out = json_path_get(rec, field);
  if (!spans) BAD("field '%s': missing", field);
  if (!json_is_array(spans)) BAD("field '%s': expected an array of [start, end] byte offsets", field);
  for (size_t k = 0; k < json_array_size(spans); k++) {
    const json_t *sp = json_array_get(spans, k);
    if (!json_is_array(sp) || json_array_size(sp) != 2 || !json_is_integer(json_array_get(sp, 0)) ||
        !json_is_integer(json_array_get(sp, 1)))
      BAD("field '%s[%zu]': expected [start, end] integers", field, k);
    long long a = json_integer_value(json_array_get(sp, 0)), b = json_integer_value(json_array_get(sp, 1));
    if (a < 0 || a > b || b > (long long)w->target_bytes)
      BAD("field '%s[%zu]': span [%lld, %lld) is outside the %zu-byte target", field, k, a, b, w->target_bytes);
  }
  return 0;
}

// data.fields.truth_rare: one boolean per span.
static int read_rare(const shard_opts *o, const json_t *rec, sample_work *w, char *err, size_t errlen) {
  const json_t *rare = w->rare = json_path_get(rec, o->f_truth_rare);
  if (!rare) BAD("field '%s': missing", o->f_truth_rare);
  if (!json_is_array(rare) || json_array_size(rare) != json_array_size(w->spans))
    BAD("field '%s': expected an array of booleans, one per %s entry", o->f_truth_rare, o->f_truth);
  for (size_t k = 0; k < json_array_size(rare); k++)
    if (!json_is_boolean(json_array_get(rare, k))) BAD("field '%s[%zu]': expected a boolean", o->f_truth_rare, k);
  return 0;
}

// The target and the truth fields: every check of a record that needs no tokenizer, shared by
// the samples and the tokenizer's texts (a record bad here is left out of both).
static int target_and_truth(const shard_opts *o, const json_t *rec, const shard_src *src, sample_work *w,
                            char *err, size_t errlen) {
  int rc = target_text(o, rec, src, &w->target, &w->target_bytes, err, errlen);
  if (!rc && *o->f_truth) rc = read_spans(o->f_truth, rec, w, &w->spans, err, errlen);
  if (!rc && *o->f_truth && *o->f_truth_decisive) rc = read_spans(o->f_truth_decisive, rec, w, &w->decisive, err, errlen);
  if (!rc && *o->f_truth && *o->f_truth_rare) rc = read_rare(o, rec, w, err, errlen);
  return rc;
}

int shard_sample_texts(const shard_opts *o, const json_t *rec, const shard_src *src, char **prompt,
                       char **target, char *err, size_t errlen) {
  sample_work w;
  sample_work_init(&w);
  int rc = target_and_truth(o, rec, src, &w, err, errlen);
  if (!rc) rc = history_items(o, rec, NULL, &w.items, &w.n_items, NULL, NULL, err, errlen);
  if (!rc) rc = render_prompt(o, rec, w.items, 0, w.n_items, NULL, &w.text, err, errlen);
  if (!rc) {
    *prompt = xstrdup(w.text.data);
    *target = xmalloc(w.target_bytes + 1);
    memcpy(*target, w.target, w.target_bytes + 1);
  }
  sample_work_free(&w);
  return rc ? -1 : 0;
}

// The target tokenized alone, cut to max_target_tokens including <|endoftext|>.
static int encode_target(const shard_opts *o, const tokenizer *t, sample_work *w, shard_sample *s,
                         char *err, size_t errlen) {
  if (tok_encode(t, w->target, w->target_bytes, &w->tgt, &w->nt, &w->ct))
    BAD("field '%s': not valid UTF-8", o->f_target);
  if (w->nt > (size_t)o->max_target_tokens - 1) {
    w->nt = (size_t)o->max_target_tokens - 1;
    s->target_cut = 1;
  }
  int eos = tok_special_id(t, "<|endoftext|>");
  if (eos < 0) error("the tokenizer has no <|endoftext|> token");
  if (w->nt + 1 > w->ct) w->tgt = xrealloc(w->tgt, (w->ct = w->nt + 1) * sizeof *w->tgt);
  w->tgt[w->nt++] = eos;
  s->target_len = (int32_t)w->nt;
  return 0;
}

// Per target token: 1 when its bytes overlap a span (and, for truth_rare, a flagged one).
static void mark_truth(const tokenizer *t, const sample_work *w, shard_sample *s) {
  if (!w->spans) return;
  size_t nt = w->nt;
  int32_t *tok_end = xcalloc(nt, sizeof *tok_end), at = 0;
  char buf[256];
  for (size_t i = 0; i + 1 < nt; i++) {
    int b = tok_token_bytes(t, w->tgt[i], buf, sizeof buf);
    if (b < 0) error("token id %d has no bytes", w->tgt[i]);
    at += b;
    tok_end[i] = at;
  }
  tok_end[nt - 1] = at;   // <|endoftext|> covers no target bytes
  s->truth = xcalloc(nt, 1);
  mark_spans(w->spans, NULL, tok_end, (int32_t)nt - 1, s->truth);
  if (w->rare) {
    s->truth_rare = xcalloc(nt, 1);
    mark_spans(w->spans, w->rare, tok_end, (int32_t)nt - 1, s->truth_rare);
  }
  if (w->decisive) {
    s->truth_decisive = xcalloc(nt, 1);
    mark_spans(w->decisive, NULL, tok_end, (int32_t)nt - 1, s->truth_decisive);
  }
  free(tok_end);
}

// w->prompt = the tokens of the prompt with history items [k0, n_items).
static int encode_prompt(const shard_opts *o, const tokenizer *t, const json_t *rec, sample_work *w, int k0,
                         char *err, size_t errlen) {
  w->np = 0;
  if (render_prompt(o, rec, w->items, k0, w->n_items, &w->budget, &w->text, err, errlen)) return -1;
  if (tok_encode(t, w->text.data, w->text.len, &w->prompt, &w->np, &w->cp)) BAD("prompt is not valid UTF-8");
  return 0;
}

// The prompt's tokens followed by the target's, as a new array.
static int32_t *prompt_and_target(const sample_work *w, int32_t *len) {
  *len = (int32_t)(w->np + w->nt);
  int32_t *seq = xmalloc((size_t)*len * sizeof *seq);
  memcpy(seq, w->prompt, w->np * sizeof *seq);
  memcpy(seq + w->np, w->tgt, w->nt * sizeof *seq);
  return seq;
}

// Without history: must fit, or the record is bad.
static int without_history(const shard_opts *o, const tokenizer *t, const json_t *rec, sample_work *w,
                           shard_sample *s, char *err, size_t errlen) {
  if (encode_prompt(o, t, rec, w, w->n_items, err, errlen)) return -1;
  if (w->np > (size_t)o->max_prompt_tokens)
    BAD("the prompt has %zu tokens even without history, more than data.max_prompt_tokens = %d "
        "(give a long field a budget in the template, e.g. {input:256})", w->np, o->max_prompt_tokens);
  s->nohist = prompt_and_target(w, &s->nohist_len);
  return 0;
}

// With history: drop the oldest whole items until it fits; when none fits, the prompt
// without history.
static int with_history(const shard_opts *o, const tokenizer *t, const json_t *rec, sample_work *w,
                        shard_sample *s, char *err, size_t errlen) {
  int k0 = 0;
  for (; k0 < w->n_items; k0++) {
    if (encode_prompt(o, t, rec, w, k0, err, errlen)) return -1;
    if (w->np <= (size_t)o->max_prompt_tokens) break;
  }
  if (k0 == w->n_items && encode_prompt(o, t, rec, w, w->n_items, err, errlen)) return -1;
  s->n_hist = w->n_items - k0;
  s->hist_dropped = k0;
  s->hist = prompt_and_target(w, &s->hist_len);
  return 0;
}

int shard_sample_make(const shard_opts *o, const tokenizer *t, const json_t *rec, const shard_src *src,
                      shard_sample *s, shard_counts *n, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  sample_work w;
  sample_work_init(&w);
  w.budget = (tpl_budget){.tok = t, .cut_start = o->cut_start};
  int rc = read_keys(o, rec, src, s, err, errlen);
  if (!rc) rc = target_and_truth(o, rec, src, &w, err, errlen);
  if (!rc) rc = history_items(o, rec, &w.budget, &w.items, &w.n_items, &s->cand, &s->n_cand, err, errlen);
  if (!rc) rc = encode_target(o, t, &w, s, err, errlen);
  if (!rc) mark_truth(t, &w, s);
  if (!rc) rc = without_history(o, t, rec, &w, s, err, errlen);
  if (!rc) rc = with_history(o, t, rec, &w, s, err, errlen);
  s->field_cut = (uint8_t)w.budget.truncated;
  sample_work_free(&w);
  if (rc) shard_sample_free(s);
  else n->truncated_targets += s->target_cut, n->truncated_fields += s->field_cut;
  return rc;
}

void shard_sample_free(shard_sample *s) {
  free(s->id), free(s->user), free(s->hist), free(s->nohist), free(s->truth), free(s->truth_rare);
  free(s->truth_decisive), free(s->cand);
  memset(s, 0, sizeof *s);
}
