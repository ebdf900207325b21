// See run_name.h.
#include "settings/run_name.h"

#include "base/log.h"

const char *run_name_problem(const char *v) {
  if (!v || !v[0]) return "it is empty";
  if (v[0] == '/') return "it is an absolute path";
  if (v[0] == '.') return "it starts with '.'";   // ".", "..", and names ls and globs hide
  for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
    if (*p == '/') return "it contains '/'";
    if (*p < 0x20 || *p == 0x7f) return "it contains a control character";
  }
  return NULL;
}

void run_name_check(const char *file, const char *key, const char *value) {
  const char *why = run_name_problem(value);
  if (why)
    fatal("%s: %s = \"%s\": not a plain name inside run_dir (%s); give one folder or file name "
          "without '/', '..' or a leading '.'", file, key, value ? value : "", why);
}
