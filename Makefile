# Two commands do all the set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTANCE ?= instance
export STORYBANK_INSTANCE := $(abspath $(INSTANCE))

# Debian packages: espeak-ng/ffmpeg/sox make speech for tests and demos; pango and fonts render
# PDF case studies (WeasyPrint); chromium runs the browser tests; redis-server the scale-out test.
SYSTEM_PACKAGES := espeak-ng ffmpeg sox libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core chromium redis-server

.PHONY: run test test-fast install system lint clean-instance bench

$(BIN)/storybank: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/storybank

## system: install the Debian packages above where apt-get and root (or sudo) allow; otherwise say what is missing
system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if command -v apt-get >/dev/null && [ "$$(id -u)" -eq 0 ]; then SUDO=""; \
	elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; \
	else echo "Please install these system packages: $$missing"; exit 0; fi; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null

## run: create the environment, an instance with demo data, and start app + worker + Datasette
run: system install
	$(BIN)/storybank init
	$(BIN)/storybank demo
	$(BIN)/storybank serve

## test: the whole test suite (installs first)
test: system install
	$(BIN)/python -m pytest -q

# The markers are registered in pyproject.toml and set by tests/conftest.py from the fixtures a test uses.
HEAVY := browser or server or whisper or redis or faults or web or slow

## test-fast: the domain and service tests only (no browser, processes, Whisper, Redis, kill -9, web client)
test-fast: install
	$(BIN)/python -m pytest -q -m "not ($(HEAVY))"

## bench: every script in bench/ at the issues' sizes (100,000 stories), then one table: figure, target,
## measured, cores. Sizes and where the scale instance is kept, e.g.
##   make bench BENCH_ARGS="--stories 10000 --data /srv/bench"   (see .venv/bin/python bench/all.py --help)
bench: system install
	$(BIN)/python bench/all.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .

clean-instance:
	rm -rf $(INSTANCE)
