// HF tokenizer.json for byte-level BPE: load (model.type BPE, vocab, merges as "a b" or
// ["a","b"], added_tokens, ByteLevel / Split(Regex) pre-tokenizers) and save (atomic).
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"
#include "text/tokenizer_impl.h"
#include "base/util.h"

static tokenizer *fail(tokenizer *t, json_t *root, char *err, size_t errlen, const char *path,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static tokenizer *fail(tokenizer *t, json_t *root, char *err, size_t errlen, const char *path,
                       const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(err, errlen, "%s: %s", path, msg);
  tok_free(t);
  json_decref(root);
  return NULL;
}

// The regex of the first Split(Regex) in the pre-tokenizer tree; else GPT-2's pattern when
// a ByteLevel pre-tokenizer has use_regex (its default); else NULL. *bad names an
// unsupported piece.
static const char *find_pattern(json_t *pt, int *byte_regex, const char **bad) {
  if (!json_is_object(pt)) return NULL;
  const char *type = json_string_value(json_object_get(pt, "type"));
  if (!type) { *bad = "pre_tokenizer without type"; return NULL; }
  if (strcmp(type, "Split") == 0) {
    json_t *pat = json_object_get(pt, "pattern");
    const char *re = json_string_value(json_object_get(pat, "Regex"));
    const char *beh = json_string_value(json_object_get(pt, "behavior"));
    if (!re) { *bad = "Split pre_tokenizer without a Regex pattern"; return NULL; }
    if (beh && strcmp(beh, "Isolated") != 0) { *bad = "Split behavior other than Isolated"; return NULL; }
    if (json_is_true(json_object_get(pt, "invert"))) { *bad = "Split with invert=true"; return NULL; }
    return re;
  }
  if (strcmp(type, "Sequence") == 0) {
    json_t *arr = json_object_get(pt, "pretokenizers");
    size_t i;
    json_t *el;
    json_array_foreach(arr, i, el) {
      const char *re = find_pattern(el, byte_regex, bad);
      if (re || *bad) return re;
    }
    return NULL;
  }
  if (strcmp(type, "ByteLevel") == 0) {
    json_t *ur = json_object_get(pt, "use_regex");
    if (!ur || json_is_true(ur)) *byte_regex = 1;
    if (json_is_true(json_object_get(pt, "add_prefix_space"))) {
      *bad = "ByteLevel add_prefix_space=true";
    }
    return NULL;
  }
  *bad = type;
  return NULL;
}

// Vocab entry string -> raw bytes via the byte-level mapping; added tokens keep their text.
static int token_bytes(const char *s, char *buf, int is_added) {
  size_t n = strlen(s);
  if (is_added) { memcpy(buf, s, n); return (int)n; }
  return tok_unicode_to_bytes(s, n, buf);
}

static int merge_ids(tokenizer *t, const char *a, const char *b) {
  char ba[1024], bb[1024];
  if (strlen(a) >= sizeof ba || strlen(b) >= sizeof bb) return -1;
  int la = tok_unicode_to_bytes(a, strlen(a), ba), lb = tok_unicode_to_bytes(b, strlen(b), bb);
  if (la <= 0 || lb <= 0) return -1;
  int32_t ka = strmap_find(&t->vocab, ba, (size_t)la), kb = strmap_find(&t->vocab, bb, (size_t)lb);
  if (ka < 0 || kb < 0) return -1;
  return tok_add_merge(t, t->vocab.e[ka].val, t->vocab.e[kb].val);
}

tokenizer *tok_load_json(const char *path, char *err, size_t errlen) {
  json_error_t je;
  json_t *root = json_load_file(path, 0, &je);
  if (!root) {
    snprintf(err, errlen, "%s:%d: invalid JSON: %s", path, je.line, je.text);
    return NULL;
  }
  tokenizer *t = tok_new();
  json_t *model = json_object_get(root, "model");
  if (!json_is_object(model)) return fail(t, root, err, errlen, path, "no \"model\" object");
  const char *mtype = json_string_value(json_object_get(model, "type"));
  if (mtype && strcmp(mtype, "BPE") != 0)
    return fail(t, root, err, errlen, path, "unsupported model type '%s' (only byte-level BPE)", mtype);
  json_t *vocab = json_object_get(model, "vocab"), *merges = json_object_get(model, "merges");
  if (!json_is_object(vocab)) return fail(t, root, err, errlen, path, "model.vocab is not an object");
  if (!json_is_array(merges)) return fail(t, root, err, errlen, path, "model.merges is not an array");
  if (json_is_true(json_object_get(model, "byte_fallback")))
    return fail(t, root, err, errlen, path, "model.byte_fallback=true (SentencePiece-style BPE) is not supported");
  t->ignore_merges = json_is_true(json_object_get(model, "ignore_merges"));

  // added tokens first, so their vocab duplicates need not be byte-level
  json_t *added = json_object_get(root, "added_tokens");
  strmap added_set;
  strmap_init(&added_set);
  size_t i;
  json_t *el;
  json_array_foreach(added, i, el) {
    json_t *jid = json_object_get(el, "id");
    const char *content = json_string_value(json_object_get(el, "content"));
    if (!json_is_integer(jid) || !content || !*content) {
      strmap_free(&added_set);
      return fail(t, root, err, errlen, path, "added_tokens[%zu]: needs an integer id and non-empty content", i);
    }
    json_int_t id = json_integer_value(jid);
    if (id < 0 || id > 16777216 || tok_set_token(t, (int)id, content, (int)strlen(content), 1) != 0) {
      strmap_free(&added_set);
      return fail(t, root, err, errlen, path, "added_tokens[%zu]: bad or duplicate id %lld", i, (long long)id);
    }
    strmap_put(&added_set, content, strlen(content), (int32_t)id);
  }
  const char *key;
  json_t *val;
  char stackbuf[1024];
  json_object_foreach(vocab, key, val) {
    json_int_t id = json_integer_value(val);
    size_t kl = strlen(key);
    int is_added = strmap_find(&added_set, key, kl) >= 0;
    char *buf = kl < sizeof stackbuf ? stackbuf : xmalloc(kl + 1);
    int bl = token_bytes(key, buf, is_added);
    int rc = -2;
    if (json_is_integer(val) && id >= 0 && id <= 16777216 && bl > 0)
      rc = tok_set_token(t, (int)id, buf, bl, is_added);
    if (buf != stackbuf) free(buf);
    if (rc != 0) {
      strmap_free(&added_set);
      if (bl <= 0) return fail(t, root, err, errlen, path, "vocab token '%s' is not byte-level (not a GPT-2 byte-level BPE)", key);
      return fail(t, root, err, errlen, path, "vocab token '%s': bad or duplicate id", key);
    }
  }
  strmap_free(&added_set);
  json_array_foreach(merges, i, el) {
    int rc = -1;
    if (json_is_string(el)) {
      char *s = xstrdup(json_string_value(el));
      char *sp = strchr(s, ' ');
      if (sp && sp != s && sp[1] && !strchr(sp + 1, ' ')) { *sp = 0; rc = merge_ids(t, s, sp + 1); }
      free(s);
    } else if (json_is_array(el) && json_array_size(el) == 2) {
      const char *a = json_string_value(json_array_get(el, 0)), *b = json_string_value(json_array_get(el, 1));
      if (a && b) rc = merge_ids(t, a, b);
    }
    if (rc != 0) return fail(t, root, err, errlen, path, "model.merges[%zu]: not a pair of vocab tokens whose concatenation is in the vocab", i);
  }
  int byte_regex = 0;
  const char *bad = NULL;
  const char *pat = find_pattern(json_object_get(root, "pre_tokenizer"), &byte_regex, &bad);
  if (bad) return fail(t, root, err, errlen, path, "unsupported pre_tokenizer: %s", bad);
  if (!pat && byte_regex) pat = TOK_GPT2_PATTERN;
  json_t *norm = json_object_get(root, "normalizer");
  const char *ntype = json_string_value(json_object_get(norm, "type"));
  if (ntype && strcmp(ntype, "NFC") != 0)
    return fail(t, root, err, errlen, path, "unsupported normalizer '%s'", ntype);
  t->normalizer_nfc = ntype != NULL;  // NFC: identity on already-composed text (not applied)
  char ferr[400];
  if (tok_finalize(t, pat, ferr, sizeof ferr) != 0) return fail(t, root, err, errlen, path, "%s", ferr);
  json_decref(root);
  return t;
}

static json_t *jcheck(json_t *j, const char *what) {
  if (!j) error("tokenizer json: out of memory building %s", what);
  return j;
}

static void jset(json_t *obj, const char *k, json_t *v) {
  if (json_object_set_new(obj, k, jcheck(v, k)) != 0) error("tokenizer json: setting '%s'", k);
}

int tok_save_json(const tokenizer *t, const char *path) {
  json_t *root = jcheck(json_object(), "root");
  jset(root, "version", json_string("1.0"));
  jset(root, "truncation", json_null());
  jset(root, "padding", json_null());
  json_t *added = jcheck(json_array(), "added_tokens");
  for (int i = 0; i < t->n; i++) {
    if (t->len[i] < 0 || !t->special[i]) continue;
    json_t *a = jcheck(json_object(), "added token");
    jset(a, "id", json_integer(i));
    jset(a, "content", json_stringn(t->pool + t->off[i], (size_t)t->len[i]));
    jset(a, "single_word", json_false());
    jset(a, "lstrip", json_false());
    jset(a, "rstrip", json_false());
    jset(a, "normalized", json_false());
    jset(a, "special", json_true());
    if (json_array_append_new(added, a) != 0) error("tokenizer json: appending added token %d", i);
  }
  jset(root, "added_tokens", added);
  jset(root, "normalizer", json_null());
  if (t->pattern) {
    json_t *split = jcheck(json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex",
                                     t->pattern, "behavior", "Isolated", "invert", 0), "Split");
    json_t *bl = jcheck(json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                                  "trim_offsets", 0, "use_regex", 0), "ByteLevel");
    jset(root, "pre_tokenizer", json_pack("{s:s, s:[o,o]}", "type", "Sequence", "pretokenizers", split, bl));
  } else {
    jset(root, "pre_tokenizer", json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                                          "trim_offsets", 0, "use_regex", 0));
  }
  jset(root, "post_processor", json_null());
  jset(root, "decoder", json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0,
                                  "trim_offsets", 0, "use_regex", 0));
  json_t *model = jcheck(json_object(), "model");
  jset(model, "type", json_string("BPE"));
  jset(model, "dropout", json_null());
  jset(model, "unk_token", json_null());
  jset(model, "continuing_subword_prefix", json_null());
  jset(model, "end_of_word_suffix", json_null());
  jset(model, "fuse_unk", json_false());
  jset(model, "byte_fallback", json_false());
  jset(model, "ignore_merges", json_boolean(t->ignore_merges));
  json_t *vocab = jcheck(json_object(), "vocab");
  for (int i = 0; i < t->n; i++)
    if (t->len[i] >= 0 && !t->special[i]) jset(vocab, t->str[i], json_integer(i));
  jset(model, "vocab", vocab);
  json_t *merges = jcheck(json_array(), "merges");
  for (int r = 0; r < t->n_merges; r++) {
    json_t *m = jcheck(json_pack("[s,s]", t->str[t->merges[r][0]], t->str[t->merges[r][1]]), "merge");
    if (json_array_append_new(merges, m) != 0) error("tokenizer json: appending merge %d", r);
  }
  jset(model, "merges", merges);
  jset(root, "model", model);
  char *text = json_dumps(root, JSON_INDENT(1) | JSON_ENSURE_ASCII);
  json_decref(root);
  if (!text) error("tokenizer json: serializing %s", path);
  write_file_atomic(path, text, strlen(text));   // path.tmp, checked, renamed (no half file)
  free(text);
  return 0;
}
