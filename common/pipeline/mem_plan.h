// The memory plan of nq-train, nq-effect and nq-eval (docs/scaling.md): before any large
// allocation, rank 0 prints what one rank will hold (weights, gradients, optimizer state,
// activations at the configured batch and length) and the node's total (x ranks on the node),
// and the stage stops with a message naming the numbers when the node total exceeds the
// limit: the config's `memory_limit`, or the detected one (cgroup memory.max, else
// MemAvailable). `--plan` prints the plan and exits 0 without doing anything else.
#ifndef NQ_MEM_PLAN_H
#define NQ_MEM_PLAN_H

#include "model/model.h"
#include "pipeline/stage.h"

#define MEM_PLAN_MAX 10

typedef struct {
  int n;
  const char *what[MEM_PLAN_MAX];
  double bytes[MEM_PLAN_MAX];
  char note[256];          // one line under the table (e.g. "optimizer sharded over 2 ranks")
} mem_plan;

// The --plan option of the stages with a plan (pass to stage_begin_with).
extern const stage_option mem_plan_options[];

void mem_plan_add(mem_plan *p, const char *what, double bytes);
// A forward-only model's weights (checkpoint or HF directory at `path`; bf16: the matrices in
// bf16, norms and biases fp32); *mc_out (when not NULL) gets its configuration.
void mem_plan_add_weights(mem_plan *p, const char *path, int precision, model_config *mc_out);
// Its weights and the activations of one pass of max_tokens tokens.
void mem_plan_add_forward(mem_plan *p, const char *path, int precision, int max_tokens,
                          model_config *mc_out);
double mem_plan_total(const mem_plan *p);
// The limit in bytes for the node (memory_limit, or detected), 0 = none; *src says where from.
double mem_plan_limit(const settings *set, const char **src);
// Prints the plan (rank 0) and checks it; stops (exit 1) when over the limit. Returns 1 when
// --plan was given (the stage then returns 0 at once), else 0.
int mem_plan_check(const settings *set, const stage_args *s, const mem_plan *p);

#endif
