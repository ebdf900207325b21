// The LM head on chosen rows (see model_logits_rows in model.h): a consumer that needs the
// logits of a few positions (nq-effect: the targets, about a third of both passes' tokens)
// gathers their final-norm rows and multiplies only those by the (V, D) head.
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "model/model.h"

void model_logits_rows(const model *m, const model_acts *a, const int64_t *rows, int n, float *out) {
  int D = m->cfg.dim, V = m->cfg.vocab_size;
  if (n <= 0) return;
  float *x = xmalloc((size_t)n * D * sizeof *x);
  for (int i = 0; i < n; i++) {
    if (rows[i] < 0 || rows[i] >= a->n_tokens)
      error("model_logits_rows: row %lld of %d", (long long)rows[i], a->n_tokens);
    memcpy(x + (size_t)i * D, a->lnf + (size_t)rows[i] * D, (size_t)D * sizeof *x);
  }
  model_linear(m, out, x, P_LM_HEAD, 0, NULL, n, D, V, 0);   // fp32 or bf16, as the model holds it
  free(x);
}
