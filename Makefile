# One entry point for people and CI. `make demo` and `make test` install on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TORCH   ?= torch==2.13.0
VENV_ARGS ?=

.PHONY: install demo test test-fast lint bench clean

install: $(STAMP)

# Torch first and pinned: on this machine 2.13.0 is a local CPU wheel, while an unpinned
# resolve would download a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV_ARGS) $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m ecgtricks.train experiment=demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/hadolint Dockerfile

bench: $(STAMP)
	$(BIN)/python scripts/bench.py
	$(BIN)/python scripts/bench.py --only fullscale --edition 2021 --twin-scale 0.02 --out bench-results-2021.json

clean:
	rm -rf $(VENV) build dist .pytest_cache
