// Paths of the run derived from the config (see run_paths.h).
#include "pipeline/run_paths.h"

#include <string.h>

#include "base/util.h"

#define RUN_DIR_MARK "{run_dir}"

char *data_file_path(const config *c, int i) { return run_path_expand(c, cfg_list_str(c, "data.files", i)); }

char *run_path_expand(const config *c, const char *f) {
  const char *at = strstr(f, RUN_DIR_MARK);
  strbuf b;
  sb_init(&b);
  if (at) {
    sb_append(&b, f, (size_t)(at - f));
    sb_puts(&b, cfg_str(c, "run_dir"));
    sb_puts(&b, at + strlen(RUN_DIR_MARK));
  } else {
    sb_puts(&b, f);
  }
  return sb_detach(&b);
}
