// See config_source.h. The text is rebuilt line by line: each output line records where it
// came from when it starts, so libconfig's line numbers map back through one array lookup.
#include "config/config_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "base/util.h"
#include "config/config_ints.h"

typedef struct {
  config_source *src;
  strbuf out;
  int at_line_start, cap_lines;
  char *dir;                        // @include names are relative to this (NULL: the cwd)
  struct { dev_t dev; ino_t ino; int file; } stack[CONFIG_MAX_INCLUDE_DEPTH + 1];
  int depth;
} expander;

// Appends s[0..n) from line *line of file `file`, recording the origin of each line it starts.
static void emit(expander *x, int file, int *line, const char *s, size_t n) {
  config_source *src = x->src;
  for (size_t i = 0; i < n; i++) {
    if (x->at_line_start) {
      if (src->n_lines == x->cap_lines) {
        x->cap_lines = x->cap_lines ? 2 * x->cap_lines : 64;
        src->file = xrealloc(src->file, sizeof *src->file * (size_t)x->cap_lines);
        src->line = xrealloc(src->line, sizeof *src->line * (size_t)x->cap_lines);
      }
      src->file[src->n_lines] = file, src->line[src->n_lines] = *line;
      src->n_lines++;
      x->at_line_start = 0;
    }
    sb_append(&x->out, s + i, 1);
    if (s[i] == '\n') x->at_line_start = 1, (*line)++;
  }
}

// The included file's chain "a.cfg -> b.cfg -> a.cfg", for the loop message.
static char *chain(const expander *x, const char *again) {
  strbuf b;
  sb_init(&b);
  for (int i = 0; i < x->depth; i++) sb_printf(&b, "%s -> ", x->src->files[x->stack[i].file]);
  sb_puts(&b, again);
  return sb_detach(&b);
}

// At p (a line start): `[ \t]*@include[ \t]+"name"`? Then the name (escapes \\ and \" as
// libconfig's scanner takes them) and *end past its closing quote; NULL otherwise.
static char *include_name(const char *p, const char **end, const char *at) {
  p += strspn(p, " \t");
  if (strncmp(p, "@include", 8) != 0 || (p[8] != ' ' && p[8] != '\t')) return NULL;
  p += 8 + strspn(p + 8, " \t");
  if (*p != '"') return NULL;
  strbuf b;
  sb_init(&b);
  for (p++; *p && *p != '"' && *p != '\n'; p++) {
    if (*p == '\\' && (p[1] == '\\' || p[1] == '"')) p++;
    sb_append(&b, p, 1);
  }
  if (*p != '"') fatal("%s: unterminated @include file name", at);
  sb_puts(&b, "");
  *end = p + 1;
  return sb_detach(&b);
}

static void expand(expander *x, const char *path, const char *included_at);

// Copies file `f`'s widened text, expanding its @include lines.
static void expand_text(expander *x, int f, const char *text) {
  int line = 1;   // line of f at p
  const char *p = text;
  int line_start = 1;
  while (*p) {
    if (line_start) {
      char at[1100];
      snprintf(at, sizeof at, "%s:%d", x->src->files[f], line);
      const char *end;
      char *name = include_name(p, &end, at);
      if (name) {
        char *full = name[0] == '/' || !x->dir ? xstrdup(name) : path_join(x->dir, name);
        expand(x, full, at);   // starts and ends at a line start of the text
        free(full);
        free(name);
        p = end;   // the rest of the line follows on a line of its own, mapped to this line
        line_start = 0;
        continue;
      }
    }
    int l0 = line;
    const char *q = config_skip_lexeme(p, &line);
    if (q == p) q = p + 1;
    line = l0;
    emit(x, f, &line, p, (size_t)(q - p));
    line_start = q[-1] == '\n';
    p = q;
  }
  if (!x->at_line_start) { int l = line; emit(x, f, &l, "\n", 1); }
}

static void expand(expander *x, const char *path, const char *included_at) {
  char where[1200];
  if (included_at) snprintf(where, sizeof where, "%s: @include \"%s\"", included_at, path);
  else snprintf(where, sizeof where, "%s", path);
  struct stat st;
  if (stat(path, &st) != 0)
    fatal("%s: cannot read config file (%s)", where, strerror(errno));
  if (S_ISDIR(st.st_mode)) fatal("%s: cannot read config file (a directory, not a file)", where);
  if (!S_ISREG(st.st_mode)) fatal("%s: cannot read config file (not a regular file)", where);
  for (int i = 0; i < x->depth; i++)
    if (x->stack[i].dev == st.st_dev && x->stack[i].ino == st.st_ino)
      fatal("%s: include loop: %s", included_at, chain(x, path));
  if (x->depth == CONFIG_MAX_INCLUDE_DEPTH)
    fatal("%s: includes nested deeper than %d files: %s", included_at, CONFIG_MAX_INCLUDE_DEPTH, chain(x, path));
  size_t len;
  char *raw = read_file(path, &len), err[256];
  if (!raw) fatal("%s: cannot read config file (%s)", where, strerror(errno));
  if (strlen(raw) != len) fatal("%s: cannot read config file (it holds a NUL byte)", where);
  char *text = config_widen_ints(raw, err, sizeof err);   // no integer read modulo 2^32
  if (!text) fatal("%s:%s", path, err + strlen("line "));
  free(raw);
  config_source *src = x->src;
  int f = src->n_files++;
  src->files = xrealloc(src->files, sizeof *src->files * (size_t)src->n_files);
  src->files[f] = xstrdup(path);
  x->stack[x->depth].dev = st.st_dev, x->stack[x->depth].ino = st.st_ino, x->stack[x->depth].file = f;
  x->depth++;
  expand_text(x, f, text);
  x->depth--;
  free(text);
}

void config_source_read(config_source *src, const char *path) {
  memset(src, 0, sizeof *src);
  expander x = {.src = src, .at_line_start = 1};
  sb_init(&x.out);
  const char *slash = strrchr(path, '/');
  if (slash) x.dir = strndup(path, (size_t)(slash - path + (slash == path)));
  expand(&x, path, NULL);
  sb_puts(&x.out, "");
  src->text = sb_detach(&x.out);
  free(x.dir);
}

void config_source_free(config_source *src) {
  free(src->text);
  free(src->file);
  free(src->line);
  for (int i = 0; i < src->n_files; i++) free(src->files[i]);
  free(src->files);
  memset(src, 0, sizeof *src);
}

void config_source_where(const config_source *src, int text_line, char *buf, size_t n) {
  if (text_line >= 1 && text_line <= src->n_lines)
    snprintf(buf, n, "%s:%d", src->files[src->file[text_line - 1]], src->line[text_line - 1]);
  else
    snprintf(buf, n, "%s", src->n_files ? src->files[0] : "?");
}
