# opsctl developer tasks. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test bench lint venv clean

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

lint: $(STAMP)
	$(VENV)/bin/ruff check opsctl tests benchmarks
	$(VENV)/bin/mypy

bench: $(STAMP)
	mkdir -p benchmarks/results
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
