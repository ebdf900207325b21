// See effect_model.h.
#include "effect/effect_model.h"

#include <string.h>

#include "base/log.h"

void effect_model_init(effect_model *em, model *m) {
  memset(em, 0, sizeof *em);
  em->m = m;
}

void effect_model_free(effect_model *em) {
  if (em->acts) model_acts_free(em->acts);
  em->acts = NULL;
}

void effect_model_forward(void *arg, const int32_t *tokens, const int *lens, int B,
                          const int64_t *pos, int n_pos, float *logits) {
  effect_model *em = arg;
  int n = 0, longest = 0;
  for (int b = 0; b < B; b++) {
    n += lens[b];
    if (lens[b] > longest) longest = lens[b];
  }
  if (longest > em->m->cfg.max_seq_len)
    fatal("a sequence of %d tokens is longer than the reference model's max_seq_len %d; "
          "rerun nq-shard with shorter data.max_prompt_tokens / max_target_tokens",
          longest, em->m->cfg.max_seq_len);
  if (!em->acts || em->acts->max_tokens < n || em->acts->max_seq < longest) {
    int cap_n = n, cap_s = longest;
    if (em->acts) {
      if (em->acts->max_tokens > cap_n) cap_n = em->acts->max_tokens;
      if (em->acts->max_seq > cap_s) cap_s = em->acts->max_seq;
      model_acts_free(em->acts);
    }
    em->acts = model_acts_create(em->m, cap_n, cap_s);
  }
  // only the target positions need logits: the LM head (V x D per row, the largest matmul of
  // a small model) runs on those rows alone, straight into the caller's buffer
  em->acts->no_logits = 1;
  model_forward(em->m, em->acts, tokens, lens, B);
  em->acts->no_logits = 0;   // the arena's other users (bench's forward-only) get all logits
  em->forward_tokens += n;
  for (int i = 0; i < n_pos; i++)
    if (pos[i] < 0 || pos[i] >= n) error("requested logits of position %lld of %d", (long long)pos[i], n);
  model_logits_rows(em->m, em->acts, pos, n_pos, logits);
}
