// nq-config: reads an experiment config the way every stage does (schema, --set overrides,
// defaults) and prints a value or canonical text, so shell drivers (jobs/run-local.sh,
// jobs/submit.sh) never parse libconfig themselves. Not an MPI program.
//   nq-config CONFIG [--set key=value]... --get KEY      scalar: the value; list: one item
//                                                         per line; map: "name<TAB>value" lines
//   nq-config CONFIG [--set key=value]... --text SECTIONS canonical text of those sections
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "base/log.h"
#include "base/util.h"
#include "pipeline/schema.h"

static _Noreturn void usage(int code) {
  fprintf(code ? stderr : stdout,
          "usage: nq-config CONFIG [--set key=value]... (--get KEY | --text SECTIONS)\n"
          "Prints one config value (lists one item per line, maps as name<TAB>value lines)\n"
          "or the canonical text of the listed sections (comma separated).\n");
  exit(code);
}

static const cfg_key *find_key(const char *path) {
  int n = 0;
  const cfg_key *keys = config_schema(&n);
  for (int i = 0; i < n; i++)
    if (!strcmp(keys[i].path, path)) return &keys[i];
  return NULL;
}

static void print_value(const config *c, const char *key) {
  const cfg_key *k = find_key(key);
  if (!k) fatal("nq-config: unknown key '%s'", key);
  switch (k->type) {
    case CFG_INT: printf("%ld\n", cfg_int(c, key)); break;
    case CFG_FLOAT: printf("%.17g\n", cfg_float(c, key)); break;
    case CFG_BOOL: printf("%s\n", cfg_bool(c, key) ? "true" : "false"); break;
    case CFG_STRING: printf("%s\n", cfg_str(c, key)); break;
    case CFG_STRING_LIST:
      for (int i = 0; i < cfg_list_len(c, key); i++) printf("%s\n", cfg_list_str(c, key, i));
      break;
    case CFG_STRING_MAP:
      for (int i = 0; i < cfg_map_len(c, key); i++)
        printf("%s\t%s\n", cfg_map_name(c, key, i), cfg_map_value(c, key, i));
      break;
  }
}

int main(int argc, char **argv) {
  schema_install();
  const char *cfg_path = NULL, *get = NULL, *text = NULL;
  const char **sets = xcalloc((size_t)argc + 1, sizeof *sets);
  int n_sets = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(0);
    else if (!strcmp(a, "--set") && i + 1 < argc) sets[n_sets++] = argv[++i];
    else if (!strncmp(a, "--set=", 6)) sets[n_sets++] = a + 6;
    else if (!strcmp(a, "--get") && i + 1 < argc) get = argv[++i];
    else if (!strcmp(a, "--text") && i + 1 < argc) text = argv[++i];
    else if (a[0] != '-' && !cfg_path) cfg_path = a;
    else {
      fprintf(stderr, "nq-config: unexpected argument '%s'\n", a);
      usage(2);
    }
  }
  if (!cfg_path || (!get == !text)) usage(2);
  config *c = config_load(cfg_path, sets, n_sets);
  if (get) {
    print_value(c, get);
  } else {
    char *t = config_text(c, text);
    fputs(t, stdout);
    free(t);
  }
  if (fflush(stdout) != 0 || ferror(stdout)) fatal("nq-config: writing to stdout failed");
  config_free(c);
  free(sets);
  return 0;
}
