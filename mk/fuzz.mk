# Fuzzing (tests/fuzz/, docs/fuzzing.md), included by the Makefile.
# Replay binaries: each harness linked with tests/fuzz/replay.c by the project's compiler, release
# and ASan+UBSan; `make build`/`make asan` build them and tests/integration/fuzz_replay.sh runs
# them on the kept corpora in `make test`.
# `make fuzz`: the same harnesses linked with libFuzzer (clang, ASan+UBSan), each run for
# FUZZ_SECONDS (tests/fuzz/run.sh). Only this target needs clang.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ_SRC))
ASAN_FUZZ_REPLAY := $(patsubst tests/fuzz/%.c,$(B)/asan/fuzz/%,$(FUZZ_SRC))
FUZZ_LIBFUZZER := $(patsubst tests/fuzz/%.c,$(B)/libfuzzer/%,$(FUZZ_SRC))
CLANG ?= clang
CFLAGS_libfuzzer := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
                    -fno-sanitize-recover=undefined -Wall -Wextra -Wno-unused-function \
                    '-Dtarget_clones(...)=unused'   # clang 14 leaves gcc's clones unresolved
FUZZ_SECONDS ?= 60

$(B)/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(B)/libnq.a | deps
	@mkdir -p $(@D); echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) -Wno-unused-function $(PKG_CFLAGS) $< tests/fuzz/replay.c $(B)/libnq.a $(PKG_LIBS) -o $@
$(B)/asan/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(B)/asan/libnq.a | deps
	@mkdir -p $(@D); echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) -Wno-unused-function $(PKG_CFLAGS) $< tests/fuzz/replay.c $(B)/asan/libnq.a $(PKG_LIBS) -o $@

# libFuzzer build: the library instrumented for coverage (fuzzer-no-link), harnesses with the fuzzer main
$(B)/libfuzzer/obj/%.o: common/%.c $(COMMON_HDR) | deps fuzz-clang
	@mkdir -p $(@D); echo "  CLANG $@"; $(CLANG) $(BASE_CFLAGS) $(CFLAGS_libfuzzer) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) -c $< -o $@
$(B)/libfuzzer/libnq.a: $(patsubst common/%.c,$(B)/libfuzzer/obj/%.o,$(COMMON_SRC))
	@echo "  AR $@"; rm -f $@; ar rcs $@ $^
$(B)/libfuzzer/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(B)/libfuzzer/libnq.a | deps
	@echo "  CLANG $@"; $(CLANG) $(BASE_CFLAGS) $(CFLAGS_libfuzzer) -fsanitize=fuzzer $(PKG_CFLAGS) $< $(B)/libfuzzer/libnq.a $(PKG_LIBS) -o $@

.PHONY: fuzz fuzz-build fuzz-clang
fuzz-build: fuzz-clang $(FUZZ_LIBFUZZER)
fuzz-clang:
	@command -v $(CLANG) >/dev/null || { echo "make fuzz needs clang with libFuzzer: apt-get install clang-14 libfuzzer-14-dev libomp-14-dev (or CLANG=...)"; exit 1; }
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ONLY='$(FUZZ_ONLY)' B=$(B) bash tests/fuzz/run.sh
