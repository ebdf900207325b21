// Parameter-sized MPI calls past 2^31 elements. Open MPI 4.1 (Debian bookworm) has no MPI-4
// large-count calls (MPI_Allreduce_c ...), so every call that moves a whole arena goes
// through these helpers, which split it into pieces of at most mpi_chunk_elems() elements.
// NQ_MPI_CHUNK_ELEMS (test-only; docs/scaling.md) lowers the piece size so that small
// models run the chunked paths in the tests.
#ifndef NQ_MPI_CHUNKED_H
#define NQ_MPI_CHUNKED_H

#include <mpi.h>
#include <stddef.h>

// Elements per MPI call: NQ_MPI_CHUNK_ELEMS when set (>= 1), else 2^26 (well below INT_MAX,
// and small enough for the non-blocking buckets of a 0.5B model to overlap).
size_t mpi_chunk_elems(void);
// In-place MPI_Allreduce(SUM) of n floats, piece by piece.
void mpi_allreduce_f32_sum(float *buf, size_t n, MPI_Comm comm);
// MPI_Bcast of n floats from `root`, piece by piece.
void mpi_bcast_f32(float *buf, size_t n, int root, MPI_Comm comm);

#endif
