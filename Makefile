# Fold & Unfold: the two commands of the README are `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test test-fast bench clean

## setup: create .venv (if missing) and install the pinned requirements
setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

## test: set up, then run every test
test: setup
	$(PY) -m pytest tests -q

## test-fast: the same tests with 100 hypothesis examples per property
test-fast: setup
	$(PY) -m pytest tests -q --hypothesis-profile=dev

## bench: timings of convlab's ops against torch's (prints a table; not a test)
bench: setup
	$(PY) benchmarks/ops.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
