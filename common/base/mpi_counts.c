// See mpi_counts.h.
#include "base/mpi_counts.h"

#include <limits.h>

#include "base/log.h"
#include "base/util.h"

long long mpi_int_counts(const size_t *n, int size, size_t unit, int *cnt, int *dsp, const char *what, char *err,
                         size_t errlen) {
  size_t at = 0;   // running displacement, never past INT_MAX
  for (int r = 0; r < size; r++) {
    if (unit && n[r] > (size_t)INT_MAX / unit)
      return err_set(err, errlen, "%s: %zu items from rank %d do not fit MPI's int counts", what, n[r], r);
    size_t c = n[r] * unit;
    if (c > (size_t)INT_MAX - at)
      return err_set(err, errlen, "%s: %zu items in total pass MPI's int counts (2^31 - 1) at rank %d", what,
                     (at + c) / (unit ? unit : 1), r);
    cnt[r] = (int)c;
    dsp[r] = (int)at;
    at += c;
  }
  return (long long)at;
}

long long mpi_int_counts_or_die(const size_t *n, int size, size_t unit, int *cnt, int *dsp, const char *what) {
  char err[512];
  long long t = mpi_int_counts(n, size, unit, cnt, dsp, what, err, sizeof err);
  if (t < 0) fatal("%s; run with more ranks or a smaller input", err);
  return t;
}

int mpi_int_count(size_t n, const char *what) {
  if (n > (size_t)INT_MAX) fatal("%s: %zu items do not fit MPI's int counts; run with more ranks or a smaller input", what, n);
  return (int)n;
}
