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
# `exec`: the shell gives its place to the demo, so the SIGTERM make forwards reaches it; --exit-with-parent:
# the demo also stops if make is killed outright.
demo: $(VENV)/.installed
	XB_CLOCK_SPEED=$${XB_CLOCK_SPEED:-3600} exec $(BIN)/xborder demo --exit-with-parent

# `make test` runs the gates first and stops at the first that fails: lint (ruff check, ruff format --check,
# import-linter contracts), then types (mypy: the packages strict, the tests relaxed, one run), then pytest.
test: lint typecheck
	@echo "== pytest"
	@$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: pytest collected no test: that is a failure" >&2; fi; \
	  if [ $$rc -ne 0 ]; then echo "make test: pytest failed (exit $$rc)" >&2; exit 1; fi

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/run_all.py

lint: $(VENV)/.installed-dev
	@echo "== ruff check ."
	@$(BIN)/ruff check . || { echo "make lint: ruff check failed (some are fixed by: $(BIN)/ruff check --fix .)" >&2; exit 1; }
	@echo "== ruff format --check ."
	@$(BIN)/ruff format --check . || { echo "make lint: files are not formatted: $(BIN)/ruff format <them>" >&2; exit 1; }
	@echo "== lint-imports"
	@$(BIN)/lint-imports || { echo "make lint: an import-linter contract (pyproject.toml) is broken" >&2; exit 1; }

# The packages and tests to check, and how strictly, are in pyproject.toml ([tool.mypy]).
typecheck: $(VENV)/.installed-dev
	@echo "== mypy (packages strict, tests relaxed)"
	@$(BIN)/mypy || { echo "make typecheck: mypy found type errors" >&2; exit 1; }

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
