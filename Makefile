# Skillstream — developer commands. Needs only Python 3.11+ and make: uv is installed from PyPI if absent.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
PYTEST_ARGS ?=

.PHONY: help bootstrap install browser demo test unit lint format bench clean

help: ## Show this help
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-10s %s\n", $$1, $$2}'

bootstrap:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

install: bootstrap ## Create .venv with every workspace package (uv sync, locked)
	$(UV) sync --all-packages --locked

browser: ## Install Debian's Chromium for the Playwright browser tests (apt-get; once)
	./deploy/install-browser.sh

demo: install ## Run the stack on embedded NATS + PostgreSQL with the sandboxes, then the demo jobs (Ctrl-C to stop)
	$(UV) run skillstream up --demo

test: install browser ## Run the whole test suite (incl. the browser test) against real NATS JetStream and PostgreSQL
	$(UV) run pytest $(PYTEST_ARGS)

unit: install ## Run only the fast tests: no server, no process (pytest -m "not e2e")
	$(UV) run pytest -m "not e2e" $(PYTEST_ARGS)

lint: install ## Ruff (lint + format check) and mypy --strict
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run mypy

format: install ## Apply ruff's fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

bench: install ## Benchmarks: ratios against same-process baselines (event store, replay, SSE fan-out, TGA, media: CPU, NATS messages, memory)
	$(UV) run python bench/run.py

clean: ## Remove the embedded servers' data (.data) and caches
	rm -rf .data .pytest_cache .mypy_cache .ruff_cache
