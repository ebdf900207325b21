// The report's figures as SVG text: line charts (training curves, ROC, sweeps), bar charts
// with interval whiskers, histograms. Each figure is one <svg> element (with its xmlns, so
// the same text is a standalone .svg file and inline in the page); the element count is
// bounded by the caller's points, never by the corpus.
//
// defines: svg_series, svg_axes, svg_lines, svg_bars, svg_hist, svg_color, svg_escape
#ifndef NQ_REPORT_SVG_H
#define NQ_REPORT_SVG_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

typedef struct {
  const char *name;
  const double *x, *y;   // n points; NaN y values are gaps
  size_t n;
  int dashed;
} svg_series;

typedef struct {
  const char *title, *xlabel, *ylabel;
  int width, height;
  int unit_square;       // ROC: both axes [0, 1] and the chance diagonal
  int log_y;             // positive values on a log axis
  int legend_width;      // room on the right for the legend (0: 132 px)
} svg_axes;

// Colour i of the palette (Okabe-Ito, readable by colour-blind readers).
const char *svg_color(int i);
// Appends s with XML's five special characters escaped.
void svg_escape(strbuf *b, const char *s);
// Lines with a legend.
void svg_lines(strbuf *b, const svg_axes *ax, const svg_series *s, int n);
// One bar per label with its [lo, hi] whisker; star[i] adds a "*" above bar i; bar `base`
// (-1: none) is drawn grey as the reference.
void svg_bars(strbuf *b, const char *title, const char *const *labels, const double *mean,
              const double *lo, const double *hi, const int *star, int n, int base);
// Counts of `bins` equal bins over [lo, hi], a dashed line at `mark` and `note` at the top.
void svg_hist(strbuf *b, const char *title, const char *xlabel, const int64_t *counts, int bins,
              double lo, double hi, double mark, const char *note);

#endif
