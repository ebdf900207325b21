#include "pipeline/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "pipeline/schema.h"

void mpi_check_at(int rc, const char *what, const char *file, int line) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  log_error(file, "mpi", line, "MPI call failed while %s: %s", what, msg);
}

static void usage(const stage_info *info, FILE *f) {
  fprintf(f, "usage: nq-%s CONFIG [--set key=value]... [--force]%s%s [--help]\n", info->name,
          info->takes_resume ? " [--resume]" : "", info->takes_preview ? " [--preview N | --preview-id ID]" : "");
  fprintf(f, "%s\n", info->summary);
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
  mpicheck(MPI_Init(argc, argv), "starting MPI");
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
  memset(s, 0, sizeof *s);
  const stage_info *info = stage_find(name);
  if (!info) error("stage_begin: no stage '%s' in pipeline/stages.c", name);
  s->info = info;
  schema_install();
  (void)start_mpi(s, info, &argc, &argv);
  log_set_rank(s->rank, s->size);
  const char *cfg_path = NULL;
  const char **sets = xcalloc((size_t)argc + 1, sizeof *sets);
  int n_sets = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      if (s->rank == 0) {
        usage(info, stdout);
        printf("\nOptions:\n"
               "  --set key=value   override any config key (validated like the file)\n"
               "  --force           overwrite outputs made with a different config\n");
        if (info->takes_resume) printf("  --resume          continue from the newest checkpoint\n");
        if (info->takes_preview)
          printf("  --preview N       print the first N samples' prompts and targets, write nothing\n"
                 "  --preview-id ID   print the sample with this id, write nothing\n");
        printf("\nConfig keys read by this stage (sections %s):\n", info->reads);
        config_print_help(info->reads);
      }
      free(sets);
      stop_mpi();
      exit(0);
    } else if (!strcmp(a, "--set")) {
      if (i + 1 >= argc) {
        if (s->rank == 0) fprintf(stderr, "nq-%s: --set needs key=value\n", info->name), usage(info, stderr);
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
        if (s->rank == 0) fprintf(stderr, "nq-%s: --preview needs a positive number\n", info->name), usage(info, stderr);
        stop_mpi();
        exit(2);
      }
    } else if (a[0] == '-' || cfg_path) {
      if (s->rank == 0) {
        fprintf(stderr, "nq-%s: unexpected argument '%s'\n", info->name, a);
        usage(info, stderr);
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
      usage(info, stderr);
    }
    stop_mpi();
    exit(2);
  }
  log_set_collective(1);  // every rank loads the same file: report a bad config once
  s->cfg = config_load(cfg_path, sets, n_sets);
  log_set_collective(0);
  free(sets);
}

int stage_end(stage_ctx *s, int rc) {
  config_free(s->cfg);
  s->cfg = NULL;
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
