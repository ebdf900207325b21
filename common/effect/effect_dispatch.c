// Dynamic shard dispatch over MPI point-to-point (see effect_dispatch.h).
#include "effect/effect_dispatch.h"

#include <mpi.h>

#include "base/log.h"
#include "pipeline/stage.h"

enum { TAG_ASK = 701, TAG_GIVE = 702 };
static struct { int active, next, n, finished, size; long long remote_tokens; } D;

long long effect_dispatch_remote_tokens(void) { return D.remote_tokens; }

// rank 0: answer every pending request (a job index, or -1 when none is left)
void effect_dispatch_poll(void) {
  if (!D.active || log_rank() > 0) return;
  for (;;) {
    int flag = 0;
    long long done;  // a request carries the tokens of the asker's previous job
    MPI_Status st;
    mpicheck(MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st), "probing for shard requests");
    if (!flag) return;
    mpicheck(MPI_Recv(&done, 1, MPI_LONG_LONG, st.MPI_SOURCE, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
             "receiving a shard request");
    D.remote_tokens += done;
    int give = D.next < D.n ? D.next++ : -1;
    if (give < 0) D.finished++;
    mpicheck(MPI_Send(&give, 1, MPI_INT, st.MPI_SOURCE, TAG_GIVE, MPI_COMM_WORLD), "handing out a shard");
  }
}

void effect_dispatch(int n_todo, long long (*work)(int, void *), void *arg) {
  int rank, size;
  mpicheck(MPI_Comm_rank(MPI_COMM_WORLD, &rank), "MPI_Comm_rank (dispatch)");
  mpicheck(MPI_Comm_size(MPI_COMM_WORLD, &size), "MPI_Comm_size (dispatch)");
  if (rank == 0) {
    D.active = 1, D.next = 0, D.n = n_todo, D.finished = 0, D.size = size, D.remote_tokens = 0;
    while (D.next < D.n) {
      int job = D.next++;
      work(job, arg);
      effect_dispatch_poll();
    }
    // nothing left: tell every worker as it asks
    while (D.finished < size - 1) {
      int none = -1;
      long long done;
      MPI_Status st;
      mpicheck(MPI_Recv(&done, 1, MPI_LONG_LONG, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &st),
               "receiving a final shard request");
      D.remote_tokens += done;
      mpicheck(MPI_Send(&none, 1, MPI_INT, st.MPI_SOURCE, TAG_GIVE, MPI_COMM_WORLD), "sending the end mark");
      D.finished++;
    }
    D.active = 0;
  } else {
    long long done = 0;
    for (;;) {
      int job;
      mpicheck(MPI_Send(&done, 1, MPI_LONG_LONG, 0, TAG_ASK, MPI_COMM_WORLD), "asking rank 0 for a shard");
      mpicheck(MPI_Recv(&job, 1, MPI_INT, 0, TAG_GIVE, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
               "receiving a shard index");
      if (job < 0) break;
      done = work(job, arg);
    }
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for every rank's shards");
}
