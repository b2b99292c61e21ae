# The two commands of the README: `make run` and `make test`. Both install first if needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint eval clean

ONNX := models/onnx/int8/manifest.json models/onnx/use-m3/manifest.json

install: $(STAMP) $(ONNX)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the CPU build; a bare requirement would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[test]"
	touch $(STAMP)

# the serving encoders: MiniLM exported to ONNX from the installed package, fp32 and int8 (offline; torch is used
# here only), and the multilingual USE's numpy network written as an ONNX graph (no torch)
$(ONNX): $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/matcher export-model

run: install
	$(BIN)/matcher serve --demo

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check matcher api tests

clean:
	rm -rf $(VENV) var models/onnx
