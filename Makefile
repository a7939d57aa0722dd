# CoGov Ledger — every task has a target; `make help` lists them.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
COGOV := $(VENV)/bin/cogov
export COGOV_KEYSTORE_PASSWORD ?= cogov-demo-password
# Cheaper scrypt for the development keystore (production keeps the 2^18 default).
export COGOV_KEYSTORE_SCRYPT_N ?= 16384
HOST ?= 127.0.0.1
PORT ?= 8000

.DEFAULT_GOAL := help
.PHONY: help install browser postgresql demo demo-pg demo-pg-db pg-down test ci compile compile-check chain-up chain-down chain-status deploy seed serve lint typecheck clean clean-chain

help: ## List every target
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN{FS=":.*## "}{printf "  \033[36m%-15s\033[0m %s\n",$$1,$$2}'

$(VENV)/.installed: requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: $(VENV)/.installed node_modules/.installed ## Install Python (virtualenv) and npm dependencies, pinned

compile: install ## Compile contracts/ into ledger/artifacts/ (contracts/test, contracts/bench into tests/, bench/artifacts/)
	$(COGOV) compile

compile-check: install ## Fail if committed artifacts differ from a fresh compile
	$(COGOV) compile --check

chain-up: install ## Start the development chain (ganache.yml)
	$(COGOV) chain up

chain-down: ## Stop the development chain and the demo's PostgreSQL, if running (data kept)
	$(COGOV) chain down
	@test ! -f $(PG_ROOT)/data/PG_VERSION || $(COGOV) db local down --root $(PG_ROOT)

chain-status: ## Show the development chain
	$(COGOV) chain status

seed: install ## Deploy and seed the demo scenario on the running chain (idempotent)
	$(PY) scripts/seed_demo.py

serve: install ## Serve the API and the transparency page
	$(COGOV) serve --host $(HOST) --port $(PORT)

demo: install chain-up seed ## Install, start the chain, deploy, seed the demo and serve the API + page
	@echo ""
	@echo "  API:        http://$(HOST):$(PORT)/api/v1/health"
	@echo "  API docs:   http://$(HOST):$(PORT)/docs"
	@echo "  Portal:     http://$(HOST):$(PORT)/"
	@echo "  Demo API keys: .cogov/demo-api-keys.txt"
	@echo ""
	$(COGOV) serve --host $(HOST) --port $(PORT)

PG_ROOT ?= .cogov/postgresql

demo-pg: install demo-pg-db ## The demo on PostgreSQL: a local cluster under .cogov/postgresql holds the index and the service database
	set -a && . $(PG_ROOT)/env && set +a && $(MAKE) --no-print-directory demo

demo-pg-db: postgresql ## The demo's PostgreSQL alone: start the cluster in $(PG_ROOT), write its URLs to $(PG_ROOT)/env, migrate
	$(COGOV) db local up --root $(PG_ROOT)
	set -a && . $(PG_ROOT)/env && set +a && $(COGOV) db upgrade

pg-down: ## Stop the demo's PostgreSQL (data kept; `make chain-down` stops it too)
	$(COGOV) db local down --root $(PG_ROOT)

browser: ## Install headless Chromium and CJK fonts for the portal's browser tests (Debian; only if missing)
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk)

postgresql: ## Install the PostgreSQL server the tests start throw-away clusters of (Debian; only if missing)
	@test -x "$$(pg_config --bindir 2>/dev/null)/initdb" || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql)
	@test -x "$$(pg_config --bindir 2>/dev/null)/initdb" || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(echo "PostgreSQL's initdb is still missing after installing postgresql" >&2; exit 1)

# The suite on both cores (pytest-xdist; a file's tests stay on one worker: --dist loadfile, as
# loadgroup's marks are lost on pytest 9), then the scan for leaked secrets over everything that run wrote
# (tests/reliability/test_secrets_scan.py: it must run after every other test).
TEST_WORKERS ?= 2
TEST_RUN_DIR ?= /tmp/cogov-tests-$(shell printf '%s' "$(CURDIR)" | sha256sum | cut -c1-12)
test: install browser postgresql ## Install everything and run the whole test suite (SQLite and PostgreSQL)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --basetemp=$(TEST_RUN_DIR)
	COGOV_TEST_SCAN_DIR=$(TEST_RUN_DIR) $(PY) -m pytest tests/reliability/test_secrets_scan.py

ci: compile-check gas-check test slither invariants lint ## What CI runs

lint: install ## ruff and mypy
	$(VENV)/bin/ruff check ledger api cogov tests scripts
	$(VENV)/bin/mypy

clean-chain: chain-down ## Stop the chain and delete its data and the demo state (.cogov/)
	rm -rf .cogov

clean: ## Remove the virtualenv, node_modules and caches
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache

SLITHER_VENV := .venv-slither

$(SLITHER_VENV)/.installed: security/requirements-slither.txt
	@test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	@echo '*' > $(SLITHER_VENV)/.gitignore
	$(SLITHER_VENV)/bin/python -m pip install -q --upgrade pip
	$(SLITHER_VENV)/bin/python -m pip install -q -r security/requirements-slither.txt
	@touch $@

.PHONY: slither invariants
slither: $(SLITHER_VENV)/.installed node_modules/.installed ## Slither on contracts/ (own venv); fails on untriaged High/Medium findings
	$(SLITHER_VENV)/bin/python security/slither_gate.py

invariants: node_modules/.installed ## Forge invariant tests (forge/test): fund books, payouts, grants, membership threshold, roles, case transitions, log checkpoints
	node_modules/.bin/forge test

# geth v1.13.15 (Clique) for the multi-node network, from the Go module proxy only.
# A cold build takes ~5-6 min on 2 cores (downloads + compile), so `test` does not
# depend on it: run `make geth` once; the network tests build it themselves if missing.
GETH := .cogov/bin/geth
.PHONY: geth
geth: ## Build geth v1.13.15 into .cogov/bin (Go module proxy; skipped when present)
	@test -x $(GETH) && $(GETH) version | grep -q '^Version: 1.13.15' || \
		GOBIN=$(CURDIR)/.cogov/bin go install -ldflags=-checklinkname=0 github.com/ethereum/go-ethereum/cmd/geth@v1.13.15
	@$(GETH) version | head -2

# Benchmarks (bench/): figures are ratios measured side by side in one run; see bench/RESULTS.md.
.PHONY: bench bench-quick gas-check gas-snapshot wrk
bench: install wrk ## Run every benchmark (ARGS=--quick for the small sizes): bench/results/*.json, bench/RESULTS.md
	$(PY) bench/run.py $(ARGS)

wrk: ## Install wrk, the HTTP load generator of bench/http_reads.py (Debian; only if missing)
	@command -v wrk >/dev/null || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk)

bench-quick: install wrk ## The small sizes of every benchmark (under 2 minutes)
	$(PY) bench/run.py --quick

gas-check: install ## Fail when any function's gas rose above bench/gas-snapshot.json (deterministic; in CI)
	$(PY) bench/gas.py --check

gas-snapshot: install ## Rewrite bench/gas-snapshot.json (a reviewed change)
	$(PY) bench/gas.py --write-snapshot
