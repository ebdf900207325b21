// See term_escape.h.
#include "base/term_escape.h"

#include "base/utf8.h"

static void put_sb(void *ctx, const char *s, size_t n) { sb_append(ctx, s, n); }

void term_escape(strbuf *out, const char *s, size_t n, int keep_lines) {
  term_escape_walk(s, n, keep_lines, put_sb, out);
  if (!out->data) sb_append(out, "", 0);   // an empty text is still a string
}
