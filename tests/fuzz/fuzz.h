// Shared by the fuzz harnesses (tests/fuzz/fuzz_*.c, docs/fuzzing.md). Each harness defines
// LLVMFuzzerTestOneInput; it is linked either with libFuzzer (`make fuzz`, clang) or with
// tests/fuzz/replay.c (`make build`/`make asan`, the project's compiler) to replay the kept
// corpora in `make test`.
//
// fatal()/error() are the product's answer to bad input, not a bug: FZ_TRY runs a call with
// an exit hook that jumps back instead of exiting. What the call had allocated is then
// unreachable (a real run exits there), so under LeakSanitizer every block allocated inside
// FZ_TRY that is still live at the fatal() is marked ignored; leaks on paths that return
// normally are still reported.
#ifndef NQ_FUZZ_H
#define NQ_FUZZ_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define FZ_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FZ_LSAN 1
#endif
#endif

#ifdef FZ_LSAN
// declared here: gcc ships no sanitizer/allocator_interface.h (both runtimes export these)
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
void __lsan_ignore_object(const void *p);
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static jmp_buf fz_jmp;
static int fz_fataled;

#ifdef FZ_LSAN
#define FZ_MAX_TRACKED (1 << 20)
static const volatile void *fz_allocs[FZ_MAX_TRACKED];
static size_t fz_n_allocs;
static int fz_tracking, fz_hooks_installed;
static void fz_malloc_hook(const volatile void *p, size_t n) {
  (void)n;
  if (fz_tracking && fz_n_allocs < FZ_MAX_TRACKED) fz_allocs[fz_n_allocs++] = p;
}
static void fz_free_hook(const volatile void *p) { (void)p; }
#endif

static void fz_track(int on) {
#ifdef FZ_LSAN
  if (!fz_hooks_installed) {
    __sanitizer_install_malloc_and_free_hooks(fz_malloc_hook, fz_free_hook);
    fz_hooks_installed = 1;
  }
  if (on) fz_n_allocs = 0;
  fz_tracking = on;
#else
  (void)on;
#endif
}

static void fz_exit_hook(int code, const char *msg) {
  (void)code; (void)msg;
#ifdef FZ_LSAN
  fz_tracking = 0;
  // freed blocks are not "valid" objects to LSan; ignoring them is a no-op
  for (size_t i = 0; i < fz_n_allocs; i++) __lsan_ignore_object((const void *)fz_allocs[i]);
#endif
  fz_fataled = 1;
  longjmp(fz_jmp, 1);
}

// Runs `stmt`; afterwards fz_fataled is 1 when it stopped with fatal()/error(). Locals that
// `stmt` changes and the caller reads afterwards must be volatile (setjmp).
#define FZ_TRY(stmt)                                  \
  do {                                                \
    fz_fataled = 0;                                   \
    log_set_quiet(1);                                 \
    log_set_exit_hook(fz_exit_hook);                  \
    if (setjmp(fz_jmp) == 0) {                        \
      fz_track(1);                                    \
      stmt;                                           \
    }                                                 \
    fz_track(0);                                      \
  } while (0)

static char fz_scratch[512];
static void fz_cleanup(void) {
  static const char *names[] = {"input", "config.json", "model.safetensors", "tokenizer.json",
                                "exp.cfg", ".probe", "out.json", "out.json.tmp"};
  char p[1024];
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(p, sizeof p, "%s/%s", fz_scratch, names[i]);
    unlink(p);
  }
  rmdir(fz_scratch);
}

// Writes data to a per-process scratch file `name` (one of fz_cleanup's names, in $TMPDIR or
// /tmp) and returns its path (static storage). The product's readers take paths, not buffers.
static const char *fz_write_file(const char *name, const uint8_t *data, size_t size) {
  static char path[1024];
  if (!fz_scratch[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(fz_scratch, sizeof fz_scratch, "%s/nq-fuzz-%d-XXXXXX", t && *t ? t : "/tmp", (int)getpid());
    if (!mkdtemp(fz_scratch)) { perror("mkdtemp"); abort(); }
    atexit(fz_cleanup);
  }
  snprintf(path, sizeof path, "%s/%s", fz_scratch, name);
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) { perror(path); abort(); }
  return path;
}

// The scratch directory of fz_write_file.
static const char *fz_dir(void) {
  if (!fz_scratch[0]) fz_write_file(".probe", (const uint8_t *)"", 0);
  return fz_scratch;
}

#endif
