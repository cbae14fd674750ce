# Files manager: `make run` starts everything on the embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-embedded test-engines test-integration compose-config compose-test services services-stop check bench fsck move-to-s3 soak clean

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

# docker-compose.yml run by Docker: build, up, tests/api through the published port, crash/restart/scale, down -v.
compose-test: $(STAMP)
	PYTHON=$(BIN)/python bash scripts/compose-test.sh

services:
	bash scripts/services.sh start

services-stop:
	bash scripts/services.sh stop

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

# The files check on the deployment this environment points at: `make fsck ARGS="--verify --repair"`.
fsck: $(STAMP)
	$(BIN)/python -m services.files.fsck $(ARGS)

# Move the files on the volume into the S3 bucket the environment names: `make move-to-s3 ARGS="--verify"`.
move-to-s3: $(STAMP)
	$(BIN)/python -m services.files.move_to_s3 $(ARGS)

# The concurrency soak with kills, longer than in `make test` (SOAK_SECONDS, default 300), both adapter sets.
soak: $(STAMP)
	SOAK_SECONDS=$${SOAK_SECONDS:-300} FM_BACKENDS=embedded $(BIN)/python -m pytest tests/soak
	SOAK_SECONDS=$${SOAK_SECONDS:-300} FM_BACKENDS=engines $(BIN)/python -m pytest tests/soak

# Lint and types: ruff over everything, mypy --strict over services/, shared/ and scripts/ (pyproject.toml).
check: $(STAMP)
	$(BIN)/ruff check services shared tests scripts
	$(BIN)/ruff format --check services shared tests scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) data .pytest_cache
