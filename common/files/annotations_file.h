// The annotation file of one shard: <run_dir>/annotations/<shard file name>, per target
// token the training weight and the preference mask nq-annotate derived from the effects,
// aligned index-for-index with the shard's target tokens (docs/hdf5-layout.md, section
// "annotations"). Self-contained: nq-train reads it without the effect file.
//
// Read, write and free it through files/file_kind.h with `annotations_kind`.
//
// defines: annotations_file, annotations_layout, annotations_kind, annotations_read_weights
#ifndef NQ_ANNOTATIONS_FILE_H
#define NQ_ANNOTATIONS_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "files/file_kind.h"
#include "h5/layout.h"

typedef struct {
  // the rule and every parameter (annotate/annotate.h: annot_rule), as given
  char *rule;
  double threshold, log_ratio, top_fraction, js_threshold, hi, lo;
  // identity of the inputs
  char *shard, *shard_digest;       // the shard the effects were computed from
  char *effect_file, *effect_file_digest;   // the effect file, run_dir-relative (may be absent in older files)
  char *checkpoint_digest;          // the reference model of the effects
  // per target token (n_tokens)
  size_t n_tokens;
  float *weight;
  uint8_t *mask;
  // per sample (n_samples; sample_offset has n_samples + 1 entries)
  size_t n_samples;
  int64_t *sample_offset;
  uint8_t *sample_computed;
} annotations_file;

// Every dataset and attribute of an annotation file, once (files/layouts.c lists it).
extern const h5_layout annotations_layout;
// The kind: written by nq-annotate. For file_write the members may be borrowed (it only reads).
extern const file_kind annotations_kind;

// nq-train's read: the weights and mask of the annotation file at `path` for the shard at
// `shard_path` with n_targets target tokens (caller frees both); the recorded effect file is
// relative to `run_dir`. Stops, naming the stage to
// rerun, when the file is missing, was made from another shard, from effects rewritten
// since, or does not have n_targets tokens.
void annotations_read_weights(const char *path, const char *shard_path, const char *run_dir, size_t n_targets,
                              float **weight, uint8_t **mask);

#endif
