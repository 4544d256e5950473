# lmpredict — the README's Quick start is `make run` then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run setup test bench fuzz clean

run: setup  ## set everything up, then predict the bundled default model
	$(BIN)/lmpredict eval llama-2-7b --batch 1 --seq-len 128

setup: $(BIN)/lmpredict third_party/.vendored
	$(BIN)/lmpredict compile  # generated_modules/ is produced here, not committed (docs/compile.md)

$(BIN)/lmpredict: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# pip, not uv/poetry: pip takes the CPU torch wheel that lies on this machine's disk
	$(BIN)/python -m pip install --quiet -e '.[verify,test]'
	touch $(BIN)/lmpredict

third_party/.vendored: third_party/sources.lock.json $(BIN)/lmpredict
	$(BIN)/lmpredict vendor
	touch $@

test: setup  ## the whole test suite (what .ci/run runs)
	$(BIN)/python -m pytest

bench: setup  ## speed figures against the runtime oracle, measured in the same run
	$(BIN)/python bench/run.py

fuzz: setup  ## the long fuzz run (docs/security.md)
	$(BIN)/python bench/fuzz/run.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis third_party/pytorch third_party/transformers
