// Driver for tests/integration/metrics_meteor_nltk.sh: reads stdin, one item per line.
//   metrics_driver stem      word per line      -> porter_stem_nltk(word)
//   metrics_driver synonyms  word per line      -> sorted synonym set, space separated
//   metrics_driver meteor    "hyp<TAB>ref" line -> meteor_tokens (whitespace tokens), %.10f
//   metrics_driver rouge_tok / rouge_tok_stem / bleu_tok: text per line (with \n, \t and
//                            \\ escaped) -> tokens joined by U+0001
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "metrics/metrics.h"
#include "base/util.h"

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// \n, \t, \\ -> newline, tab, backslash (in place)
static void unescape(char *s) {
  char *w = s;
  for (char *r = s; *r; r++) {
    if (*r == '\\' && (r[1] == 'n' || r[1] == 't' || r[1] == '\\')) {
      r++;
      *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : '\\';
    } else {
      *w++ = *r;
    }
  }
  *w = 0;
}

int main(int argc, char **argv) {
  if (argc != 2) fatal("usage: metrics_driver stem|synonyms|meteor < input");
  const char *mode = argv[1];
  wordnet *wn = NULL;
  if (strcmp(mode, "synonyms") == 0 || strcmp(mode, "meteor") == 0) wn = wordnet_open(NULL);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, stdin)) >= 0) {
    if (len > 0 && line[len - 1] == '\n') line[--len] = 0;
    if (strcmp(mode, "stem") == 0) {
      char *s = porter_stem_nltk(line);
      printf("%s\n", s);
      free(s);
    } else if (strcmp(mode, "synonyms") == 0) {
      nq_tokens t;
      wordnet_synonyms(wn, line, &t);
      qsort(t.tok, t.n, sizeof *t.tok, cmp_str);
      for (size_t i = 0; i < t.n; i++) printf(i ? " %s" : "%s", t.tok[i]);
      printf("\n");
      tokens_free(&t);
    } else if (strcmp(mode, "meteor") == 0) {
      char *tab = strchr(line, '\t');
      if (!tab) fatal("meteor input: line without a tab");
      *tab = 0;
      printf("%.10f\n", meteor_text(wn, line, tab + 1));
    } else if (strncmp(mode, "rouge_tok", 9) == 0 || strcmp(mode, "bleu_tok") == 0) {
      unescape(line);
      nq_tokens t;
      if (mode[0] == 'r') rouge_tokenize(line, strcmp(mode, "rouge_tok_stem") == 0, &t);
      else bleu_tokenize_13a(line, &t);
      for (size_t i = 0; i < t.n; i++) printf(i ? "\x01%s" : "%s", t.tok[i]);
      printf("\n");
      tokens_free(&t);
    } else {
      fatal("unknown mode '%s'", mode);
    }
  }
  free(line);
  wordnet_free(wn);
  if (fflush(stdout) != 0) fatal("writing stdout failed");
  return 0;
}
