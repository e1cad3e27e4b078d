# The two commands of the README: `make synth` and `make test`. Each sets up what it
# needs first (a .venv with the pinned Python packages, node_modules with the pinned CDK CLI).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# checkov installs many packages of its own: a virtual environment apart from the kit's
SCAN_VENV := .venv-scan
SCAN_STAMP := $(SCAN_VENV)/.installed

# jsii prints a large end-of-life banner on Node.js 20 (supported here); the value is the major version.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup synth test scan lint ruff typecheck docs bench lock clean

setup: $(PY_STAMP) $(NODE_STAMP)

# Every package, pip and setuptools included, comes from requirements.lock with its hash
# (--require-hashes refuses anything else, dependencies included); the kit itself is then
# installed editable, with the locked setuptools and no download. Not --no-deps: pip then
# installs each package after its dependencies, and aws-cdk-lib must come after
# aws-cdk.cloud-assembly-schema, whose files it overwrites (tests/test_packaging.py).
$(PY_STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## synth: synthesize the example organisation (or CONFIG=path/to/config.yaml) into cdk.out/
## with every cdk-nag pack
CONFIG ?=
synth: setup
	npx cdk synth --quiet $(if $(CONFIG),-c config=$(CONFIG))

## test: lint, type-check and run the test suite (mypy runs beside pytest; its report
## follows pytest's, and either failing fails the command)
test: ruff
	@mypy_log=$$(mktemp); \
	$(MAKE) --no-print-directory typecheck > "$$mypy_log" 2>&1 & mypy_pid=$$!; \
	trap 'kill $$mypy_pid 2>/dev/null || true; rm -f "$$mypy_log"' EXIT; \
	status=0; $(BIN)/python -m pytest || status=$$?; \
	wait $$mypy_pid || status=$$?; \
	cat "$$mypy_log"; rm -f "$$mypy_log"; exit $$status

$(SCAN_STAMP): requirements-scan.lock
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --require-hashes -r requirements-scan.lock
	@touch $@

## scan: run checkov over every template of the example organisation and the workload example
scan: synth $(SCAN_STAMP)
	rm -rf cdk.out.workload
	CDK_OUTDIR=cdk.out.workload $(BIN)/python examples/workload_app.py > /dev/null
	$(BIN)/python scripts/checkov_scan.py $(SCAN_VENV)/bin/checkov cdk.out cdk.out.workload

## lint: ruff (lint and format check) and mypy, without the tests
lint: ruff typecheck

ruff: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy baseline app.py examples bench scripts

## docs: regenerate the generated pages in docs/ (schema, controls, acknowledgements, guardrails)
docs: setup
	$(BIN)/python -m baseline docs

## bench: time the example synth against an empty CDK app (docs/performance.md)
bench: setup
	$(BIN)/python bench/synth.py

## lock: re-resolve requirements.lock and requirements-scan.lock (with hashes) after a
## dependency change in pyproject.toml, requirements-build.in or requirements-scan.in;
## versions already locked stay unless the change needs another one
LOCK_VENV := .venv-lock
LOCK_PYTHON := 3.11.5
lock:
	@test -x $(LOCK_VENV)/bin/uv || { $(PYTHON) -m venv $(LOCK_VENV) && $(LOCK_VENV)/bin/python -m pip install --quiet uv==0.13.8; }
	$(LOCK_VENV)/bin/uv pip compile --quiet pyproject.toml requirements-build.in --extra dev \
	  --generate-hashes --python-version $(LOCK_PYTHON) --custom-compile-command "make lock" -o requirements.lock
	$(LOCK_VENV)/bin/uv pip compile --quiet requirements-scan.in \
	  --generate-hashes --python-version $(LOCK_PYTHON) --custom-compile-command "make lock" -o requirements-scan.lock

clean:
	rm -rf cdk.out cdk.out.workload .pytest_cache .mypy_cache .ruff_cache
