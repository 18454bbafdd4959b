# The two set-up commands (see README): `make demo` and `make test`.
# Everything is installed into .venv from this project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install lock clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh build/demo-study

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_matrix.py
	$(BIN)/python benchmarks/bench_qdpx.py
	$(BIN)/python benchmarks/bench_assist.py
	$(BIN)/python benchmarks/bench_web.py --workers 1 2
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_jobs.py
	$(BIN)/python benchmarks/bench_audio.py

# For contributors, not a set-up step: regenerate constraints.txt from pyproject.toml. uv resolves from the
# package index alone (no local wheels, no user configuration, nothing cached) in a throwaway environment,
# for every platform and Python the project supports, so the pins hold on any fresh machine.
LOCK_ENV := build/lock-env
lock:
	rm -rf $(LOCK_ENV)
	$(PYTHON) -m venv $(LOCK_ENV)
	$(LOCK_ENV)/bin/python -m pip install --quiet uv==0.13.8
	$(LOCK_ENV)/bin/uv pip compile --no-config --no-cache --universal --python-version 3.11 --extra dev \
		--custom-compile-command "make lock" --quiet --output-file constraints.txt pyproject.toml
	rm -rf $(LOCK_ENV)

clean:
	rm -rf $(VENV) build .pytest_cache
