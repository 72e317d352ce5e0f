# Hardware engineers' interface. Every target is a thin wrapper over the `codesign` command line.
# `make demo` and `make test` set everything up on first use.

PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
## OUT       folder of everything generated (default out)
OUT     ?= out
## SEED      seed of every training and seeded model (default 0)
SEED    ?= 0
SYSTEM_TOOLS := iverilog yosys ccache
PYTEST_ARGS ?=
## TEST_WORKERS pytest-xdist workers of `make test` and `make test-fast` (default auto: one per CPU; 0 runs in this process)
TEST_WORKERS ?= auto
# worksteal: a worker that runs out of tests takes half of the other's queue (loadfile kept one file per worker,
# which left one worker idle for minutes behind the synthesis tests of a single file)
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations 15
# MODEL names models/$(MODEL).yaml and its folder out/models/$(MODEL): an autoencoder spec (top-level
# `encoder:` key) is trained, an encoder config gets seeded random weights. The hardware targets build the
# folder first if it does not exist.
## MODEL     models/MODEL.yaml, built into out/models/MODEL (default econt_5elink_seeded)
MODEL   ?= econt_5elink_seeded
TRAINED_DIR := $(OUT)/models/$(MODEL)
REFERENCE_DIR := models/reference/$(MODEL)
# a table system's recipe (top-level `table_system:`) makes a folder with system.json, any other encoder.keras
MODEL_FILE := $(if $(shell grep -s '^table_system:' models/$(MODEL).yaml),system.json,encoder.keras)
ifeq ($(MODEL_FILE),system.json)
ifneq ($(filter hls hls-synth vectors sim verify asic fpga decoder,$(MAKECMDGOALS)),)
$(error MODEL=$(MODEL) is a table system: make train, evaluate and rtl build it (rtl: the codec block, its images and decoders); hls, vectors, sim, verify, asic, fpga and decoder take an autoencoder)
endif
endif
## MODEL_DIR model folder of evaluate and the hardware targets (default: out/models/MODEL once built, else the shipped models/reference/MODEL if any)
MODEL_DIR ?= $(if $(or $(filter train,$(MAKECMDGOALS)),$(wildcard $(TRAINED_DIR)/$(MODEL_FILE))),$(TRAINED_DIR),$(if $(wildcard $(REFERENCE_DIR)/$(MODEL_FILE)),$(REFERENCE_DIR),$(TRAINED_DIR)))
## BACKEND   hls4ml backend of `make hls`: vitis, vivado or catapult
BACKEND ?= vitis
RTL     ?= $(OUT)/rtl/$(MODEL)
VECTORS ?= $(OUT)/vectors/$(MODEL)
## SIM       simulator of `make sim`: icarus or verilator
SIM     ?= icarus
## DATA      wafer file for evaluation, HLS checks and vectors (default: the real highpu_dev.csv)
DATA    ?=
DATA_ARG := $(if $(DATA),--data $(DATA),)
## HIDDEN    hidden layer widths of `make decoder` (default 16)
HIDDEN  ?= 16

.PHONY: help setup system-deps demo test test-fast lint benchmark clean emd-cnn train evaluate decoder model hls hls-synth rtl vectors sim verify asic codec-block encoder-block fpga sweep

help:  ## list the targets and the variables that steer them (make asic VARIANTS="fixed reconfig_tmr_r4")
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14
	@echo; echo "variables:"; grep -E '^## [A-Z_]+ ' $(MAKEFILE_LIST) | sed 's/^## /  /'

setup: system-deps $(STAMP)  ## install system tools (apt) and the Python environment (.venv)

system-deps:  ## apt-get install the simulators and synthesis tools that are missing
	@missing=""; for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || missing="$$missing $$t"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi
	@command -v sta >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq opensta; } || echo "OpenSTA not available: LIBERTY timing will be skipped"; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[hw,dev,scale]'
	touch $(STAMP)

demo: setup  ## the main job on built-in synthetic data -> $(OUT)/demo/report.md
	$(BIN)/codesign demo --out $(OUT)/demo --seed $(SEED)

test: setup  ## the whole test suite, slow tests included (what CI runs)
	$(PYTEST) $(PYTEST_ARGS)

test-fast: setup  ## unit tests only (skips tests marked slow)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

lint: setup  ## ruff on everything, mypy on codesign/ (what CI runs before the tests)
	$(BIN)/ruff check codesign tests benchmarks audit
	$(BIN)/mypy codesign

benchmark: setup  ## print measured throughput numbers
	$(BIN)/python benchmarks/emd_exact.py
	$(BIN)/python benchmarks/hw_flow.py
	$(BIN)/python benchmarks/emd_labels_dask.py
	$(BIN)/python benchmarks/wafer_stream.py
	$(BIN)/python benchmarks/econt_run.py

emd-cnn: setup  ## train and evaluate the reference learned EMD in models/emd_cnn (from models/emd_cnn.yaml)
	$(BIN)/codesign emd train --config models/emd_cnn.yaml --out models/emd_cnn
	$(BIN)/codesign emd eval --model models/emd_cnn --out models/emd_cnn/eval \
	  --data ../shared/data/hgcal/highpu_dev.csv ../shared/data/hgcal/ttbar_0PU.csv

train: setup  ## train models/$(MODEL).yaml (an autoencoder spec; or fit a table system) into out/models/$(MODEL)
	$(BIN)/codesign train --config models/$(MODEL).yaml --out $(TRAINED_DIR)

evaluate: $(MODEL_DIR)/$(MODEL_FILE)  ## the model (or table system) in the arena on the held-out split -> out/eval/$(MODEL)
	$(BIN)/codesign evaluate --model $(MODEL_DIR) --out $(OUT)/eval/$(MODEL) $(DATA_ARG)

decoder: $(MODEL_DIR)/encoder.keras  ## quantized back-end decoder of a trained model -> $(OUT)/decoders/$(MODEL); its firmware (hls4ml, Verilog, checks, UltraScale+ LUTs) -> $(OUT)/decoders/$(MODEL)-firmware
	$(BIN)/codesign train-decoder --model $(MODEL_DIR) --hidden $(HIDDEN) --seed $(SEED) --out $(OUT)/decoders/$(MODEL)
	$(BIN)/codesign decoder-firmware --decoder $(OUT)/decoders/$(MODEL) --out $(OUT)/decoders/$(MODEL)-firmware $(DATA_ARG)

model: $(MODEL_DIR)/$(MODEL_FILE)  ## build out/models/$(MODEL) (train a spec, fit a table system, or seed an encoder config)

$(OUT)/models/%/system.json: | setup
	$(BIN)/codesign train --config models/$*.yaml --out $(@D)

$(OUT)/models/%/encoder.keras: | setup
	@if grep -q '^encoder:' models/$*.yaml; then \
	  $(BIN)/codesign train --config models/$*.yaml --out $(@D); \
	else \
	  $(BIN)/codesign model init --config models/$*.yaml --seed $(SEED) --out $(@D); \
	fi

hls: $(MODEL_DIR)/encoder.keras  ## hls4ml project hls_projects/$(MODEL) (BACKEND=vitis|vivado|catapult) + C-sim check
	$(BIN)/codesign hls --model $(MODEL_DIR) --backend $(BACKEND) --out hls_projects/$(MODEL) $(DATA_ARG)

hls-synth: $(MODEL_DIR)/encoder.keras  ## as hls, then the vendor HLS synthesis if its tool is on PATH
	$(BIN)/codesign hls --model $(MODEL_DIR) --backend $(BACKEND) --out hls_projects/$(MODEL) $(DATA_ARG) --synth

# RTL and vectors are files made from the model: rebuilt only when the model is newer (make -B to force),
# so `make asic` after `make sim` keeps the simulation results in the RTL folder
rtl: $(RTL)/$(if $(filter system.json,$(MODEL_FILE)),encoder/)rtl.json  ## Verilog (da4ml core + CALQ-to-frame top; a table system's codec block, images and decoders) in out/rtl/$(MODEL)
$(RTL)/rtl.json: $(MODEL_DIR)/encoder.keras
	$(BIN)/codesign rtl --model $(MODEL_DIR) --out $(RTL)
$(RTL)/encoder/rtl.json: $(MODEL_DIR)/system.json
	$(BIN)/codesign rtl --model $(MODEL_DIR) --out $(RTL)

# the FPGA flow implements the same encoder pipelined for 40 MHz on an ECP5 (`codesign rtl --pipeline fpga`)
RTL_FPGA ?= $(OUT)/rtl_fpga/$(MODEL)
$(RTL_FPGA)/rtl.json: $(MODEL_DIR)/encoder.keras
	$(BIN)/codesign rtl --model $(MODEL_DIR) --out $(RTL_FPGA) --pipeline fpga

vectors: $(VECTORS)/vectors.json  ## test vectors (real wafers + corner cases) in out/vectors/$(MODEL)
$(VECTORS)/vectors.json: $(MODEL_DIR)/encoder.keras
	$(BIN)/codesign vectors --model $(MODEL_DIR) --out $(VECTORS) $(DATA_ARG)

sim: $(RTL)/rtl.json $(VECTORS)/vectors.json  ## cocotb testbenches on the RTL with SIM=icarus|verilator
	$(BIN)/codesign sim --rtl $(RTL) --vectors $(VECTORS) --sim $(SIM)

## WAFERS    wafers of `make verify` (default 1000000)
WAFERS ?= 1000000
## ENGINE    `make verify`'s simulator: rtl (Verilator on the RTL, default) or gates (the synthesised netlist, bit-sliced)
ENGINE ?= rtl
verify: $(RTL)/rtl.json  ## bulk check: WAFERS wafers through the compiled RTL (or ENGINE=gates: its gates), every frame against Keras
	$(BIN)/codesign verify --model $(MODEL_DIR) --rtl $(RTL) --wafers $(WAFERS) --engine $(ENGINE) $(DATA_ARG)

## LIBERTY   standard-cell library (.lib) for `make asic` instead of the gate-equivalent model
LIBERTY ?=
## ASIC_VARIANTS designs of `make asic` (default fixed reconfig_tmr_r4: those that meet the chip's targets; adding the R = 1 reconfig reconfig_tmr costs Yosys ~40 minutes and 5 GB on the full encoder)
ASIC_VARIANTS ?= fixed reconfig_tmr_r4
## VARIANTS  designs of `make fpga`: fixed reconfig reconfig_tmr, or with a reuse factor reconfig_tmr_r4
VARIANTS ?= fixed reconfig reconfig_tmr
asic: $(RTL)/rtl.json $(VECTORS)/vectors.json  ## Yosys ASIC reports (fixed; reconfigurable with TMR, R = 4): GE, area, energy -> out/asic/$(MODEL)/summary.md
	$(BIN)/codesign asic flow --model $(MODEL_DIR) --rtl $(RTL) --vectors $(VECTORS) --out $(OUT)/asic/$(MODEL) \
	  --variants $(ASIC_VARIANTS) $(if $(LIBERTY),--liberty $(LIBERTY),)

codec-block: setup  ## the universal codec block (one on-chip encoder for every module) with and without TMR: GE, area, energy per codec image -> $(OUT)/codec_block/summary.md
	$(BIN)/codesign asic block-flow --out $(OUT)/codec_block $(DATA_ARG)

encoder-block: setup  ## the universal encoder block (one RTL for the four reference hybrids by image) with and without TMR at R = 4, beside each reference's own design: GE, area, energy per image -> $(OUT)/encoder_block/summary.md
	$(BIN)/codesign asic encoder-block-flow --out $(OUT)/encoder_block $(DATA_ARG)

fpga: $(RTL_FPGA)/rtl.json  ## synth_xilinx + ECP5 place and route (Fmax) of every variant, the fixed one pipelined for an FPGA -> out/fpga/$(MODEL)/summary.md
	$(BIN)/codesign fpga flow --model $(MODEL_DIR) --rtl $(RTL_FPGA) --out $(OUT)/fpga/$(MODEL) --variants $(VARIANTS)

## SWEEP     sweep of `make sweep`: sweeps/SWEEP.yaml (default bits12)
SWEEP ?= bits12
sweep: setup  ## design-space sweep sweeps/$(SWEEP).yaml on Dask -> out/sweeps/$(SWEEP)/report/pareto.md
	$(BIN)/codesign sweep --config sweeps/$(SWEEP).yaml --out $(OUT)/sweeps/$(SWEEP)

clean:  ## remove generated output (keeps .venv)
	rm -rf $(OUT) build .pytest_cache
	find hls_projects -mindepth 1 ! -name README.md -exec rm -rf {} +
