#include "pipeline/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/schema.h"
#include "pipeline/stage_lock.h"

void mpi_check_at(int rc, const char *what, const char *file, int line) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  log_error(file, "mpi", line, "MPI call failed while %s: %s", what, msg);
}

static void usage(const stage_info *info, const stage_option *opts, FILE *f) {
  fprintf(f, "usage: nq-%s CONFIG [--set key=value]... [--force]%s%s", info->name,
          info->takes_resume ? " [--resume]" : "", info->takes_preview ? " [--preview N | --preview-id ID]" : "");
  for (const stage_option *o = opts; o && o->name; o++)
    fprintf(f, " [%s%s%s]", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
  fprintf(f, " [--help]\n%s\n", info->summary);
}

static void print_help(const stage_info *info, const stage_option *opts) {
  usage(info, opts, stdout);
  printf("\nOptions:\n"
         "  --set key=value   override any config key (validated like the file)\n"
         "  --force           overwrite outputs made with a different config\n");
  if (info->takes_resume) printf("  --resume          continue from the newest checkpoint\n");
  if (info->takes_preview)
    printf("  --preview N       print the first N samples' prompts and targets, write nothing\n"
           "  --preview-id ID   print the sample with this id, write nothing\n");
  for (const stage_option *o = opts; o && o->name; o++) {
    char head[64];
    snprintf(head, sizeof head, "%s %s", o->name, o->arg ? o->arg : "");
    printf("  %-17s %s\n", head, o->help);
  }
  printf("\nConfig keys read by this stage (sections %s):\n", info->reads);
  config_print_help(info->reads);
}

// Index of the stage's own option `name` in opts, or -1.
static int option_index(const stage_option *opts, const char *name) {
  for (int i = 0; opts && opts[i].name; i++)
    if (!strcmp(opts[i].name, name)) return i;
  return -1;
}

// --preview prints a few samples from one process: it skips the MPI start-up (over a second
// as a singleton), and under mpirun only the first rank prints.
static int start_mpi(stage_ctx *s, const stage_info *info, int *argc, char ***argv) {
  for (int i = 1; info->takes_preview && i < *argc; i++)
    if (!strcmp((*argv)[i], "--preview") || !strcmp((*argv)[i], "--preview-id")) {
      const char *r = getenv("OMPI_COMM_WORLD_RANK");
      if (!r) r = getenv("PMI_RANK");
      s->rank = r ? atoi(r) : 0;
      s->size = 1;
      return 0;
    }
  // FUNNELED: nq-train's gradient overlap calls MPI from OpenMP thread 0 (the main thread)
  // inside a parallel region while the other threads compute (docs/scaling.md).
  int provided;
  mpicheck(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "starting MPI");
  mpicheck(MPI_Comm_rank(MPI_COMM_WORLD, &s->rank), "MPI_Comm_rank");
  mpicheck(MPI_Comm_size(MPI_COMM_WORLD, &s->size), "MPI_Comm_size");
  return 1;
}

// MPI_Finalize when MPI was started (not for --preview).
static void stop_mpi(void) {
  int up = 0;
  MPI_Initialized(&up);
  if (up) MPI_Finalize();
}

void stage_begin(stage_ctx *s, const char *name, int argc, char **argv) {
  stage_begin_with(s, name, argc, argv, NULL);
}

void stage_begin_with(stage_ctx *s, const char *name, int argc, char **argv,
                      const stage_option *opts) {
  memset(s, 0, sizeof *s);
  const stage_info *info = stage_find(name);
  if (!info) error("stage_begin: no stage '%s' in pipeline/stages.c", name);
  s->info = info;
  s->options = opts;
  int n_opts = 0;
  while (opts && opts[n_opts].name) n_opts++;
  s->option_value = xcalloc((size_t)n_opts + 1, sizeof *s->option_value);
  schema_install();
  (void)start_mpi(s, info, &argc, &argv);
  log_set_rank(s->rank, s->size);
  const char *cfg_path = NULL;
  const char **sets = xcalloc((size_t)argc + 1, sizeof *sets);
  int n_sets = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      if (s->rank == 0) print_help(info, opts);
      free(sets);
      free(s->option_value);
      stop_mpi();
      exit(0);
    } else if (!strcmp(a, "--set")) {
      if (i + 1 >= argc) {
        if (s->rank == 0) fprintf(stderr, "nq-%s: --set needs key=value\n", info->name), usage(info, opts, stderr);
        stop_mpi();
        exit(2);
      }
      sets[n_sets++] = argv[++i];
    } else if (!strncmp(a, "--set=", 6)) {
      sets[n_sets++] = a + 6;
    } else if (!strcmp(a, "--force")) {
      s->force = 1;
    } else if (!strcmp(a, "--resume") && info->takes_resume) {
      s->resume = 1;
    } else if (info->takes_preview && i + 1 < argc && (!strcmp(a, "--preview") || !strcmp(a, "--preview-id"))) {
      char *end;
      if (!strcmp(a, "--preview-id")) s->preview_id = argv[++i], s->preview = 1;
      else if ((s->preview = strtol(argv[++i], &end, 10)) <= 0 || *end) {
        if (s->rank == 0) fprintf(stderr, "nq-%s: --preview needs a positive number\n", info->name), usage(info, opts, stderr);
        stop_mpi();
        exit(2);
      }
    } else if (option_index(opts, a) >= 0 && !opts[option_index(opts, a)].arg) {   // a flag
      s->option_value[option_index(opts, a)] = "1";
    } else if (option_index(opts, a) >= 0 && i + 1 < argc) {
      s->option_value[option_index(opts, a)] = argv[++i];
    } else if (a[0] == '-' || cfg_path) {
      if (s->rank == 0) {
        fprintf(stderr, "nq-%s: unexpected argument '%s'\n", info->name, a);
        usage(info, opts, stderr);
      }
      stop_mpi();
      exit(2);
    } else {
      cfg_path = a;
    }
  }
  if (!cfg_path) {
    if (s->rank == 0) {
      fprintf(stderr, "nq-%s: missing CONFIG\n", info->name);
      usage(info, opts, stderr);
    }
    stop_mpi();
    exit(2);
  }
  log_set_collective(1);  // every rank loads the same file: report a bad config once
  s->cfg = config_load(cfg_path, sets, n_sets);
  log_set_collective(0);
  s->sets = sets;   // kept for stages that load the config again with more overrides
  s->n_sets = n_sets;
  if (!s->preview) stage_lock(s);   // one writer per run_dir and stage (--preview writes nothing)
}

const char *stage_option_value(const stage_ctx *s, const char *name) {
  int i = option_index(s->options, name);
  return i < 0 ? NULL : s->option_value[i];
}

int stage_end(stage_ctx *s, int rc) {
  config_free(s->cfg);
  s->cfg = NULL;
  free(s->sets);
  free(s->option_value);
  s->sets = NULL;
  s->option_value = NULL;
  int up = 0;
  MPI_Initialized(&up);
  if (up) mpicheck(MPI_Finalize(), "finalizing MPI");
  return rc;
}

char *stage_path(const stage_ctx *s, const char *sub) {
  const char *run_dir = cfg_str(s->cfg, "run_dir");
  make_dirs(run_dir);
  return path_join(run_dir, sub);
}
