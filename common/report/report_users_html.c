// The users section: for each shown user, each test target with its tokens coloured by
// effect (and weight, in the tooltip) beside each model's prediction, shared words marked.
#include "report/report_page.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "files/shards_file.h"
#include "report/report_load.h"
#include "report/report_svg.h"
#include "report/report_tokens.h"

// ROUGE-L gain of the compared row over the baseline for `user`'s test samples (NaN: none).
static double user_gain(const report *r, const char *user, const char **cmp_name, const char **base_name) {
  const report_row *base, *cmp = report_compared_row(r, &base);
  if (!cmp || !base || cmp->n_preds != base->n_preds) return NAN;
  *cmp_name = cmp->name, *base_name = base->name;
  double s = 0;
  int n = 0;
  for (size_t i = 0; i < cmp->n_preds; i++)
    if (!strcmp(cmp->preds[i].user, user) && !isnan(cmp->preds[i].rougeL) && !isnan(base->preds[i].rougeL))
      s += cmp->preds[i].rougeL - base->preds[i].rougeL, n++;
  return n ? s / n : NAN;
}

static void sample_html(strbuf *b, const report *r, const report_sample *s) {
  char *target = report_sample_text(s);
  sb_puts(b, "<div class=\"sample\" data-id=\"");
  svg_escape(b, s->id);
  sb_puts(b, "\"><div><div class=\"note\">");
  svg_escape(b, s->id);
  sb_puts(b, s->split == SPLIT_TEST ? " &middot; test target" : " &middot; target");
  sb_puts(b, "</div><div class=\"target\">");
  report_tokens_html(b, s, r->threshold, r->have_annotations);
  sb_puts(b, "</div></div><div class=\"preds\">");
  int any = 0;
  for (int k = 0; k < r->n_rows; k++)
    for (size_t j = 0; j < r->rows[k].n_preds; j++)
      if (!strcmp(r->rows[k].preds[j].id, s->id)) {
        sb_puts(b, "<div><b>");
        svg_escape(b, r->rows[k].name);
        sb_puts(b, "</b> ");
        report_shared_html(b, r->rows[k].preds[j].output, target);
        sb_puts(b, "</div>");
        any = 1;
      }
  if (!any) sb_puts(b, "<div class=\"note\">no predictions for this sample</div>");
  sb_puts(b, "</div></div>");
  free(target);
}

void report_users_html(strbuf *b, const report *r) {
  sb_puts(b, "<section id=\"users\"><h2>Users</h2>");
  if (!r->have_shards || !r->n_users) {
    sb_puts(b, "<p class=\"note\">No shards in this run: no users to show.</p></section>");
    return;
  }
  sb_printf(b, "<p class=\"legend note\"><span class=\"tk st\" style=\"background:rgba(213,94,0,.8)\">strong</span>"
               "effect &ge; %.2f <span class=\"tk hi\" style=\"background:rgba(213,94,0,.25)\">marked</span>%s "
               "<span class=\"tk\" style=\"background:rgba(0,114,178,.5)\">negative</span> effect "
               "<span class=\"tk pl\">planted</span> preference planted by nq-synth &middot; "
               "<mark>word</mark> shared with the target &middot; hover a token for its effect and weight</p>",
            REPORT_STRONG, r->have_annotations ? "preference token (annotation mask)" : "effect above the threshold");
  for (int u = 0; u < r->n_users; u++) {
    const char *cn = NULL, *bn = NULL;
    double g = user_gain(r, r->users[u], &cn, &bn);
    sb_puts(b, "<h3>");
    svg_escape(b, r->users[u]);
    if (!isnan(g)) sb_printf(b, " <small class=\"note\">ROUGE-L %s &minus; %s: %+.3f</small>", cn, bn, g);
    sb_puts(b, "</h3>");
    int shown = 0;
    for (int pass = 0; pass < 2 && !shown; pass++)   // test targets; a user without one: all
      for (size_t i = 0; i < r->n_samples; i++) {
        const report_sample *s = &r->samples[i];
        if (strcmp(s->user, r->users[u]) || (pass == 0 && s->split != SPLIT_TEST)) continue;
        sample_html(b, r, s);
        shown++;
      }
    if (!shown) sb_puts(b, "<p class=\"note\">no samples of this user in the shards</p>");
  }
  sb_puts(b, "</section>");
}
