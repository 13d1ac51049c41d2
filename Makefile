# minflow: every target works on a fresh machine with only Python 3.11+.
# The first target that needs Python creates .venv and installs the package into it.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export MPLBACKEND := Agg

.PHONY: help install test lessons lesson reproduce reproduce-quick capacity bench exercises grade clean

help:
	@echo "make lessons          run every lesson in lessons/ (headless, quick settings)"
	@echo "make lesson N=6       run one lesson (options: make lesson N=6 ARGS='--tiny')"
	@echo "make test             the test suite (< 10 min on 2 cores)"
	@echo "make reproduce-quick  the thesis experiments, quick preset (< 10 min)"
	@echo "make reproduce        the thesis experiments at thesis scale (long)"
	@echo "make capacity         the capacity study (several model sizes / training budgets)"
	@echo "make bench            speed benchmarks -> benchmarks/RESULTS.md"
	@echo "make exercises        generate the exercises/ workspace; make grade grades it"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

lessons: $(STAMP)
	@set -e; for f in lessons/[0-9][0-9]_*.py; do \
		echo "=== $$f"; $(BIN)/python $$f; \
	done

lesson: $(STAMP)
	@test -n "$(N)" || { echo "usage: make lesson N=<number>"; exit 2; }
	@f=$$(ls lessons/$$(printf '%02d' $(N))_*.py 2>/dev/null | head -1); \
	test -n "$$f" || { echo "no lesson number $(N) in lessons/"; exit 2; }; \
	$(BIN)/python $$f $(ARGS)

# outputs under reproduction/<preset>/ (resumable: rerun to continue); both regenerate REPRODUCTION.md
reproduce: $(STAMP)
	$(BIN)/python -m minflow reproduce --preset thesis --workers $(or $(WORKERS),2)

reproduce-quick: $(STAMP)
	$(BIN)/python -m minflow reproduce --preset quick --workers $(or $(WORKERS),2)

# the grid at several model sizes / training budgets -> reproduction/capacity/
capacity: $(STAMP)
	$(BIN)/python -m minflow capacity --workers $(or $(WORKERS),2)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

exercises: $(STAMP)
	$(BIN)/python -m minflow.classroom.exercises generate

grade: $(STAMP)
	$(BIN)/python -m minflow.classroom.grade

clean:
	rm -rf lessons/out results exercises .pytest_cache
