// MPI's v-collectives (Alltoallv, Allgatherv, Gatherv) take int counts and displacements: a
// size_t total past INT_MAX would wrap into a negative or short count. These build them from
// size_t counts and say which count does not fit, before any cast.
#ifndef NQ_MPI_COUNTS_H
#define NQ_MPI_COUNTS_H

#include <stddef.h>

// cnt[r] = n[r] * unit and dsp[r] = (n[0] + ... + n[r-1]) * unit for r < size, in elements of
// `unit` items each. Returns the total (in items * unit), or -1 with one line in err
// (naming `what`) when a count or a displacement, or the total, passes INT_MAX.
long long mpi_int_counts(const size_t *n, int size, size_t unit, int *cnt, int *dsp, const char *what, char *err,
                         size_t errlen);
// The same stopping with fatal() (the message says to use more ranks or smaller inputs).
long long mpi_int_counts_or_die(const size_t *n, int size, size_t unit, int *cnt, int *dsp, const char *what);
// n as an int count, or fatal() naming `what`.
int mpi_int_count(size_t n, const char *what);

#endif
