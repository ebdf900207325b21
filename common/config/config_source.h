// An experiment file and the files it `@include`s, read into one text for libconfig with a map
// from each line of that text back to its file and line. libconfig 1.5 opens included files
// itself, so they would escape config_widen_ints (`seed = 4294967302` read as 6), a loop would
// end in "duplicate setting name" and `@include "."` in "input in flex scanner failed"; here
// every file gets the same integer check, and those cases are one line naming the file.
#ifndef NQ_CONFIG_SOURCE_H
#define NQ_CONFIG_SOURCE_H

#include <stddef.h>

#define CONFIG_MAX_INCLUDE_DEPTH 10   // libconfig 1.5's own limit

typedef struct {
  char *text;      // the experiment file with every @include line replaced by that file's text
  int n_lines;
  int *file;       // per line of text (0-based): index into files
  int *line;       // per line of text: line number in that file
  char **files;    // files[0] is the experiment file; one entry per @include read
  int n_files;
} config_source;

// Reads `path` and every `@include "name"` line (at a line start, outside strings and
// comments, as libconfig's scanner takes it) recursively, widening integer literals in each
// (config_ints.h). `name` is relative to the directory of `path` for every nesting level, as
// libconfig 1.5 resolves it, or absolute. Stops with fatal() naming file:line on a file that is
// missing, unreadable or not a regular file, an include loop (the chain named), nesting past
// CONFIG_MAX_INCLUDE_DEPTH, or an integer past the 64-bit range.
void config_source_read(config_source *src, const char *path);
void config_source_free(config_source *src);
// "file:line" for line `text_line` (1-based, as libconfig counts) of src->text; the
// experiment file's name when the line is not in the text (0: a setting made by the loader).
void config_source_where(const config_source *src, int text_line, char *buf, size_t n);

#endif
