// The per-step scratch of the one-token decoding steps (model_decode.c, fp32;
// model_decode_bf16.c, bf16), laid out in kv->work. model_kv_forward lays out the same buffer
// its own way on its calls.
//
// defines: decode_work, decode_work_get
#ifndef NQ_DECODE_WORK_H
#define NQ_DECODE_WORK_H

#include "model/model.h"

typedef struct {
  float *x, *ln, *q, *y, *gate, *up, *h, *x2, *scores, rstd;
} decode_work;

// Grows kv->work to this layout's size for nt threads' score rows and carves it up.
decode_work decode_work_get(const model_config *c, model_kv *kv, int nt);

#endif
