// nq-synth's MPI driver: ranks generate disjoint blocks of users; rank 0 writes its block and
// then each other rank's, in rank (= user) order, so the file is the same for any rank count.
// A sidecar `<output>.config` keeps the generator version and the effective `seed` + `synth`
// config: a rerun with the same config does nothing; a different config needs --force.
#ifndef NQ_SYNTH_RUN_H
#define NQ_SYNTH_RUN_H

#include "pipeline/stage.h"

// Returns 0 (failures stop the job).
int synth_run(stage_ctx *s);

#endif
