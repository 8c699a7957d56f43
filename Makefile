# Two entry points, each creating the environment from the pins when it is missing:
#   make run    the full default matrix: snakemake --cores all
#   make test   the test suite
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lock

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

run: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" snakemake --cores all

test: $(VENV)/.installed
	PATH="$(CURDIR)/$(BIN):$$PATH" pytest -q

lock: $(VENV)/.installed
	{ head -n 2 requirements.lock; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
