// Provenance of every output file (root attributes nq_stage, nq_version, nq_config,
// nq_mpi_size, nq_created, nq_inputs) and the checks that refuse inputs made otherwise.
#include "h5/provenance.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "h5/h5io.h"
#include "hf/hf.h"

#ifndef NQ_VERSION
#define NQ_VERSION "unknown"
#endif

const char *nq_version(void) { return NQ_VERSION; }

typedef struct digest_entry { char *path; char hex[65]; struct digest_entry *next; } digest_entry;
static digest_entry *g_digests = NULL;

const char *file_digest(const char *path) {
  for (digest_entry *e = g_digests; e; e = e->next)
    if (strcmp(e->path, path) == 0) return e->hex;
  digest_entry *e = xcalloc(1, sizeof *e);
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {  // an HF model directory (docs/hf.md)
    if (hf_dir_digest(path, e->hex) != 0) fatal("%s: cannot read the model directory to compute its digest", path);
  } else if (sha256_file_hex(path, e->hex) != 0) fatal("%s: cannot read to compute its digest: %s", path, strerror(errno));
  e->path = xstrdup(path);
  e->next = g_digests;
  g_digests = e;
  return e->hex;
}

void h5_write_provenance(hid_t file, const h5_provenance *p) {
  h5_attr_set_str(file, "nq_stage", p->stage);
  h5_attr_set_str(file, "nq_version", nq_version());
  h5_attr_set_str(file, "nq_config", p->config_text ? p->config_text : "");
  h5_attr_set_i64(file, "nq_mpi_size", p->mpi_size);
  char when[32];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  h5_attr_set_str(file, "nq_created", when);
  strbuf b;
  sb_init(&b);
  for (int i = 0; i < p->n_inputs; i++) {
    const char *d = p->digests && p->digests[i] ? p->digests[i] : file_digest(p->inputs[i]);
    sb_printf(&b, "%s  %s\n", d, p->inputs[i]);
  }
  h5_attr_set_str(file, "nq_inputs", b.data ? b.data : "");
  sb_free(&b);
  if (p->stamp && p->stamp[0]) h5_attr_set_str(file, "nq_stamp", p->stamp);
}

char *h5_provenance_stage(hid_t file) {
  return h5_attr_exists(file, "nq_stage") ? h5_attr_get_str(file, "nq_stage") : NULL;
}

static char *attr_or_null(hid_t file, const char *name) {
  return h5_attr_exists(file, name) ? h5_attr_get_str(file, name) : NULL;
}

int h5_provenance_read(hid_t file, h5_provenance_info *p) {
  memset(p, 0, sizeof *p);
  p->stage = h5_provenance_stage(file);
  if (!p->stage) return 0;
  p->version = attr_or_null(file, "nq_version");
  p->config = attr_or_null(file, "nq_config");
  p->created = attr_or_null(file, "nq_created");
  p->inputs = attr_or_null(file, "nq_inputs");
  p->stamp = attr_or_null(file, "nq_stamp");
  p->mpi_size = h5_attr_exists(file, "nq_mpi_size") ? h5_attr_get_i64(file, "nq_mpi_size") : 0;
  return 1;
}

void h5_provenance_info_free(h5_provenance_info *p) {
  free(p->stage);
  free(p->version);
  free(p->config);
  free(p->created);
  free(p->inputs);
  free(p->stamp);
  memset(p, 0, sizeof *p);
}

