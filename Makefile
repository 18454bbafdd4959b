# The two set-up commands (see README): `make demo` and `make test`.
# Everything is installed into .venv from this project's own files.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" bash examples/demo.sh build/demo-study
	@echo
	@echo "The demo study is in build/demo-study; open the report: build/demo-study/findings.html"
	@echo "For MAXQDA, NVivo or ATLAS.ti: build/demo-study/pc-study.qdpx (project) and codebook.qdc"

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_matrix.py
	$(BIN)/python benchmarks/bench_qdpx.py
	$(BIN)/python benchmarks/bench_assist.py
	$(BIN)/python benchmarks/bench_web.py
	$(BIN)/python benchmarks/bench_audio.py

clean:
	rm -rf $(VENV) build .pytest_cache
