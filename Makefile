# opsctl developer tasks. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-oldest bench lint venv clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Editable in compat mode: a .pth path entry, no import hook on every Python start (setuptools calls the
# mode transitional; should a setuptools without it be fetched, the default editable install is used).
$(STAMP): $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat \
		|| $(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	./examples/demo.sh $(VENV)/bin/opsctl

test: $(STAMP)
	$(PY) -m pytest

# The CLI leans on Typer internals (opsctl/cli/typer_fast.py, opsctl/cli/main.py): the CLI tests also run
# against the oldest Typer pyproject.toml accepts, in a venv of their own.
OLDEST := $(VENV)-oldest
TYPER_FLOOR := $(shell sed -n 's/.*"typer>=\([0-9.]*\)".*/\1/p' pyproject.toml)

$(OLDEST)/.installed: pyproject.toml
	$(PYTHON) -m venv $(OLDEST)
	$(OLDEST)/bin/python -m pip install --quiet --upgrade pip
	$(OLDEST)/bin/python -m pip install --quiet -e '.[dev]' 'typer==$(TYPER_FLOOR)' --config-settings editable_mode=compat \
		|| $(OLDEST)/bin/python -m pip install --quiet -e '.[dev]' 'typer==$(TYPER_FLOOR)'
	touch $@

test-oldest: $(OLDEST)/.installed
	$(OLDEST)/bin/python -m pytest -q -p no:cacheprovider tests/cli tests/rules/test_cli.py tests/detect/test_cli.py

lint: $(STAMP)
	$(VENV)/bin/ruff check opsctl tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	mkdir -p benchmarks/results
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) $(OLDEST) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
