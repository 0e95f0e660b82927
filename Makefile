# kmm: every command the README, CI and operators use.
#   make run      serve kmm at http://127.0.0.1:$(PORT) (a local control plane if no cluster is configured)
#   make test     ruff, mypy and the whole pytest suite against a real kube-apiserver
#   make cluster  only the local control plane and its KubeAI fleet, in the foreground (.kmm/kubeconfig)
#   KMM_FLEET=off make run|cluster   the API server alone, without the fleet

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint cluster build-cluster build-helm bench bench-deps crd browser-deps clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m devcluster serve --port $(PORT)

cluster: $(VENV)/.installed
	$(PY) -m devcluster cluster --seed

build-cluster: $(VENV)/.installed
	$(PY) -m devcluster build

# helm for the chart tests, built from the Go module proxy once (about 2 minutes cold).
build-helm: $(VENV)/.installed
	$(PY) -m devcluster build-helm

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Debian's Chromium for the Playwright browser tests (Playwright's own download cannot work here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.installed browser-deps lint build-cluster build-helm
	$(VENV)/bin/pytest $(PYTEST_ARGS)

# Debian's wrk, the load generator of bench/bench_public_api.py.
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "Installing Debian's wrk for the benchmarks"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

bench: $(VENV)/.installed build-cluster bench-deps
	$(PY) -m bench

crd: $(VENV)/.installed
	@$(PY) -m modelspec.crd

clean:
	rm -rf $(VENV) .kmm staticfiles test-artifacts .pytest_cache .mypy_cache .ruff_cache
