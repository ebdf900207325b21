// nq-config: reads an experiment config the way every stage does (schema, --set overrides,
// defaults) and prints a value or canonical text, so shell drivers (jobs/run-local.sh,
// jobs/submit.sh) never parse libconfig themselves. Not an MPI program.
//   nq-config CONFIG [--set key=value]... --get KEY      scalar: the value; list: one item
//                                                         per line; map: "name<TAB>value" lines
//   nq-config CONFIG [--set key=value]... --text SECTIONS canonical text of those sections
//   nq-config CONFIG [--set key=value]... --path ITEM    the path of a run directory item
//                                                         (pipeline/run_layout.h: shards, logs, ...)
//   nq-config --reads STAGE                               the config sections STAGE reads
//                                                         (pipeline/stages.c), comma separated
//   nq-config CONFIG [--set k=v]... [--set-after k=v]... --steps
//                                                         the pipeline graph (pipeline/steps.h)
//                                                         with each step's state (freshness.h):
//                                                         one tab-separated line per step
#include "config_tool/config_tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/freshness.h"
#include "pipeline/run_layout.h"
#include "pipeline/stages.h"
#include "pipeline/steps.h"

// What the command line asks for.
typedef struct {
  const char *cfg_path, *get, *text, *reads, *path;
  int steps;
  const char **sets, **after;   // --set, --set-after (after each run's pipeline.runs overrides)
  int n_sets, n_after;
} config_request;

static int usage(int code) {
  fprintf(code ? stderr : stdout,
          "usage: nq-config CONFIG [--set key=value]... (--get KEY | --text SECTIONS | --path ITEM)\n"
          "       nq-config --reads STAGE\n"
          "       nq-config CONFIG [--set key=value]... [--set-after key=value]... --steps\n"
          "Prints one config value (lists one item per line, maps as name<TAB>value lines),\n"
          "the canonical text of the listed sections (comma separated), the path of a run\n"
          "directory item (the run layout's: shards, effects, logs, stamps, ...), the sections a\n"
          "stage reads (comma separated), or the pipeline's steps, one per line: name, stage,\n"
          "the steps it waits for, stamp, its run's overrides, what it writes, its state\n"
          "(current, not run, or stale: why; tab separated; --set-after overrides apply after\n"
          "each run's own, --set ones before).\n");
  return code;
}

// Fills `r` from argv; returns -1 to go on, else the exit code (help: 0, bad usage: 2).
static int parse_args(config_request *r, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage(0);
    else if (!strcmp(a, "--set") && i + 1 < argc) r->sets[r->n_sets++] = argv[++i];
    else if (!strncmp(a, "--set=", 6)) r->sets[r->n_sets++] = a + 6;
    else if (!strcmp(a, "--set-after") && i + 1 < argc) r->after[r->n_after++] = argv[++i];
    else if (!strcmp(a, "--steps")) r->steps = 1;
    else if (!strcmp(a, "--get") && i + 1 < argc) r->get = argv[++i];
    else if (!strcmp(a, "--text") && i + 1 < argc) r->text = argv[++i];
    else if (!strcmp(a, "--reads") && i + 1 < argc) r->reads = argv[++i];
    else if (!strcmp(a, "--path") && i + 1 < argc) r->path = argv[++i];
    else if (a[0] != '-' && !r->cfg_path) r->cfg_path = a;
    else {
      fprintf(stderr, "nq-config: unexpected argument '%s'\n", a);
      return usage(2);
    }
  }
  int asks = !!r->get + !!r->text + !!r->reads + !!r->path + r->steps;
  if (asks != 1 || (!r->reads && !r->cfg_path)) return usage(2);
  return -1;
}

// --reads STAGE: needs no config (a CONFIG given with it is not read).
static int print_reads(const char *name) {
  const stage_info *s = stage_find(name);
  if (!s) {
    fprintf(stderr, "nq-config: --reads: no stage '%s' (stages:", name);
    for (const stage_info *t = stage_table; t->name; t++) fprintf(stderr, " %s", t->name);
    fprintf(stderr, ")\n");
    return 2;
  }
  printf("%s\n", s->reads);
  return 0;
}

static void print_config(const config_request *r) {
  if (r->steps) {
    pipeline_graph *g = pipeline_graph_build(r->cfg_path, r->sets, r->n_sets, r->after, r->n_after);
    freshness_graph(g);
    pipeline_graph_print(g, stdout);
    pipeline_graph_free(g);
    return;
  }
  if (r->n_after) {   // only the graph has runs to apply them after
    fprintf(stderr, "nq-config: --set-after goes with --steps\n");
    exit(2);
  }
  settings *set = settings_load(r->cfg_path, r->sets, r->n_sets);
  if (r->get) {
    if (config_print_value(set->cfg, r->get, stdout) != 0) fatal("nq-config: unknown key '%s'", r->get);
  } else if (r->path) {
    int d = run_dir_item_named(r->path);
    if (d < 0) {
      fprintf(stderr, "nq-config: --path: no item '%s' (items: ", r->path);
      run_dir_item_ids(stderr);
      fprintf(stderr, ")\n");
      exit(2);
    }
    char *p = run_path(set, (run_dir_item)d);
    printf("%s\n", p);
    free(p);
  } else {
    char *t = settings_text(set, r->text);
    fputs(t, stdout);
    free(t);
  }
  settings_free(set);
}

int config_tool_main(int argc, char **argv) {
  settings_schema_install();
  config_request r = {.sets = xcalloc((size_t)argc + 1, sizeof *r.sets),
                      .after = xcalloc((size_t)argc + 1, sizeof *r.after)};
  int rc = parse_args(&r, argc, argv);
  if (rc < 0 && r.reads) rc = print_reads(r.reads);
  if (rc < 0) {
    print_config(&r);
    rc = 0;
  }
  if (fflush(stdout) != 0 || ferror(stdout)) fatal("nq-config: writing to stdout failed");
  free(r.sets), free(r.after);
  return rc;
}
