# The two commands a newcomer needs: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
PYTEST_ARGS ?=
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test venv lint bench mutation i18n lock system-deps clean

## run: set up, migrate, seed demo data and serve the provider at http://127.0.0.1:8000
##      with the demo relying party at :8001 and the reference registries and SMS
##      gateway (synthetic data) at :8101-8104. `make run PORT=8100 RP_PORT=8002` moves
##      the provider (its issuer follows unless IDP_ISSUER is set) and the demo RP.
INSTANCE := $(or $(IDP_INSTANCE_DIR),instance)
RP_PORT ?= 8001
run: export IDP_ISSUER ?= http://127.0.0.1:$(PORT)
run: venv
	$(BIN)/idp db upgrade
	$(BIN)/idp demo seed --rp-url http://127.0.0.1:$(RP_PORT)
	$(BIN)/python -m connectors.serve_all --key-file $(INSTANCE)/secrets/connectors_key \
	    --data $(INSTANCE)/registry.json & registries=$$!; \
	$(BIN)/python examples/demo_rp.py & rp=$$!; \
	trap 'kill $$rp $$registries 2>/dev/null' EXIT INT TERM; \
	IDP_CONNECTORS_VENDOR=govjson $(BIN)/idp serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## test: install what the tests need (system packages too, when root) and run the whole suite
test: venv system-deps
	$(BIN)/python scripts/i18n.py --check
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

## venv: the Python environment alone (nothing started)
venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

## lint: ruff (lint + format check) and mypy
lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## i18n: extract UI strings and rebuild the zh catalogue from scripts/zh_catalog.py
i18n: venv
	$(BIN)/python scripts/i18n.py

## lock: re-pin the whole dependency tree after changing pyproject.toml
lock: venv
	$(BIN)/pip freeze --exclude-editable | grep -v '^pip==' > requirements.lock

## bench: load `idp serve --workers 2` and its baselines on loopback; one JSON line per scenario
bench: venv
	$(BIN)/python -m tests.bench.run

## mutation: mutation-test identifiers, PII sealing and claims against their unit tests, one
##           mutant at a time on a copy of the tree (~10 min); a score and the survivors per
##           module. `make mutation MUTATION_ARGS="--floor 90 realname/identifiers.py"`
MUTATION_ARGS ?=
mutation: venv
	$(BIN)/python scripts/mutation.py $(MUTATION_ARGS)

system-deps:
	@bash scripts/system-deps.sh

clean:
	rm -rf $(VENV) instance test-output .pytest_cache .mypy_cache .ruff_cache
