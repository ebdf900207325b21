// See effect_files.h.
#include "effect/effect_files.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/h5io.h"
#include "base/log.h"
#include "base/util.h"

char *effect_find_checkpoint(const char *model, const char *run_dir, const char *reference_run) {
  if (model && model[0]) {
    if (!file_exists(model)) fatal("effect.model: checkpoint '%s' does not exist", model);
    return xstrdup(model);
  }
  char *dir = path_join(run_dir, reference_run);
  DIR *d = opendir(dir);
  if (!d)
    fatal("effect.model is empty and %s does not exist: run nq-train with train.name = \"%s\" "
          "(the reference model) first, or set effect.model", dir, reference_run);
  long best = -1;
  char *found = NULL;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    size_t len = strlen(n);
    if (len < 9 || strncmp(n, "ckpt-", 5) || strcmp(n + len - 3, ".h5")) continue;
    long step;
    char tail[8];
    if (!strcmp(n, "ckpt-final.h5")) step = 1L << 62;
    else if (sscanf(n, "ckpt-%ld%7s", &step, tail) != 2 || strcmp(tail, ".h5")) continue;
    if (step > best) {
      best = step;
      free(found);
      found = path_join(dir, n);
    }
  }
  closedir(d);
  if (!found)
    fatal("%s has no checkpoint (ckpt-*.h5): finish nq-train run '%s' first, or set effect.model",
          dir, reference_run);
  free(dir);
  return found;
}

int effect_output_current(const char *path, const char *shard_digest, const char *ckpt_digest,
                          double threshold, const char **why) {
  const char *reason = NULL;
  if (!file_exists(path)) {
    reason = "missing";
  } else {
    hid_t f = h5_open_read(path);
    char *stage = h5_attr_exists(f, "nq_stage") ? h5_attr_get_str(f, "nq_stage") : NULL;
    if (!stage || strcmp(stage, "effect")) {
      reason = "not an nq-effect output";
    } else if (!h5_attr_exists(f, "shard_digest") || !h5_attr_exists(f, "checkpoint_digest") ||
               !h5_attr_exists(f, "threshold")) {
      reason = "incomplete attributes";
    } else {
      char *sd = h5_attr_get_str(f, "shard_digest"), *cd = h5_attr_get_str(f, "checkpoint_digest");
      if (strcmp(sd, shard_digest)) reason = "shard changed";
      else if (strcmp(cd, ckpt_digest)) reason = "reference checkpoint changed";
      else if (h5_attr_get_f64(f, "threshold") != threshold) reason = "effect.threshold changed";
      free(sd), free(cd);
    }
    free(stage);
    h5_close(f);
  }
  if (why) *why = reason;
  return reason == NULL;
}
