// Provenance of every output file: who wrote it, with which config, from which inputs, under
// which stamp. Whether an input is current is the stamps' answer (pipeline/freshness.h); a
// file kind's reader checks the writer stage (files/file_kind.h).
#ifndef NQ_PROVENANCE_H
#define NQ_PROVENANCE_H

#include <hdf5.h>

// Stored as attributes of the root group:
//   nq_stage, nq_version (git describe), nq_config (effective config text),
//   nq_mpi_size, nq_created (ISO 8601 UTC), nq_inputs (one "sha256  path" per line), and
//   nq_stamp (the writing step's stamp, pipeline/freshness.h) when there is one.
typedef struct {
  const char *stage;
  const char *config_text;
  int mpi_size;
  int n_inputs;
  const char *const *inputs;    // paths of consumed input files (digested here)
  const char *const *digests;   // optional precomputed hex digests (NULL = compute)
  const char *stamp;            // the stamp of the invocation that wrote it, or NULL / ""
} h5_provenance;
void h5_write_provenance(hid_t file, const h5_provenance *p);
// The stage that wrote `file` (its nq_stage; caller frees), or NULL when it has no provenance.
char *h5_provenance_stage(hid_t file);
// The provenance of a file as stored, for readers that show it (nq-report).
typedef struct {
  char *stage, *version, *config, *created, *inputs;   // inputs: "sha256  path" lines
  char *stamp;                                         // NULL when it has none
  long long mpi_size;
} h5_provenance_info;
// Reads the provenance attributes of `file` into *p (zeroed first): 0 when the file has none
// (not written by nextquill); a missing attribute other than nq_stage is left NULL.
int h5_provenance_read(hid_t file, h5_provenance_info *p);
void h5_provenance_info_free(h5_provenance_info *p);
// The program version compiled in (git describe --always --dirty).
const char *nq_version(void);
// Digest helper: SHA-256 hex of a file, cached per path for the life of the process.
const char *file_digest(const char *path);

#endif
