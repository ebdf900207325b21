# nextquill: `make run` (install, build, run the default experiment) and `make test`.
# Build outputs go to build/ (release) and build/asan/ (ASan+UBSan, for tests).

SHELL := /bin/bash
CC := mpicc
PKGS := hdf5-openmpi libconfig gsl openblas jansson libpcre2-8
DEBS := openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools libconfig-dev libgsl-dev \
        libopenblas-dev libjansson-dev libpcre2-dev libcmocka-dev pkg-config make gcc \
        libstemmer-dev wordnet-dev wordnet-base libdnnl-dev \
        python3-h5py python3-numpy python3-torch python3-nltk

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo unknown)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# -lopenblas before GSL, so cblas binds to OpenBLAS rather than the slow gslcblas.
PKG_LIBS = $(shell pkg-config --libs hdf5-openmpi libconfig openblas jansson libpcre2-8 2>/dev/null) -ldnnl -lstemmer -lwordnet -lgsl -lm

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

STAGES := $(patsubst stages/%.c,build/%,$(STAGE_SRC))
UNITS := $(patsubst tests/unit/%.c,build/tests/%,$(UNIT_SRC))
ASAN_STAGES := $(patsubst stages/%.c,build/asan/%,$(STAGE_SRC))
ASAN_UNITS := $(patsubst tests/unit/%.c,build/asan/tests/%,$(UNIT_SRC))
BENCHES := $(patsubst tests/bench/%.c,build/bench/%,$(BENCH_SRC))

.PHONY: all deps build asan test run bench clean help
all: build

help:
	@echo "make run    install missing packages, build, run configs/default.cfg end to end"
	@echo "make test   unit + integration tests (also under ASan+UBSan)"
	@echo "make bench  speed benchmarks"
	@echo "make deps   install missing Debian packages (idempotent)"

# Installs only what is missing; silent when everything is present.
deps:
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "make deps: apt-get install failed for:$$missing"; exit 1; }; \
	fi
	@# node and npm run the tokenizer parity tests; the image may ship its own npm
	@command -v npm >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }

# Every compile waits for `deps` (order-only: it never forces a rebuild).
build: deps build/libnq.a $(STAGES) $(UNITS)
asan: deps build/asan/libnq.a $(ASAN_STAGES) $(ASAN_UNITS)

# ---- release build -------------------------------------------------------------------
build/obj/%.o: common/%.c $(COMMON_HDR) | deps
	@mkdir -p $(@D); echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) -c $< -o $@
build/libnq.a: $(patsubst common/%.c,build/obj/%.o,$(COMMON_SRC))
	@echo "  AR $@"; rm -f $@; ar rcs $@ $^
build/nq-%: stages/nq-%.c build/libnq.a | deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) $< build/libnq.a $(PKG_LIBS) -o $@
build/tests/%: tests/unit/%.c build/libnq.a | build/tests deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) $< build/libnq.a $(PKG_LIBS) -lcmocka -o $@
build/bench/%: tests/bench/%.c build/libnq.a | build/bench deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_release) $(PKG_CFLAGS) $< build/libnq.a $(PKG_LIBS) -o $@

# ---- ASan + UBSan build ----------------------------------------------------------------
build/asan/obj/%.o: common/%.c $(COMMON_HDR) | deps
	@mkdir -p $(@D); echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) $(PKG_CFLAGS) -c $< -o $@
build/asan/libnq.a: $(patsubst common/%.c,build/asan/obj/%.o,$(COMMON_SRC))
	@echo "  AR $@"; rm -f $@; ar rcs $@ $^
build/asan/nq-%: stages/nq-%.c build/asan/libnq.a | deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) $(PKG_CFLAGS) $< build/asan/libnq.a $(PKG_LIBS) -o $@
build/asan/tests/%: tests/unit/%.c build/asan/libnq.a | build/asan/tests deps
	@echo "  CC $@"; $(CC) $(BASE_CFLAGS) $(CFLAGS_asan) $(PKG_CFLAGS) $< build/asan/libnq.a $(PKG_LIBS) -lcmocka -o $@

build/tests build/bench build/asan/tests:
	@mkdir -p $@

test: build asan
	@bash tests/run.sh

bench: build $(BENCHES)
	@bash tests/bench/run.sh

run: build
	@bash jobs/run-local.sh configs/default.cfg

clean:
	rm -rf build
