// GPT-2's original files: encoder.json (byte-level token -> id) and vocab.bpe (a
// "#version" line, then one merge "a b" per line in rank order).
#include <jansson.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "text/tokenizer_impl.h"
#include "base/util.h"

tokenizer *tok_load_gpt2(const char *encoder_json, const char *vocab_bpe, char *err, size_t errlen) {
  json_error_t je;
  json_t *enc = json_load_file(encoder_json, 0, &je);
  if (!enc) {
    snprintf(err, errlen, "%s:%d: invalid JSON: %s", encoder_json, je.line, je.text);
    return NULL;
  }
  if (!json_is_object(enc)) {
    snprintf(err, errlen, "%s: expected an object of token -> id", encoder_json);
    json_decref(enc);
    return NULL;
  }
  tokenizer *t = tok_new();
  const char *key;
  json_t *val;
  char buf[1024];
  json_object_foreach(enc, key, val) {
    size_t kl = strlen(key);
    int special = strcmp(key, "<|endoftext|>") == 0;
    int bl = -1;
    if (special) { memcpy(buf, key, kl); bl = (int)kl; }
    else if (kl < sizeof buf) bl = tok_unicode_to_bytes(key, kl, buf);
    json_int_t id = json_integer_value(val);
    if (bl <= 0 || !json_is_integer(val) || id < 0 || id > 16777216 ||
        tok_set_token(t, (int)id, buf, bl, special) != 0) {
      snprintf(err, errlen, "%s: token '%s': not byte-level or bad/duplicate id", encoder_json, key);
      json_decref(enc);
      tok_free(t);
      return NULL;
    }
  }
  json_decref(enc);
  size_t len;
  char *text = read_file(vocab_bpe, &len);
  if (!text) {
    snprintf(err, errlen, "%s: cannot read: %s", vocab_bpe, strerror(errno));
    tok_free(t);
    return NULL;
  }
  int lineno = 0;
  for (char *line = text, *next; line < text + len; line = next) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    next = nl ? nl + 1 : text + len;
    if (nl) *nl = 0;
    lineno++;
    size_t ll = strlen(line);
    if (ll && line[ll - 1] == '\r') line[--ll] = 0;
    if (ll == 0 || strncmp(line, "#version", 8) == 0) continue;
    char *sp = strchr(line, ' ');
    char ba[512], bb[512];
    int la = -1, lb = -1;
    if (sp && sp != line && sp[1] && !strchr(sp + 1, ' ') && (size_t)(sp - line) < sizeof ba &&
        strlen(sp + 1) < sizeof bb) {
      la = tok_unicode_to_bytes(line, (size_t)(sp - line), ba);
      lb = tok_unicode_to_bytes(sp + 1, strlen(sp + 1), bb);
    }
    int32_t ka = la > 0 ? strmap_find(&t->vocab, ba, (size_t)la) : -1;
    int32_t kb = lb > 0 ? strmap_find(&t->vocab, bb, (size_t)lb) : -1;
    if (ka < 0 || kb < 0 || tok_add_merge(t, t->vocab.e[ka].val, t->vocab.e[kb].val) != 0) {
      snprintf(err, errlen, "%s:%d: merge '%.80s': not two vocab tokens whose concatenation is in the vocab",
               vocab_bpe, lineno, line);
      free(text);
      tok_free(t);
      return NULL;
    }
  }
  free(text);
  char ferr[400];
  if (tok_finalize(t, TOK_GPT2_PATTERN, ferr, sizeof ferr) != 0) {
    snprintf(err, errlen, "%s: %s", encoder_json, ferr);
    tok_free(t);
    return NULL;
  }
  return t;
}
