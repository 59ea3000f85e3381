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

test: setup
	@$(BIN)/python -m pytest -q --durations=40 tests

test-fast: setup
	@$(BIN)/python -m pytest -q -m "not slow" tests

lint: setup
	@$(BIN)/ruff check agentrl envs rollout tests benchmarks
	@$(BIN)/lint-imports --no-cache

clean:
	rm -rf runs .pytest_cache .ruff_cache
