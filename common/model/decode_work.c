// See decode_work.h.
#include "model/decode_work.h"

#include <stdlib.h>

#include "base/util.h"

decode_work decode_work_get(const model_config *c, model_kv *kv, int nt) {
  size_t D = (size_t)c->dim, qd = (size_t)c->n_heads * (c->dim / c->n_heads), F = (size_t)c->ffn_dim;
  size_t need = 3 * D + 2 * qd + 3 * F + (size_t)nt * kv->max_len;
  if (need > kv->work_floats) {
    free(kv->work);
    kv->work = xmalloc(need * sizeof(float));
    kv->work_floats = need;
  }
  decode_work s = {.x = kv->work};
  s.ln = s.x + D, s.q = s.ln + D, s.y = s.q + qd, s.gate = s.y + qd, s.up = s.gate + F;
  s.h = s.up + F, s.x2 = s.h + F, s.scores = s.x2 + D;
  return s;
}
