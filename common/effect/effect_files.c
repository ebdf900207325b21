// See effect_files.h.
#include "effect/effect_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "effect/effect_summary.h"
#include "h5/h5io.h"
#include "h5/provenance.h"
#include "pipeline/run_layout.h"

char *effect_find_checkpoint(const settings *set) {
  const effect_settings *e = &set->effect;
  if (e->model[0]) {
    if (!file_exists(e->model)) fatal("effect.model: checkpoint '%s' does not exist", e->model);
    return xstrdup(e->model);
  }
  char *dir = run_resolve(set, e->reference_run);
  if (!dir || !dir_exists(dir))
    fatal("effect.model is empty and %s does not exist: run nq-train with train.name = \"%s\" "
          "(the reference model) first, or set effect.model", dir ? dir : set->run_dir, e->reference_run);
  char *found = run_file(dir, RUN_MODEL, 0);
  if (!file_exists(found)) {
    free(found);
    long *steps;
    int n = run_list(dir, RUN_CKPT, &steps);
    found = n ? run_file(dir, RUN_CKPT, steps[n - 1]) : NULL;
    free(steps);
  }
  if (!found)
    fatal("%s has no checkpoint (no final model, no step checkpoint): finish nq-train run '%s' first, "
          "or set effect.model", dir, e->reference_run);
  free(dir);
  return found;
}

const char *effect_output_stale(const char *path, const char *stamp) {
  if (!file_exists(path)) return "missing";
  hid_t f = h5_try_open_read(path);   // a truncated or garbage old file is recomputed
  if (f < 0) return "unreadable: truncated or not HDF5";
  h5_provenance_info p;
  const char *why = NULL;
  if (!h5_provenance_read(f, &p) || strcmp(p.stage, "effect")) why = "not an nq-effect output";
  else if (!p.stamp || !stamp[0] || strcmp(p.stamp, stamp)) why = "made with another config or input";
  h5_provenance_info_free(&p);
  h5_close(f);
  return why;
}

void effect_output_write(const char *path, effect_file *e, double threshold, const h5_provenance *pv) {
  effect_summarize(e, threshold);
  file_write(&effects_kind, path, e, pv);
}
