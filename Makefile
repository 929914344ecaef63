# django-petmail — the two commands are `make demo` and `make test`; both start from nothing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMPS := $(VENV)/.stamps

PG_URL ?= postgres://postgres@127.0.0.1:5432/petmail
PYTEST := $(BIN)/pytest -p no:cacheprovider

.DEFAULT_GOAL := help
.PHONY: help demo test bench browser-deps test-sqlite test-postgres test-custom-owner lint typecheck docs tox \
        services clean messages

help:
	@echo "make demo   - set up everything and run the demo on the example clinic (SQLite)"
	@echo "make test   - set up everything and run the whole suite on SQLite and PostgreSQL"
	@echo "make lint | typecheck | docs | tox | messages | clean"

$(STAMPS)/venv:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	mkdir -p $(STAMPS) && touch $@

$(STAMPS)/example: $(STAMPS)/venv pyproject.toml
	$(PY) -m pip install --quiet -e ".[example]"
	touch $@

$(STAMPS)/dev: $(STAMPS)/venv pyproject.toml
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@ $(STAMPS)/example

# The benchmarks' peers (django-newsletter, django-post-office) on top of dev; not for `make test`.
$(STAMPS)/bench: $(STAMPS)/venv pyproject.toml
	$(PY) -m pip install --quiet -e ".[bench]"
	touch $@ $(STAMPS)/dev $(STAMPS)/example

# Browser tests drive Debian's Chromium through Playwright (no browser download).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

## demo: a fresh SQLite clinic, seeded, with every demo step's report
demo: $(STAMPS)/example
	rm -f example_project/db.sqlite3
	cd example_project && ../$(PY) manage.py migrate --noinput -v 0
	cd example_project && ../$(PY) manage.py demo --owners $${OWNERS:-3000} --create-admin

## test: lint, then the suite on SQLite, PostgreSQL and a custom owner model; coverage >= 95%
test: $(STAMPS)/dev services browser-deps lint
	rm -f .coverage .coverage.*
	$(MAKE) --no-print-directory test-sqlite test-postgres test-custom-owner
	$(BIN)/coverage report
	$(MAKE) --no-print-directory typecheck docs

test-sqlite: $(STAMPS)/dev browser-deps
	$(PYTEST) --cov --cov-report= -q -m "not postgres_only"

test-postgres: $(STAMPS)/dev services browser-deps
	DATABASE_URL=$(PG_URL) $(PYTEST) --cov --cov-append --cov-report= -q

test-custom-owner: $(STAMPS)/dev browser-deps
	PETMAIL_OWNER_MODEL=clinic.Owner $(PYTEST) --cov --cov-append --cov-report= -q -m "not postgres_only"

services:
	@bash scripts/ensure-services.sh

lint: $(STAMPS)/dev
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/ruff format --check src tests example_project bench

typecheck: $(STAMPS)/dev
	$(BIN)/mypy

docs: $(STAMPS)/dev
	$(BIN)/mkdocs build --strict --quiet --site-dir .site

tox: $(STAMPS)/dev services
	$(BIN)/tox

messages: $(STAMPS)/dev
	cd src/django_petmail && ../../$(PY) ../../example_project/manage.py makemessages -l en -l es --no-obsolete
	cd src/django_petmail && ../../$(PY) ../../example_project/manage.py compilemessages

clean:
	rm -rf $(VENV) .tox .coverage .coverage.* .site example_project/db.sqlite3

## bench: scenarios beside their floor and peers on PostgreSQL (not part of `make test`)
bench: $(STAMPS)/bench services
	$(PY) bench/run.py $(BENCH_ARGS)
