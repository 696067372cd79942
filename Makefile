# labsim — two commands do all the set-up:
#   make lab    create .venv if needed, install labsim with its lab extras, open JupyterLab
#   make test   same environment; lint, unit/property/statistical tests, notebooks (strict nbval)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LAB_ARGS ?=
PYTEST_ARGS ?=
# JupyterLab refuses to run as root unless told to (CI and many containers run as root).
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: check-room lab test test-real test-browser html student wheelhouse lint format sync bench constraints install clean help readme

help:
	@echo "make lab    open JupyterLab on notebooks/ (LAB_ARGS='--no-browser --port 8888 --ip 127.0.0.1')"
	@echo "make test   lint + all tests + notebooks under strict nbval"
	@echo "make sync   update each notebooks/NN.ipynb from its paired source notebooks/NN.py"
	@echo "make bench  run the benchmarks (prints JSON lines)"
	@echo "make test-real     the conformance scripts against a real RabbitMQ (installs it if missing)"
	@echo "make html   export the notebooks to build/html/ (handouts with an index)"
	@echo "make check-room    check a workshop machine before the day (plain-words report)"
	@echo "make student       the lessons without their solutions, in build/student/"
	@echo "make test-browser  run the tour in JupyterLab in headless Chromium (needs /usr/bin/chromium)"
	@echo "make wheelhouse    download every wheel into wheelhouse/ for rooms without internet"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "labsim needs Python >= 3.10, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[lab,test,browser]'
	@touch $(STAMP)

install: $(STAMP)

# Room defaults (no news pop-up, no update check, ...) from tools/jupyterlab/overrides.json; a
# user's own JupyterLab settings still win, and nothing is written to them.
LAB_SETTINGS := $(CURDIR)/tools/jupyterlab

lab: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab $(ROOT_FLAG) --LabApp.app_settings_dir='$(LAB_SETTINGS)' $(LAB_ARGS)

# `ruff check .` covers the lesson sources notebooks/*.py too; they are not reformatted (their
# hand-wrapped calls read better in a lesson than ruff format's one argument per line).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check labsim tests benchmarks tools
	$(BIN)/python tools/sync_notebooks.py --check

format: $(STAMP)
	$(BIN)/ruff format labsim tests benchmarks tools
	$(BIN)/ruff check --fix .

# Lessons are jupytext pairs: edit notebooks/NN_name.py (or the notebook in JupyterLab, which
# saves both), then sync; the stored outputs stay those of the last run until re-executed with
# `$(BIN)/python tools/execute_notebooks.py notebooks/NN_name.py` (which syncs first).
sync: $(STAMP)
	$(BIN)/python tools/sync_notebooks.py

# LABSIM_PROGRESS=0 keeps progress bars out of notebook outputs (they go to stderr and vary).
# Test files run on every core (TEST_WORKERS=0: all in this process); --dist loadfile keeps each
# file, and so each notebook's cells and its kernel, on one worker.
TEST_WORKERS ?= auto
test: lint
	LABSIM_PROGRESS=0 $(BIN)/python -m pytest tests notebooks --nbval --nbval-current-env \
		--nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider \
		-n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The conformance scripts on a real RabbitMQ (installs Debian's rabbitmq-server when missing,
# starts it on 127.0.0.1, stops it afterwards); the model's side runs in `make test`.
test-real: $(STAMP)
	tools/rabbitmq.sh start
	LABSIM_REAL_RABBITMQ=1 $(BIN)/python -m pytest -m real tests/test_conformance_real.py \
		-p no:cacheprovider; status=$$?; tools/rabbitmq.sh stop; exit $$status

# Runs the tour notebook in JupyterLab in Debian's chromium (apt-get install chromium).
test-browser: $(STAMP)
	$(BIN)/python tools/browser_check.py

html: $(STAMP)
	$(BIN)/python tools/build_handouts.py

# Before the day: Python, the environment, JupyterLab starting, a notebook running, plots, disk.
# Runs with the machine's python3 so it can report a missing .venv instead of failing with it.
check-room:
	$(PYTHON) tools/room_check.py $(ROOM_ARGS)

# The student edition: every lesson without its solution cells (collapsed code cells and cells
# tagged `solution`), with its .py pair regenerated and data/; notebooks/solutions/ is left out.
student: $(STAMP)
	$(BIN)/python tools/student_edition.py

# Every wheel labsim needs, for `pip install --no-index --find-links wheelhouse labsim[lab]`.
wheelhouse: $(STAMP)
	$(BIN)/python -m pip wheel --quiet -c constraints.txt -w wheelhouse '.[lab,test]'
	@echo "wheelhouse/ holds $$(ls wheelhouse | wc -l) wheels"

# The README's parameter tables are generated from the declarations (a test checks them).
readme: $(STAMP)
	$(BIN)/python tools/update_readme.py

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b; done

# Re-pin after a deliberate upgrade: fresh venv, latest allowed versions, freeze.
constraints:
	rm -rf /tmp/labsim-pin && $(PYTHON) -m venv /tmp/labsim-pin
	/tmp/labsim-pin/bin/python -m pip install --quiet --upgrade pip
	/tmp/labsim-pin/bin/python -m pip install --quiet -e '.[lab,test,browser]'
	( echo "# Versions 'make' installs; regenerate with 'make constraints' after a deliberate upgrade."; \
	  echo "# Stored notebook outputs are compared under nbval, so these pins keep them stable."; \
	  /tmp/labsim-pin/bin/python -m pip freeze --exclude-editable | grep -v '^labsim' | sort -f ) > constraints.txt

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
