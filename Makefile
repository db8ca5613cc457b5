# The verbs people type. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000

.PHONY: run reset test unit integration e2e lint format typecheck validate bench gallery stress clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## run: start the whole local stack (API on http://127.0.0.1:$(PORT))
run: $(STAMP)
	PORT=$(PORT) PYTHONPATH=.:layers/common $(BIN)/python -m local

## reset: forget the local stack's state (the folder AVATARSMITH_STATE_DIR names, default .avatarsmith/)
reset: $(STAMP)
	PYTHONPATH=.:layers/common $(BIN)/python -c "from local.__main__ import reset; reset()"

## test: lint, type-check, validate the template (raw and SAM-transformed) and run every test
test: $(STAMP) lint typecheck validate
	$(BIN)/python -m pytest

unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(STAMP)
	$(BIN)/python -m pytest tests/e2e

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(STAMP)
	$(BIN)/mypy

## validate: cfn-lint on template.yaml and on the offline SAM transform of it
validate: $(STAMP)
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python scripts/validate_template.py template.yaml

## bench: print cold-import ratios, AWS calls per operation and local latency
bench: $(STAMP)
	PYTHONPATH=.:layers/common $(BIN)/python -m benchmarks.run

## gallery: render docs/gallery.png (every style x attributes) and docs/gallery-photos.png (photo avatars)
gallery: $(STAMP)
	PYTHONPATH=.:layers/common $(BIN)/python scripts/gallery.py
## stress: every credit/idempotency race 20 times in a row (handler under moto, and HTTP to the local stack)
stress: $(STAMP)
	PYTHONPATH=.:layers/common $(BIN)/python -m benchmarks.stress

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache .mypy_cache
