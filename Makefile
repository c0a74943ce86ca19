# Paydeck. `make run` starts everything with demo data; `make test` runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
# Test processes (pytest-xdist), each with its own PostgreSQL, Redis and app server; 0: one process.
PYTEST_WORKERS ?= 2
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help install run test test-fast lint typecheck format schema bench clean

help: ## List targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## Create .venv with the pinned dependencies

run: $(STAMP) ## Run the platform with demo data at http://127.0.0.1:8000
	PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS=$${PAYDECK_ALLOW_PRIVATE_WEBHOOK_URLS:-true} $(BIN)/paydeck run --demo

test: $(STAMP) ## Lint and type-check, then the whole test suite on real PostgreSQL and Redis
	$(BIN)/ruff check server db tests bench
	$(BIN)/mypy
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-fast: $(STAMP) ## Tests without the browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not browser" $(PYTEST_ARGS)

lint: $(STAMP) ## ruff
	$(BIN)/ruff check server db tests bench

typecheck: $(STAMP) ## mypy over server/ and db/ (configured in pyproject.toml)
	$(BIN)/mypy

format: $(STAMP) ## ruff format + fixes
	$(BIN)/ruff check --fix server db tests bench
	$(BIN)/ruff format server db tests bench

schema: $(STAMP) ## Re-export graphql/schema.graphql
	$(BIN)/python -m server.export_schema > graphql/schema.graphql

bench: $(STAMP) ## Run the benchmarks (see BENCHMARKS.md)
	$(BIN)/python -m bench.run

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) .data
