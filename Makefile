# The two commands of the README: `make run` (the main job) and `make test` (the test suite).
# Both do all the set-up first (scripts/setup.sh is idempotent and cheap when nothing changed).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
MODEL := runs/models/tiny

.PHONY: setup run test test-fast lint bench clean

setup:
	@bash scripts/setup.sh

# The main job on the embedded default: the tiny model made locally, local Ray, local browser.
run: setup
	@bash scripts/run_main.sh

# Two pytest workers (pytest-xdist), each file whole on one worker (its module fixtures: a browser, a Ray head):
# much of the suite waits on browsers, X servers and Ray, so two workers fit two cores. TEST_WORKERS=0: serial.
TEST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

test: setup
	@$(PYTEST) --durations=15 tests

test-fast: setup
	@$(PYTEST) -m "not slow" tests

lint: setup
	@$(BIN)/ruff check agentrl envs rollout tests benchmarks
	@$(BIN)/lint-imports --no-cache

clean:
	rm -rf runs .pytest_cache .ruff_cache
