#include "base/log.h"

#include "base/cleanup.h"
#include "base/utf8.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int g_rank = -1, g_size = 1, g_quiet = 0, g_collective = 0, g_no_finalize = 0;
static log_exit_hook g_exit_hook = NULL;

void log_set_rank(int rank, int size) { g_rank = rank; g_size = size; }
int log_rank(void) { return g_rank < 0 ? 0 : g_rank; }
int log_size(void) { return g_size; }
void log_set_quiet(int quiet) { g_quiet = quiet; }
void log_set_exit_hook(log_exit_hook hook) { g_exit_hook = hook; }
void log_exit_without_finalize(void) { g_no_finalize = 1; }

double wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void prefix(FILE *f) {
  if (g_rank >= 0 && g_size > 1) fprintf(f, "[%d] ", g_rank);
}

// The formatted text with what a terminal would act on escaped (base/utf8.h): messages quote
// corpus text (ids, jansson's "near '...'"), and an ESC in it must not reach the terminal.
// Errors stay one line (`keep_lines` 0: a newline shows as \x0a).
static void emit(FILE *f, int keep_lines, const char *fmt, va_list ap) {
  char buf[4096], *big = NULL;
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  if (n >= (int)sizeof buf && (big = malloc((size_t)n + 1))) vsnprintf(big, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  const char *s = big ? big : buf;
  if (n > 0) term_fwrite(f, s, strlen(s), keep_lines);
  free(big);
}

static void emit_line(FILE *f, int keep_lines, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emit_line(FILE *f, int keep_lines, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit(f, keep_lines, fmt, ap);
  va_end(ap);
  fputc('\n', f);
}

void log_message(const char *fmt, ...) {
  if (g_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  prefix(stdout);
  emit(stdout, 1, fmt, ap);
  fputc('\n', stdout);
  fflush(stdout);
  va_end(ap);
}

void log_warning(const char *file, const char *func, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fflush(stdout);
  prefix(stderr);
  fprintf(stderr, "warning: %s:%s():%d: ", file, func, line);
  emit(stderr, 0, fmt, ap);
  fputc('\n', stderr);
  fflush(stderr);
  va_end(ap);
}

// Stops the process, or the whole MPI job when MPI is up and there is more than one rank
// (a lone failing rank must not leave the others waiting in a collective).
static _Noreturn void stop(int code, const char *msg) {
  cleanup_run();   // this rank's temp files and folders (base/cleanup.h)
  if (g_exit_hook) {
    g_exit_hook(code, msg);
  }
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  if (init && !fin) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
    if (!g_no_finalize) MPI_Finalize();
  }
  if (g_no_finalize) {
    fflush(stdout), fflush(stderr);
    _exit(code);
  }
  exit(code);
}

_Noreturn void log_error(const char *file, const char *func, int line, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fflush(stdout);
  prefix(stderr);
  emit_line(stderr, 0, "error: %s:%s():%d: %s", file, func, line, msg);
  fflush(stderr);
  stop(1, msg);
}

void log_set_collective(int on) { g_collective = on; }

_Noreturn void log_fatal(const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_collective && g_rank > 0 && g_size > 1 && !g_exit_hook) {
    sleep(10);  // rank 0 prints the same line and aborts the job; this is a fallback
    stop(1, msg);
  }
  fflush(stdout);
  prefix(stderr);
  emit_line(stderr, 0, "error: %s", msg);
  fflush(stderr);
  stop(1, msg);
}

// ---- progress ----------------------------------------------------------------------

static void fmt_duration(char *buf, size_t n, double s) {
  if (s < 0 || s > 1e7) { snprintf(buf, n, "?"); return; }
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, n, "%lds", t);
}

void progress_start(progress *p, const char *what, const char *unit, double total) {
  memset(p, 0, sizeof *p);
  p->what = what;
  p->unit = unit;
  p->total = total;
  p->t_start = p->t_last_print = wall_seconds();
  // NQ_PROGRESS_TTY=0 forces plain lines (mpirun hands ranks a pty even when the job's
  // output goes to a log file, e.g. through tee in jobs/run-local.sh).
  const char *tty = getenv("NQ_PROGRESS_TTY");
  p->tty = tty ? atoi(tty) != 0 : isatty(STDOUT_FILENO);
  const char *iv = getenv("NQ_PROGRESS_INTERVAL");
  p->interval = iv ? atof(iv) : (p->tty ? 0.2 : 5.0);
  p->active = (log_rank() == 0) && !g_quiet;
}

static void progress_print(progress *p, const char *extra, int final) {
  double el = wall_seconds() - p->t_start;
  double rate = el > 0 ? p->done / el : 0;
  char eta[32] = "", elapsed[32];
  fmt_duration(elapsed, sizeof elapsed, el);
  if (p->total > 0 && !final) {
    char d[24];
    fmt_duration(d, sizeof d, rate > 0 ? (p->total - p->done) / rate : -1);
    snprintf(eta, sizeof eta, " ETA %s", d);
  }
  char line[512];
  int len;
  if (p->total > 0) {
    double frac = p->done / p->total;
    if (frac > 1) frac = 1;
    char bar[21];
    int fill = (int)(frac * 20);
    for (int i = 0; i < 20; i++) bar[i] = i < fill ? '#' : '.';
    bar[20] = 0;
    len = snprintf(line, sizeof line, "%s [%s] %5.1f%% %.0f/%.0f %s, %.1f %s/s, %s%s%s%s",
                   p->what, bar, 100 * frac, p->done, p->total, p->unit, rate, p->unit,
                   elapsed, eta, extra ? ", " : "", extra ? extra : "");
  } else {
    len = snprintf(line, sizeof line, "%s %.0f %s, %.1f %s/s, %s%s%s", p->what, p->done,
                   p->unit, rate, p->unit, elapsed, extra ? ", " : "", extra ? extra : "");
  }
  (void)len;
  if (p->tty) {
    fprintf(stdout, "\r\033[K%s%s", line, final ? "\n" : "");
  } else {
    fprintf(stdout, "%s\n", line);
  }
  fflush(stdout);
}

void progress_update(progress *p, double done, const char *extra) {
  p->done = done;
  if (!p->active) return;
  double now = wall_seconds();
  if (now - p->t_last_print < p->interval) return;
  p->t_last_print = now;
  progress_print(p, extra, 0);
}

void progress_finish(progress *p, const char *extra) {
  if (!p->active) return;
  progress_print(p, extra, 1);
}
