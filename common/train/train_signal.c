// SIGTERM and SIGUSR1 (Slurm's --signal=USR1@120) ask for a checkpoint at the next step
// boundary and exit TRAIN_EXIT_REQUEUE; the handler only records the signal.
#include <signal.h>
#include <string.h>

#include "base/log.h"
#include "train/trainer.h"

static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { stop_requested = sig; }

void train_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGUSR1, &sa, NULL))
    error("installing the SIGTERM/SIGUSR1 handlers failed");
}

int train_signal_local(void) { return stop_requested; }

int train_signal_agreed(void) {
  int sig = stop_requested;
  mpicheck(MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on stop");
  return sig;
}
