# Everything a fresh machine needs: `make run` and `make test` create the venv when absent.
PYTHON ?= python3.11
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
EIM := $(VENV)/bin/eim
PYTEST := $(VENV)/bin/pytest
STAMP := $(VENV)/.installed

.PHONY: install run demo test test-fast lint bench reliability clean

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

# Re-sync whenever the lock file or the project definition changes. Bytecode is compiled at install,
# as for a production deployment: where PYTHONDONTWRITEBYTECODE is set, every process would otherwise
# compile every module it imports (Prefect's alone take seconds), on every start.
$(STAMP): $(UV) uv.lock pyproject.toml
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --extra dev --inexact --compile-bytecode --python $(VENV)/bin/python
	touch $(STAMP)

install: $(STAMP)

run: install
	$(EIM) run

demo: install
	$(EIM) demo

test: install
	$(PYTEST)

test-fast: install
	$(PYTEST) -m "not slow and not live and not reliability"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(VENV)/bin/python -m benchmarks

# Fault matrix, crash safety and bad input alone (all three also run in `make test`); then docs/reliability.md.
reliability: install
	$(PYTEST) -q -p no:cacheprovider -m "not live" tests/reliability
	$(VENV)/bin/python -m tests.reliability.report

clean:
	rm -rf $(VENV) data
