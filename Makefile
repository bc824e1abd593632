# Two entry points: `make serve` (install and run on SQLite) and `make test` (install and run every test);
# `make docs` builds the documentation site into site/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test lint install install-test install-docs js webforms check-forms bench docs docs-serve clean system-deps system-deps-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(VENV)/.installed-docs $@

$(VENV)/.installed-docs: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[docs]'
	touch $@

tests/system/js/node_modules/.package-lock.json: tests/system/js/package.json tests/system/js/package-lock.json
	cd tests/system/js && npm ci --no-audit --no-fund --loglevel=error

## ODK Web Forms (forms filled in a browser, docs/staff/web-forms.md), built from webforms/ into the console's
## static files at install time: nothing is fetched when a page opens. Without Node.js (20.19 or later) the
## server still runs, and the web-form page says in one line how to build it.
WEBFORMS_OUT := collector/console/static/webforms/webforms.js
$(WEBFORMS_OUT): webforms/package.json webforms/package-lock.json webforms/vite.config.js webforms/src/main.js
	@if command -v npm >/dev/null 2>&1; then \
	  (cd webforms && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent) \
	  || echo "ODK Web Forms could not be built (see above): the server runs without web forms; run make webforms again."; \
	else echo "Node.js is missing: ODK Web Forms is not built (install Node.js 20, then run make webforms)."; fi

install: $(VENV)/.installed webforms
install-test: $(VENV)/.installed-test
install-docs: $(VENV)/.installed-docs
js: tests/system/js/node_modules/.package-lock.json
webforms: $(WEBFORMS_OUT)

## Debian packages for printing (WeasyPrint's Pango and HarfBuzz, a Lao font) and for the PDF tests
## (pdftoppm, zbarimg), the test of deploy/nginx.conf (nginx) and the browser tests (Debian's chromium, driven by Playwright). Checked with dpkg first; apt-get runs only
## when something is missing.
RUNTIME_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fontconfig fonts-dejavu-core fonts-lao
TEST_DEBS := poppler-utils zbar-tools nginx-light chromium
DEBS = $(RUNTIME_DEBS)
system-deps-test: DEBS = $(RUNTIME_DEBS) $(TEST_DEBS)
system-deps system-deps-test:
	@if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "Not a Debian system: make sure these (or your system's equivalents) are installed: $(DEBS)"; exit 0; fi; \
	missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	[ -z "$$missing" ] && exit 0; \
	echo "Installing system packages:$$missing"; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then \
	  echo "Missing system packages:$$missing. Install them as root: apt-get install$$missing"; exit 1; fi; \
	(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing) \
	  || { echo "apt-get could not install:$$missing. Install them by hand and run make again."; exit 1; }

## Install, migrate the SQLite database, publish the bundled forms, print a device QR code, serve on :8080.
## `collector setup` first checks Java for ODK Validate, and stops with one line saying how to get it.
serve: install system-deps
	$(BIN)/collector setup
	exec $(BIN)/gunicorn --config deploy/gunicorn.conf.py collector.wsgi:app

## Install test dependencies (Python and the Node ODK client) and run the whole suite.
# Three pytest workers on two cores: much of the suite waits on gunicorn, Java and Node, not on the CPU.
TEST_WORKERS ?= 3

## Lint (ruff), format check (ruff format), types (mypy on ingest/) and the floors' import contracts
## (import-linter); the same checks run before each commit with `.venv/bin/pre-commit install`.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: install-test js webforms system-deps-test lint
	$(BIN)/collector forms check forms/xlsforms/*.xlsx
	$(MKDOCS) build --strict --quiet --site-dir site
	$(BIN)/pytest -n $(TEST_WORKERS)

## The documentation site (mkdocs.yml, docs/): built with --strict, so a broken link or anchor fails.
# NO_MKDOCS_2_WARNING silences Material's banner about its successor; nothing is fetched either way.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: install-docs
	$(MKDOCS) build --strict --site-dir site

docs-serve: install-docs
	$(MKDOCS) serve --strict --dev-addr 127.0.0.1:8000

bench: install-test
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) tests/system/js/node_modules webforms/node_modules collector/console/static/webforms .pytest_cache site
