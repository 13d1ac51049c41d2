# minflow: every target works on a fresh machine with only Python 3.11+.
# The first target that needs Python creates .venv and installs the package into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export MPLBACKEND := Agg

.PHONY: help install test test-slow lessons lesson reproduce reproduce-quick precision capacity regimes testsets slips ablations high-d bench exercises grade clean

help:
	@echo "make lessons          run every lesson in lessons/ (headless, quick settings; ~4 min on 2 cores)"
	@echo "make lesson N=6       run one lesson (options: make lesson N=6 ARGS='--tiny')"
	@echo "make notebooks        the lessons as executed notebooks -> book/_build/notebooks/ (extra: .[notebooks])"
	@echo "make book             the lessons as an HTML book -> book/_build/html/index.html (~3 min; ARGS=--tiny: ~1 min)"
	@echo "make test             the test suite (~10 min on 2 cores); make test-slow: the tests marked slow (~8 min)"
	@echo "make reproduce-quick  the thesis experiments, quick preset, 5 seeds (~15 min; SEEDS=n)"
	@echo "make reproduce        the thesis experiments at thesis scale, 3 seeds (SEEDS=n; PRESET=thesis: float64)"
	@echo "make precision        the float32 evaluation of make reproduce against float64, cell by cell (SEED=k)"
	@echo "make capacity         the capacity study (several model sizes / training budgets)"
	@echo "make regimes          the C10 settling experiment, pre-registered (~1 h on 2 cores)"
	@echo "make testsets         the test-set construction sweep, pre-registered (~40 min on one quiet core)"
	@echo "make slips            the evaluation-slip study, pre-registered (~20 min, 1 core)"
	@echo "make ablations        the core model plus one component at a time, quick grid, 3 seeds (SEEDS=n)"
	@echo "make high-d           the grid at D = 200 and 500 (quick model and training), 3 seeds (SEEDS=n)"
	@echo "make bench            speed benchmarks -> benchmarks/RESULTS.md"
	@echo "make exercises        generate a practice exercises/ workspace; make grade grades it"
	@echo "make handout          one hand-out per student: make handout ROSTER=ids.txt SECRET=secret.txt"
	@echo "make grade-class      grade a class: make grade-class SECRET=secret.txt [SUBMISSIONS=submissions JOBS=2]"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# the tests marked slow (the README's second snippet, Try-this lines that train, a Dask cluster of a scheduler
# and two workers started from the command line): run by .ci/run. Installs the extra .[dask] first (once);
# where it cannot be installed, tests/test_dask_cluster.py is skipped and says so.
DASK_STAMP := $(VENV)/.dask-stamp
$(DASK_STAMP): $(STAMP)
	@if $(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dask]" && \
		$(BIN)/python -c "import dask.distributed" 2>/dev/null; then touch $(DASK_STAMP); \
	else echo "make test-slow: the extra .[dask] could not be installed; the Dask cluster test is skipped"; fi

test-slow: $(STAMP) $(DASK_STAMP)
	$(BIN)/python -m pytest -m slow

lessons: $(STAMP)
	@set -e; for f in lessons/[0-9][0-9]_*.py; do \
		echo "=== $$f"; $(BIN)/python $$f; \
	done

lesson: $(STAMP)
	@test -n "$(N)" || { echo "usage: make lesson N=<number>"; exit 2; }
	@f=$$(ls lessons/$$(printf '%02d' $(N))_*.py 2>/dev/null | head -1); \
	test -n "$$f" || { echo "no lesson number $(N) in lessons/"; exit 2; }; \
	$(BIN)/python $$f $(ARGS)

# The lessons as executed notebooks (book/_build/notebooks/) and as a static HTML book (book/_build/html/),
# built by book/build.py with the optional extra "notebooks" (jupytext, nbclient, nbconvert, ipykernel,
# jupyter-server-mathjax). ARGS are passed to every lesson: make book ARGS=--tiny (a minute, for a look).
NB_STAMP := $(VENV)/.notebooks-stamp
$(NB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[notebooks]"
	@$(BIN)/python -c "import jupytext, nbclient, nbconvert, ipykernel, jupyter_server_mathjax" 2>/dev/null || { \
		echo "the extra 'notebooks' is missing: $(BIN)/python -m pip install jupytext nbclient nbconvert ipykernel jupyter-server-mathjax"; exit 2; }
	touch $(NB_STAMP)

.PHONY: notebooks book
notebooks: $(NB_STAMP)
	$(BIN)/python book/build.py notebooks --args="$(ARGS)"

book: $(NB_STAMP)
	@start=$$(date +%s); $(BIN)/python book/build.py book --args="$(ARGS)" && \
	echo "make book: $$(( $$(date +%s) - start )) s; open book/_build/html/index.html (or: $(BIN)/python -m http.server -d book/_build/html)"

# outputs under reproduction/<preset>/seed<k>/ (resumable: rerun to continue); both regenerate REPRODUCTION.md
# make reproduce: the thesis preset with log p_theta in float32 (thesis32; REPRODUCTION.md's "Float32 evaluation"
# shows it deciding as float64 does); make reproduce PRESET=thesis: float64 throughout
reproduce: $(STAMP)
	$(BIN)/python -m minflow reproduce --preset $(or $(PRESET),thesis32) --seeds $(or $(SEEDS),3) --workers $(or $(WORKERS),2)

# the float32 evaluation against float64, cell by cell, on seed SEED (default 0) of both thesis presets
# -> reproduction/precision/ (agreement.csv, agreement.json); each run resumable (~1 h on 2 cores)
precision: $(STAMP)
	$(BIN)/python -m minflow precision --seed $(or $(SEED),0) --workers $(or $(WORKERS),2)

reproduce-quick: $(STAMP)
	$(BIN)/python -m minflow reproduce --preset quick --seeds $(or $(SEEDS),5) --workers $(or $(WORKERS),2)

# the grid at several model sizes / training budgets -> reproduction/capacity/
capacity: $(STAMP)
	$(BIN)/python -m minflow capacity --workers $(or $(WORKERS),2)

# D = 200 and 500 with the quick preset's model and training, 3 seeds -> reproduction/high/
high-d: $(STAMP)
	$(BIN)/python -m minflow reproduce --preset high --seeds $(or $(SEEDS),3) --workers $(or $(WORKERS),2) --report ""

# the quick grid for the core model plus one component at a time, 3 seeds -> reproduction/ablations/
ablations: $(STAMP)
	$(BIN)/python -m minflow ablations --seeds $(or $(SEEDS),3) --workers $(or $(WORKERS),2)

# the C10 settling experiment, pre-registered (minflow/thesis/documents/regimes.py) -> reproduction/regimes/
regimes: $(STAMP)
	$(BIN)/python -m minflow regimes --workers $(or $(WORKERS),2)

# the test-set construction sweep, pre-registered (minflow/thesis/documents/testsets.py) -> reproduction/testsets/
testsets: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m minflow testsets

# the evaluation-slip study, pre-registered (minflow/thesis/documents/slips.py) -> reproduction/slips/
slips: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/python -m minflow slips

# each contender alone in its own process, 2 threads (~20 min on 2 cores; run it on a quiet machine)
bench: $(STAMP)
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python benchmarks/bench.py $(ARGS)

exercises: $(STAMP)
	$(BIN)/python -m minflow.classroom.exercises generate

grade: $(STAMP)
	$(BIN)/python -m minflow.classroom.grade $(ARGS)

# one hand-out per student id of ROSTER, variants from the teacher's SECRET file (docs/TEACHERS.md)
.PHONY: handout grade-class
handout: $(STAMP)
	@test -n "$(ROSTER)" -a -n "$(SECRET)" || { echo "usage: make handout ROSTER=ids.txt SECRET=secret.txt"; exit 2; }
	$(BIN)/python -m minflow.classroom.exercises handout --roster $(ROSTER) --secret-file $(SECRET) --out $(or $(OUT),handouts)

# every folder of submissions/ (named by student id), each graded once -> scores.csv, feedback/
grade-class: $(STAMP)
	@test -n "$(SECRET)" || { echo "usage: make grade-class SECRET=secret.txt [SUBMISSIONS=submissions] [JOBS=2] [ARGS=--unsandboxed]"; exit 2; }
	$(BIN)/python -m minflow.classroom.grade --batch $(or $(SUBMISSIONS),submissions) --csv $(or $(CSV),scores.csv) \
		--feedback $(or $(FEEDBACK),feedback) --jobs $(or $(JOBS),2) --secret-file $(SECRET) $(ARGS)

clean:
	rm -rf lessons/out results exercises .pytest_cache
