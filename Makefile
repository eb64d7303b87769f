# salesloop — run `make help` for the list of targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Tests run on SQLite, then again on PostgreSQL when DATABASE_URL points at one.
PG_URL := $(filter postgres% postgresql% pgsql%,$(DATABASE_URL))
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-z][a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "salesloop needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

$(VENV)/.base-installed: requirements/base.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . 2>/dev/null || $(BIN)/pip install --quiet --no-deps -e .
	@touch $@

$(VENV)/.dev-installed: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e . 2>/dev/null || $(BIN)/pip install --quiet --no-deps -e .
	@touch $@ $(VENV)/.base-installed

install: $(VENV)/.base-installed ## Create the virtual environment and install salesloop

install-dev: $(VENV)/.dev-installed ## Install salesloop with the development tools

demo: install ## Build the demo company on SQLite and serve it on http://127.0.0.1:8000 (with a worker and the scheduler)
	env -u DATABASE_URL BIN=$(BIN) bash scripts/run-demo --port $(PORT)

test: install-dev ## Run every test (SQLite, then PostgreSQL when DATABASE_URL names one)
	@bash scripts/ensure-chromium
	env -u DATABASE_URL $(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)
ifneq ($(PG_URL),)
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 --dist loadfile $(PYTEST_ARGS)
endif

lint: install-dev ## ruff, import contracts, migrations check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	env -u DATABASE_URL $(BIN)/python manage.py makemigrations --check --dry-run

fmt: install-dev ## Format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install-dev ## mypy (strict on salesloop.core)
	$(BIN)/mypy src/salesloop/core

messages: install-dev ## Extract and compile the translations
	cd src/salesloop && ../../$(BIN)/python ../../manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore "*/tests/*"
	cd src/salesloop && ../../$(BIN)/python ../../manage.py compilemessages

bench: install-dev ## Run the benchmarks (slow; prints figures)
	$(BIN)/python bench/demo_load.py

lock: ## Re-resolve the pinned dependencies (needs uv)
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements/base.lock
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements/dev.lock

clean: ## Remove the virtual environment and local databases
	rm -rf $(VENV) salesloop.sqlite3* staticfiles .pytest_cache

.PHONY: help install install-dev demo test lint fmt typecheck messages bench lock clean
