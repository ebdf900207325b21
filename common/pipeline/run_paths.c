// Paths of the run derived from the config.
#include "pipeline/run_paths.h"

#include <string.h>

#include "base/util.h"

char *data_file_path(const config *c, int i) {
  const char *f = cfg_list_str(c, "data.files", i), *at = strstr(f, "{run_dir}");
  strbuf path;
  sb_init(&path);
  if (at) {
    sb_append(&path, f, (size_t)(at - f));
    sb_puts(&path, cfg_str(c, "run_dir"));
    sb_puts(&path, at + strlen("{run_dir}"));
  } else {
    sb_puts(&path, f);
  }
  return sb_detach(&path);
}
