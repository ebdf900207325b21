// NLTK's PorterStemmer in its default NLTK_EXTENSIONS mode (nltk/stem/porter.py, 3.8).
// Not libstemmer: Snowball's "porter" equals NLTK's ORIGINAL_ALGORITHM mode, which stems
// common words differently from the default mode that rouge_score and NLTK's METEOR use
// ("day" -> "dai" vs "day", "aged" -> "ag" vs "age"); see docs/metrics.md.
// Works on Unicode code points so lengths and "double consonant" match Python's str.
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "base/util.h"

typedef struct { uint32_t *c; size_t n; } word;

static int is_vowel_ch(uint32_t c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

static int cons(const word *w, size_t i) {
  if (is_vowel_ch(w->c[i])) return 0;
  if (w->c[i] == 'y') return i == 0 ? 1 : !cons(w, i - 1);
  return 1;
}

// measure of the first n code points: number of "vc" transitions
static int measure(const word *w, size_t n) {
  int m = 0;
  for (size_t i = 1; i < n; i++)
    if (!cons(w, i - 1) && cons(w, i)) m++;
  return m;
}

static int contains_vowel(const word *w, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!cons(w, i)) return 1;
  return 0;
}

static int ends_double_cons(const word *w, size_t n) {
  return n >= 2 && w->c[n - 1] == w->c[n - 2] && cons(w, n - 1);
}

static int ends_cvc(const word *w, size_t n) {
  if (n >= 3 && cons(w, n - 3) && !cons(w, n - 2) && cons(w, n - 1) && w->c[n - 1] != 'w' &&
      w->c[n - 1] != 'x' && w->c[n - 1] != 'y')
    return 1;
  return n == 2 && !cons(w, 0) && cons(w, 1);  // NLTK extension
}

static int ends_with(const word *w, const char *suf) {
  size_t k = strlen(suf);
  if (k > w->n) return 0;
  for (size_t i = 0; i < k; i++)
    if (w->c[w->n - k + i] != (unsigned char)suf[i]) return 0;
  return 1;
}

// replace the last strlen(suf) code points by rep (rep never longer than suf + 2; the
// buffer has room for that, see porter_stem_nltk)
static void replace_suffix(word *w, const char *suf, const char *rep) {
  w->n -= strlen(suf);
  for (const char *p = rep; *p; p++) w->c[w->n++] = (unsigned char)*p;
}

enum cond { C_NONE, C_M_GT0, C_M_GT1, C_ION, C_LOGI };

// One rule list: the first rule whose suffix matches decides (NLTK _apply_rule_list).
typedef struct { const char *suf, *rep; enum cond cond; } rule;

static int cond_ok(const word *w, size_t stem_n, enum cond c) {
  switch (c) {
    case C_NONE: return 1;
    case C_M_GT0: return measure(w, stem_n) > 0;
    case C_M_GT1: return measure(w, stem_n) > 1;
    case C_ION: return measure(w, stem_n) > 1 && stem_n > 0 &&
                       (w->c[stem_n - 1] == 's' || w->c[stem_n - 1] == 't');
    case C_LOGI: return measure(w, w->n - 3) > 0;  // NLTK checks word[:-3], not the stem
  }
  return 0;
}

static void apply_rules(word *w, const rule *rules, size_t nr) {
  for (size_t i = 0; i < nr; i++) {
    if (!ends_with(w, rules[i].suf)) continue;
    size_t stem_n = w->n - strlen(rules[i].suf);
    if (cond_ok(w, stem_n, rules[i].cond)) replace_suffix(w, rules[i].suf, rules[i].rep);
    return;
  }
}

static void step1a(word *w) {
  if (ends_with(w, "ies") && w->n == 4) { replace_suffix(w, "ies", "ie"); return; }
  static const rule r[] = {{"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE},
                           {"s", "", C_NONE}};
  apply_rules(w, r, 4);
}

static void step1b(word *w) {
  if (ends_with(w, "ied")) {
    replace_suffix(w, "ied", w->n == 4 ? "ie" : "i");
    return;
  }
  if (ends_with(w, "eed")) {
    if (measure(w, w->n - 3) > 0) replace_suffix(w, "eed", "ee");
    return;
  }
  size_t stem_n = 0;
  int ok = 0;
  if (ends_with(w, "ed") && contains_vowel(w, w->n - 2)) { stem_n = w->n - 2; ok = 1; }
  else if (ends_with(w, "ing") && contains_vowel(w, w->n - 3)) { stem_n = w->n - 3; ok = 1; }
  if (!ok) return;
  w->n = stem_n;
  if (ends_with(w, "at")) { replace_suffix(w, "at", "ate"); return; }
  if (ends_with(w, "bl")) { replace_suffix(w, "bl", "ble"); return; }
  if (ends_with(w, "iz")) { replace_suffix(w, "iz", "ize"); return; }
  if (ends_double_cons(w, w->n)) {
    uint32_t last = w->c[w->n - 1];
    if (last != 'l' && last != 's' && last != 'z') w->n -= 1;
    return;
  }
  if (measure(w, w->n) == 1 && ends_cvc(w, w->n)) w->c[w->n++] = 'e';
}

static void step1c(word *w) {
  if (!ends_with(w, "y")) return;
  size_t n = w->n - 1;
  if (n > 1 && cons(w, n - 1)) w->c[n] = 'i';
}

static void step2(word *w) {
  if (ends_with(w, "alli") && measure(w, w->n - 4) > 0) {
    replace_suffix(w, "alli", "al");
    step2(w);
    return;
  }
  static const rule r[] = {
      {"ational", "ate", C_M_GT0}, {"tional", "tion", C_M_GT0}, {"enci", "ence", C_M_GT0},
      {"anci", "ance", C_M_GT0},   {"izer", "ize", C_M_GT0},    {"bli", "ble", C_M_GT0},
      {"alli", "al", C_M_GT0},     {"entli", "ent", C_M_GT0},   {"eli", "e", C_M_GT0},
      {"ousli", "ous", C_M_GT0},   {"ization", "ize", C_M_GT0}, {"ation", "ate", C_M_GT0},
      {"ator", "ate", C_M_GT0},    {"alism", "al", C_M_GT0},    {"iveness", "ive", C_M_GT0},
      {"fulness", "ful", C_M_GT0}, {"ousness", "ous", C_M_GT0}, {"aliti", "al", C_M_GT0},
      {"iviti", "ive", C_M_GT0},   {"biliti", "ble", C_M_GT0},  {"fulli", "ful", C_M_GT0},
      {"logi", "log", C_LOGI}};
  apply_rules(w, r, sizeof r / sizeof r[0]);
}

static void step3(word *w) {
  static const rule r[] = {{"icate", "ic", C_M_GT0}, {"ative", "", C_M_GT0},
                           {"alize", "al", C_M_GT0}, {"iciti", "ic", C_M_GT0},
                           {"ical", "ic", C_M_GT0},  {"ful", "", C_M_GT0},
                           {"ness", "", C_M_GT0}};
  apply_rules(w, r, sizeof r / sizeof r[0]);
}

static void step4(word *w) {
  static const rule r[] = {
      {"al", "", C_M_GT1},   {"ance", "", C_M_GT1}, {"ence", "", C_M_GT1}, {"er", "", C_M_GT1},
      {"ic", "", C_M_GT1},   {"able", "", C_M_GT1}, {"ible", "", C_M_GT1}, {"ant", "", C_M_GT1},
      {"ement", "", C_M_GT1}, {"ment", "", C_M_GT1}, {"ent", "", C_M_GT1}, {"ion", "", C_ION},
      {"ou", "", C_M_GT1},   {"ism", "", C_M_GT1},  {"ate", "", C_M_GT1},  {"iti", "", C_M_GT1},
      {"ous", "", C_M_GT1},  {"ive", "", C_M_GT1},  {"ize", "", C_M_GT1}};
  apply_rules(w, r, sizeof r / sizeof r[0]);
}

static void step5a(word *w) {
  if (!ends_with(w, "e")) return;
  size_t n = w->n - 1;
  int m = measure(w, n);
  if (m > 1 || (m == 1 && !ends_cvc(w, n))) w->n = n;
}

static void step5b(word *w) {
  if (ends_with(w, "ll") && measure(w, w->n - 1) > 1) w->n -= 1;
}

// UTF-8 <-> code points (invalid bytes pass through as single code points 0xDC80+byte,
// the way Python's surrogateescape would keep them distinct).
static size_t utf8_decode(const char *s, uint32_t *out) {
  size_t n = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    uint32_t c = *p;
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    int ok = len > 0;
    for (int k = 1; ok && k < len; k++) ok = (p[k] & 0xC0) == 0x80;
    if (!ok) { out[n++] = 0xDC00 + c; p++; continue; }
    if (len > 1) c &= 0xFFu >> (len + 1);
    for (int k = 1; k < len; k++) c = (c << 6) | (p[k] & 0x3F);
    out[n++] = c;
    p += len;
  }
  return n;
}

static char *utf8_encode(const uint32_t *c, size_t n) {
  char *s = xmalloc(4 * n + 1), *q = s;
  for (size_t i = 0; i < n; i++) {
    uint32_t x = c[i];
    if (x >= 0xDC80 && x <= 0xDCFF) *q++ = (char)(x - 0xDC00);
    else if (x < 0x80) *q++ = (char)x;
    else if (x < 0x800) { *q++ = (char)(0xC0 | (x >> 6)); *q++ = (char)(0x80 | (x & 0x3F)); }
    else if (x < 0x10000) {
      *q++ = (char)(0xE0 | (x >> 12)); *q++ = (char)(0x80 | ((x >> 6) & 0x3F));
      *q++ = (char)(0x80 | (x & 0x3F));
    } else {
      *q++ = (char)(0xF0 | (x >> 18)); *q++ = (char)(0x80 | ((x >> 12) & 0x3F));
      *q++ = (char)(0x80 | ((x >> 6) & 0x3F)); *q++ = (char)(0x80 | (x & 0x3F));
    }
  }
  *q = 0;
  return s;
}

char *porter_stem_nltk(const char *s) {
  // NLTK's irregular-form pool
  static const char *pool[][2] = {
      {"sky", "sky"},         {"skies", "sky"},       {"dying", "die"},     {"lying", "lie"},
      {"tying", "tie"},       {"news", "news"},       {"innings", "inning"}, {"inning", "inning"},
      {"outings", "outing"},  {"outing", "outing"},   {"cannings", "canning"},
      {"canning", "canning"}, {"howe", "howe"},       {"proceed", "proceed"},
      {"exceed", "exceed"},   {"succeed", "succeed"}};
  for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++)
    if (strcmp(s, pool[i][0]) == 0) return xstrdup(pool[i][1]);
  size_t len = strlen(s);
  word w;
  w.c = xmalloc((len + 4) * sizeof(uint32_t));  // rules grow a word by at most 2
  w.n = utf8_decode(s, w.c);
  if (w.n > 2) {
    step1a(&w);
    step1b(&w);
    step1c(&w);
    step2(&w);
    step3(&w);
    step4(&w);
    step5a(&w);
    step5b(&w);
  }
  char *out = utf8_encode(w.c, w.n);
  free(w.c);
  return out;
}
