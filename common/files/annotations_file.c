// The annotations file kind: its table and its file_kind (read and written by
// files/file_kind.c), and nq-train's checked read. Dataset and attribute names are written
// here only (STYLE.md).
#include "files/annotations_file.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "h5/provenance.h"

enum { N_TOKENS, N_SAMPLES };   // indices into the counts below
static const char *const counts[] = {"n_tokens", "n_samples", NULL};

#define M(member) offsetof(annotations_file, member)
#define ATTR(name, type, member, flags, meaning) {name, type, M(member), 0, 0, LF_ATTR | (flags), "", meaning}
static const h5_field fields[] = {
    ATTR("rule", LF_STR, rule, 0, "annotate.rule: threshold, log_ratio, top_fraction or js"),
    ATTR("threshold", LF_F64, threshold, 0, "annotate.threshold"),
    ATTR("log_ratio", LF_F64, log_ratio, 0, "annotate.log_ratio"),
    ATTR("top_fraction", LF_F64, top_fraction, 0, "annotate.top_fraction"),
    ATTR("js_threshold", LF_F64, js_threshold, 0, "annotate.js_threshold"),
    ATTR("hi", LF_F64, hi, 0, "annotate.hi: weight of preference tokens"),
    ATTR("lo", LF_F64, lo, 0, "annotate.lo: weight of the other tokens"),
    ATTR("shard", LF_STR, shard, 0, "path of the shard the effects were computed from"),
    ATTR("shard_digest", LF_STR, shard_digest, 0,
         "its SHA-256; nq-train refuses the file when it differs from the shard's"),
    ATTR("effect_file", LF_STR, effect_file, LF_OPTIONAL, "path of the effect file, relative to run_dir (absolute in older files)"),
    ATTR("effect_file_digest", LF_STR, effect_file_digest, LF_OPTIONAL,
         "its SHA-256; nq-train refuses the file when the effect file changed since"),
    ATTR("checkpoint_digest", LF_STR, checkpoint_digest, 0, "SHA-256 of the effects' reference model"),
    {"weight", LF_F32, M(weight), N_TOKENS, 0, 0, "n_tokens", "training weight w_t"},
    {"mask", LF_U8, M(mask), N_TOKENS, 0, 0, "n_tokens", "1 = preference token"},
    {"sample_offset", LF_I64, M(sample_offset), N_SAMPLES, 1, 0, "n_samples + 1",
     "token range of each sample (the effect file's sample offsets)"},
    {"sample_computed", LF_U8, M(sample_computed), N_SAMPLES, 0, 0, "n_samples",
     "the effect file's computed flags; uncomputed samples get weight 1, mask 0"},
    {NULL, 0, 0, 0, 0, 0, NULL, NULL},
};
#undef ATTR
#undef M

const h5_layout annotations_layout = {"annotation files", "annotate", fields, counts};

const file_kind annotations_kind = {
    .layout = &annotations_layout,
    .size = sizeof(annotations_file),
    .count_at = {[N_TOKENS] = offsetof(annotations_file, n_tokens), [N_SAMPLES] = offsetof(annotations_file, n_samples)},
    .writers = (const char *const[]){"annotate", NULL},
};

void annotations_read_weights(const char *path, const char *shard_path, const char *run_dir, size_t n_targets,
                              float **weight, uint8_t **mask) {
  if (!file_exists(path)) fatal("%s: missing annotation file; run nq-effect and nq-annotate", path);
  annotations_file a;
  file_read(&annotations_kind, path, &a);
  if (strcmp(a.shard_digest, file_digest(shard_path)))
    fatal("%s was made from another shard; rerun nq-effect and nq-annotate", path);
  // effects recomputed since (e.g. a retrained reference model): these weights are stale.
  // Effects deleted after annotating are fine: the annotation file is self-contained.
  // The path is relative to run_dir (absolute in files of older versions).
  char *effects = !a.effect_file ? NULL : a.effect_file[0] == '/' ? xstrdup(a.effect_file) : path_join(run_dir, a.effect_file);
  if (effects && a.effect_file_digest && file_exists(effects) && strcmp(a.effect_file_digest, file_digest(effects)))
    fatal("%s was made from an earlier version of %s; rerun nq-annotate", path, effects);
  free(effects);
  if (a.n_tokens != n_targets)
    fatal("%s: 'weight' has %zu entries, the shard has %zu target tokens", path, a.n_tokens, n_targets);
  *weight = a.weight, *mask = a.mask;   // kept by the caller; the rest is freed
  a.weight = NULL, a.mask = NULL;
  file_free(&annotations_kind, &a);
}
