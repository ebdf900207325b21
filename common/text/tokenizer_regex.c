// Text side of the tokenizer: UTF-8 validation, GPT-2's byte <-> unicode mapping, the
// pre-tokenization regex (PCRE2, UTF+UCP) and special-token search.
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/utf8.h"
#include "text/tokenizer_impl.h"
#include "base/util.h"

// ---- UTF-8 (strict: no overlongs, no surrogates, <= U+10FFFF): the one validator of base/
int tok_utf8_valid(const char *s, size_t n) { return utf8_valid(s, n, NULL); }

// ---- GPT-2 bytes_to_unicode: printable bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order, so every token is a printable string.
static int byte_is_printable(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

// The 68 others, in byte order: 0x00-0x20 (k = 0..32), 0x7F-0xA0 (k = 33..66), 0xAD (k = 67).
static unsigned byte_to_cp(int b) {
  if (byte_is_printable(b)) return (unsigned)b;
  int k = b <= 0x20 ? b : b <= 0xA0 ? 33 + (b - 0x7F) : 67;
  return 256u + (unsigned)k;
}

static int cp_to_byte(unsigned cp) {
  if (cp < 256) return byte_is_printable((int)cp) ? (int)cp : -1;
  unsigned k = cp - 256;
  return k <= 32 ? (int)k : k <= 66 ? 0x7F + (int)(k - 33) : k == 67 ? 0xAD : -1;
}

int tok_unicode_to_bytes(const char *s, size_t slen, char *out) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  int n = 0;
  while (i < slen) {
    unsigned cp;
    if (p[i] < 0x80) { cp = p[i]; i++; }
    else if ((p[i] & 0xE0) == 0xC0 && i + 1 < slen) { cp = ((p[i] & 0x1Fu) << 6) | (p[i + 1] & 0x3Fu); i += 2; }
    else return -1;  // the mapping only uses U+0021..U+0143
    int b = cp_to_byte(cp);
    if (b < 0) return -1;
    out[n++] = (char)b;
  }
  return n;
}

char *tok_bytes_to_unicode(const char *b, size_t n) {
  char *s = xmalloc(2 * n + 1), *o = s;
  for (size_t i = 0; i < n; i++) {
    unsigned cp = byte_to_cp((unsigned char)b[i]);
    if (cp < 0x80) *o++ = (char)cp;
    else { *o++ = (char)(0xC0 | (cp >> 6)); *o++ = (char)(0x80 | (cp & 0x3F)); }
  }
  *o = 0;
  return s;
}

// ---- pattern. PCRE2's \s under UCP differs from JavaScript's \s (PCRE2 adds U+0085 and
// U+180E, JS adds U+FEFF), and the reference encoders are JS, so \s and \S are rewritten to
// JS's set: WhiteSpace (TAB VT FF SP NBSP ZWNBSP + Zs) and LineTerminator (LF CR LS PS).
#define JS_SPACE "\\t\\n\\x{0B}\\f\\r \\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}" \
                 "\\x{202F}\\x{205F}\\x{3000}\\x{FEFF}"

static char *rewrite_js_space(const char *pat) {
  strbuf b;
  sb_init(&b);
  int in_class = 0;
  for (const char *p = pat; *p; p++) {
    if (*p == '\\' && p[1]) {
      char c = p[1];
      if (c == 's') sb_puts(&b, in_class ? JS_SPACE : "[" JS_SPACE "]");
      else if (c == 'S' && !in_class) sb_puts(&b, "[^" JS_SPACE "]");
      else sb_append(&b, p, 2);
      p++;
      continue;
    }
    if (*p == '[' && !in_class) {
      in_class = 1;
      sb_append(&b, p, 1);
      if (p[1] == '^') { sb_append(&b, "^", 1); p++; }
      if (p[1] == ']') { sb_append(&b, "]", 1); p++; }  // literal ] first in a class
      continue;
    }
    if (*p == ']' && in_class) in_class = 0;
    sb_append(&b, p, 1);
  }
  return sb_detach(&b);
}

pcre2_code *tok_compile_pattern(const char *pattern, char *err, size_t errlen) {
  char *js = rewrite_js_space(pattern);
  int ec;
  PCRE2_SIZE eo;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)js, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                                 &ec, &eo, NULL);
  free(js);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(ec, msg, sizeof msg);
    snprintf(err, errlen, "pre-tokenizer regex: %s (pattern '%s')", (char *)msg, pattern);
    return NULL;
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  // optional speed-up; interpreter otherwise
  return re;
}

static size_t utf8_len(unsigned char c) {
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

// HF Split(behavior=Isolated): matches and the gaps between them are both pieces.
void tok_split(const tokenizer *t, const char *seg, size_t n, tok_piece_fn fn, void *ctx) {
  if (n == 0) return;
  if (!t->re) { fn(ctx, seg, n); return; }
  size_t gap = 0, from = 0;
  while (from < n) {
    int rc = pcre2_match(t->re, (PCRE2_SPTR)seg, n, from, PCRE2_NO_UTF_CHECK, t->md, NULL);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      error("pre-tokenizer regex failed: %s", (char *)msg);
    }
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
    size_t s = ov[0], e = ov[1];
    if (e == s) {  // empty match: step over one character, it joins the next gap
      from = s + utf8_len((unsigned char)seg[s]);
      continue;
    }
    if (s > gap) fn(ctx, seg + gap, s - gap);
    fn(ctx, seg + s, e - s);
    gap = from = e;
  }
  if (gap < n) fn(ctx, seg + gap, n - gap);
}

size_t tok_find_special(const tokenizer *t, const char *text, size_t len, size_t from, int *id) {
  *id = -1;
  if (t->n_spec == 0) return len;
  for (size_t i = from; i < len; i++) {
    if (!t->spec_first[(unsigned char)text[i]]) continue;
    for (int k = 0; k < t->n_spec; k++) {  // longest first
      int sid = t->spec[k];
      size_t sl = (size_t)t->len[sid];
      if (sl <= len - i && memcmp(text + i, t->pool + t->off[sid], sl) == 0) {
        *id = sid;
        return i;
      }
    }
  }
  return len;
}
