// Replays fuzz inputs through one harness's LLVMFuzzerTestOneInput without libFuzzer, for
// `make test` (tests/integration/fuzz_replay.sh): `fuzz_x DIR|FILE...`. All inputs run in this
// one process, in name order, as libFuzzer runs them (a LeakSanitizer pass per input would
// take ~1 s each): each input's name goes to stderr before it runs, so a crash or sanitizer
// report follows the name of the input that caused it; an alarm stops an input that hangs;
// LeakSanitizer checks at exit. Prints "N inputs" and exits 0 when all ran.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { TIMEOUT_S = 30 };
static const char *current;

static void on_alarm(int sig) {
  (void)sig;
  static const char msg[] = "FAIL: no answer in 30 s (hang): ";
  if (write(2, msg, sizeof msg - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0) _exit(3);
  _exit(3);
}

static int replay_one(const char *path) {
  size_t len = 0;
  char *buf = read_file(path, &len);
  if (!buf) { fprintf(stderr, "FAIL %s: cannot read: %s\n", path, strerror(errno)); return 1; }
  fprintf(stderr, "input %s\n", path);
  current = path;
  alarm(TIMEOUT_S);
  LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
  alarm(0);
  free(buf);
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  int n = 0, bad = 0;
  signal(SIGALRM, on_alarm);
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
    if (k) qsort(names, k, sizeof *names, by_name);   // a fixed order: the same run every time
    for (size_t j = 0; j < k; j++) {
      bad += replay_one(names[j]);
      n++;
      free(names[j]);
    }
    free(names);
  }
  printf("%d inputs, %d unreadable\n", n, bad);
  return bad ? 1 : 0;
}
