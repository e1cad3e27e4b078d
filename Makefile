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
CHECKOV_VERSION := 3.3.30

# jsii prints a large end-of-life banner on Node.js 20 (supported here); the value is the major version.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup synth test scan lint docs bench constraints clean

setup: $(PY_STAMP) $(NODE_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## synth: synthesize the example organisation into cdk.out/ with every cdk-nag pack
synth: setup
	npx cdk synth --quiet

## test: lint, type-check and run the test suite
test: setup lint
	$(BIN)/python -m pytest

$(SCAN_STAMP): Makefile
	@test -x $(SCAN_VENV)/bin/python || $(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/python -m pip install --quiet checkov==$(CHECKOV_VERSION)
	@touch $@

## scan: run checkov over every template of the example organisation and the workload example
scan: synth $(SCAN_STAMP)
	rm -rf cdk.out.workload
	CDK_OUTDIR=cdk.out.workload $(BIN)/python examples/workload_app.py > /dev/null
	$(BIN)/python scripts/checkov_scan.py $(SCAN_VENV)/bin/checkov cdk.out cdk.out.workload

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy baseline app.py examples bench scripts

## docs: regenerate the generated pages in docs/ (schema, controls, acknowledgements, guardrails)
docs: setup
	$(BIN)/python -m baseline docs

## bench: time the example synth against an empty CDK app (docs/performance.md)
bench: setup
	$(BIN)/python bench/synth.py

## constraints: re-pin the exact versions after a dependency change
constraints: setup
	{ head -n 3 constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf cdk.out cdk.out.workload .pytest_cache .mypy_cache .ruff_cache
