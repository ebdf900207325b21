// Template rendering (see template.h).
#include "text/template.h"

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

int tpl_render(const char *tpl, const char *name, const json_t *obj, const char *history,
               strbuf *out, char *err, size_t errlen) {
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
    if (history && strcmp(key, "history") == 0) {
      sb_puts(out, history);
      continue;
    }
    const json_t *v = json_path_get(obj, key);
    if (!v) {
      snprintf(err, errlen, "field '%s': missing (used by %s)", key, name);
      return -1;
    }
    if (scalar_text(v, out) != 0) {
      snprintf(err, errlen, "field '%s': expected a string or number, got %s (used by %s)", key,
               json_is_array(v) ? "an array" : "an object", name);
      return -1;
    }
  }
  return 0;
}
