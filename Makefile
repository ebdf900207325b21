# nextquill: `make run` (install, build, run the default experiment) and `make test`.
# Build outputs go to $(B) (default build/; release) and $(B)/asan/ (ASan+UBSan, for tests).
# Libraries are found by mk/libs.sh (Debian's pkg-config names, plain pkg-config, h5pcc);
# override with MPICC=... HDF5_DIR=... BLAS_LIBS=... (docs/cluster.md). Another MPI in its
# own directory: make B=build/mpich MPICC=mpicc.mpich.

SHELL := /bin/bash
B := build
# Debian packages: what the pipeline needs to build and run (`make deps`, `make run`) ...
DEBS_RUN := openmpi-bin libopenmpi-dev libhdf5-openmpi-dev libconfig-dev libgsl-dev \
            libopenblas-dev libjansson-dev libpcre2-dev pkg-config make gcc wordnet-base \
            libdnnl-dev
# ... and what only the tests need (`make deps-test`, `make test`): unit tests, reference
# checks, the second MPI (tests/integration/mpich.sh), h5dump/h5diff, a browser that opens
# the report page (tests/integration/report.sh)
DEBS_TEST := libcmocka-dev hdf5-tools python3-h5py python3-numpy python3-torch python3-nltk \
             mpich libmpich-dev libhdf5-mpich-dev chromium-headless-shell

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
# Asked once per make run, when first needed (after `deps` has run): a recursive variable that
# replaces itself with its value.
LIBS_SH = MPICC='$(MPICC)' HDF5_DIR='$(HDF5_DIR)' DNNL_DIR='$(DNNL_DIR)' BLAS_LIBS='$(BLAS_LIBS)' BLAS_CFLAGS='$(BLAS_CFLAGS)' \
          bash mk/libs.sh
CC = $(eval CC := $(shell $(LIBS_SH) mpicc))$(CC)
MPIRUN = $(eval MPIRUN := $(shell $(LIBS_SH) mpirun))$(MPIRUN)
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell $(LIBS_SH) cflags))$(PKG_CFLAGS)
# -lopenblas before GSL, so cblas binds to OpenBLAS rather than the slow gslcblas (mk/libs.sh).
PKG_LIBS = $(eval PKG_LIBS := $(shell $(LIBS_SH) libs))$(PKG_LIBS)
# the unit tests build with `make build` when cmocka is here; `make test` installs it first
HAVE_CMOCKA := $(shell pkg-config --exists cmocka 2>/dev/null && echo 1)
CMOCKA_LIBS := $(or $(shell pkg-config --cflags --libs cmocka 2>/dev/null),-lcmocka)

WARN := -Wall -Wextra -Werror
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -DPCRE2_CODE_UNIT_WIDTH=8 -fopenmp -Icommon \
               -DNQ_VERSION='"$(VERSION)"'
CFLAGS_release := -O2 -g $(WARN)
CFLAGS_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined $(WARN)

COMMON_SRC := $(sort $(wildcard common/*/*.c))
COMMON_HDR := $(wildcard common/*/*.h)
STAGE_SRC := $(sort $(wildcard stages/nq-*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))

STAGES := $(patsubst stages/%.c,$(B)/%,$(STAGE_SRC))
UNITS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
ASAN_STAGES := $(patsubst stages/%.c,$(B)/asan/%,$(STAGE_SRC))
ASAN_UNITS := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(UNIT_SRC))
BENCHES := $(patsubst tests/bench/%.c,$(B)/bench/%,$(BENCH_SRC))
# Plain `make` builds the pipeline: mk/fuzz.mk's first target must not become the default goal.
.DEFAULT_GOAL := all
include mk/fuzz.mk   # FUZZ_REPLAY, ASAN_FUZZ_REPLAY, `make fuzz`

.PHONY: all deps deps-test build units asan test run bench clean help
all: build

help:
	@echo "make run        install missing runtime packages, build, run configs/default.cfg end to end"
	@echo "make test       install missing test packages too; unit + integration tests (also ASan+UBSan)"
	@echo "make bench      speed benchmarks"
	@echo "make deps       install missing runtime Debian packages; without apt (or root): check the"
	@echo "                libraries and say what to load. DRY_RUN=1: print, install nothing"
	@echo "make deps-test  the same with the test-only packages"

# Install only what is missing (Debian, root or password-less sudo); elsewhere check (mk/deps.sh).
deps:
	@DEBS_RUN='$(DEBS_RUN)' DEBS_TEST='$(DEBS_TEST)' $(LIBS_SH:mk/libs.sh=mk/deps.sh) runtime
deps-test:
	@DEBS_RUN='$(DEBS_RUN)' DEBS_TEST='$(DEBS_TEST)' $(LIBS_SH:mk/libs.sh=mk/deps.sh) test

# Every compile waits for `deps` (order-only: it never forces a rebuild).
build: deps $(B)/libnq.a $(STAGES) $(if $(HAVE_CMOCKA),$(UNITS)) $(FUZZ_REPLAY)
units: deps $(UNITS)
asan: deps $(B)/asan/libnq.a $(ASAN_STAGES) $(ASAN_UNITS) $(ASAN_FUZZ_REPLAY)

# ---- release build -------------------------------------------------------------------
$(B)/obj/%.o: common/%.c $(COMMON_HDR) | deps
	@mkdir -p $(@D); echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) -c $< -o $@
$(B)/libnq.a: $(patsubst common/%.c,$(B)/obj/%.o,$(COMMON_SRC))
	@echo "  AR $@"; rm -f $@; ar rcs $@ $^
$(B)/nq-%: stages/nq-%.c $(B)/libnq.a | deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) $< $(B)/libnq.a $(PKG_LIBS) -o $@
$(B)/tests/%: tests/unit/%.c $(B)/libnq.a | $(B)/tests deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) $< $(B)/libnq.a $(PKG_LIBS) $(CMOCKA_LIBS) -o $@
$(B)/bench/%: tests/bench/%.c $(B)/libnq.a | $(B)/bench deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) $< $(B)/libnq.a $(PKG_LIBS) -o $@

# ---- ASan + UBSan build ----------------------------------------------------------------
$(B)/asan/obj/%.o: common/%.c $(COMMON_HDR) | deps
	@mkdir -p $(@D); echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) $(PKG_CFLAGS) -c $< -o $@
$(B)/asan/libnq.a: $(patsubst common/%.c,$(B)/asan/obj/%.o,$(COMMON_SRC))
	@echo "  AR $@"; rm -f $@; ar rcs $@ $^
$(B)/asan/nq-%: stages/nq-%.c $(B)/asan/libnq.a | deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) $(PKG_CFLAGS) $< $(B)/asan/libnq.a $(PKG_LIBS) -o $@
$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/libnq.a | $(B)/asan/tests deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) $(PKG_CFLAGS) $< $(B)/asan/libnq.a $(PKG_LIBS) $(CMOCKA_LIBS) -o $@

$(B)/tests $(B)/bench $(B)/asan/tests:
	@mkdir -p $@

# The build's own mpirun first on PATH for `make run` and `make test`: Debian installs both MPIs
# side by side, and its `mpirun` alternative may point at the other one.
MPI_PATH = mkdir -p $(B)/mpi-bin && for l in mpirun mpiexec; do ln -sfn "$$(command -v $(MPIRUN))" $(B)/mpi-bin/$$l; done \
           && PATH="$(abspath $(B))/mpi-bin:$$PATH"

# the test packages first, then a new make that sees them (cmocka: the unit tests)
test: deps-test
	@$(MAKE) --no-print-directory build units asan
	@$(MPI_PATH) bash tests/run.sh

bench: build $(BENCHES)
	@bash tests/bench/run.sh

run: build
	@$(MPI_PATH) bash jobs/run-local.sh configs/default.cfg

clean:
	rm -rf $(B)
