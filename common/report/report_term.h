// nq-report's terminal view (for an SSH session on a login node): one user's samples with
// their tokens coloured by effect and each model's prediction, and the most
// preference-bearing tokens of a user or of the corpus.
//
// defines: report_term_user, report_term_top
#ifndef NQ_REPORT_TERM_H
#define NQ_REPORT_TERM_H

#include <stdio.h>

#include "report/report_data.h"

// The samples of `user` (in id order): the target with its tokens marked (ANSI colours when
// `color`, brackets otherwise), its strongest tokens, and for test samples each eval row's
// prediction. Returns 0, or 1 when the report holds no sample of that user.
int report_term_user(FILE *f, const report *r, const char *user, int color);
// The k tokens with the largest effect of `user`'s samples (one line each: effect, sample,
// token), or with user NULL the k token types of the corpus with the largest mean effect
// (seen at least 5 times).
void report_term_top(FILE *f, const report *r, const char *user, int k);

#endif
