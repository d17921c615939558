# camtrap: every target bootstraps what it needs (a .venv, node_modules) on its own.
#   make demo    desktop simulation on the bundled bursts and model (no TensorFlow, node, broker)
#   make test    lint, type checks and the whole test suite
#   make bench   speed and memory targets, reported as ratios
# CAMTRAP_TRAIN=1 also installs the [train] extra (TensorFlow), so training tests run.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
DEMO_BURSTS := demo/bursts
DEMO_MODEL := models/camtrap-demo
DEMO_OUT := out/demo

.PHONY: all demo test lint bench check-firmware demo-model venv dev-deps train-deps node-deps clean format

all: test

$(VENV)/.stamp-base: pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-base
	$(PIP) install -q -e '.[dev]'
	touch $@

$(VENV)/.stamp-train: $(VENV)/.stamp-base
	$(PIP) install -q -e '.[train]'
	touch $@

node_modules/.stamp: package.json
	@if command -v npm >/dev/null 2>&1; then \
		npm install --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: MicroPython VM tests and pyright will be skipped"; fi

venv: $(VENV)/.stamp-base
dev-deps: $(VENV)/.stamp-dev node_modules/.stamp $(if $(filter 1,$(CAMTRAP_TRAIN)),$(VENV)/.stamp-train)
train-deps: $(VENV)/.stamp-train
node-deps: node_modules/.stamp

demo: $(VENV)/.stamp-base
	rm -rf $(DEMO_OUT) && mkdir -p $(DEMO_OUT)
	$(BIN)/camtrap replay $(DEMO_BURSTS) --model $(DEMO_MODEL)/model.tflite \
		--json-out $(DEMO_OUT)/replay.jsonl
	$(BIN)/camtrap run --sim $(DEMO_BURSTS) --config examples/demo.toml --speed 4
	$(BIN)/camtrap export camtrap-dp $(DEMO_OUT)/data --out $(DEMO_OUT)/camtrap-dp \
		--config examples/demo.toml
	$(BIN)/camtrap export megadetector $(DEMO_OUT)/data --out $(DEMO_OUT)/megadetector.json \
		--config examples/demo.toml

lint: dev-deps
	$(BIN)/ruff check edge tools tests firmware
	$(BIN)/ruff format --check edge tools tests firmware
	@if [ -x node_modules/.bin/pyright ]; then \
		PATH="$(CURDIR)/$(BIN):$$PATH" node_modules/.bin/pyright -p pyrightconfig.json; \
	else echo "pyright not installed (no npm): type check skipped"; fi
	@if [ -x node_modules/.bin/pyright ]; then $(BIN)/python -m tools.check_firmware; \
	else echo "no node tools: firmware check (MicroPython stubs, VM) skipped"; fi

format: dev-deps
	$(BIN)/ruff format edge tools tests firmware
	$(BIN)/ruff check --fix edge tools tests firmware

test: lint
	$(BIN)/python -m pytest -q; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing on purpose"; exit 1; fi; \
	exit $$rc

bench: $(VENV)/.stamp-dev
	$(BIN)/python -m camtrap bench $(DEMO_BURSTS) --model $(DEMO_MODEL)/model.tflite
	$(BIN)/python -m camtrap bench --model $(DEMO_MODEL)/model.tflite --working-frame 2028x1520
	$(BIN)/python -m tools.bench_replay
	$(BIN)/python -m tools.bench_early_exit
	$(BIN)/python -m tools.bench_firmware_heap
	$(BIN)/python -m tools.bench_firmware_heap --mode always-on
	$(BIN)/python -m tools.bench_adapt
	$(BIN)/python -m tools.bench_thumbnail

check-firmware: dev-deps
	$(BIN)/python -m tools.check_firmware

demo-model: $(VENV)/.stamp-train
	PY=$(BIN)/python bash tools/make_demo_model.sh

clean:
	rm -rf $(VENV) node_modules out .pytest_cache .ruff_cache
