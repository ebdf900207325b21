#include "pipeline/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/path_guard.h"
#include "base/util.h"
#include "pipeline/run_layout.h"
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
         "  --force           make the outputs again, even when current (pipeline/freshness.h),\n"
         "                    and replace outputs made with another config or input\n");
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
  settings_schema_install();
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
static int start_mpi(stage_args *s, const stage_info *info, int *argc, char ***argv) {
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

// Stops with the usage line (rank 0 prints `why`, and `arg` quoted when given, first): a bad
// command line is exit 2.
static _Noreturn void bad_usage(const stage_args *a, const char *why, const char *arg) {
  if (a->rank == 0) {
    fprintf(stderr, "nq-%s: %s", a->info->name, why);
    if (arg) fprintf(stderr, " '%s'", arg);
    fputc('\n', stderr);
    usage(a->info, a->options, stderr);
  }
  stop_mpi();
  exit(2);
}

// Fills s from argv: the flags, the --set overrides and the config path.
static void parse_args(stage_ctx *s, int argc, char **argv) {
  stage_args *a = &s->a;
  const stage_info *info = a->info;
  const stage_option *opts = a->options;
  s->a.sets = xcalloc((size_t)argc + 1, sizeof *s->a.sets);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    int o = option_index(opts, arg);
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      if (a->rank == 0) print_help(info, opts);
      stop_mpi();
      exit(0);
    } else if (!strcmp(arg, "--set")) {
      if (i + 1 >= argc) bad_usage(a, "--set needs key=value", NULL);
      s->a.sets[s->a.n_sets++] = argv[++i];
    } else if (!strncmp(arg, "--set=", 6)) {
      s->a.sets[s->a.n_sets++] = arg + 6;
    } else if (!strcmp(arg, "--force")) {
      a->force = 1;
    } else if (!strcmp(arg, "--resume") && info->takes_resume) {
      a->resume = 1;
    } else if (info->takes_preview && i + 1 < argc && !strcmp(arg, "--preview-id")) {
      a->preview_id = argv[++i], a->preview = 1;
    } else if (info->takes_preview && i + 1 < argc && !strcmp(arg, "--preview")) {
      char *end;
      if ((a->preview = strtol(argv[++i], &end, 10)) <= 0 || *end) bad_usage(a, "--preview needs a positive number", NULL);
    } else if (o >= 0 && !opts[o].arg) {   // a flag
      a->option_value[o] = "1";
    } else if (o >= 0 && i + 1 < argc) {
      a->option_value[o] = argv[++i];
    } else if (arg[0] == '-' || s->a.cfg_path) {
      bad_usage(a, "unexpected argument", arg);
    } else {
      s->a.cfg_path = arg;
    }
  }
  if (!s->a.cfg_path) bad_usage(a, "missing CONFIG", NULL);
}

// The freshness rule at start-up: rank 0 computes the stamp and state, every rank gets them.
static void ask_freshness(stage_ctx *s) {
  stage_args *a = &s->a;
  int state = 0, plan = stage_option_value(a, "--plan") != NULL;
  char why[512] = "";
  if (a->rank == 0) {
    freshness_invocation(&s->fresh, s->set, a->info);
    memcpy(a->stamp, s->fresh.stamp, sizeof a->stamp);
    state = (int)s->fresh.state;
    snprintf(why, sizeof why, "%s", s->fresh.why);
  }
  mpicheck(MPI_Bcast(a->stamp, sizeof a->stamp, MPI_CHAR, 0, MPI_COMM_WORLD), "broadcasting the stamp");
  mpicheck(MPI_Bcast(&state, 1, MPI_INT, 0, MPI_COMM_WORLD), "broadcasting the output's state");
  const char *out = a->rank == 0 ? s->fresh.outputs[0] : "";
  s->records = !plan;   // every rank waits at the end; rank 0 writes the record
  if (a->force || plan) return;
  if (state == FRESH_CURRENT) {
    if (a->rank == 0)
      message("%s: %s is up to date (stamp %.12s); nothing to do (--force makes it again)", a->info->name, out,
              a->stamp);
    freshness_invocation_free(&s->fresh);
    s->records = 0;
    stage_end(s, 0);
    exit(0);
  }
  // a stale output is replaced only with --force by the stages that refuse (a missing one is made)
  if (state == FRESH_STALE && a->info->refuses_stale && a->rank == 0 && file_exists(out))
    fatal("%s: not current: %s; rerun with --force to replace it", out, why);
  if (state == FRESH_STALE && a->rank == 0) message("%s: making %s again: %s", a->info->name, out, why);
  if (state == FRESH_STALE && a->info->refuses_stale) mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for rank 0");
}

void stage_begin_with(stage_ctx *s, const char *name, int argc, char **argv,
                      const stage_option *opts) {
  memset(s, 0, sizeof *s);
  const stage_info *info = stage_find(name);
  if (!info) error("stage_begin: no stage '%s' in pipeline/stages.c", name);
  stage_args *a = &s->a;
  a->info = info;
  a->options = opts;
  int n_opts = 0;
  while (opts && opts[n_opts].name) n_opts++;
  a->option_value = xcalloc((size_t)n_opts + 1, sizeof *a->option_value);
  (void)start_mpi(a, info, &argc, &argv);
  log_set_rank(a->rank, a->size);
  parse_args(s, argc, argv);
  log_set_collective(1);  // every rank loads the same file: report a bad config once
  s->set = settings_load(s->a.cfg_path, s->a.sets, s->a.n_sets);
  settings_check(s->set, info->reads);
  run_layout_check(s->set);          // names that would put a path outside run_dir
  log_set_collective(0);
  path_guard_set(s->set->run_dir);   // no write or deletion through a link below run_dir
  if (a->preview) return;   // --preview writes nothing
  stage_lock(s->set, a);     // one writer per run_dir and stage
  if (stage_is_step(info)) ask_freshness(s);
}

const char *stage_option_value(const stage_args *a, const char *name) {
  int i = option_index(a->options, name);
  return i < 0 ? NULL : a->option_value[i];
}

int stage_end(stage_ctx *s, int rc) {
  if (s->records) {
    if (rc == 0) mpicheck(MPI_Barrier(MPI_COMM_WORLD), "waiting for every rank's outputs");
    if (rc == 0 && s->a.rank == 0) freshness_record(&s->fresh);
    freshness_invocation_free(&s->fresh);
    s->records = 0;
  }
  settings_free(s->set);
  s->set = NULL;
  free(s->a.sets);
  free(s->a.option_value);
  s->a.sets = NULL;
  s->a.option_value = NULL;
  int up = 0;
  MPI_Initialized(&up);
  if (up) mpicheck(MPI_Finalize(), "finalizing MPI");
  return rc;
}
