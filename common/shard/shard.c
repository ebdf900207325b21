// nq-shard's logic without MPI (see shard.h); dataset names are written here only.
#include "shard/shard.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "formats/provenance.h"
#include "text/template.h"

// ---- options -------------------------------------------------------------------------
void shard_opts_from_config(shard_opts *o, const config *c) {
  o->f_id = cfg_str(c, "data.fields.id");
  o->f_user = cfg_str(c, "data.fields.user");
  o->f_history = cfg_str(c, "data.fields.history");
  o->f_target = cfg_str(c, "data.fields.target");
  o->f_order = cfg_str(c, "data.fields.history_order");
  o->f_split = cfg_str(c, "data.fields.split");
  o->f_truth = cfg_str(c, "data.fields.truth_spans");
  o->f_truth_rare = cfg_str(c, "data.fields.truth_rare");
  o->prompt_tpl = cfg_str(c, "data.prompt_template");
  o->item_tpl = cfg_str(c, "data.history_item_template");
  o->empty_history = cfg_str(c, "data.empty_history");
  o->max_history_items = (int)cfg_int(c, "data.max_history_items");
  o->max_prompt_tokens = (int)cfg_int(c, "data.max_prompt_tokens");
  o->max_target_tokens = (int)cfg_int(c, "data.max_target_tokens");
  o->valid_fraction = cfg_float(c, "data.split_fallback.valid_fraction");
  o->test_fraction = cfg_float(c, "data.split_fallback.test_fraction");
  o->skip_bad = strcmp(cfg_str(c, "data.on_bad_record"), "skip") == 0;
  if (o->valid_fraction + o->test_fraction > 1.0)
    fatal("%s: data.split_fallback: valid_fraction + test_fraction must be <= 1", config_path(c));
  if (*o->f_truth_rare && !*o->f_truth)
    fatal("%s: data.fields.truth_rare needs data.fields.truth_spans", config_path(c));
  tpl_check(o->prompt_tpl, "data.prompt_template");
  tpl_check(o->item_tpl, "data.history_item_template");
  if (!strstr(o->prompt_tpl, "{history}"))
    fatal("%s: data.prompt_template must contain {history}", config_path(c));
}

// ---- one sample ----------------------------------------------------------------------
#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto fail; } while (0)

// id / user: a string or an integer, as text.
static int key_text(const json_t *rec, const char *field, char **out, char *err, size_t errlen) {
  const json_t *v = json_path_get(rec, field);
  char num[32];
  if (!v) { snprintf(err, errlen, "field '%s': missing", field); return -1; }
  if (json_is_string(v)) { *out = xstrdup(json_string_value(v)); return 0; }
  if (json_is_integer(v)) {
    snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
    *out = xstrdup(num);
    return 0;
  }
  snprintf(err, errlen, "field '%s': expected a string or integer", field);
  return -1;
}

static int split_of(const shard_opts *o, const json_t *rec, const char *user, int8_t *split,
                    char *err, size_t errlen) {
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

typedef struct { const json_t *item; size_t index; } hist_item;
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

// The newest max_history_items items, oldest first, rendered one string each.
static int history_items(const shard_opts *o, const json_t *rec, char ***out, int *n_out,
                         char *err, size_t errlen) {
  const json_t *h = json_path_get(rec, o->f_history);
  *out = NULL;
  *n_out = 0;
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
  size_t first = n > (size_t)o->max_history_items ? n - (size_t)o->max_history_items : 0;
  char **r = xcalloc(n - first + 1, sizeof *r);
  for (size_t i = first; i < n; i++) {
    strbuf b;
    sb_init(&b);
    char e2[512];
    if (tpl_render(o->item_tpl, "data.history_item_template", it[i].item, NULL, &b, e2, sizeof e2)) {
      snprintf(err, errlen, "%s[%zu]: %s", o->f_history, it[i].index, e2);
      sb_free(&b);
      for (size_t j = first; j < i; j++) free(r[j - first]);
      free(r);
      free(it);
      return -1;
    }
    r[i - first] = sb_detach(&b);
  }
  free(it);
  *out = r;
  *n_out = (int)(n - first);
  return 0;
}

static void free_items(char **items, int n) {
  for (int i = 0; i < n; i++) free(items[i]);
  free(items);
}

// Prompt with items [k0, n) of the kept history (k0 == n: empty_history).
static int render_prompt(const shard_opts *o, const json_t *rec, char **items, int k0, int n,
                         strbuf *out, char *err, size_t errlen) {
  strbuf h;
  sb_init(&h);
  if (k0 >= n) sb_puts(&h, o->empty_history);
  for (int i = k0; i < n; i++) sb_puts(&h, items[i]);
  sb_puts(&h, "");
  out->len = 0;
  int rc = tpl_render(o->prompt_tpl, "data.prompt_template", rec, h.data, out, err, errlen);
  sb_puts(out, "");
  sb_free(&h);
  return rc;
}

static int target_text(const shard_opts *o, const json_t *rec, const char **s, size_t *len,
                       char *err, size_t errlen) {
  const json_t *v = json_path_get(rec, o->f_target);
  if (!v) { snprintf(err, errlen, "field '%s': missing", o->f_target); return -1; }
  if (!json_is_string(v)) { snprintf(err, errlen, "field '%s': expected a string", o->f_target); return -1; }
  *s = json_string_value(v);
  *len = json_string_length(v);
  return 0;
}

int shard_sample_texts(const shard_opts *o, const json_t *rec, char **prompt, char **target,
                       char *err, size_t errlen) {
  char **items;
  int n;
  const char *t;
  size_t tlen;
  if (target_text(o, rec, &t, &tlen, err, errlen)) return -1;
  if (history_items(o, rec, &items, &n, err, errlen)) return -1;
  strbuf p;
  sb_init(&p);
  int rc = render_prompt(o, rec, items, 0, n, &p, err, errlen);
  free_items(items, n);
  if (rc) { sb_free(&p); return -1; }
  *prompt = sb_detach(&p);
  *target = xmalloc(tlen + 1);
  memcpy(*target, t, tlen + 1);
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

int shard_sample_make(const shard_opts *o, const tokenizer *t, const json_t *rec, shard_sample *s,
                      long *truncated, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  char **items = NULL;
  int n_items = 0;
  strbuf p;
  sb_init(&p);
  int32_t *prompt = NULL, *tgt = NULL, *tok_end = NULL;
  size_t np = 0, cp = 0, nt = 0, ct = 0, nn = 0;
  const char *ttext;
  size_t tlen;
  const json_t *spans = NULL, *rare = NULL;

  if (key_text(rec, o->f_id, &s->id, err, errlen)) goto fail;
  if (key_text(rec, o->f_user, &s->user, err, errlen)) goto fail;
  if (split_of(o, rec, s->user, &s->split, err, errlen)) goto fail;
  if (target_text(o, rec, &ttext, &tlen, err, errlen)) goto fail;
  if (*o->f_truth) {
    spans = json_path_get(rec, o->f_truth);
    if (!spans) FAIL("field '%s': missing", o->f_truth);
    if (!json_is_array(spans)) FAIL("field '%s': expected an array of [start, end] byte offsets", o->f_truth);
    for (size_t k = 0; k < json_array_size(spans); k++) {
      const json_t *sp = json_array_get(spans, k);
      if (!json_is_array(sp) || json_array_size(sp) != 2 || !json_is_integer(json_array_get(sp, 0)) ||
          !json_is_integer(json_array_get(sp, 1)))
        FAIL("field '%s[%zu]': expected [start, end] integers", o->f_truth, k);
      long long a = json_integer_value(json_array_get(sp, 0)), b = json_integer_value(json_array_get(sp, 1));
      if (a < 0 || a > b || b > (long long)tlen)
        FAIL("field '%s[%zu]': span [%lld, %lld) is outside the %zu-byte target", o->f_truth, k, a, b, tlen);
    }
    if (*o->f_truth_rare) {
      rare = json_path_get(rec, o->f_truth_rare);
      if (!rare) FAIL("field '%s': missing", o->f_truth_rare);
      if (!json_is_array(rare) || json_array_size(rare) != json_array_size(spans))
        FAIL("field '%s': expected an array of booleans, one per %s entry", o->f_truth_rare, o->f_truth);
      for (size_t k = 0; k < json_array_size(rare); k++)
        if (!json_is_boolean(json_array_get(rare, k))) FAIL("field '%s[%zu]': expected a boolean", o->f_truth_rare, k);
    }
  }
  if (history_items(o, rec, &items, &n_items, err, errlen)) goto fail;

  // target: tokenized alone, truncated to max_target_tokens including <|endoftext|>
  if (tok_encode(t, ttext, tlen, &tgt, &nt, &ct)) FAIL("field '%s': not valid UTF-8", o->f_target);
  if (nt > (size_t)o->max_target_tokens - 1) {
    nt = (size_t)o->max_target_tokens - 1;
    (*truncated)++;
  }
  int eos = tok_special_id(t, "<|endoftext|>");
  if (eos < 0) error("the tokenizer has no <|endoftext|> token");
  if (nt + 1 > ct) tgt = xrealloc(tgt, (ct = nt + 1) * sizeof *tgt);
  tgt[nt++] = eos;
  s->target_len = (int32_t)nt;
  if (spans) {
    tok_end = xcalloc(nt, sizeof *tok_end);
    int32_t at = 0;
    char buf[256];
    for (size_t i = 0; i + 1 < nt; i++) {
      int b = tok_token_bytes(t, tgt[i], buf, sizeof buf);
      if (b < 0) error("token id %d has no bytes", tgt[i]);
      at += b;
      tok_end[i] = at;
    }
    tok_end[nt - 1] = at;   // <|endoftext|> covers no target bytes
    s->truth = xcalloc(nt, 1);
    mark_spans(spans, NULL, tok_end, (int32_t)nt - 1, s->truth);
    if (rare) {
      s->truth_rare = xcalloc(nt, 1);
      mark_spans(spans, rare, tok_end, (int32_t)nt - 1, s->truth_rare);
    }
  }

  // without history: must fit, or the record is bad
  if (render_prompt(o, rec, items, n_items, n_items, &p, err, errlen)) goto fail;
  if (tok_encode(t, p.data, p.len, &prompt, &np, &cp)) FAIL("prompt is not valid UTF-8");
  if (np > (size_t)o->max_prompt_tokens)
    FAIL("the prompt has %zu tokens even without history, more than data.max_prompt_tokens = %d", np,
         o->max_prompt_tokens);
  s->nohist_len = (int32_t)(np + nt);
  s->nohist = xmalloc(((size_t)s->nohist_len) * sizeof *s->nohist);
  memcpy(s->nohist, prompt, np * sizeof *prompt);
  memcpy(s->nohist + np, tgt, nt * sizeof *tgt);

  // with history: drop the oldest whole items until it fits
  int k0 = 0;
  for (; k0 < n_items; k0++) {
    nn = 0;
    if (render_prompt(o, rec, items, k0, n_items, &p, err, errlen)) goto fail;
    if (tok_encode(t, p.data, p.len, &prompt, &nn, &cp)) FAIL("prompt is not valid UTF-8");
    if (nn <= (size_t)o->max_prompt_tokens) break;
  }
  if (k0 == n_items) {   // no item fits: the same prompt as without history
    nn = np;
    if (render_prompt(o, rec, items, n_items, n_items, &p, err, errlen)) goto fail;
    nn = 0;
    if (tok_encode(t, p.data, p.len, &prompt, &nn, &cp)) FAIL("prompt is not valid UTF-8");
  }
  s->n_hist = n_items - k0;
  s->hist_len = (int32_t)(nn + nt);
  s->hist = xmalloc(((size_t)s->hist_len) * sizeof *s->hist);
  memcpy(s->hist, prompt, nn * sizeof *prompt);
  memcpy(s->hist + nn, tgt, nt * sizeof *tgt);

  free_items(items, n_items);
  sb_free(&p);
  free(prompt), free(tgt), free(tok_end);
  return 0;
fail:
  free_items(items, n_items);
  sb_free(&p);
  free(prompt), free(tgt), free(tok_end);
  shard_sample_free(s);
  return -1;
}

void shard_sample_free(shard_sample *s) {
  free(s->id), free(s->user), free(s->hist), free(s->nohist), free(s->truth), free(s->truth_rare);
  memset(s, 0, sizeof *s);
}

// ---- serialization -------------------------------------------------------------------
static void put(strbuf *b, const void *p, size_t n) { sb_append(b, (const char *)p, n); }
static void put_str(strbuf *b, const char *s) {
  uint32_t n = (uint32_t)strlen(s);
  put(b, &n, sizeof n);
  put(b, s, n);
}

void shard_sample_pack(const shard_sample *s, strbuf *b) {
  put(b, &s->order, sizeof s->order);
  put_str(b, s->id);
  put_str(b, s->user);
  put(b, &s->split, 1);
  uint8_t flags = (s->truth ? 1 : 0) | (s->truth_rare ? 2 : 0);
  put(b, &flags, 1);
  put(b, &s->n_hist, 4), put(b, &s->hist_len, 4), put(b, &s->nohist_len, 4), put(b, &s->target_len, 4);
  put(b, s->hist, (size_t)s->hist_len * 4);
  put(b, s->nohist, (size_t)s->nohist_len * 4);
  if (s->truth) put(b, s->truth, (size_t)s->target_len);
  if (s->truth_rare) put(b, s->truth_rare, (size_t)s->target_len);
}

typedef struct { const char *p; size_t n, at; } reader;
static void get(reader *r, void *dst, size_t n) {
  if (r->at + n > r->n) error("corrupt sample record while unpacking (%zu + %zu > %zu)", r->at, n, r->n);
  memcpy(dst, r->p + r->at, n);
  r->at += n;
}
static char *get_str(reader *r) {
  uint32_t n;
  get(r, &n, sizeof n);
  char *s = xmalloc((size_t)n + 1);
  get(r, s, n);
  s[n] = 0;
  return s;
}

size_t shard_sample_unpack(const char *p, size_t n, shard_sample *s) {
  reader r = {p, n, 0};
  memset(s, 0, sizeof *s);
  get(&r, &s->order, sizeof s->order);
  s->id = get_str(&r);
  s->user = get_str(&r);
  uint8_t flags;
  get(&r, &s->split, 1);
  get(&r, &flags, 1);
  get(&r, &s->n_hist, 4), get(&r, &s->hist_len, 4), get(&r, &s->nohist_len, 4), get(&r, &s->target_len, 4);
  if (s->hist_len < 0 || s->nohist_len < 0 || s->target_len < 0) error("corrupt sample record (negative length)");
  s->hist = xmalloc((size_t)s->hist_len * 4 + 4);
  get(&r, s->hist, (size_t)s->hist_len * 4);
  s->nohist = xmalloc((size_t)s->nohist_len * 4 + 4);
  get(&r, s->nohist, (size_t)s->nohist_len * 4);
  if (flags & 1) s->truth = xmalloc((size_t)s->target_len + 1), get(&r, s->truth, (size_t)s->target_len);
  if (flags & 2) s->truth_rare = xmalloc((size_t)s->target_len + 1), get(&r, s->truth_rare, (size_t)s->target_len);
  return r.at;
}

// ---- balancing -----------------------------------------------------------------------
static const int64_t *g_cost;
static int cmp_cost(const void *a, const void *b) {
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  if (g_cost[i] != g_cost[j]) return g_cost[i] > g_cost[j] ? -1 : 1;
  return (i > j) - (i < j);
}

void shard_assign(const int64_t *cost, size_t n, int n_shards, int32_t *shard_of) {
  size_t *idx = xmalloc((n ? n : 1) * sizeof *idx);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  g_cost = cost;
  qsort(idx, n, sizeof *idx, cmp_cost);
  int64_t *load = xcalloc((size_t)n_shards, sizeof *load);
  for (size_t k = 0; k < n; k++) {
    int best = 0;
    for (int s = 1; s < n_shards; s++)
      if (load[s] < load[best]) best = s;
    shard_of[idx[k]] = best;
    load[best] += cost[idx[k]];
  }
  free(load);
  free(idx);
}

// ---- writer --------------------------------------------------------------------------
void shard_file_name(int index, char *buf, size_t cap) { snprintf(buf, cap, "shard-%05d.h5", index); }

static int cmp_order(const void *a, const void *b) {
  const shard_sample *x = a, *y = b;
  return (x->order > y->order) - (x->order < y->order);
}
static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void shard_write(const char *path, shard_sample *s, size_t n, const shard_write_info *info) {
  qsort(s, n, sizeof *s, cmp_order);
  // user table: distinct ids of this shard, sorted
  char **users = xmalloc((n ? n : 1) * sizeof *users);
  for (size_t i = 0; i < n; i++) users[i] = s[i].user;
  qsort(users, n, sizeof *users, cmp_strp);
  size_t nu = 0;
  for (size_t i = 0; i < n; i++)
    if (nu == 0 || strcmp(users[nu - 1], users[i])) users[nu++] = users[i];

  size_t ntok = 0, ntgt = 0;
  for (size_t i = 0; i < n; i++) ntok += (size_t)s[i].hist_len + (size_t)s[i].nohist_len, ntgt += (size_t)s[i].target_len;
  int32_t *tokens = xmalloc((ntok ? ntok : 1) * sizeof *tokens);
  uint8_t *truth = info->has_truth ? xcalloc(ntgt ? ntgt : 1, 1) : NULL;
  uint8_t *truth_rare = info->has_truth_rare ? xcalloc(ntgt ? ntgt : 1, 1) : NULL;
  const char **ids = xmalloc((n ? n : 1) * sizeof *ids);
  int32_t *user = xmalloc((n ? n : 1) * 4), *hl = xmalloc((n ? n : 1) * 4), *nl = xmalloc((n ? n : 1) * 4),
          *tl = xmalloc((n ? n : 1) * 4), *hi = xmalloc((n ? n : 1) * 4);
  int64_t *ho = xmalloc((n ? n : 1) * 8), *no = xmalloc((n ? n : 1) * 8), *to = xmalloc((n ? n : 1) * 8);
  int8_t *split = xmalloc(n ? n : 1);
  size_t at = 0, tat = 0;
  for (size_t i = 0; i < n; i++) {
    ids[i] = s[i].id;
    char **u = bsearch(&s[i].user, users, nu, sizeof *users, cmp_strp);
    user[i] = (int32_t)(u - users);
    split[i] = s[i].split;
    hi[i] = s[i].n_hist;
    tl[i] = s[i].target_len;
    ho[i] = (int64_t)at, hl[i] = s[i].hist_len;
    memcpy(tokens + at, s[i].hist, (size_t)s[i].hist_len * 4);
    at += (size_t)s[i].hist_len;
    no[i] = (int64_t)at, nl[i] = s[i].nohist_len;
    memcpy(tokens + at, s[i].nohist, (size_t)s[i].nohist_len * 4);
    at += (size_t)s[i].nohist_len;
    to[i] = (int64_t)tat;
    if (truth) {
      if (!s[i].truth) error("sample %s has no truth spans but the corpus has", s[i].id);
      memcpy(truth + tat, s[i].truth, (size_t)s[i].target_len);
    }
    if (truth_rare) {
      if (!s[i].truth_rare) error("sample %s has no rare-span flags but the corpus has", s[i].id);
      memcpy(truth_rare + tat, s[i].truth_rare, (size_t)s[i].target_len);
    }
    tat += (size_t)s[i].target_len;
  }

  h5_out o;
  h5_out_create(&o, path);
  h5_write_provenance(o.file, info->prov);
  h5_attr_set_str(o.file, "tokenizer_digest", info->tokenizer_digest);
  h5_attr_set_i64(o.file, "vocab_size", info->vocab_size);
  h5_attr_set_i64(o.file, "eos_id", info->eos_id);
  h5_attr_set_i64(o.file, "bad_records", info->bad_records);
  h5_attr_set_i64(o.file, "truncated_targets", info->truncated_targets);
  h5_attr_set_i64(o.file, "shard_index", info->index);
  h5_attr_set_i64(o.file, "shard_count", info->count);
  h5_attr_set_i64(o.file, "n_samples", (int64_t)n);
  h5_attr_set_i64(o.file, "n_tokens", (int64_t)ntok);
  h5_write_i32(o.file, "tokens", tokens, ntok);
  h5_write_strings(o.file, "id", ids, n);
  h5_write_i32(o.file, "user", user, n);
  h5_write_i8(o.file, "split", split, n);
  h5_write_i64(o.file, "hist_offset", ho, n);
  h5_write_i32(o.file, "hist_length", hl, n);
  h5_write_i64(o.file, "nohist_offset", no, n);
  h5_write_i32(o.file, "nohist_length", nl, n);
  h5_write_i32(o.file, "target_length", tl, n);
  h5_write_i64(o.file, "target_offset", to, n);
  h5_write_i32(o.file, "history_items", hi, n);
  h5_write_strings(o.file, "users", (const char *const *)users, nu);
  if (truth) h5_write_u8(o.file, "truth", truth, ntgt);
  if (truth_rare) h5_write_u8(o.file, "truth_rare", truth_rare, ntgt);
  h5_out_commit(&o);

  free(users), free(tokens), free(truth), free(truth_rare), free(ids), free(user), free(hl), free(nl);
  free(tl), free(hi), free(ho), free(no), free(to), free(split);
}

// ---- reader --------------------------------------------------------------------------
void shard_read(const char *path, shard_data *d) {
  memset(d, 0, sizeof *d);
  hid_t f = h5_open_read(path);
  if (!h5_attr_exists(f, "nq_stage")) fatal("%s: not an nq-shard output (no provenance)", path);
  char *stage = h5_attr_get_str(f, "nq_stage");
  if (strcmp(stage, "shard")) fatal("%s: written by nq-%s, not nq-shard", path, stage);
  free(stage);
  size_t n, m;
  d->tokens = h5_read_i32(f, "tokens", &d->n_tokens);
  d->id = h5_read_strings(f, "id", &d->n_samples);
  n = d->n_samples;
#define CHECKN(expr, name)                                                                      \
  do {                                                                                          \
    expr;                                                                                       \
    if (m != n) fatal("%s: dataset '%s' has %zu entries, expected %zu", path, name, m, n); \
  } while (0)
  CHECKN(d->user = h5_read_i32(f, "user", &m), "user");
  CHECKN(d->split = h5_read_i8(f, "split", &m), "split");
  CHECKN(d->hist_offset = h5_read_i64(f, "hist_offset", &m), "hist_offset");
  CHECKN(d->hist_length = h5_read_i32(f, "hist_length", &m), "hist_length");
  CHECKN(d->nohist_offset = h5_read_i64(f, "nohist_offset", &m), "nohist_offset");
  CHECKN(d->nohist_length = h5_read_i32(f, "nohist_length", &m), "nohist_length");
  CHECKN(d->target_length = h5_read_i32(f, "target_length", &m), "target_length");
  CHECKN(d->target_offset = h5_read_i64(f, "target_offset", &m), "target_offset");
  CHECKN(d->history_items = h5_read_i32(f, "history_items", &m), "history_items");
#undef CHECKN
  d->users = h5_read_strings(f, "users", &d->n_users);
  for (size_t i = 0; i < n; i++) {
    if (d->user[i] < 0 || (size_t)d->user[i] >= d->n_users) fatal("%s: sample %zu: user index out of range", path, i);
    if (d->hist_offset[i] < 0 || d->hist_length[i] < d->target_length[i] ||
        (size_t)(d->hist_offset[i] + d->hist_length[i]) > d->n_tokens || d->nohist_offset[i] < 0 ||
        d->nohist_length[i] < d->target_length[i] || (size_t)(d->nohist_offset[i] + d->nohist_length[i]) > d->n_tokens)
      fatal("%s: sample %zu: sequence outside the token array", path, i);
    d->n_targets += (size_t)d->target_length[i];
  }
  if (h5_exists(f, "truth")) {
    d->truth = h5_read_u8(f, "truth", &m);
    if (m != d->n_targets) fatal("%s: dataset 'truth' has %zu entries, expected %zu target tokens", path, m, d->n_targets);
  }
  if (h5_exists(f, "truth_rare")) {
    d->truth_rare = h5_read_u8(f, "truth_rare", &m);
    if (m != d->n_targets) fatal("%s: dataset 'truth_rare' has %zu entries, expected %zu", path, m, d->n_targets);
  }
  d->tokenizer_digest = h5_attr_get_str(f, "tokenizer_digest");
  d->vocab_size = (int)h5_attr_get_i64(f, "vocab_size");
  d->eos_id = (int)h5_attr_get_i64(f, "eos_id");
  h5_close(f);
}

void shard_data_free(shard_data *d) {
  free(d->tokens);
  if (d->id) h5_free_strings(d->id, d->n_samples);
  if (d->users) h5_free_strings(d->users, d->n_users);
  free(d->user), free(d->split), free(d->hist_offset), free(d->nohist_offset), free(d->target_offset);
  free(d->hist_length), free(d->nohist_length), free(d->target_length), free(d->history_items);
  free(d->truth), free(d->truth_rare), free(d->tokenizer_digest);
  memset(d, 0, sizeof *d);
}

const int32_t *shard_seq(const shard_data *d, size_t i, int with_history, size_t *len) {
  *len = (size_t)(with_history ? d->hist_length[i] : d->nohist_length[i]);
  return d->tokens + (with_history ? d->hist_offset[i] : d->nohist_offset[i]);
}

const int32_t *shard_target(const shard_data *d, size_t i, size_t *len) {
  *len = (size_t)d->target_length[i];
  return d->tokens + d->hist_offset[i] + d->hist_length[i] - d->target_length[i];
}

char **shard_list(const char *dir, int *n) {
  DIR *dp = opendir(dir);
  *n = 0;
  if (!dp) return NULL;
  char **r = NULL;
  int cap = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t l = strlen(e->d_name);
    if (strncmp(e->d_name, "shard-", 6) || l < 4 || strcmp(e->d_name + l - 3, ".h5")) continue;
    if (*n == cap) r = xrealloc(r, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *r);
    r[(*n)++] = path_join(dir, e->d_name);
  }
  closedir(dp);
  if (*n) qsort(r, (size_t)*n, sizeof *r, cmp_strp);
  return r;
}
