// nq-annotate: effects -> per-token training weights and preference mask (stage 3).
// Reads <run_dir>/effects/, writes <run_dir>/annotations/; never loads the model, so
// trying another rule or threshold (--set annotate.threshold=0.1) takes seconds.
#include <stdlib.h>

#include "annotate/annotate_run.h"
#include "config/config.h"
#include "base/log.h"
#include "pipeline/stage.h"

int main(int argc, char **argv) {
  stage_ctx s;
  stage_begin(&s, "annotate", argc, argv);
  if (s.rank == 0) {  // seconds of work: one rank does it, the others wait
    annotate_opts o = {0};
    o.effects_dir = stage_path(&s, "effects");
    o.out_dir = stage_path(&s, "annotations");
    o.rule = annotate_rule_from_config(s.cfg);
    o.hist_bins = (int)cfg_int(s.cfg, "annotate.hist_bins");
    char *cfg_text = config_text(s.cfg, NULL);
    o.config_text = cfg_text;
    o.mpi_size = s.size;
    annotate_run(&o);
    free(cfg_text);
    free((char *)o.effects_dir);
    free((char *)o.out_dir);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0 to annotate");
  return stage_end(&s, 0);
}
