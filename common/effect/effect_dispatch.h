// nq-effect's shard dispatcher: rank 0 hands out shards one at a time, so each output is
// written by exactly one rank and the outputs do not depend on the rank count.
//
// defines: effect_dispatch, effect_dispatch_poll, effect_dispatch_remote_tokens
#ifndef NQ_EFFECT_DISPATCH_H
#define NQ_EFFECT_DISPATCH_H

// Dynamic shard dispatch. Rank 0 owns the list of `n_todo` jobs and hands the next one
// to whichever rank asks (MPI point-to-point), working on jobs itself in between.
// `work(job, arg)` computes and commits job and returns its token count (for progress);
// it should call effect_dispatch_poll() from time to time (e.g. from effect_compute's
// tick) so rank 0 answers requests promptly. Each job runs on exactly one rank;
// collective at the end (all ranks return together).
void effect_dispatch(int n_todo, long long (*work)(int job, void *arg), void *arg);
void effect_dispatch_poll(void);
// On rank 0: tokens reported done by the other ranks so far (their finished jobs).
long long effect_dispatch_remote_tokens(void);

#endif
