// Token colouring for the page (HTML spans) and the terminal (ANSI or plain brackets).
#include "report/report_tokens.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/utf8.h"
#include "report/report_svg.h"

int report_unit_level(const report_unit *u, double threshold, int have_mask) {
  if (isnan(u->effect)) return 0;
  if (u->effect >= REPORT_STRONG) return 2;
  if (have_mask ? u->mask : u->effect > threshold) return 1;
  return u->effect <= -REPORT_STRONG ? -1 : 0;
}

void report_tokens_html(strbuf *b, const report_sample *s, double threshold, int have_mask) {
  for (size_t i = 0; i < s->n_units; i++) {
    const report_unit *u = &s->units[i];
    int lv = report_unit_level(u, threshold, have_mask);
    double e = isnan(u->effect) ? 0 : u->effect;
    if (fabs(e) < 0.02 && lv == 0 && !u->truth) {   // plain text: the page stays small
      svg_escape(b, u->text);
      continue;
    }
    double a = fmin(1.0, fabs(e) / 0.6) * 0.8;
    sb_printf(b, "<span class=\"tk%s%s%s\" style=\"background:rgba(%s,%.2f)\" title=\"effect %+.3f",
              lv >= 1 ? " hi" : "", lv == 2 ? " st" : "", u->truth ? " pl" : "",
              e >= 0 ? "213,94,0" : "0,114,178", a, e);
    if (!isnan(u->weight)) sb_printf(b, ", weight %.2f", u->weight);
    sb_printf(b, "%s\">", u->truth ? ", planted" : "");
    svg_escape(b, u->text);
    sb_puts(b, "</span>");
  }
}

// Lower-case ASCII word starting at p (letters and digits), its length in *n; 0 when none.
static int next_word(const char *p, size_t *n) {
  *n = 0;
  while (isalnum((unsigned char)p[*n])) (*n)++;
  return *n > 0;
}

// Words too common to say anything when shared (the marks are for content words).
static int common_word(const char *w, size_t n) {
  static const char *const stop[] = {"the", "and", "for", "this", "that", "with", "was", "are",
                                     "but", "not", "you", "its", "has", "have", "from", NULL};
  if (n < 3) return 1;
  for (int i = 0; stop[i]; i++)
    if (strlen(stop[i]) == n && !strncasecmp(stop[i], w, n)) return 1;
  return 0;
}

static int target_has_word(const char *target, const char *w, size_t n) {
  if (common_word(w, n)) return 0;
  for (const char *p = target; *p;) {
    size_t k;
    if (next_word(p, &k)) {
      if (k == n && !strncasecmp(p, w, n)) return 1;
      p += k;
    } else {
      p++;
    }
  }
  return 0;
}

void report_shared_html(strbuf *b, const char *pred, const char *target) {
  for (const char *p = pred; *p;) {
    size_t k;
    if (next_word(p, &k)) {
      char *w = strndup(p, k);
      if (!w) abort();
      int shared = target_has_word(target, p, k);
      if (shared) sb_puts(b, "<mark>");
      svg_escape(b, w);
      if (shared) sb_puts(b, "</mark>");
      free(w);
      p += k;
    } else {
      char one[2] = {*p, 0};
      svg_escape(b, one);
      p++;
    }
  }
}

void report_tokens_term(FILE *f, const report_sample *s, double threshold, int have_mask, int color) {
  static const char *const ansi[] = {"\033[30;46m", "", "\033[30;43m", "\033[1;97;41m"};
  for (size_t i = 0; i < s->n_units; i++) {
    const report_unit *u = &s->units[i];
    int lv = report_unit_level(u, threshold, have_mask);
    const char *t = u->text;
    size_t lead = strspn(t, " \t");
    // corpus text: what a terminal would act on (ESC, other controls) is shown escaped
    if (lv == 0 || (!color && lv < 0)) {
      term_fputs(f, t, 1);
    } else if (color) {
      fprintf(f, "%.*s%s%s", (int)lead, t, u->truth ? "\033[4m" : "", ansi[lv + 1]);
      term_fputs(f, t + lead, 1);
      fputs("\033[0m", f);
    } else {
      fprintf(f, "%.*s%s", (int)lead, t, lv == 2 ? "[[" : "[");
      term_fputs(f, t + lead, 1);
      fputs(lv == 2 ? "]]" : "]", f);
    }
  }
}

char *report_sample_text(const report_sample *s) {
  strbuf b;
  sb_init(&b);
  for (size_t i = 0; i < s->n_units; i++) sb_puts(&b, s->units[i].text);
  return b.data ? sb_detach(&b) : xstrdup("");
}
