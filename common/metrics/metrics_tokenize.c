// Tokenizers of the reference metric packages:
//  - rouge_score's tokenize.tokenize (rouge/tokenize.py),
//  - sacreBLEU's Tokenizer13a (sacrebleu/tokenizers/tokenizer_13a.py + tokenizer_re.py),
//  - Python's str.split() for METEOR's caller-side tokenization.
// Input is UTF-8; byte-level scans reproduce the Python regexes exactly because every
// pattern only looks at ASCII characters and copies the rest (see docs/metrics.md).
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "base/util.h"

void tokens_init(nq_tokens *t) { t->tok = NULL; t->n = t->cap = 0; }

void tokens_push(nq_tokens *t, const char *s, size_t len) {
  if (t->n == t->cap) {
    t->cap = t->cap ? 2 * t->cap : 16;
    t->tok = xrealloc(t->tok, t->cap * sizeof *t->tok);
  }
  char *c = xmalloc(len + 1);
  memcpy(c, s, len);
  c[len] = 0;
  t->tok[t->n++] = c;
}

void tokens_free(nq_tokens *t) {
  for (size_t i = 0; i < t->n; i++) free(t->tok[i]);
  free(t->tok);
  tokens_init(t);
}

// Python str.isspace() code points, in UTF-8
size_t py_space_len(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  if (*p == ' ' || (*p >= 0x09 && *p <= 0x0D) || (*p >= 0x1C && *p <= 0x1F)) return 1;
  if (p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0)) return 2;
  if (p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) return 3;  // U+1680
  if (p[0] == 0xE2 && p[1] == 0x80 &&
      ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF))
    return 3;                                                  // U+2000-200A, 2028/9, 202F
  if (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) return 3;  // U+205F
  if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) return 3;  // U+3000
  return 0;
}

void split_whitespace(const char *text, nq_tokens *out) {
  tokens_init(out);
  const char *p = text;
  while (*p) {
    size_t k;
    while ((k = py_space_len(p)) > 0) p += k;
    if (!*p) break;
    const char *start = p;
    while (*p && py_space_len(p) == 0) p++;
    tokens_push(out, start, (size_t)(p - start));
  }
}

// ---- rouge_score ----------------------------------------------------------------------
// text.lower(), then [^a-z0-9]+ -> ' '. The only non-ASCII characters whose Python
// lower() contains ASCII letters are U+0130 (-> "i" + U+0307, which is then a separator)
// and U+212A KELVIN (-> "k"). Both are 2-3 bytes, so the output fits in strlen(text).
void rouge_tokenize(const char *text, int stem, nq_tokens *out) {
  size_t n = strlen(text);
  char *buf = xmalloc(n + 1);
  size_t m = 0;
  const unsigned char *p = (const unsigned char *)text;
  for (size_t i = 0; i < n;) {
    unsigned char c = p[i];
    if (c >= 'A' && c <= 'Z') { buf[m++] = (char)(c - 'A' + 'a'); i++; }
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) { buf[m++] = (char)c; i++; }
    else if (c == 0xC4 && i + 1 < n && p[i + 1] == 0xB0) {  // "i" + combining dot (a separator)
      buf[m++] = 'i';
      buf[m++] = ' ';
      i += 2;
    }
    else if (c == 0xE2 && i + 2 < n && p[i + 1] == 0x84 && p[i + 2] == 0xAA) { buf[m++] = 'k'; i += 3; }
    else { buf[m++] = ' '; i++; }
  }
  buf[m] = 0;
  tokens_init(out);
  for (size_t i = 0; i < m;) {
    while (i < m && buf[i] == ' ') i++;
    size_t s = i;
    while (i < m && buf[i] != ' ') i++;
    if (i == s) continue;
    if (stem && i - s > 3) {
      buf[i] = 0;  // i < m here or buf[m] == 0 already
      char *st = porter_stem_nltk(buf + s);
      tokens_push(out, st, strlen(st));
      free(st);
    } else {
      tokens_push(out, buf + s, i - s);
    }
    i++;
  }
  free(buf);
}

// ---- sacreBLEU 13a ----------------------------------------------------------------------
static void replace_all(strbuf *b, const char *from, const char *to) {
  if (!b->data || !strstr(b->data, from)) return;
  strbuf o;
  sb_init(&o);
  size_t fl = strlen(from);
  const char *p = b->data, *q;
  while ((q = strstr(p, from)) != NULL) {
    sb_append(&o, p, (size_t)(q - p));
    sb_puts(&o, to);
    p = q + fl;
  }
  sb_puts(&o, p);
  sb_free(b);
  *b = o;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// [\{-\~\[-\` -\&\(-\+\:-\@\/]: the punctuation that 13a always splits off
static int is_13a_punct(unsigned char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

void bleu_tokenize_13a(const char *text, nq_tokens *out) {
  strbuf b;
  sb_init(&b);
  // sent.rstrip()
  size_t n = strlen(text), keep = 0;
  for (size_t i = 0; i < n;) {
    size_t k = py_space_len(text + i);
    if (k) { i += k; continue; }
    i++;
    while (i < n && (text[i] & 0xC0) == 0x80) i++;
    keep = i;
  }
  sb_append(&b, text, keep);  // allocates even when keep == 0
  replace_all(&b, "<skipped>", "");
  replace_all(&b, "-\n", "");
  replace_all(&b, "\n", " ");
  if (strchr(b.data, '&')) {
    replace_all(&b, "&quot;", "\"");
    replace_all(&b, "&amp;", "&");
    replace_all(&b, "&lt;", "<");
    replace_all(&b, "&gt;", ">");
  }
  // f' {line} ' then the four regex substitutions, each a left-to-right non-overlapping scan
  strbuf a;
  sb_init(&a);
  sb_puts(&a, " ");
  for (size_t i = 0; i < b.len; i++) {
    unsigned char c = (unsigned char)b.data[i];
    if (is_13a_punct(c)) { char t[3] = {' ', (char)c, ' '}; sb_append(&a, t, 3); }
    else sb_append(&a, (const char *)&c, 1);
  }
  sb_puts(&a, " ");
  sb_free(&b);
  // ([^0-9])([\.,]) -> '\1 \2 '
  sb_init(&b);
  for (size_t i = 0; i < a.len;) {
    unsigned char c = (unsigned char)a.data[i];
    if (i + 1 < a.len && !is_digit(c) && (a.data[i + 1] == '.' || a.data[i + 1] == ',')) {
      char t[4] = {(char)c, ' ', a.data[i + 1], ' '};
      sb_append(&b, t, 4);
      i += 2;
    } else { sb_append(&b, (const char *)&c, 1); i++; }
  }
  sb_free(&a);
  // ([\.,])([^0-9]) -> ' \1 \2'
  sb_init(&a);
  for (size_t i = 0; i < b.len;) {
    unsigned char c = (unsigned char)b.data[i];
    if (i + 1 < b.len && (c == '.' || c == ',') && !is_digit((unsigned char)b.data[i + 1])) {
      char t[4] = {' ', (char)c, ' ', b.data[i + 1]};
      sb_append(&a, t, 4);
      i += 2;
    } else { sb_append(&a, (const char *)&c, 1); i++; }
  }
  sb_free(&b);
  // ([0-9])(-) -> '\1 \2 '
  sb_init(&b);
  for (size_t i = 0; i < a.len;) {
    unsigned char c = (unsigned char)a.data[i];
    if (i + 1 < a.len && is_digit(c) && a.data[i + 1] == '-') {
      char t[4] = {(char)c, ' ', '-', ' '};
      sb_append(&b, t, 4);
      i += 2;
    } else { sb_append(&b, (const char *)&c, 1); i++; }
  }
  sb_free(&a);
  split_whitespace(b.data, out);
  sb_free(&b);
}
