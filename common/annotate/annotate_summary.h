// nq-annotate's running totals over every effect file and the summary they become
// (annotations/summary.json, described in docs/effects-layout.md): tokens and preference tokens per split
// and per user, a histogram of the effects, and scores of the mask and of the raw effect
// against planted truth when the shards carry it.
//
// defines: annotate_totals, annotate_totals_create, annotate_totals_add,
//          annotate_totals_write, annotate_totals_free
#ifndef NQ_ANNOTATE_SUMMARY_H
#define NQ_ANNOTATE_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "annotate/annotate.h"
#include "files/effects_file.h"

typedef struct annotate_totals annotate_totals;

// Totals with a histogram of `hist_bins` bins over [-1, 1].
annotate_totals *annotate_totals_create(int hist_bins);
// Counts the computed samples of one effect file, with the mask the rule gave its tokens.
void annotate_totals_add(annotate_totals *t, const effect_file *e, const uint8_t *mask);
// Logs the totals and writes the summary of `n_files` annotated files to `path`;
// `seconds` is the time spent annotating.
void annotate_totals_write(annotate_totals *t, const annot_rule *r, size_t n_files,
                           double seconds, const char *path);
void annotate_totals_free(annotate_totals *t);

#endif
