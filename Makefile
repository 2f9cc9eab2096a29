# Everything needs only python3 (3.11+) and make: the first target that needs the
# environment builds .venv from the hash-locked requirements.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.9.5
OUT ?= out

.PHONY: run test bench screenshots lock clean setup pdf-deps browser-deps java-deps

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: requirements.lock pyproject.toml $(BIN)/uv
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $@

setup: $(VENV)/.installed
	@$(BIN)/python -m compileall -q src

# System libraries: Pango for the PDF summary (WeasyPrint), Chromium for the browser test.
# Installed with apt-get only when missing (CI and developers run as root here).
APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
pdf-deps:
	@ldconfig -p | grep -q libpangoft2-1.0 || { apt-get update -qq && $(APT_INSTALL) libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core; }

browser-deps: pdf-deps
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) chromium; }

# A Java runtime for PySpark (the Spark engine and its parity test).
java-deps:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && $(APT_INSTALL) openjdk-17-jre-headless; }

## make run: the whole analysis on the embedded synthetic default; outputs in $(OUT)/
run: setup pdf-deps
	$(BIN)/tiktok-claims run --out $(OUT)

## make test: the test suite (real-data tests read ../shared/data or $$TIKTOK_DATA)
test: setup browser-deps java-deps
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/bench_run.py

## make screenshots [RUN=out]: PNGs of the four HTML documents at 1280 and 390 px in screenshots/
## (of a new run on the synthetic default, or of the run folder RUN)
screenshots: setup browser-deps
	$(BIN)/python bench/screenshots.py $(RUN) --out screenshots

## make lock: re-resolve requirements.lock from pyproject.toml (needs network)
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) $(OUT)
