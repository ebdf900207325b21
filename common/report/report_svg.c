// SVG figures: a plot area with nice ticks, then lines, bars or histogram bins inside it.
#include "report/report_svg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { PAD_L = 58, PAD_R = 14, PAD_T = 30, PAD_B = 40, LEGEND_W = 132 };

const char *svg_color(int i) {
  static const char *const pal[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                    "#CC79A7", "#56B4E9", "#7A5C00", "#333333"};
  return pal[(i % 8 + 8) % 8];
}

void svg_escape(strbuf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '<': sb_puts(b, "&lt;"); break;
      case '>': sb_puts(b, "&gt;"); break;
      case '&': sb_puts(b, "&amp;"); break;
      case '"': sb_puts(b, "&quot;"); break;
      case '\'': sb_puts(b, "&#39;"); break;
      default: sb_append(b, s, 1);
    }
  }
}

typedef struct {
  double x0, x1, y0, y1;   // data range
  int w, h, log_y;         // figure size
  int pr;                  // right padding (room for a legend)
} frame;

static double fx(const frame *f, double x) {
  return PAD_L + (x - f->x0) / (f->x1 - f->x0) * (f->w - PAD_L - f->pr);
}
static double fy(const frame *f, double y) {
  if (f->log_y) y = log10(y > 0 ? y : f->y0);
  double y0 = f->log_y ? log10(f->y0) : f->y0, y1 = f->log_y ? log10(f->y1) : f->y1;
  return f->h - PAD_B - (y - y0) / (y1 - y0) * (f->h - PAD_T - PAD_B);
}

static double nice_step(double range, int ticks) {
  double raw = range / ticks, p = pow(10, floor(log10(raw))), m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void fmt_num(char *buf, size_t cap, double v) {
  double a = fabs(v);
  if (a < 1e-12) v = a = 0;   // a tick at a rounding error of zero ("-6e-17") reads as 0
  if (a != 0 && (a >= 1e5 || a < 1e-3)) snprintf(buf, cap, "%.0e", v);
  else snprintf(buf, cap, "%g", round(v * 1e6) / 1e6);
}

static void open_svg(strbuf *b, int w, int h, const char *title) {
  sb_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" width=\"%d\" "
               "height=\"%d\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\" "
               "role=\"img\"><title>", w, h, w, h);
  svg_escape(b, title);
  sb_printf(b, "</title><rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>"
               "<text x=\"%d\" y=\"18\" font-size=\"13\" font-weight=\"bold\" fill=\"#222\">",
            w, h, PAD_L);
  svg_escape(b, title);
  sb_puts(b, "</text>");
}

// Grid, ticks and axis labels.
static void axes(strbuf *b, const frame *f, const char *xlabel, const char *ylabel, int xticks) {
  char t[32];
  double sx = nice_step(f->x1 - f->x0, xticks);
  for (double x = ceil(f->x0 / sx) * sx; x <= f->x1 + sx * 1e-9; x += sx) {
    fmt_num(t, sizeof t, x);
    sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#eee\"/>"
                 "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\">%s</text>",
              fx(f, x), fx(f, x), PAD_T, f->h - PAD_B, fx(f, x), f->h - PAD_B + 14, t);
  }
  if (f->log_y) {
    for (double e = floor(log10(f->y0)); e <= ceil(log10(f->y1)); e++) {
      double y = pow(10, e);
      if (y < f->y0 || y > f->y1) continue;
      fmt_num(t, sizeof t, y);
      sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>",
                PAD_L, f->w - f->pr, fy(f, y), fy(f, y), PAD_L - 4, fy(f, y) + 4, t);
    }
  } else {
    double sy = nice_step(f->y1 - f->y0, 5);
    for (double y = ceil(f->y0 / sy) * sy; y <= f->y1 + sy * 1e-9; y += sy) {
      fmt_num(t, sizeof t, y);
      sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>",
                PAD_L, f->w - f->pr, fy(f, y), fy(f, y), PAD_L - 4, fy(f, y) + 4, t);
    }
  }
  sb_printf(b, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>",
            PAD_L, PAD_T, f->w - PAD_L - f->pr, f->h - PAD_T - PAD_B);
  sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#333\">",
            (PAD_L + f->w - f->pr) / 2, f->h - 8);
  svg_escape(b, xlabel ? xlabel : "");
  sb_printf(b, "</text><text transform=\"translate(14 %d) rotate(-90)\" text-anchor=\"middle\" "
               "fill=\"#333\">", (PAD_T + f->h - PAD_B) / 2);
  svg_escape(b, ylabel ? ylabel : "");
  sb_puts(b, "</text>");
}

// Data range of the series (a little margin so lines do not touch the frame).
static frame lines_frame(const svg_axes *ax, const svg_series *s, int n) {
  frame f = {INFINITY, -INFINITY, INFINITY, -INFINITY, ax->width, ax->height, ax->log_y,
             ax->legend_width ? ax->legend_width : LEGEND_W};
  for (int k = 0; k < n; k++)
    for (size_t i = 0; i < s[k].n; i++) {
      double x = s[k].x[i], y = s[k].y[i];
      if (!isfinite(x) || !isfinite(y) || (ax->log_y && y <= 0)) continue;
      f.x0 = fmin(f.x0, x), f.x1 = fmax(f.x1, x), f.y0 = fmin(f.y0, y), f.y1 = fmax(f.y1, y);
    }
  if (ax->unit_square || !isfinite(f.x0)) f.x0 = 0, f.x1 = 1, f.y0 = 0, f.y1 = 1;
  if (f.x1 <= f.x0) f.x1 = f.x0 + 1;
  if (f.y1 <= f.y0) f.y1 = f.y0 + (f.y0 ? fabs(f.y0) * 0.1 : 1), f.y0 -= (f.y0 ? fabs(f.y0) * 0.1 : 0);
  if (ax->log_y) f.y0 /= 1.2, f.y1 *= 1.2;
  else if (!ax->unit_square) {
    double m = (f.y1 - f.y0) * 0.05;
    f.y0 -= m, f.y1 += m;
  }
  return f;
}

void svg_lines(strbuf *b, const svg_axes *ax, const svg_series *s, int n) {
  frame f = lines_frame(ax, s, n);
  open_svg(b, ax->width, ax->height, ax->title);
  axes(b, &f, ax->xlabel, ax->ylabel, 6);
  if (ax->unit_square)
    sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#aaa\" "
                 "stroke-dasharray=\"4 3\"/>", fx(&f, 0), fy(&f, 0), fx(&f, 1), fy(&f, 1));
  for (int k = 0; k < n; k++) {
    sb_printf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s d=\"", svg_color(k),
              s[k].dashed ? " stroke-dasharray=\"5 3\"" : "");
    int pen = 0;
    for (size_t i = 0; i < s[k].n; i++) {
      double y = s[k].y[i];
      if (!isfinite(y) || (ax->log_y && y <= 0)) { pen = 0; continue; }
      sb_printf(b, "%s%.1f %.1f ", pen ? "L" : "M", fx(&f, s[k].x[i]), fy(&f, y));
      pen = 1;
    }
    sb_puts(b, "\"/>");
    if (s[k].n == 1 && isfinite(s[k].y[0]))
      sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", fx(&f, s[k].x[0]),
                fy(&f, s[k].y[0]), svg_color(k));
    // legend: top right, one line per series
    double lx = ax->width - f.pr + 8, ly = PAD_T + 10 + 16 * k;
    sb_printf(b, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2.5\"/>"
                 "<text x=\"%.0f\" y=\"%.0f\" fill=\"#222\">", lx, lx + 16, ly - 4, ly - 4,
              svg_color(k), lx + 20, ly);
    svg_escape(b, s[k].name);
    sb_puts(b, "</text>");
  }
  sb_puts(b, "</svg>");
}

void svg_bars(strbuf *b, const char *title, const char *const *labels, const double *mean,
              const double *lo, const double *hi, const int *star, int n, int base) {
  int w = 60 + 64 * (n > 0 ? n : 1), h = 220;
  frame f = {0, n > 0 ? n : 1, 0, -INFINITY, w, h, 0, PAD_R};
  for (int i = 0; i < n; i++)
    f.y1 = fmax(f.y1, fmax(isfinite(hi[i]) ? hi[i] : -INFINITY, isfinite(mean[i]) ? mean[i] : -INFINITY));
  f.y1 = isfinite(f.y1) && f.y1 > 0 ? f.y1 * 1.15 : 1;
  open_svg(b, w, h, title);
  double sy = nice_step(f.y1, 5);
  char t[32];
  for (double y = 0; y <= f.y1; y += sy) {
    fmt_num(t, sizeof t, y);
    sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                 "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>",
              PAD_L, w - PAD_R, fy(&f, y), fy(&f, y), PAD_L - 4, fy(&f, y) + 4, t);
  }
  for (int i = 0; i < n; i++) {
    double x = fx(&f, i + 0.5), bw = 0.6 * (fx(&f, 1) - fx(&f, 0));
    if (isfinite(mean[i]))
      sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
                x - bw / 2, fy(&f, mean[i]), bw, fy(&f, 0) - fy(&f, mean[i]),
                i == base ? "#bbb" : svg_color(i));
    if (isfinite(lo[i]) && isfinite(hi[i]))
      sb_printf(b, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh12M%.1f %.1fh12\" stroke=\"#222\" "
                   "stroke-width=\"1.3\" fill=\"none\"/>", x, fy(&f, lo[i]), fy(&f, hi[i]),
                x - 6, fy(&f, lo[i]), x - 6, fy(&f, hi[i]));
    if (star && star[i] && isfinite(hi[i]))
      sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\" "
                   "fill=\"#222\">*</text>", x, fy(&f, hi[i]) - 3);
    sb_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\" fill=\"#333\">", x,
              h - PAD_B + 14);
    svg_escape(b, labels[i]);
    sb_puts(b, "</text>");
  }
  sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/></svg>", PAD_L,
            w - PAD_R, fy(&f, 0), fy(&f, 0));
}

void svg_hist(strbuf *b, const char *title, const char *xlabel, const int64_t *counts, int bins,
              double lo, double hi, double mark, const char *note) {
  int w = 560, h = 260;
  frame f = {lo, hi, 0.8, 1, w, h, 1, PAD_R};   // log counts: the tails stay visible
  for (int i = 0; i < bins; i++) f.y1 = fmax(f.y1, (double)counts[i]);
  f.y1 *= 1.5;
  open_svg(b, w, h, title);
  axes(b, &f, xlabel, "tokens (log scale)", 8);
  double bw = (hi - lo) / bins;
  for (int i = 0; i < bins; i++) {
    if (!counts[i]) continue;
    double x0 = lo + i * bw, c = (double)counts[i];
    sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>",
              fx(&f, x0) + 0.3, fy(&f, c), fx(&f, x0 + bw) - fx(&f, x0) - 0.6,
              fy(&f, f.y0) - fy(&f, c), x0 + bw / 2 > mark ? "#D55E00" : "#0072B2");
  }
  if (isfinite(mark) && mark > lo && mark < hi)
    sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#222\" "
                 "stroke-dasharray=\"4 3\"/>", fx(&f, mark), fx(&f, mark), PAD_T, h - PAD_B);
  if (note) {
    sb_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#222\">", w - PAD_R - 6, PAD_T + 16);
    svg_escape(b, note);
    sb_puts(b, "</text>");
  }
  sb_puts(b, "</svg>");
}
