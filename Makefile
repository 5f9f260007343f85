# Labelkeep: `make run` to try it, `make test` to check everything.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WEB_WORKERS ?= 2
# Links in invitation and password-reset mails point here; follows HOST and PORT.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test lint typecheck format migrations-check pytest frontend frontend-check \
        deps deps-dev lock static demo clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Installed from the hashed lock files only; the stamp files re-run pip when a lock changes.
$(VENV)/.deps: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt
	touch $@

# The pipelines' client (client/) is its own package; tests use it installed, editable.
$(VENV)/.deps-dev: requirements/base.txt requirements/dev.txt client/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/base.txt -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e client
	touch $@ $(VENV)/.deps

deps: $(VENV)/.deps
deps-dev: $(VENV)/.deps-dev

lock: | $(BIN)/python
	$(BIN)/pip install --quiet pip-tools
	cd requirements && ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o base.txt base.in
	cd requirements && ../$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras -o dev.txt dev.in

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

frontend: frontend/node_modules/.package-lock.json
	cd frontend && npm run --silent build

frontend-check: frontend/node_modules/.package-lock.json
	cd frontend && npm run --silent check

static: frontend deps
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

run: export SITE_URL := $(SITE_URL)
run: deps static
	$(BIN)/python manage.py migrate --noinput --verbosity 0
	$(BIN)/python manage.py demo_lab
	$(BIN)/python manage.py demo_tasks
	deploy/run-embedded.sh $(HOST) $(PORT) $(WEB_WORKERS)

lint: deps-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: deps-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: deps-dev
	$(BIN)/mypy .

migrations-check: deps-dev
	$(BIN)/python manage.py makemigrations --check --dry-run

# Tests keep their generated keys and files apart from a running embedded lab's var/.
TEST_ENV := LABELKEEP_VAR_DIR=$(CURDIR)/var/test CELERY_TASK_ALWAYS_EAGER=true \
            DJANGO_ALLOW_ASYNC_UNSAFE=true

pytest: deps-dev static
	$(TEST_ENV) $(BIN)/python -m pytest $(PYTEST_ARGS)

test: deps-dev frontend-check lint typecheck migrations-check pytest

clean:
	rm -rf $(VENV) staticfiles frontend/node_modules frontend/dist
