// nq-synth's MPI driver: ranks generate disjoint blocks of users; rank 0 writes its block and
// then each other rank's, in rank (= user) order, so the file is the same for any rank count.
// Whether an existing output is current is the stamps' answer (pipeline/freshness.h).
#ifndef NQ_SYNTH_RUN_H
#define NQ_SYNTH_RUN_H

#include "pipeline/stage.h"

// Returns 0 (failures stop the job).
int synth_run(const settings *set, const stage_args *a);

#endif
