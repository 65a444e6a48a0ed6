# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTANCE ?= instance
export STORYBANK_INSTANCE := $(abspath $(INSTANCE))

.PHONY: run test install lint clean-instance

$(BIN)/storybank: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/storybank

## run: create the environment, an instance with demo data, and start app + worker + Datasette
run: install
	$(BIN)/storybank init
	$(BIN)/storybank demo
	$(BIN)/storybank serve

## test: the whole test suite (installs first)
test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .

clean-instance:
	rm -rf $(INSTANCE)
