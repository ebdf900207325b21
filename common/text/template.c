// Template rendering (see template.h).
#include "text/template.h"

#include <stdlib.h>
#include <string.h>

#include "base/jsonl.h"
#include "base/log.h"

void tpl_check(const char *tpl, const char *name) {
  for (const char *p = tpl; *p; p++) {
    if (p[0] == '{' && p[1] == '{') { p++; continue; }
    if (p[0] == '}' && p[1] == '}') { p++; continue; }
    if (*p == '}') fatal("%s: unmatched '}' at column %d (write '}}' for a literal brace)", name, (int)(p - tpl) + 1);
    if (*p != '{') continue;
    const char *e = strchr(p + 1, '}');
    const char *o = strchr(p + 1, '{');
    if (!e || (o && o < e)) fatal("%s: unclosed '{' at column %d (write '{{' for a literal brace)", name, (int)(p - tpl) + 1);
    if (e == p + 1) fatal("%s: empty placeholder '{}' at column %d", name, (int)(p - tpl) + 1);
    if ((size_t)(e - p - 1) >= 256) fatal("%s: placeholder too long at column %d", name, (int)(p - tpl) + 1);
    const char *colon = memchr(p + 1, ':', (size_t)(e - p - 1));
    if (colon) {
      char *end;
      long n = strtol(colon + 1, &end, 10);
      if (colon == p + 1 || end != e || n <= 0 || n > 1 << 24)
        fatal("%s: placeholder '%.*s' at column %d: expected {field:N} with N a positive number of tokens", name,
              (int)(e - p + 1), p, (int)(p - tpl) + 1);
    }
    p = e;
  }
}

// Canonical text of a scalar; -1 for arrays/objects.
static int scalar_text(const json_t *v, strbuf *out) {
  char num[64];
  switch (json_typeof(v)) {
    case JSON_STRING: sb_append(out, json_string_value(v), json_string_length(v)); return 0;
    case JSON_INTEGER: snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(num, sizeof num, "%.17g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(num, sizeof num, "true"); break;
    case JSON_FALSE: snprintf(num, sizeof num, "false"); break;
    case JSON_NULL: num[0] = 0; break;
    default: return -1;
  }
  sb_puts(out, num);
  return 0;
}

// Bytes to drop so that s[0..n) ends (cut_start: starts) on a whole UTF-8 character.
static size_t utf8_trim(const char *s, size_t n, int cut_start) {
  const unsigned char *u = (const unsigned char *)s;
  if (cut_start) {
    size_t k = 0;
    while (k < n && (u[k] & 0xC0) == 0x80) k++;
    return k;
  }
  size_t k = 0;   // back to the lead byte of the last character, drop it if incomplete
  while (k < n && k < 4 && (u[n - 1 - k] & 0xC0) == 0x80) k++;
  if (k == n) return n;
  unsigned lead = u[n - 1 - k];
  size_t need = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : 4;
  return need == k + 1 ? 0 : k + 1;
}

// Appends text[0..len) cut to `max_tokens` tokens (see template.h).
static void append_budgeted(tpl_budget *b, const char *text, size_t len, long max_tokens, strbuf *out) {
  int32_t *ids = NULL;
  size_t n = 0, cap = 0;
  if (!b || !b->tok || tok_encode(b->tok, text, len, &ids, &n, &cap) || n <= (size_t)max_tokens) {
    free(ids);
    sb_append(out, text, len);
    return;
  }
  strbuf cut;
  sb_init(&cut);
  char buf[256];
  size_t first = b->cut_start ? n - (size_t)max_tokens : 0;
  for (size_t i = first; i < first + (size_t)max_tokens; i++) {
    int k = tok_token_bytes(b->tok, ids[i], buf, sizeof buf);
    if (k > 0) sb_append(&cut, buf, (size_t)k);
  }
  size_t drop = utf8_trim(cut.data ? cut.data : "", cut.len, b->cut_start);
  if (b->cut_start) sb_append(out, cut.data + drop, cut.len - drop);
  else sb_append(out, cut.data, cut.len - drop);
  b->truncated = 1;
  sb_free(&cut);
  free(ids);
}

int tpl_render(const char *tpl, const char *name, const json_t *obj, const char *history,
               tpl_budget *budget, strbuf *out, char *err, size_t errlen) {
  const char *p = tpl;
  while (*p) {
    if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
      sb_append(out, p, 1);
      p += 2;
      continue;
    }
    const char *e;
    if (*p != '{' || !(e = strchr(p + 1, '}'))) {
      sb_append(out, p, 1);
      p++;
      continue;
    }
    char key[256];
    size_t n = (size_t)(e - p - 1);
    if (n == 0 || n >= sizeof key) {
      snprintf(err, errlen, "%s: bad placeholder", name);
      return -1;
    }
    memcpy(key, p + 1, n);
    key[n] = 0;
    p = e + 1;
    long max_tokens = 0;   // {key:N}
    char *colon = strchr(key, ':');
    if (colon) *colon = 0, max_tokens = strtol(colon + 1, NULL, 10);
    if (history && strcmp(key, "history") == 0) {
      sb_puts(out, history);
      continue;
    }
    const json_t *v = json_path_get(obj, key);
    if (!v) {
      snprintf(err, errlen, "field '%s': missing (used by %s)", key, name);
      return -1;
    }
    size_t at = out->len;
    if (scalar_text(v, out) != 0) {
      snprintf(err, errlen, "field '%s': expected a string or number, got %s (used by %s)", key,
               json_is_array(v) ? "an array" : "an object", name);
      return -1;
    }
    if (max_tokens > 0 && budget && budget->tok) {   // re-append the field's text within its budget
      size_t len = out->len - at;
      char *text = xmalloc(len + 1);
      memcpy(text, out->data + at, len);
      out->len = at;
      append_budgeted(budget, text, len, max_tokens, out);
      free(text);
    }
  }
  return 0;
}
