# Two entry points: `make serve` (install and run on SQLite) and `make test` (install and run every test).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install install-test js check-forms bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

tests/js/node_modules/.package-lock.json: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test
js: tests/js/node_modules/.package-lock.json

## Install, migrate the SQLite database, publish the bundled forms, print a device QR code, serve on :8080.
serve: install
	$(BIN)/collector setup
	exec $(BIN)/gunicorn --config deploy/gunicorn.conf.py collector.wsgi:app

## Install test dependencies (Python and the Node ODK client) and run the whole suite.
test: install-test js
	$(BIN)/collector forms check forms/xlsforms/*.xlsx
	$(BIN)/pytest

bench: install-test
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) tests/js/node_modules .pytest_cache
