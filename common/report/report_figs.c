// The page's figures: each drawn into the page and kept to be written beside it as a
// standalone <name>.svg (see report_page.h).
#include <stdlib.h>
#include <string.h>

#include "base/publish.h"
#include "pipeline/run_layout.h"
#include "report/report_page.h"

void report_fig_add(report_figs *f, strbuf *page, const char *name, strbuf *svg) {
  f->name = xrealloc(f->name, (size_t)(f->n + 1) * sizeof *f->name);
  f->svg = xrealloc(f->svg, (size_t)(f->n + 1) * sizeof *f->svg);
  f->name[f->n] = xstrdup(name);
  f->svg[f->n] = sb_detach(svg);
  sb_printf(page, "<figure id=\"fig-%s\">%s</figure>", name, f->svg[f->n]);
  f->n++;
}

// The figures and the page are one publish set (base/publish.h): a full disk leaves no SVGs
// without their page, and the page is renamed into place last.
char *report_figs_write(report_figs *f, const char *out_dir, const strbuf *page) {
  publish_set ps;
  publish_init(&ps);
  publish_dir(&ps, out_dir);
  for (int i = 0; i < f->n; i++) {
    char *p = run_file_in(out_dir, RUN_FIGURE, f->name[i]);
    strbuf x;
    sb_init(&x);
    sb_printf(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n%s\n", f->svg[i]);
    publish_add(&ps, p, x.data, x.len);
    sb_free(&x);
    free(p);
    free(f->name[i]);
    free(f->svg[i]);
  }
  free(f->name);
  free(f->svg);
  memset(f, 0, sizeof *f);
  char *index = run_file(out_dir, RUN_PAGE, 0);
  publish_add(&ps, index, page->data, page->len);
  publish_commit(&ps);
  return index;
}
