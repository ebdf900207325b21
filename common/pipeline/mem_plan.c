// Per-rank memory plan, limit detection and refusal (mem_plan.h, docs/scaling.md).
#include "pipeline/mem_plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "files/checkpoint.h"

const stage_option mem_plan_options[] = {
    {"--plan", NULL, "print the per-rank memory plan and exit (before sbatch)", OPT_WRITES_NONE},
    {NULL, NULL, NULL, OPT_PLAIN},
};

void mem_plan_add(mem_plan *p, const char *what, double bytes) {
  if (p->n == MEM_PLAN_MAX) error("mem_plan: more than %d items", MEM_PLAN_MAX);
  p->what[p->n] = what;
  p->bytes[p->n++] = bytes;
}

void mem_plan_add_weights(mem_plan *p, const char *path, int precision, model_config *mc_out) {
  model_config mc;
  checkpoint_read_config(path, &mc);
  mem_plan_add(p, precision == MODEL_BF16 ? "weights (bf16 matrices)" : "weights (fp32)", model_weight_bytes(&mc, precision));
  if (mc_out) *mc_out = mc;
}

void mem_plan_add_forward(mem_plan *p, const char *path, int precision, int max_tokens,
                          model_config *mc_out) {
  model_config mc;
  mem_plan_add_weights(p, path, precision, &mc);
  int seq = max_tokens < mc.max_seq_len ? max_tokens : mc.max_seq_len;
  mem_plan_add(p, "activations (one pass)", (double)model_acts_bytes(&mc, precision, max_tokens, seq));
  if (mc_out) *mc_out = mc;
}

double mem_plan_total(const mem_plan *p) {
  double t = 0;
  for (int i = 0; i < p->n; i++) t += p->bytes[i];
  return t;
}

// "24G", "512M", "1.5T", "123456" (bytes) -> bytes; -1 when it is not a size.
static double parse_size(const char *v) {
  char *end;
  double x = strtod(v, &end);
  if (end == v || x < 0) return -1;
  const char *units = "KMGT";
  const char *u = *end ? strchr(units, *end) : NULL;
  if (*end && (!u || end[1])) return -1;
  for (const char *k = units; u && k <= u; k++) x *= 1024;
  return x;
}

// cgroup v2 memory.max (a number, not "max"), else /proc/meminfo MemAvailable; 0 = unknown.
static double detect_limit(const char **src) {
  FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
  char line[128];
  if (f) {
    double v = fgets(line, sizeof line, f) ? strtod(line, NULL) : 0;
    fclose(f);
    if (v > 0) return *src = "cgroup memory.max", v;
  }
  f = fopen("/proc/meminfo", "r");
  double kb = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
  if (f) fclose(f);
  *src = "MemAvailable";
  return kb * 1024;
}

double mem_plan_limit(const settings *set, const char **src) {
  const char *v = set->memory_limit;
  *src = "memory_limit";
  if (!strcmp(v, "none")) return 0;
  if (!strcmp(v, "auto")) return detect_limit(src);
  double b = parse_size(v);
  if (b < 0) fatal("memory_limit '%s': expected auto, none or a size such as 20G", v);
  return b;
}

// Ranks of the job on this node.
static int node_ranks(void) {
  MPI_Comm node;
  int n = 1;
  mpicheck(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node), "node ranks");
  mpicheck(MPI_Comm_size(node, &n), "node size");
  MPI_Comm_free(&node);
  return n;
}

static double gib(double b) { return b / (1024.0 * 1024 * 1024); }

int mem_plan_check(const settings *set, const stage_args *s, const mem_plan *p) {
  int plan_only = stage_option_value(s, "--plan") != NULL, local = node_ranks();
  const char *src;
  double total = mem_plan_total(p), node = total * local, limit = mem_plan_limit(set, &src);
  if (s->rank == 0) {
    message("%s: memory plan per rank (GiB):", s->info->name);
    for (int i = 0; i < p->n; i++) message("  %-34s %9.3f", p->what[i], gib(p->bytes[i]));
    message("  %-34s %9.3f", "total per rank", gib(total));
    message("  %-34s %9.3f (%d rank%s on this node)", "node total", gib(node), local, local > 1 ? "s" : "");
    if (p->note[0]) message("  %s", p->note);
    if (limit > 0) message("  limit %.3f GiB (%s)", gib(limit), src);
  }
  if (limit > 0 && node > limit)
    fatal("%s: needs %.2f GiB on this node (%.2f GiB per rank x %d on the node) but the limit is %.2f GiB (%s); "
          "use more nodes (fewer ranks per node), train.shard_optimizer, model.precision = \"bf16\", "
          "a smaller micro-batch or sequence length, or set memory_limit",
          s->info->name, gib(node), gib(total), local, gib(limit), src);
  return plan_only;
}
