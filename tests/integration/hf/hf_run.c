// Driver of tests/integration/hf_parity.sh: loads a model through checkpoint_load (an HDF5
// checkpoint or, by its dispatch, a HF directory) and
//   hf_run logits MODEL TOKENS_TXT OUT_BIN   writes the fp32 logits (N, V) of the packed
//                                            sequences in TOKENS_TXT (one sequence a line)
//   hf_run h5 MODEL OUT_H5                   saves it as our HDF5 checkpoint
// Errors (unsupported architecture, missing tensor, ...) stop with one line and exit non-zero.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "files/checkpoint.h"
#include "base/log.h"
#include "model/model.h"
#include "base/util.h"

static int32_t *read_tokens(const char *path, int **lens, int *B, int *N) {
  FILE *f = fopen(path, "r");
  if (!f) fatal("hf_run: cannot open %s", path);
  int32_t *tok = NULL;
  int cap = 0, n = 0, b = 0, cur = 0;
  *lens = NULL;
  char line[65536];
  while (fgets(line, sizeof line, f)) {
    cur = 0;
    for (char *p = strtok(line, " \n"); p; p = strtok(NULL, " \n")) {
      if (n == cap) tok = xrealloc(tok, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *tok);
      tok[n++] = (int32_t)atoi(p);
      cur++;
    }
    if (!cur) continue;
    *lens = xrealloc(*lens, (size_t)(b + 1) * sizeof **lens);
    (*lens)[b++] = cur;
  }
  fclose(f);
  *B = b;
  *N = n;
  return tok;
}

int main(int argc, char **argv) {
  if (argc == 5 && !strcmp(argv[1], "logits")) {
    model *m = checkpoint_load(argv[2], 0, NULL);
    int *lens, B, N, maxlen = 0;
    int32_t *tok = read_tokens(argv[3], &lens, &B, &N);
    for (int b = 0; b < B; b++) maxlen = lens[b] > maxlen ? lens[b] : maxlen;
    for (int i = 0; i < N; i++)
      if (tok[i] < 0 || tok[i] >= m->cfg.vocab_size) fatal("hf_run: token %d out of range", tok[i]);
    model_acts *a = model_acts_create(m, N, maxlen);
    model_forward(m, a, tok, lens, B);
    FILE *f = fopen(argv[4], "wb");
    if (!f || fwrite(a->logits, sizeof(float), (size_t)N * m->cfg.vocab_size, f) != (size_t)N * m->cfg.vocab_size ||
        fclose(f) != 0)
      fatal("hf_run: cannot write %s", argv[4]);
    model_acts_free(a);
    free(tok);
    free(lens);
    model_free(m);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "h5")) {
    model *m = checkpoint_load(argv[2], 0, NULL);
    ckpt_save_info si = {.step = 0};
    checkpoint_save(argv[3], m, &si);
    model_free(m);
    return 0;
  }
  fprintf(stderr, "usage: hf_run logits MODEL TOKENS OUT_BIN | hf_run h5 MODEL OUT_H5\n");
  return 2;
}
