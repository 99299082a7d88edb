# Two commands a newcomer needs: `make lab` and `make test`. Both set up .venv when missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch 2.13.0 is a CPU build on local disk on the course machines; elsewhere pip takes the
# wheel for your platform. Override, e.g. `make lab TORCH_SPEC='torch>=2.2'`.
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.fmlib-installed

.PHONY: lab lab-zh test setup bench lint format clean-notebooks clean links book book-teacher errata \
        cell-times exercises check-exercises i18n check-i18n mutants scan rerun-asserts \
        student-release load-test

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/python -m pip install -q "$(TORCH_SPEC)" || \
	  $(BIN)/python -m pip install -q "torch>=2.2"
	$(BIN)/python -m pip install -q -e ".[notebooks,test,hub,book,instructor]"
	@# nbgrader is here for the grading test and `make exercises`; its menus and server extensions
	@# stay off so that a student's JupyterLab (and every server the tests start) stays uncluttered.
	@$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1
	@for e in formgrader validate_assignment assignment_list course_list; do \
	  $(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$e >/dev/null 2>&1; done
	@touch $@

# From npm (node and npm must be installed): the hub test's proxy, the course site's MathJax, and
# the widget manager (with require.js) that keeps the site's explorers live with no kernel.
NODE := $(VENV)/node/.installed-2
$(NODE):
	@command -v npm >/dev/null || { echo "npm is needed for the hub test and the site (apt-get install npm)"; exit 1; }
	npm install --silent --no-audit --no-fund --prefix $(VENV)/node configurable-http-proxy@5 mathjax@3 \
	  @jupyter-widgets/html-manager@1 requirejs@2
	@touch $@

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/

# 中文版：the Chinese edition's notebooks (zh/notebooks), written by `make i18n`.
lab-zh: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) zh/notebooks/

# Every test, on two workers (one file, so one notebook, per work unit), the Chinese edition's
# section notebooks and exercises included (zh/solutions is left out: its code is solutions/ code,
# run above, and its Chinese runs in zh/exercises); then the course site, English and Chinese, is
# built from the outputs the notebook runs just produced and read in Chromium.
DURATIONS ?= 15
PYTEST := OMP_NUM_THREADS=1 $(BIN)/python -m pytest -p no:cacheprovider
test: $(STAMP) $(NODE)
	rm -rf build/executed
	$(PYTEST) tests notebooks exercises solutions zh/notebooks zh/exercises --nbval-lax \
	  --nbval-current-env \
	  -n 2 --dist loadfile --durations=$(DURATIONS) --ignore=tests/browser/test_site.py
	$(if $(filter 1,$(SCAN)),$(SCAN_CMD) --executed build/executed $(SCAN_NOTEBOOKS))
	OMP_NUM_THREADS=1 $(BIN)/python tools/build_book.py --out build/book --executed build/executed --pdf
	FMLIB_SITE_HTML=build/book/_build/html $(PYTEST) tests/browser/test_site.py

# Every number in a notebook's prose is printed by a cell of its section, replayed by a Try it or
# listed as a setting (tools/scan_notebooks.py). `make test` scans the executed copies its notebook
# run leaves in build/executed (`make test SCAN=0` skips it).
# `make scan` scans build/executed if it is there, else executes each notebook itself.
SCAN ?= 1
SCAN_NOTEBOOKS := notebooks/*.ipynb solutions/*.ipynb exercises/*.ipynb
SCAN_CMD := OMP_NUM_THREADS=1 $(BIN)/python tools/scan_notebooks.py
scan: $(STAMP)
	$(SCAN_CMD) $(if $(wildcard build/executed),--executed build/executed) $(SCAN_NOTEBOOKS)

# Mutation runs (tools/mutate.py): every mutant in tools/mutants/ caught by the cell (or test) it
# names, every Try it reproduced; prints the table kept in README's "Tests".
mutants: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python tools/mutate.py --jobs 2 --table

# A student runs a notebook top to bottom, then runs one assert cell again: it must still pass
# (tools/rerun_asserts.py re-runs each, names reset to the full run's, and lists those that fail).
# Every section notebook and solution once, one at a time: minutes, so not part of `make test`.
RERUN_NOTEBOOKS ?= notebooks/*.ipynb solutions/*.ipynb
rerun-asserts: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python tools/rerun_asserts.py $(RERUN_NOTEBOOKS)

# The course site for students (every notebook executed, no teacher's guide, no solutions) and its
# PDF, built with Jupyter Book into build/book/_build/html; book-teacher adds the guide and solutions.
book: $(STAMP) $(NODE)
	OMP_NUM_THREADS=1 $(BIN)/python tools/build_book.py --out build/book --pdf

book-teacher: $(STAMP) $(NODE)
	OMP_NUM_THREADS=1 $(BIN)/python tools/build_book.py --out build/book-teacher --audience teacher

# Each section notebook's slow cells on this machine, written into TEACHING.md ("When the hub is slow").
cell-times: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python tools/cell_times.py --write

# notebooks/errata.md, the chapter's errata page, is generated from the notebooks' notes on the text.
errata:
	$(PYTHON) tools/errata.py

# nbgitpuller links for a hub, to the students' release (never main, which holds the solutions):
# make links HUB=https://hub.example.edu REPO=https://github.com/ORG/REPO BRANCH=v0.5.0-student
links:
	@$(PYTHON) deploy/links.py --hub "$(HUB)" --repo "$(REPO)" --branch "$(or $(BRANCH),student)" \
	  $(if $(filter zh,$(EDITION)),--lang zh)

# The students' tree (no solutions/, no teacher pages, exercises generated, scanned for answers)
# in build/student, committed to the `student` branch; push it and tag it for the term.
student-release: $(STAMP)
	$(BIN)/python tools/student_release.py --out build/student --branch student

# Forty simulated students on 127.0.0.1 (log in, spawn, pull, edit, pull again) and kernels for
# ten; several minutes of both cores, so not part of `make test`. Figures: README, "Capacity".
load-test: $(STAMP) $(NODE)
	OMP_NUM_THREADS=1 $(BIN)/python tests/hub/load_test.py --students 40 --kernels 10

# exercises/ is generated from solutions/ with nbgrader's preprocessors; never edit it by hand.
exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

check-exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py --check

# the Chinese edition (zh/ and README.zh-CN.md) from the English sources and their
# translations in i18n/zh_CN/; never edit it by hand. `python tools/i18n.py todo` lists what to translate.
i18n: $(STAMP)
	$(BIN)/python tools/i18n.py

check-i18n: $(STAMP)
	$(BIN)/python tools/i18n.py --check

bench: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m fmlib.bench

lint: $(STAMP)
	$(BIN)/ruff check fmlib tests notebooks exercises solutions

format: $(STAMP)
	$(BIN)/ruff format fmlib tests notebooks exercises solutions

clean-notebooks: $(STAMP)
	$(BIN)/jupyter nbconvert --clear-output --inplace notebooks/*.ipynb exercises/*.ipynb solutions/*.ipynb

clean:
	rm -rf $(VENV)
