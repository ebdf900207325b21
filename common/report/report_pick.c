// Which users a report shows: the one asked for, then those whose ROUGE-L gains most and
// least from the baseline row (eval.baseline) to the compared row (nextquill when present).
#include "report/report_load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

typedef struct {
  const char *user;
  double sum;
  int n;
} user_gain;

static void add_user(report *r, const char *user) {
  for (int i = 0; i < r->n_users; i++)
    if (!strcmp(r->users[i], user)) return;
  r->users = xrealloc(r->users, (size_t)(r->n_users + 1) * sizeof *r->users);
  r->users[r->n_users++] = xstrdup(user);
}

static int cmp_gain(const void *a, const void *b) {
  const user_gain *x = a, *y = b;
  double gx = x->sum / x->n, gy = y->sum / y->n;
  if (gx != gy) return gx > gy ? -1 : 1;
  return strcmp(x->user, y->user);
}

// The row compared with the baseline: "nextquill" if there is one, else the last other row.
const report_row *report_compared_row(const report *r, const report_row **baseline) {
  *baseline = NULL;
  const report_row *cmp = NULL;
  for (int i = 0; i < r->n_rows; i++)
    if (!strcmp(r->rows[i].name, r->rows[i].baseline)) *baseline = &r->rows[i];
  for (int i = 0; i < r->n_rows; i++) {
    if (&r->rows[i] == *baseline) continue;
    if (!strcmp(r->rows[i].name, "nextquill")) return &r->rows[i];
    cmp = &r->rows[i];
  }
  return *baseline ? cmp : NULL;
}

void report_pick_users(report *r, const char *want, int n_best, int n_worst) {
  if (want) add_user(r, want);
  const report_row *base, *cmp = report_compared_row(r, &base);
  if (!cmp || !base || cmp->n_preds != base->n_preds) return;
  user_gain *g = xcalloc(cmp->n_preds + 1, sizeof *g);
  int n = 0;
  for (size_t i = 0; i < cmp->n_preds; i++) {   // both files are in id order
    const report_pred *a = &cmp->preds[i], *b = &base->preds[i];
    if (strcmp(a->id, b->id) || isnan(a->rougeL) || isnan(b->rougeL)) continue;
    int k = n > 0 && !strcmp(g[n - 1].user, a->user) ? n - 1 : 0;   // ids come grouped by user
    while (k < n && strcmp(g[k].user, a->user)) k++;
    if (k == n) g[n++] = (user_gain){a->user, 0, 0};
    g[k].sum += a->rougeL - b->rougeL;
    g[k].n++;
  }
  qsort(g, (size_t)n, sizeof *g, cmp_gain);
  for (int i = 0; i < n && i < n_best; i++) add_user(r, g[i].user);
  for (int i = n - 1; i >= 0 && i >= n - n_worst; i--) add_user(r, g[i].user);
  free(g);
}
