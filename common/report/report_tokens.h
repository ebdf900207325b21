// A target's tokens as the reader sees them: coloured by effect, marked where the annotation
// mask (or, without annotations, effect > threshold) and the planted truth are, in HTML for
// the page and in ANSI colours or plain brackets for a terminal; and a prediction with the
// words it shares with the target marked.
//
// defines: report_unit_level, report_tokens_html, report_shared_html, report_tokens_term,
//          report_sample_text, REPORT_STRONG
#ifndef NQ_REPORT_TOKENS_H
#define NQ_REPORT_TOKENS_H

#include <stdio.h>

#include "base/util.h"
#include "report/report_data.h"

#define REPORT_STRONG 0.3   // an effect this large is "strong" (red; [[x]] in plain text)

// 2 strong, 1 marked (mask, or effect > threshold without annotations), 0 neither,
// -1 strongly negative.
int report_unit_level(const report_unit *u, double threshold, int have_mask);
// <span>s of the target's units (classes: tk, hi = marked, st = strong, pl = planted).
void report_tokens_html(strbuf *b, const report_sample *s, double threshold, int have_mask);
// The prediction, HTML-escaped, with each word that also occurs in `target` in <mark>
// (words of one or two letters and a few function words are not marked).
void report_shared_html(strbuf *b, const char *prediction, const char *target);
// The target on a terminal: ANSI backgrounds when `color`, else [x] marked and [[x]] strong.
void report_tokens_term(FILE *f, const report_sample *s, double threshold, int have_mask, int color);
// The target's text (units joined); caller frees.
char *report_sample_text(const report_sample *s);

#endif
