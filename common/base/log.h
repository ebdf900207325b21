// Rank-aware diagnostics (after SWIFT's error()/message()): every line carries the
// MPI rank, error() names file:function():line and stops the whole job, so one failing
// rank never leaves the others hanging in a collective.
#ifndef NQ_LOG_H
#define NQ_LOG_H

#include <stddef.h>
#include <stdint.h>

// Rank used as message prefix; -1 until MPI is up (then set by log_set_rank or nq_mpi_init).
void log_set_rank(int rank, int size);
int log_rank(void);
int log_size(void);
// Quiet mode suppresses message() (not warnings or errors); tests use it.
void log_set_quiet(int quiet);

void log_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *file, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
_Noreturn void log_error(const char *file, const char *func, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
// A user-facing failure (bad input, bad config): one line with no source location,
// because the message already names the user's file/line/field. Exits 1 / MPI_Abort.
_Noreturn void log_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Collective mode: every rank is known to hit the same fatal() (config loading), so only
// rank 0 prints it; the others wait for rank 0's abort instead of repeating the line.
void log_set_collective(int on);

// Tests can make error()/fatal() longjmp back instead of exiting (see tests/unit).
typedef void (*log_exit_hook)(int code, const char *msg);
void log_set_exit_hook(log_exit_hook hook);
// After a failed write HDF5's state is broken (it crashes closing its files in MPI_Finalize
// and at exit): the next error()/fatal() then ends the process with _exit, after the cleanup.
void log_exit_without_finalize(void);

#define message(...) log_message(__VA_ARGS__)
#define warning(...) log_warning(__FILE__, __func__, __LINE__, __VA_ARGS__)
#define error(...) log_error(__FILE__, __func__, __LINE__, __VA_ARGS__)
#define fatal(...) log_fatal(__VA_ARGS__)

// Progress on rank 0: a live bar on a TTY, otherwise one line every `interval` seconds
// so Slurm logs stay readable. `total` may be 0 when unknown (no ETA then).
typedef struct {
  const char *what;     // "tokenizing", "training"
  const char *unit;     // "samples", "tok"
  double total;
  double done;
  double t_start, t_last_print;
  double interval;
  int tty;
  int active;           // only rank 0 prints
} progress;
void progress_start(progress *p, const char *what, const char *unit, double total);
// Extra text (e.g. "loss 2.31") is appended to the line when non-NULL.
void progress_update(progress *p, double done, const char *extra);
void progress_finish(progress *p, const char *extra);

double wall_seconds(void);

#endif
