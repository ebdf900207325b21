// See config_ints.h: a small scanner over libconfig's lexical forms (strings, comments,
// names, decimal and hex integers, floats).
#include "config/config_ints.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

static int name_char(char c) { return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '*'; }

const char *config_skip_lexeme(const char *p, int *line) {
  if (*p == '"') {
    for (p++; *p && *p != '"'; p++) {
      if (*p == '\\' && p[1]) p++;
      else if (*p == '\n') (*line)++;
    }
    return *p ? p + 1 : p;
  }
  if (*p == '#' || (p[0] == '/' && p[1] == '/')) return p + strcspn(p, "\n");
  if (p[0] == '/' && p[1] == '*') {
    for (p += 2; *p && !(p[0] == '*' && p[1] == '/'); p++)
      if (*p == '\n') (*line)++;
    return *p ? p + 2 : p;
  }
  if (isalpha((unsigned char)*p) || *p == '_') {
    while (name_char(*p)) p++;
    return p;
  }
  return p;
}

// The number at p (sign included) copied into out; checks and widens an integer literal.
// Returns the end of the number, or NULL (err) when it is out of the 64-bit range.
static const char *number(const char *p, strbuf *out, int line, char *err, size_t errlen) {
  const char *s = p;
  if (*p == '+' || *p == '-') p++;
  int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
  const char *digits = hex ? p + 2 : p;
  for (p = digits; hex ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p); p++) {}
  if (!hex && (*p == '.' || *p == 'e' || *p == 'E')) {   // a float: copied as it is
    while (isdigit((unsigned char)*p) || (*p && strchr(".eE+-", *p))) p++;   // strchr finds the NUL too
    sb_append(out, s, (size_t)(p - s));
    return p;
  }
  sb_append(out, s, (size_t)(p - s));
  int suffixed = *p == 'L';
  errno = 0;
  long long v = 0;
  if (hex) {
    unsigned long long u = strtoull(digits, NULL, 16);
    if (errno == ERANGE || u > (unsigned long long)LLONG_MAX) errno = ERANGE;
    v = (long long)u;
  } else {
    v = strtoll(s, NULL, 10);
  }
  if (errno == ERANGE) {
    err_set(err, errlen, "line %d: integer %.*s is out of the 64-bit range", line, (int)(p - s), s);
    return NULL;
  }
  if (!suffixed && !hex && (v > INT_MAX || v < INT_MIN)) sb_puts(out, "L");
  if (!suffixed && hex && (unsigned long long)v > 0xffffffffULL) sb_puts(out, "L");
  return p;
}

char *config_widen_ints(const char *text, char *err, size_t errlen) {
  strbuf out;
  sb_init(&out);
  int line = 1;
  const char *p = text;
  while (*p) {
    const char *q = config_skip_lexeme(p, &line);
    if (q != p) {
      sb_append(&out, p, (size_t)(q - p));
      p = q;
      continue;
    }
    int sign = (*p == '+' || *p == '-') && isdigit((unsigned char)p[1]);
    if (isdigit((unsigned char)*p) || sign) {
      p = number(p, &out, line, err, errlen);
      if (!p) {
        sb_free(&out);
        return NULL;
      }
      continue;
    }
    if (*p == '\n') line++;
    sb_append(&out, p++, 1);
  }
  sb_puts(&out, "");
  return sb_detach(&out);
}
