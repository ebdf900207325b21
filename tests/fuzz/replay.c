// Replays fuzz inputs through one harness's LLVMFuzzerTestOneInput without libFuzzer, for
// `make test` (tests/integration/fuzz_replay.sh): `fuzz_x DIR|FILE...`. Each input runs in
// its own child process (a crash, sanitizer report or leak is that input's, and a hang is
// stopped by an alarm); prints one line per failing input and a summary, exits 1 if any failed.
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { TIMEOUT_S = 30 };

// 0 when the input ran clean, else 1 (the reason printed).
static int replay_one(const char *path) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    size_t len = 0;
    char *buf = read_file(path, &len);
    if (!buf) { perror(path); _exit(2); }
    alarm(TIMEOUT_S);
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    free(buf);
    exit(0);   // exit, not _exit: LeakSanitizer checks at exit
  }
  int st;
  if (waitpid(pid, &st, 0) < 0) { perror("waitpid"); return 1; }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
    printf("FAIL %s: no answer in %d s (hang)\n", path, TIMEOUT_S);
  else if (WIFSIGNALED(st))
    printf("FAIL %s: killed by signal %d\n", path, WTERMSIG(st));
  else
    printf("FAIL %s: exit status %d\n", path, WEXITSTATUS(st));
  return 1;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  int n = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) continue;   // an absent folder (no crashes kept) is empty
    if (!S_ISDIR(st.st_mode)) { bad += replay_one(argv[i]); n++; continue; }
    DIR *d = opendir(argv[i]);
    if (!d) { perror(argv[i]); return 1; }
    char **names = NULL;
    size_t k = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.') continue;
      if (k == cap) names = xrealloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
      names[k++] = path_join(argv[i], e->d_name);
    }
    closedir(d);
    qsort(names, k, sizeof *names, by_name);   // a fixed order: the same run every time
    for (size_t j = 0; j < k; j++) {
      bad += replay_one(names[j]);
      n++;
      free(names[j]);
    }
    free(names);
  }
  printf("%d inputs, %d failed\n", n, bad);
  return bad ? 1 : 0;
}
