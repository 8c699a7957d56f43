# Two entry points, each creating the environment from the pins when it is missing:
#   make run    the full default matrix: snakemake --cores all (through compressbench.launch)
#   make test   the test suite
#   make exp SET='key=value ...' [COMMIT=1] [EXP_ARGS=...]   a DVC experiment that loses nothing
#   make compare BASE=main   what the working tree's results changed against a revision
#   make review BASE=main    the pull-request comment: compare, changed files and figures
#   make projection          the planned default run's job floor, from measured job seconds
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lock compare exp venv install review projection quicklook

# The venv matches when its stamp holds the sha256 of requirements.lock and pyproject.toml:
# content, not mtimes, so a fresh clone or a checkout that touches them never reinstalls.
LOCK_HASH := $(shell cat requirements.lock pyproject.toml | { sha256sum 2>/dev/null || shasum -a 256; } | cut -c1-64)

venv:
	@if test -x $(BIN)/python && test "$$(cat $(STAMP) 2>/dev/null)" = "$(LOCK_HASH)"; then :; \
	else $(MAKE) --no-print-directory install; fi

# Offline first: a venv that already holds every pin (and the package) is only re-stamped;
# the network is needed only for what it lacks.
install:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if $(BIN)/python -m pip install -q --no-index -r requirements.lock 2>/dev/null \
	   && $(BIN)/python -m pip show -q compressbench >/dev/null 2>&1; then :; \
	else $(BIN)/python -m pip install -q --upgrade pip \
	  && $(BIN)/python -m pip install -q -r requirements.lock \
	  && $(BIN)/python -m pip install -q --no-deps -e .; fi
	echo $(LOCK_HASH) > $(STAMP)

# Kept for the README's `make .venv/.installed`: the same check.
$(STAMP): venv

run: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m compressbench.launch --cores all

test: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" pytest -q

# A DVC experiment: validated first, refused when uncommitted outputs would be deleted
# (COMMIT=1 commits them first), params.yaml changed in place keeping its comments.
exp: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m compressbench.experiment $(SET) $(if $(COMMIT),--commit) -- $(EXP_ARGS)

# What a change did to reports/results.csv, as markdown: make compare BASE=main [HEAD=rev]
compare: venv
	$(BIN)/python -m compressbench.compare $(BASE) $(HEAD)

# The whole DAG on a small slice in minutes, everything under .quicklook/: make quicklook
quicklook: venv
	$(BIN)/python -m compressbench.quicklook

# The pull-request comment (what CI posts): make review BASE=main [HEAD=rev] [FIGURES=dir] [NOTE=text]
review: venv
	$(BIN)/python -m compressbench.review $(BASE) $(HEAD) $(if $(FIGURES),--figures $(FIGURES)) $(if $(NOTE),--note "$(NOTE)")

# The planned default run's job floor from a previous run's seconds: make projection [MEASURED=dir]
projection: venv
	$(BIN)/python -m compressbench.projection $(if $(MEASURED),--measured $(MEASURED))

lock: venv
	{ head -n 2 requirements.lock; $(BIN)/python -m pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
