# The verbs people type. Every target installs what it needs into .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two installs: what `make run` needs (the runtime, the studio's OpenCV, the emulator, the SDK and CLI),
# and on top of it what `make test` needs (linters, type checkers, fuzzers, browser drivers). The first is
# not byte-compiled up front (a third of its time): Python compiles what the stack imports as it imports it.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
PORT ?= 3000
# Folder of this Makefile: `sam build` runs it from a scratch folder (BuildMethod: makefile).
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
# Where `make artifacts` writes one folder per function and one for the layer.
ARTIFACTS_ROOT ?= .build-cache/artifacts
# Debian's chromium drives the playground's browser tests (playwright never downloads a browser here).
CHROMIUM ?= /usr/bin/chromium

.PHONY: run reset test unit integration e2e lint format typecheck validate bench cost gallery stress openapi clean build artifacts lambda-runtime

$(RUN_STAMP): pyproject.toml clients/python/pyproject.toml
	@start=$$(date +%s); echo "installing what the local stack needs into $(VENV) (first run only)..."; \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || exit 1; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e ".[local]" -e clients/python \
		|| exit 1; \
	echo "installed in $$(( $$(date +%s) - start )) s"
	@touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	@start=$$(date +%s); echo "installing the test tools into $(VENV) (first test run only)..."; \
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e clients/python || exit 1; \
	echo "installed in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

## run: start the whole local stack (API on http://127.0.0.1:$(PORT))
run: $(RUN_STAMP)
	PORT=$(PORT) PYTHONPATH=.:layers/common:functions/api $(BIN)/python -m local

## reset: forget the local stack's state (the folder AVATARSMITH_STATE_DIR names, default .avatarsmith/)
reset: $(RUN_STAMP)
	PYTHONPATH=.:layers/common $(BIN)/python -c "from local.__main__ import reset; reset()"

## test: lint, type-check, validate the template (raw and SAM-transformed) and run every test
test: $(STAMP) lint typecheck validate
	@if [ -x "$(CHROMIUM)" ]; then echo "browser tests: headless $(CHROMIUM)"; \
	else echo "browser tests: SKIPPED, $(CHROMIUM) is not installed (apt-get install -y chromium)"; fi
	AVATARSMITH_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

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
	PYTHONPATH=.:layers/common:functions/api $(BIN)/python -m benchmarks.run

## openapi: regenerate docs/openapi.json from the routes (a test fails when the committed file is stale)
openapi: $(STAMP)
	PYTHONPATH=.:layers/common:functions/api $(BIN)/python scripts/openapi.py

## cost: run N jobs (default 200) per scenario through the local stack and price what they used
cost: $(STAMP)
	N=$(N) PYTHONPATH=.:layers/common:functions/api $(BIN)/python -m benchmarks.cost $(ARGS)

## gallery: render docs/gallery.png (every style x attributes) and docs/gallery-photos.png (photo avatars)
gallery: $(STAMP)
	PYTHONPATH=.:layers/common:functions/api $(BIN)/python scripts/gallery.py
## stress: every credit/idempotency race 20 times in a row (handler under moto, and HTTP to the local stack)
stress: $(STAMP)
	PYTHONPATH=.:layers/common:functions/api $(BIN)/python -m benchmarks.stress

## build: `sam build` -> .aws-sam/build, arm64 / CPython 3.12 (needs the SAM CLI and Python 3.11+, no Docker)
build:
	@command -v sam >/dev/null || { echo "the SAM CLI is not installed: see docs/deploy.md" >&2; exit 1; }
	sam build

# `sam build` calls build-<LogicalId> for each function and the layer (BuildMethod: makefile) with
# ARTIFACTS_DIR set; ARTIFACT_PLATFORM=host builds the same layout for this machine (the local stack).
build-%:
	$(PYTHON) $(ROOT)scripts/build_artifact.py $* "$(ARTIFACTS_DIR)"

## artifacts: every function and the layer into $(ARTIFACTS_ROOT)/<LogicalId>, without the SAM CLI
artifacts:
	@for id in $$($(PYTHON) $(ROOT)scripts/build_artifact.py --list); do \
		rm -rf "$(ARTIFACTS_ROOT)/$$id" && \
		$(MAKE) --no-print-directory -f $(ROOT)Makefile build-$$id ARTIFACTS_DIR="$(abspath $(ARTIFACTS_ROOT))/$$id" || exit 1; \
	done

# The packages the Lambda runtime itself provides (boto3 & co.), linked from this Python: the local
# stack and the artifact test import them with a function's artifact and its layer, nothing else.
lambda-runtime:
	$(PYTHON) $(ROOT)scripts/build_artifact.py --runtime "$(ARTIFACTS_DIR)"

clean:
	rm -rf $(VENV) .aws-sam .build-cache .pytest_cache .ruff_cache .mypy_cache
