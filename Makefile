# Hardware engineers' interface. Every target is a thin wrapper over the `codesign` command line.
# `make demo` and `make test` set everything up on first use.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
OUT     ?= out
SEED    ?= 0
SYSTEM_TOOLS := iverilog yosys
PYTEST_ARGS ?=

.PHONY: help setup system-deps demo test test-fast lint benchmark clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

setup: system-deps $(STAMP)  ## install system tools (apt) and the Python environment (.venv)

system-deps:  ## apt-get install the simulators and synthesis tools that are missing
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[hw,dev]'
	touch $(STAMP)

demo: setup  ## the main job on built-in synthetic data -> $(OUT)/demo/report.md
	$(BIN)/codesign demo --out $(OUT)/demo --seed $(SEED)

test: setup  ## the whole test suite, slow tests included (what CI runs)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: setup  ## unit tests only (skips tests marked slow)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

lint: setup  ## ruff
	$(BIN)/ruff check codesign tests benchmarks

benchmark: setup  ## print measured throughput numbers
	$(BIN)/python benchmarks/emd_exact.py

clean:  ## remove generated output (keeps .venv)
	rm -rf $(OUT) build .pytest_cache
	find hls_projects -mindepth 1 ! -name README.md -exec rm -rf {} +
