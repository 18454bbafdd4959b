# The two set-up commands (see README): `make demo` and `make test`.
# Everything is installed into .venv from this project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install lock clean docs-check docs docs-serve docs-shots

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Chorus's own modules compiled to bytecode first: where PYTHONDONTWRITEBYTECODE is set (CI machines here),
# every command would compile them again as it starts (4.2 -> 2.4 s for `chorus memo add`; the demo runs ~90).
demo: $(STAMP)
	@$(BIN)/python -m compileall -q src > /dev/null
	@PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh build/demo-study

# Three test processes on two cores: much of the suite waits on subprocesses, servers and PostgreSQL rather than
# computing (1078 s with two, 960 s with three here); each test file stays on one process (its fixtures are shared).
# Each runs its models (speech, speakers, embeddings, BLAS) on one thread: three transcriptions at once on two cores
# took 40 s each with two threads apiece, 27 s with one (chorus.compute.cpu_threads reads OMP_NUM_THREADS).
#
# The tests' scratch files (their studies, copies, servers' folders) go to memory, /dev/shm, where it has 2 GiB free:
# this machine's disk makes and removes files slowly, and the tests make thousands.
TEST_TMP := $(shell [ -d /dev/shm ] && df -Pk /dev/shm | awk 'NR == 2 && $$4 > 2097152 {print "/dev/shm"}')
test: $(STAMP)
	@$(BIN)/python -m compileall -q src > /dev/null
	$(if $(TEST_TMP),TMPDIR=$(TEST_TMP) )OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 3 --dist loadfile -q

# Render the demo's Word manuscript as LibreOffice does (PDF, and a PNG per page in build/docs-check/) to look at
# every page: needs Debian's libreoffice-writer-nogui and poppler-utils (not installed by make test).
docs-check: demo
	rm -rf build/docs-check && mkdir -p build/docs-check
	soffice --headless --convert-to pdf --outdir build/docs-check build/demo-study/findings.docx
	pdftoppm -r 80 -png build/docs-check/findings.pdf build/docs-check/page
	@echo "look at every page: build/docs-check/page-*.png"

# The documentation site (MkDocs with Material; sources in docs/, navigation in mkdocs.yml) into site/. --strict turns
# every warning (a broken link, a page missing from the navigation, a docstring mkdocstrings cannot read) into a
# failure. The CLI, Python and web API references are generated from the code as the site builds.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict

docs-serve: $(STAMP)
	$(BIN)/mkdocs serve

# The tutorial's pictures: the screenshots the two browser tests take as they go (CHORUS_SCREENSHOTS), their order
# numbers dropped so the pages can name them, and only those a page shows kept. Needs what those tests need
# (Chromium, espeak-ng, sox).
SHOTS := docs/tutorial/shots
docs-shots: $(STAMP)
	rm -rf $(SHOTS) && mkdir -p $(SHOTS)/study $(SHOTS)/findings
	CHORUS_SCREENSHOTS=$(CURDIR)/$(SHOTS)/study OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q tests/web/test_browser_study.py
	CHORUS_SCREENSHOTS=$(CURDIR)/$(SHOTS)/findings OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q tests/web/test_browser_findings.py
	for f in $(SHOTS)/*/[0-9][0-9]-*.png; do mv "$$f" "$$(dirname $$f)/$$(basename $$f | cut -c4-)"; done
	for f in $(SHOTS)/*/*.png; do grep -rqF "$${f#docs/tutorial/}" docs --include=*.md || rm "$$f"; done

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_matrix.py
	$(BIN)/python benchmarks/bench_qdpx.py
	$(BIN)/python benchmarks/bench_assist.py
	$(BIN)/python benchmarks/bench_web.py --sets demo --rounds 3 --workers 1 2 --before 3591071  # the code when the web issue was filed
	$(BIN)/python benchmarks/bench_web.py --sets long --workers 1 2 --before 3591071
	$(BIN)/python benchmarks/bench_live.py
	$(BIN)/python benchmarks/bench_pages.py
	$(BIN)/python benchmarks/bench_security.py
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
	rm -rf $(VENV) build .pytest_cache site
