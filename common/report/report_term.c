// The terminal view: plain text unless the output is a terminal (the caller decides).
#include "report/report_term.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/term_escape.h"
#include "base/utf8.h"
#include "base/util.h"
#include "files/shards_file.h"
#include "report/report_tokens.h"

static const char *split_name(int s) {
  return s == SPLIT_TRAIN ? "train" : s == SPLIT_VALID ? "valid" : s == SPLIT_TEST ? "test" : "?";
}

typedef struct {
  const report_sample *s;
  const report_unit *u;
} unit_ref;

static int cmp_unit_ref(const void *a, const void *b) {
  const unit_ref *x = a, *y = b;
  float ex = isnan(x->u->effect) ? -INFINITY : x->u->effect;
  float ey = isnan(y->u->effect) ? -INFINITY : y->u->effect;
  if (ex != ey) return ex > ey ? -1 : 1;
  int c = strcmp(x->s->id, y->s->id);
  return c ? c : (x->u < y->u ? -1 : x->u > y->u);
}

static int cmp_sample_ptr(const void *a, const void *b) {
  return strcmp((*(const report_sample *const *)a)->id, (*(const report_sample *const *)b)->id);
}

// Units of the user's samples (or of one sample), strongest first; caller frees.
static unit_ref *ranked_units(const report *r, const char *user, const report_sample *only, size_t *n) {
  size_t cap = 0;
  unit_ref *v = NULL;
  *n = 0;
  for (size_t i = 0; i < r->n_samples; i++) {
    const report_sample *s = &r->samples[i];
    if (only ? s != only : strcmp(s->user, user) != 0) continue;
    for (size_t u = 0; u < s->n_units; u++) {
      if (isnan(s->units[u].effect)) continue;
      if (*n == cap) v = xrealloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
      v[(*n)++] = (unit_ref){s, &s->units[u]};
    }
  }
  if (*n) qsort(v, *n, sizeof *v, cmp_unit_ref);
  return v;
}

// Corpus text (ids, tokens, predictions) goes through term_fputs: escape sequences in it are
// shown, not obeyed (base/utf8.h).
static void print_sample(FILE *f, const report *r, const report_sample *s, int color) {
  int have_mask = r->have_annotations;
  fprintf(f, "\n%s", color ? "\033[1m" : "");
  term_fputs(f, s->id, 0);
  fprintf(f, "%s  (%s)\n", color ? "\033[0m" : "", split_name(s->split));
  fputs("  ", f);
  report_tokens_term(f, s, r->threshold, have_mask, color);
  fputc('\n', f);
  size_t n;
  unit_ref *v = ranked_units(r, NULL, s, &n);
  if (n) {
    fputs("  strongest:", f);
    for (size_t i = 0; i < n && i < 5; i++) {
      fprintf(f, "%s \"", i ? "," : "");
      term_fputs(f, v[i].u->text, 0);
      fprintf(f, "\" %+.2f", v[i].u->effect);
    }
    fputc('\n', f);
  }
  free(v);
  if (s->split != SPLIT_TEST) return;
  for (int k = 0; k < r->n_rows; k++)
    for (size_t j = 0; j < r->rows[k].n_preds; j++)
      if (!strcmp(r->rows[k].preds[j].id, s->id)) {
        fprintf(f, "  %-14s ", r->rows[k].name);
        term_fputs(f, r->rows[k].preds[j].output, 1);
        fputc('\n', f);
      }
}

int report_term_user(FILE *f, const report *r, const char *user, int color) {
  const report_sample **mine = xcalloc(r->n_samples + 1, sizeof *mine);
  size_t n = 0;
  for (size_t i = 0; i < r->n_samples; i++)
    if (!strcmp(r->samples[i].user, user)) mine[n++] = &r->samples[i];
  if (!n) {
    free(mine);
    return 1;
  }
  qsort(mine, n, sizeof *mine, cmp_sample_ptr);
  fputs("user ", f);
  term_fputs(f, user, 0);
  fprintf(f, ": %zu samples; ", n);
  if (color)
    fprintf(f, "\033[1;97;41m effect >= %.2f \033[0m \033[30;43m %s \033[0m "
               "\033[30;46m effect <= -%.2f \033[0m \033[4mplanted\033[0m\n", REPORT_STRONG,
            r->have_annotations ? "preference token (mask)" : "effect > threshold", REPORT_STRONG);
  else
    fprintf(f, "[[x]] effect >= %.2f, [x] %s\n", REPORT_STRONG,
            r->have_annotations ? "preference token (annotation mask)" : "effect > threshold");
  for (size_t i = 0; i < n; i++) print_sample(f, r, mine[i], color);
  free(mine);
  return 0;
}

static const report *g_r;   // qsort has no context argument in C11
static int cmp_type(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  double mx = g_r->tok_sum[x] / g_r->tok_count[x], my = g_r->tok_sum[y] / g_r->tok_count[y];
  return mx != my ? (mx > my ? -1 : 1) : x - y;
}

void report_term_top(FILE *f, const report *r, const char *user, int k) {
  if (user) {
    size_t n;
    unit_ref *v = ranked_units(r, user, NULL, &n);
    fprintf(f, "the %d tokens of ", k);
    term_fputs(f, user, 0);
    fputs(" with the largest effect:\n", f);
    for (size_t i = 0; i < n && i < (size_t)k; i++) {
      strbuf id;
      sb_init(&id);
      term_escape(&id, v[i].s->id, strlen(v[i].s->id), 0);
      fprintf(f, "%+.3f  %-14s \"", v[i].u->effect, id.data);
      term_fputs(f, v[i].u->text, 0);
      fputs("\"\n", f);
      sb_free(&id);
    }
    free(v);
    return;
  }
  int *ids = xcalloc((size_t)r->vocab + 1, sizeof *ids), n = 0;
  for (int t = 0; t < r->vocab; t++)
    if (r->tok_count[t] >= 5) ids[n++] = t;
  g_r = r;
  qsort(ids, (size_t)n, sizeof *ids, cmp_type);
  fprintf(f, "the %d token types of the corpus with the largest mean effect (seen >= 5 times):\n", k);
  for (int i = 0; i < n && i < k; i++) {
    char buf[64];
    int len = tok_token_bytes(r->tok, ids[i], buf, (int)sizeof buf - 1);
    buf[len > 0 ? len : 0] = 0;
    fprintf(f, "%+.3f  mean of %-7lld \"", r->tok_sum[ids[i]] / r->tok_count[ids[i]], (long long)r->tok_count[ids[i]]);
    term_fputs(f, buf, 0);
    fputs("\"\n", f);
  }
  free(ids);
}
