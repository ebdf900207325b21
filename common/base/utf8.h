// Text from outside (corpus files, model outputs): one strict UTF-8 validator, the check a
// corpus string must pass, and the escaping of text shown on a terminal.
//
// defines: utf8_valid, text_check, term_escape_walk, term_fwrite, term_fputs
// (term_escape, into a strbuf, is in base/term_escape.h: this file is below util.c, which logs)
#ifndef NQ_UTF8_H
#define NQ_UTF8_H

#include <stddef.h>
#include <stdio.h>

// 1 when s[0..n) is valid UTF-8 (no overlong forms, no surrogates D800-DFFF, which also
// refuses CESU-8 pairs, nothing above U+10FFFF, no truncated sequence); else 0 and the offset
// of the first byte of the bad sequence in *bad_at (may be NULL).
int utf8_valid(const char *s, size_t n, size_t *bad_at);

// A corpus string of n bytes (json_string_length: a "\u0000" escape is a byte of the string,
// which C's strlen and every later stage would cut there): 0 when it is valid UTF-8 without NUL,
// else -1 with `why` = "contains a NUL character (\u0000) at byte 7" or "not valid UTF-8 ...".
int text_check(const char *s, size_t n, char *why, size_t whylen);

// Passes s[0..n) to `put` in pieces with what a terminal would act on made visible: C0
// controls (all, or all but newline and tab when `keep_lines`), ESC, DEL and bytes that are
// not UTF-8 as \xNN, C1 controls (U+0080-U+009F, which some terminals take as CSI/OSC) as
// \u00NN. Corpus text in a report or a log then cannot retitle a window, clear a screen or
// recolour it.
typedef void (*term_put_fn)(void *ctx, const char *s, size_t n);
void term_escape_walk(const char *s, size_t n, int keep_lines, term_put_fn put, void *ctx);
// The same written to `f` (no allocation: the log uses it).
void term_fwrite(FILE *f, const char *s, size_t n, int keep_lines);
void term_fputs(FILE *f, const char *s, int keep_lines);

#endif
