# Files manager: `make run` starts everything on the embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-embedded test-engines test-integration compose-config services services-stop check bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python scripts/run.py

test: $(STAMP)
	$(BIN)/python scripts/test.py

test-embedded: $(STAMP)
	FM_BACKENDS=embedded $(BIN)/python -m pytest

test-engines: $(STAMP)
	FM_BACKENDS=engines $(BIN)/python -m pytest

test-integration: $(STAMP)
	FM_BACKENDS=engines FM_STACK=compose $(BIN)/python -m pytest tests/api tests/integration

compose-config:
	bash scripts/compose-check.sh

services:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

check: $(STAMP)
	$(BIN)/ruff check services shared tests scripts

clean:
	rm -rf $(VENV) data .pytest_cache
