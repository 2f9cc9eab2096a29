# Everything needs only python3 (3.11+) and make: the first target that needs the
# environment builds .venv from the hash-locked requirements.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.9.5
OUT ?= out

.PHONY: run test bench lock clean setup

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

$(VENV)/.installed: requirements.lock pyproject.toml $(BIN)/uv
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements.lock
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python --no-deps -e .
	touch $@

setup: $(VENV)/.installed
	@$(BIN)/python -m compileall -q src

## make run: the whole analysis on the embedded synthetic default; outputs in $(OUT)/
run: setup
	$(BIN)/tiktok-claims run --out $(OUT)

## make test: the test suite (real-data tests read ../shared/data or $$TIKTOK_DATA)
test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python bench/bench_run.py

## make lock: re-resolve requirements.lock from pyproject.toml (needs network)
lock: $(BIN)/uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) $(OUT)
