# xborder: the two commands are `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test bench lint typecheck clean

$(BIN)/python:
	$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "xborder needs Python 3.11 or newer"'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $(VENV)/.installed $@

# The demo clock runs 3600x (an hour a second) unless XB_CLOCK_SPEED says otherwise,
# so the simulated fleet's waybills visibly move through their statuses.
demo: $(VENV)/.installed
	XB_CLOCK_SPEED=$${XB_CLOCK_SPEED:-3600} $(BIN)/xborder demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
