// See annotate_run.h. Sections: options, one effect file, the run.
#include "annotate/annotate_run.h"

#include <stdlib.h>
#include <string.h>

#include "annotate/annotate_summary.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"
#include "files/annotations_file.h"
#include "files/effects_file.h"
#include "h5/provenance.h"
#include "files/shards_file.h"
#include "pipeline/run_layout.h"

// ---- options -----------------------------------------------------------------------------
annot_rule annotate_rule_from_settings(const annotate_settings *a) {
  return (annot_rule){.kind = (annot_rule_kind)a->rule, .threshold = a->threshold, .log_ratio = a->log_ratio,
                      .top_fraction = a->top_fraction, .js_threshold = a->js_threshold, .hi = a->hi, .lo = a->lo};
}

static void opts_from_stage(annotate_opts *o, const settings *set, const stage_args *a) {
  memset(o, 0, sizeof *o);
  o->effects_dir = run_path(set, RUN_EFFECTS_READ);
  o->shards_dir = run_path(set, RUN_SHARDS);
  o->out_dir = run_path(set, RUN_ANNOTATIONS);
  o->run_dir = set->run_dir;
  o->rule = annotate_rule_from_settings(&set->annotate);
  o->hist_bins = (int)set->annotate.hist_bins;
  o->config_text = settings_text(set, NULL);
  o->mpi_size = a->size;
  o->stamp = a->stamp;
}

static void opts_free(annotate_opts *o) {
  free((char *)o->effects_dir), free((char *)o->shards_dir), free((char *)o->out_dir), free((char *)o->config_text);
  memset(o, 0, sizeof *o);
}

// ---- one effect file -----------------------------------------------------------------------
// The names of the effect files in dir, in shard order: the names nq-effect writes
// (shard-<i>.h5) only; another file there (a user's junk.h5, a *.tmp) is not an input.
static char **list_effects(const char *dir, size_t *n) {
  if (!dir_exists(dir)) fatal("%s: cannot open the effects directory; run nq-effect first", dir);
  int k;
  char **names = run_shard_files(dir, &k, 0);
  for (int i = 0; i < k; i++) {
    char *base = xstrdup(strrchr(names[i], '/') + 1);
    free(names[i]);
    names[i] = base;
  }
  *n = (size_t)k;
  return names;
}

// Reads an effect file, refusing one not written by nq-effect or whose shard changed since.
// The shard is the one of this run_dir with the recorded file name (older files hold an
// absolute path): a moved or copied run directory works, its digest decides.
static char *shard_of_effects(const annotate_opts *o, const effect_file *e) {
  const char *base = strrchr(e->shard, '/');
  return path_join(o->shards_dir, base ? base + 1 : e->shard);
}

static void effects_read_checked(const annotate_opts *o, const char *epath, effect_file *e) {
  file_read(&effects_kind, epath, e);
  char *shard = shard_of_effects(o, e);
  if (!file_exists(shard))
    fatal("%s: its shard %s no longer exists; rerun nq-shard then nq-effect", epath, shard);
  char now[65];  // not file_digest(): its per-process cache would hide a rewrite
  if (sha256_file_hex(shard, now) != 0) fatal("%s: cannot read shard %s", epath, shard);
  if (strcmp(now, e->shard_digest) != 0)
    fatal("%s: computed from another version of %s (digest differs); rerun nq-effect", epath, shard);
  free(shard);
}

// The effect files must be those of the shards: one per shard, no other.
static void require_effects_of_shards(const annotate_opts *o, char **names, size_t nf) {
  int ns;
  char **shards = run_shard_files(o->shards_dir, &ns, 1);
  for (int i = 0; i < ns; i++) {
    const char *base = strrchr(shards[i], '/') + 1;
    if ((size_t)i >= nf || strcmp(names[i], base))
      fatal("%s: no effect file for shard %s; rerun nq-effect", o->effects_dir, base);
  }
  if (nf > (size_t)ns)
    fatal("%s/%s: an effect file of no shard of %s; rerun nq-effect --force", o->effects_dir, names[ns],
          o->shards_dir);
  for (int i = 0; i < ns; i++) free(shards[i]);
  free(shards);
}

// The rule's weights and mask of e's tokens (allocated into a, whose other members borrow
// from e, the rule and epath: free only a->weight and a->mask).
static void annotations_of(const annotate_opts *o, const effect_file *e, const char *epath,
                           annotations_file *a) {
  const annot_rule *r = &o->rule;
  const char *rel = o->run_dir ? run_relative(o->run_dir, epath) : NULL;   // a moved run still checks it
  *a = (annotations_file){
      .rule = (char *)annot_rule_kind_name(r->kind), .threshold = r->threshold,
      .log_ratio = r->log_ratio, .top_fraction = r->top_fraction, .js_threshold = r->js_threshold,
      .hi = r->hi, .lo = r->lo, .shard = e->shard, .shard_digest = e->shard_digest,
      .effect_file = (char *)(rel ? rel : epath), .effect_file_digest = (char *)file_digest(epath),
      .checkpoint_digest = e->checkpoint_digest, .n_tokens = e->n_tokens, .n_samples = e->n_samples,
      .sample_offset = e->offsets, .sample_computed = e->sample_computed};
  a->weight = xmalloc((e->n_tokens + 1) * sizeof *a->weight);
  a->mask = xmalloc(e->n_tokens + 1);
  annotate_apply(r, e->logp_with, e->logp_without, e->effect, e->js, e->offsets, e->n_samples,
                 a->weight, a->mask);
  // samples of splits nq-effect skipped: neutral weight, never a preference token
  for (size_t i = 0; i < e->n_samples; i++)
    if (!e->sample_computed[i])
      for (int64_t t = e->offsets[i]; t < e->offsets[i + 1]; t++) a->weight[t] = 1.f, a->mask[t] = 0;
}

static void annotations_write(const annotate_opts *o, const char *apath, const annotations_file *a,
                              const char *epath, const char *shard) {
  const char *inputs[2] = {epath, shard};
  h5_provenance pv = {"annotate", o->config_text, o->mpi_size, 2, inputs, NULL, o->stamp};
  file_write(&annotations_kind, apath, a, &pv);
}

// effects/<name> -> annotations/<name>, counted into the totals.
static void annotate_file(const annotate_opts *o, const char *name, annotate_totals *t) {
  char *epath = path_join(o->effects_dir, name), *apath = path_join(o->out_dir, name);
  effect_file e;
  effects_read_checked(o, epath, &e);
  annotations_file a;
  annotations_of(o, &e, epath, &a);
  char *shard = shard_of_effects(o, &e);
  annotations_write(o, apath, &a, epath, shard);
  free(shard);
  annotate_totals_add(t, &e, a.mask);
  free(a.weight), free(a.mask), free(apath), free(epath);
  file_free(&effects_kind, &e);
}

// ---- the run -------------------------------------------------------------------------------
void annotate_effects(const annotate_opts *o) {
  size_t nf;
  char **names = list_effects(o->effects_dir, &nf);
  if (!nf) fatal("%s: no effect files; run nq-effect first", o->effects_dir);
  make_dirs(o->out_dir);
  annotate_totals *t = annotate_totals_create(o->hist_bins);
  double t0 = wall_seconds();
  for (size_t f = 0; f < nf; f++) annotate_file(o, names[f], t);
  char *spath = run_file(o->out_dir, RUN_SUMMARY_JSON, 0);
  annotate_totals_write(t, &o->rule, nf, wall_seconds() - t0, spath);
  message("annotate: wrote %s/ (%zu files) and %s", o->out_dir, nf, spath);
  free(spath);
  annotate_totals_free(t);
  for (size_t f = 0; f < nf; f++) free(names[f]);
  free(names);
}

int annotate_run(const settings *set, const stage_args *a) {
  if (a->rank == 0) {  // seconds of work: one rank does it, the others wait
    annotate_opts o;
    opts_from_stage(&o, set, a);
    size_t nf;
    char **names = list_effects(o.effects_dir, &nf);
    require_effects_of_shards(&o, names, nf);
    for (size_t f = 0; f < nf; f++) free(names[f]);
    free(names);
    annotate_effects(&o);
    opts_free(&o);
  }
  mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0 to annotate");
  return 0;
}
