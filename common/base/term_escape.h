// Terminal-safe copies of outside text (corpus, model output) for views that build a string.
//
// defines: term_escape
#ifndef NQ_TERM_ESCAPE_H
#define NQ_TERM_ESCAPE_H

#include <stddef.h>

#include "base/util.h"

// Appends s[0..n) to `out` escaped as term_escape_walk (base/utf8.h) says; an empty text still
// leaves `out` a string.
void term_escape(strbuf *out, const char *s, size_t n, int keep_lines);

#endif
