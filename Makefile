# Two entry points, each creating the environment from the pins when it is missing:
#   make run    the full default matrix: snakemake --cores all
#   make test   the test suite
#   make compare BASE=main   what the working tree's results changed against a revision
#   make review BASE=main    the pull-request comment: compare, changed files and figures
#   make projection          the planned default run's job floor, from measured job seconds
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lock compare review projection

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

# What a change did to reports/results.csv, as markdown: make compare BASE=main [HEAD=rev]
compare: $(VENV)/.installed
	$(BIN)/python -m compressbench.compare $(BASE) $(HEAD)

# The pull-request comment (what CI posts): make review BASE=main [HEAD=rev] [FIGURES=dir] [NOTE=text]
review: $(VENV)/.installed
	$(BIN)/python -m compressbench.review $(BASE) $(HEAD) $(if $(FIGURES),--figures $(FIGURES)) $(if $(NOTE),--note "$(NOTE)")

# The planned default run's job floor from a previous run's seconds: make projection [MEASURED=dir]
projection: $(VENV)/.installed
	$(BIN)/python -m compressbench.projection $(if $(MEASURED),--measured $(MEASURED))

lock: $(VENV)/.installed
	{ head -n 2 requirements.lock; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
