# Everything needs only python3 (3.11+) and make: the first target that needs the
# environment builds .venv from a hash-locked requirements file:
#   requirements-runtime.lock  what `make run` needs (the package and its [pdf] extra), for
#                              Linux, macOS and Windows, Python 3.11-3.13;
#   requirements-dev.lock      what `make test` needs (the [dev] extra: also [pdf], [spark],
#                              [notebook] and the test tools).
# .venv holds one of the two at a time; its marker file says which, and switching re-syncs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.9.5
OUT ?= out
RUNTIME_LOCK := requirements-runtime.lock
DEV_LOCK := requirements-dev.lock
LOCK_OPTIONS := --universal --python-version 3.11 --generate-hashes

.PHONY: run test bench screenshots lock clean setup setup-runtime pdf-deps pdf-deps-if-possible browser-deps java-deps

# uv manages .venv from here on (`.venv/bin/uv pip ...`): pip and setuptools are not kept.
$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip uninstall --quiet --python $(BIN)/python pip setuptools

# $(call sync,LOCK[,OPTION]): make .venv hold exactly LOCK's packages and this package (editable).
define sync
	rm -f $(VENV)/.installed*
	$(BIN)/uv pip sync --quiet $(2) --python $(BIN)/python --require-hashes $(1)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
endef

# The runtime is not compiled ahead (it would add 180 MB, most of it test suites and modules
# a run never imports); Python caches the bytecode of what a run imports as it first runs.
$(VENV)/.installed-runtime: $(RUNTIME_LOCK) pyproject.toml $(BIN)/uv
	$(call sync,$(RUNTIME_LOCK))
	touch $@

$(VENV)/.installed-dev: $(DEV_LOCK) pyproject.toml $(BIN)/uv
	$(call sync,$(DEV_LOCK),--compile-bytecode)
	touch $@

setup-runtime: $(VENV)/.installed-runtime
	@$(BIN)/python -m compileall -q src

setup: $(VENV)/.installed-dev
	@$(BIN)/python -m compileall -q src

# System libraries: Pango for the PDF summary (WeasyPrint), Chromium for the browser test.
# Installed with apt-get only when missing (CI and developers run as root here).
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
pdf-deps:
	@ldconfig -p | grep -q libpangoft2-1.0 || { apt-get update -qq && $(APT_INSTALL) libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; }

# For `make run`, Pango is a wish, not a need: where apt-get cannot add it (macOS, Windows,
# another distribution, no root) the run writes everything but the PDF and says how to add it.
pdf-deps-if-possible:
	@command -v apt-get >/dev/null 2>&1 && command -v ldconfig >/dev/null 2>&1 && $(MAKE) --no-print-directory pdf-deps 2>/dev/null || true

browser-deps: pdf-deps
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) chromium; }

# A Java runtime for PySpark (the Spark engine and its parity test).
java-deps:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) openjdk-17-jre-headless; }

## make run: the whole analysis on the embedded synthetic default; outputs in $(OUT)/
run: setup-runtime pdf-deps-if-possible
	$(BIN)/tiktok-claims run --out $(OUT)

## make test: the test suite (real-data tests read ../shared/data or $$TIKTOK_DATA)
test: setup browser-deps java-deps
	$(BIN)/python -m pytest

## make bench: run against the course script (real data), then the fit against rows (1M, 3M, 10M synthetic; about 2 min)
bench: setup
	$(BIN)/python bench/bench_run.py
	$(BIN)/python bench/bench_fit.py

## make screenshots [RUN=out]: PNGs of the four HTML documents at 1280 and 390 px in screenshots/
## (of a new run on the synthetic default, or of the run folder RUN, with its notebook.html if it has one)
screenshots: setup browser-deps
	$(BIN)/python bench/screenshots.py $(RUN) --out screenshots

## make lock: re-resolve both lock files from pyproject.toml (needs network; keeps the pins that still fit)
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra pdf $(LOCK_OPTIONS) -o $(RUNTIME_LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_OPTIONS) -o $(DEV_LOCK)

clean:
	rm -rf $(VENV) $(OUT)
