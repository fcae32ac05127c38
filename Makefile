# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint types unit lab bench reliability clean

# (Re)install when the venv is missing or pyproject.toml (or the C reader, which the
# editable install compiles in place) is newer than the last install.
$(STAMP): pyproject.toml setup.py rutter_nb/frames/_reader.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m rutter_nb.demo

lint: $(STAMP)
	$(BIN)/ruff check rutter_nb tests benchmarks
	$(BIN)/ruff format --check rutter_nb tests benchmarks

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint types unit

# Containers (Binder-like, CI) often run as root, which Jupyter refuses without a flag.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--ServerApp.allow_root=True)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(ROOT_FLAG) notebooks/01_quickstart.ipynb

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The reliability scenarios at full size and their figures table; SOAK=1 adds the 10-minute soak.
reliability: $(STAMP)
	$(BIN)/python benchmarks/reliability.py $(if $(SOAK),--soak,)

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
