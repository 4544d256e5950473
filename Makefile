# lmpredict — the README's Quick start is `make run` then `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# transformers 5.23.0 beside 4.56.0: its own venv, for the 5.x oracle (docs/transformers-versions.md)
BIN_TF5 := .venv-tf5/bin

.PHONY: run setup test bench fuzz clean

run: setup  ## set everything up, then predict the bundled default model
	$(BIN)/lmpredict eval llama-2-7b --batch 1 --seq-len 128

setup: $(BIN)/lmpredict $(BIN_TF5)/lmpredict third_party/.vendored
	$(BIN)/lmpredict compile  # generated_modules/ is produced here, not committed (docs/compile.md)

$(BIN)/lmpredict: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# pip, not uv/poetry: pip takes the CPU torch wheel that lies on this machine's disk
	$(BIN)/python -m pip install --quiet -e '.[verify,test]'
	touch $(BIN)/lmpredict

$(BIN_TF5)/lmpredict: pyproject.toml
	test -x $(BIN_TF5)/python || $(PYTHON) -m venv .venv-tf5
	$(BIN_TF5)/python -m pip install --quiet -e '.[verify-tf5,test]'
	touch $(BIN_TF5)/lmpredict

third_party/.vendored: third_party/sources.lock.json $(BIN)/lmpredict
	$(BIN)/lmpredict vendor
	touch $@

test: setup  ## the whole test suite (what .ci/run runs): then the 5.23 cases of the tf5-marked tests, in .venv-tf5
	$(BIN)/python -m pytest
	$(BIN_TF5)/python -m pytest -m tf5

bench: setup  ## speed figures against the runtime oracle, measured in the same run
	$(BIN)/python bench/run.py

fuzz: setup  ## the long fuzz run (docs/security.md)
	$(BIN)/python bench/fuzz/run.py

clean:
	rm -rf $(VENV) .venv-tf5 build dist .pytest_cache .hypothesis third_party/pytorch third_party/transformers third_party/transformers-5.23.0
