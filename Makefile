# The README's two commands: `make serve` and `make test`. Both set themselves up on a fresh machine.
PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
SAM_CLI_VERSION := 1.170.0
BIN := $(VENV)/bin

.PHONY: serve test lint format sam-validate sam-build bench-image clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,bench]'
	touch $@

# aws-sam-cli pins its own dependency versions, so it lives in a venv of its own.
$(SAM_VENV)/bin/.installed:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q 'aws-sam-cli==$(SAM_CLI_VERSION)'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/python -m medialayer.local.serve

test: $(BIN)/.installed $(SAM_VENV)/bin/.installed
	$(BIN)/ruff check .
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/cfn-lint infra/template.yaml

format: $(BIN)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sam-validate: $(SAM_VENV)/bin/.installed
	$(SAM_VENV)/bin/sam validate --lint --template-file infra/template.yaml --region us-east-1

sam-build: $(SAM_VENV)/bin/.installed
	$(SAM_VENV)/bin/sam build --template-file infra/template.yaml --build-dir .aws-sam/build

bench-image: $(BIN)/.installed
	$(BIN)/python bench/image_match.py --corpus $(CORPUS) --write-docs

clean:
	rm -rf .aws-sam .pytest_cache .ruff_cache
