// The (sample, row) records of generation: appending, gathering on rank 0 (MPI), indexing.
#include "eval/eval_records.h"

#include <mpi.h>
#include <stdlib.h>

#include "base/log.h"
#include "base/mpi_counts.h"

static size_t record_size(const eval_record *h) {
  return sizeof *h + (size_t)(h->n + h->n % 2) * sizeof(int32_t);
}

void eval_record_append(strbuf *out, const eval_record *h, const int32_t *ids) {
  sb_append(out, (const char *)h, sizeof *h);
  sb_append(out, (const char *)ids, (size_t)h->n * sizeof(int32_t));
  if (h->n % 2) sb_append(out, "\0\0\0\0", 4);  // keep the next header 8-byte aligned
}

char *eval_records_gather(const stage_args *s, const strbuf *mine, size_t *total) {
  int len = mpi_int_count(mine->len, "eval: bytes of results on this rank"), *lens = NULL, *offs = NULL;
  if (s->rank == 0) {
    lens = xmalloc((size_t)s->size * sizeof(int));
    offs = xmalloc((size_t)s->size * sizeof(int));
  }
  mpicheck(MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD), "gathering result sizes");
  char *all = NULL;
  size_t t = 0;
  if (s->rank == 0) {
    size_t *n = xmalloc((size_t)s->size * sizeof *n);
    for (int r = 0; r < s->size; r++) n[r] = (size_t)lens[r];
    t = (size_t)mpi_int_counts_or_die(n, s->size, 1, lens, offs, "eval: gathering results on rank 0 (bytes)");
    free(n);
    all = xmalloc(t + 1);
  }
  mpicheck(MPI_Gatherv(mine->data ? mine->data : "", len, MPI_BYTE, all, lens, offs, MPI_BYTE, 0,
                       MPI_COMM_WORLD), "gathering results");
  free(lens);
  free(offs);
  *total = t;
  return all;
}

const eval_record **eval_records_index(const char *buf, size_t len, size_t n, int n_rows) {
  const eval_record **hd = xcalloc((size_t)n_rows * n, sizeof *hd);
  for (size_t at = 0; at < len;) {
    const eval_record *h = (const eval_record *)(buf + at);
    if (at + sizeof *h > len || h->k < 0 || (size_t)h->k >= n || h->row < 0 || h->row >= n_rows || h->n < 0 ||
        at + record_size(h) > len)
      error("eval: corrupt result record at byte %zu", at);
    hd[(size_t)h->row * n + (size_t)h->k] = h;
    at += record_size(h);
  }
  for (size_t i = 0; i < (size_t)n_rows * n; i++)
    if (!hd[i]) error("eval: no result for row %zu sample %zu", i / n, i % n);
  return hd;
}
