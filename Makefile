# Two commands matter: `make serve` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test lint typecheck pytest schemas clean browser

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the server on embedded defaults (127.0.0.1, ws 7350, http 7351, ./tilemud-data).
serve: $(STAMP)
	$(BIN)/tilemud serve $(ARGS)

## The whole test suite: ruff, mypy --strict, pytest.
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check tilemud tests benchmarks
	$(BIN)/ruff format --check tilemud tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

## Two workers on this kind of machine (2 cores): every test is isolated (port 0, its own
## data directory, a database of its own), so they may run side by side.
PYTEST_ARGS ?= -n auto
pytest: $(STAMP) browser
	$(BIN)/pytest $(PYTEST_ARGS)

## The console's browser tests need Debian's chromium and its chromedriver: installed
## here when missing (as root, as CI runs), never downloaded by a test.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		apt-get update -qq && apt-get install -y -qq chromium chromium-driver; \
	fi

## Run one load scenario against a fresh local server: make bench SCENARIO=epic-300
.PHONY: bench
bench: $(STAMP)
	$(BIN)/python -m benchmarks run $(SCENARIO)

## Regenerate the committed JSON Schemas from the message classes.
schemas: $(STAMP)
	$(BIN)/tilemud schemas --write

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
