// See effect_files.h.
#include "effect/effect_files.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "effect/effect_summary.h"
#include "formats/h5io.h"
#include "formats/provenance.h"

// The name nq-train gives the model of a finished run (train/train.c).
#define FINAL_MODEL "model.h5"

// The ckpt-<step>.h5 of dir with the largest step (numeric, not lexical), or NULL.
static char *newest_step_checkpoint(const char *dir, DIR *d) {
  long best = -1;
  char *found = NULL;
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *n = de->d_name;
    long step;
    char tail[8];
    if (strncmp(n, "ckpt-", 5) || sscanf(n, "ckpt-%ld%7s", &step, tail) != 2 || strcmp(tail, ".h5"))
      continue;
    if (step > best) {
      best = step;
      free(found);
      found = path_join(dir, n);
    }
  }
  return found;
}

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
  char *found = path_join(dir, FINAL_MODEL);
  if (!file_exists(found)) {
    free(found);
    found = newest_step_checkpoint(dir, d);
  }
  closedir(d);
  if (!found)
    fatal("%s has no checkpoint (" FINAL_MODEL " or ckpt-*.h5): finish nq-train run '%s' first, "
          "or set effect.model", dir, reference_run);
  free(dir);
  return found;
}

// Reason an existing file cannot be kept as it is, or NULL; *summaries_only when only the
// threshold differs.
static const char *stale_reason(hid_t f, const char *shard_digest, const char *ckpt_digest,
                                double threshold, int *summaries_only) {
  char *stage = h5_provenance_stage(f);
  int ours = stage && !strcmp(stage, "effect");
  free(stage);
  if (!ours) return "not an nq-effect output";
  effect_file e;
  const char *reason = NULL;
  if (!effect_file_read_identity(f, &e)) reason = "incomplete attributes";
  else if (strcmp(e.shard_digest, shard_digest)) reason = "shard changed";
  else if (strcmp(e.checkpoint_digest, ckpt_digest)) reason = "reference checkpoint changed";
  else if (e.threshold != threshold) reason = "effect.threshold changed", *summaries_only = 1;
  effect_file_free(&e);
  return reason;
}

effect_out_state effect_output_state(const char *path, const char *shard_digest,
                                     const char *ckpt_digest, double threshold, const char **why) {
  const char *reason = "missing";
  int summaries_only = 0;
  if (file_exists(path)) {
    hid_t f = h5_try_open_read(path);   // a truncated or garbage old file is recomputed
    reason = f < 0 ? "unreadable: truncated or not HDF5"
                   : stale_reason(f, shard_digest, ckpt_digest, threshold, &summaries_only);
    if (f >= 0) h5_close(f);
  }
  if (why) *why = reason;
  return !reason ? EFFECT_OUT_CURRENT : summaries_only ? EFFECT_OUT_SUMMARIES : EFFECT_OUT_STALE;
}

void effect_output_write(const char *path, effect_file *e, double threshold, const h5_provenance *pv) {
  effect_summarize(e, threshold);
  h5_out o;
  h5_out_create(&o, path);
  effect_file_write(o.file, e);
  h5_write_provenance(o.file, pv);
  h5_out_commit(&o);
}

void effect_output_resummarize(const char *path, double threshold, const h5_provenance *pv) {
  effect_file e;
  hid_t f = h5_open_read(path);
  effect_file_read(f, path, &e);
  h5_close(f);
  effect_output_write(path, &e, threshold, pv);
  effect_file_free(&e);
}
