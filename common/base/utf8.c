// UTF-8 validation and terminal escaping (see utf8.h).
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

// Length of the valid sequence at s[0..n) (1..4), or 0 when it is not UTF-8; its code point.
static size_t utf8_seq(const unsigned char *u, size_t n, unsigned *cp) {
  unsigned c = u[0], min;
  size_t k;
  if (c < 0x80) { *cp = c; return 1; }
  if ((c & 0xE0) == 0xC0) k = 1, min = 0x80, c &= 0x1F;
  else if ((c & 0xF0) == 0xE0) k = 2, min = 0x800, c &= 0x0F;
  else if ((c & 0xF8) == 0xF0) k = 3, min = 0x10000, c &= 0x07;
  else return 0;
  for (size_t j = 1; j <= k; j++) {
    if (j >= n || (u[j] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (u[j] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;   // overlong, too big, surrogate
  *cp = c;
  return k + 1;
}

int utf8_valid(const char *s, size_t n, size_t *bad_at) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  unsigned cp;
  while (i < n) {
    if (u[i] < 0x80) { i++; continue; }
    size_t k = utf8_seq(u + i, n - i, &cp);
    if (!k) {
      if (bad_at) *bad_at = i;
      return 0;
    }
    i += k;
  }
  return 1;
}

int text_check(const char *s, size_t n, char *why, size_t whylen) {
  const char *nul = memchr(s, 0, n);
  size_t bad;
  if (nul) {
    if (why && whylen) snprintf(why, whylen, "contains a NUL character (\\u0000) at byte %zu", (size_t)(nul - s) + 1);
    return -1;
  }
  if (!utf8_valid(s, n, &bad)) {
    if (why && whylen) snprintf(why, whylen, "not valid UTF-8 (byte 0x%02x at byte %zu)", (unsigned char)s[bad], bad + 1);
    return -1;
  }
  return 0;
}

void term_escape_walk(const char *s, size_t n, int keep_lines, term_put_fn put, void *ctx) {
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0, run = 0;   // s[run..i) is passed through as it is
  unsigned cp;
  char esc[8];
  while (i < n) {
    size_t k = utf8_seq(u + i, n - i, &cp);
    int plain = k > 0 && (cp >= 0x20 || (keep_lines && (cp == '\n' || cp == '\t'))) && cp != 0x7F &&
                !(cp >= 0x80 && cp <= 0x9F);
    if (plain) { i += k; continue; }
    if (i > run) put(ctx, s + run, i - run);
    if (k == 2) snprintf(esc, sizeof esc, "\\u%04x", cp);   // a C1 control
    else snprintf(esc, sizeof esc, "\\x%02x", u[i]);
    put(ctx, esc, strlen(esc));
    i += k ? k : 1;
    run = i;
  }
  if (i > run) put(ctx, s + run, i - run);
}

static void put_file(void *ctx, const char *s, size_t n) { fwrite(s, 1, n, ctx); }

void term_fwrite(FILE *f, const char *s, size_t n, int keep_lines) { term_escape_walk(s, n, keep_lines, put_file, f); }

void term_fputs(FILE *f, const char *s, int keep_lines) { term_fwrite(f, s, strlen(s), keep_lines); }
