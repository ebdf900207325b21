// Arena-sized MPI collectives in pieces that fit an int count (mpi_chunked.h).
#include "pipeline/mpi_chunked.h"

#include <limits.h>
#include <stdlib.h>

#include "base/log.h"
#include "pipeline/stage.h"

size_t mpi_chunk_elems(void) {
  static size_t chunk = 0;
  if (chunk) return chunk;
  chunk = (size_t)1 << 26;
  const char *e = getenv("NQ_MPI_CHUNK_ELEMS");
  if (e && *e) {
    char *end;
    long long v = strtoll(e, &end, 10);
    if (*end || v < 1 || v > INT_MAX) fatal("NQ_MPI_CHUNK_ELEMS='%s': expected 1..%d", e, INT_MAX);
    chunk = (size_t)v;
  }
  return chunk;
}

void mpi_allreduce_f32_sum(float *buf, size_t n, MPI_Comm comm) {
  size_t c = mpi_chunk_elems();
  for (size_t at = 0; at < n; at += c) {
    int k = (int)(n - at < c ? n - at : c);
    mpicheck(MPI_Allreduce(MPI_IN_PLACE, buf + at, k, MPI_FLOAT, MPI_SUM, comm), "summing an arena");
  }
}

void mpi_bcast_f32(float *buf, size_t n, int root, MPI_Comm comm) {
  size_t c = mpi_chunk_elems();
  for (size_t at = 0; at < n; at += c) {
    int k = (int)(n - at < c ? n - at : c);
    mpicheck(MPI_Bcast(buf + at, k, MPI_FLOAT, root, comm), "broadcasting an arena");
  }
}
