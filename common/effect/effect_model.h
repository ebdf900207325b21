// The effect engine's forward callback bound to the model core (model.h): packed forward,
// then the rows of the requested positions. Activations grow to the largest batch seen.
#ifndef NQ_EFFECT_MODEL_H
#define NQ_EFFECT_MODEL_H

#include "effect/effect_engine.h"
#include "model/model.h"

typedef struct {
  model *m;
  model_acts *acts;
  long forward_tokens;   // tokens through the model (both passes), for tokens/s
} effect_model;

void effect_model_init(effect_model *em, model *m);
void effect_model_free(effect_model *em);   // frees the activations, not the model
// The effect_forward_fn to put in an effect_engine with .model = em.
void effect_model_forward(void *em, const int32_t *tokens, const int *lens, int B,
                          const int64_t *pos, int n_pos, float *logits);

#endif
