# Build, test and demo targets for the alicloud.kms collection (GNU make).
#
#   make test          everything CI runs: venv, sanity, lint, units, integration
#   make venv          create $(VENV) and install requirements*.txt (once per change)
#   make sanity        ansible-test sanity (offline, no ignore file) on a staged copy
#   make lint          ansible-lint (roles/, playbooks/) and antsibull-changelog lint
#   make units         pytest tests/unit
#   make integration   pytest tests/integration (real ansible runs against the emulator)
#   make demo          the demo playbook against a seeded local KMS emulator
#   make build         ansible-galaxy collection build into build/dist/
#   make clean         remove generated files (keeps $(VENV))

PYTHON ?= python3
VENV ?= .venv
# Python version ansible-test uses for its sanity virtualenvs (the controller's)
SANITY_PYTHON ?= 3.11
# --venv: ansible-test makes its own controller venv; --local: run in $(VENV) itself
SANITY_ENV ?= --venv
# extra options, e.g. SANITY_ARGS='--test pylint' or SANITY_ARGS=-v
SANITY_ARGS ?=

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# run prerequisites one after another, stopping at the first failure, even under -j
.NOTPARALLEL:

NAMESPACE := alicloud
NAME := kms
VENV_DIR := $(abspath $(VENV))
VENV_BIN := $(VENV_DIR)/bin
VENV_STAMP := $(VENV_DIR)/.alicloud-kms-requirements.stamp
# a collections path whose alicloud.kms is this working tree (see `collection`)
COLLECTIONS_DIR := $(CURDIR)/.collections
COLLECTION_LINK := $(COLLECTIONS_DIR)/ansible_collections/$(NAMESPACE)/$(NAME)
# ansible-test needs .../ansible_collections/<ns>/<name>: a staged copy lives here
SANITY_ROOT := $(CURDIR)/build/ansible_collections/$(NAMESPACE)/$(NAME)
DIST_DIR := $(CURDIR)/build/dist

# the test and demo targets see the working tree as alicloud.kms and use the venv's tools
units integration lint demo: export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)
units integration lint demo sanity build: export PATH := $(VENV_BIN):$(PATH)

.PHONY: help venv collection sanity units integration lint test demo build clean

help:
	@sed -n '3,12s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

venv: $(VENV_STAMP)

# reinstall only when a requirements file changes (or the venv is new)
$(VENV_STAMP): requirements.txt requirements-dev.txt
	@if [ ! -x "$(VENV_BIN)/python" ]; then \
	  echo "creating virtualenv $(VENV_DIR)"; \
	  $(PYTHON) -m venv "$(VENV_DIR)"; \
	fi
	"$(VENV_BIN)/python" -m pip install --disable-pip-version-check --quiet \
	  -r requirements.txt -r requirements-dev.txt
	@touch "$@"

collection:
	@mkdir -p "$(dir $(COLLECTION_LINK))"
	@if [ "$$(readlink "$(COLLECTION_LINK)" 2>/dev/null)" != "../../.." ]; then \
	  rm -rf "$(COLLECTION_LINK)"; ln -s ../../.. "$(COLLECTION_LINK)"; \
	fi
	@echo "ANSIBLE_COLLECTIONS_PATH=$(COLLECTIONS_DIR) resolves $(NAMESPACE).$(NAME) to $(CURDIR)"

# ansible-test bootstraps pip in each sanity virtualenv with a get-pip script from a host we
# cannot reach: seed its cache from PyPI first, then run on a staged copy of the collection.
# Results stay in $(SANITY_ROOT)/tests/output.
sanity: venv
	@if ls tests/sanity/ignore-*.txt >/dev/null 2>&1; then \
	  echo "sanity: tests/sanity/ignore-*.txt found; this collection passes sanity with no ignore file: fix the code instead" >&2; \
	  exit 1; \
	fi
	"$(VENV_BIN)/python" tests/utils/seed_ansible_test_pip.py --python-version $(SANITY_PYTHON)
	"$(VENV_BIN)/python" tests/utils/stage_collection.py "$(CURDIR)" "$(SANITY_ROOT)"
	cd "$(SANITY_ROOT)" && env -u ANSIBLE_COLLECTIONS_PATH \
	  "$(VENV_BIN)/ansible-test" sanity $(SANITY_ENV) --python $(SANITY_PYTHON) --color no $(SANITY_ARGS)

units: venv collection
	@if [ ! -d tests/unit ]; then echo "units: no tests/unit yet"; exit 1; fi
	"$(VENV_BIN)/python" -m pytest tests/unit -q

integration: venv collection
	@if [ ! -d tests/integration ]; then echo "integration: no tests/integration yet"; exit 1; fi
	"$(VENV_BIN)/python" -m pytest tests/integration -q

lint: venv collection
	@dirs=""; for d in roles playbooks; do [ -d "$$d" ] && dirs="$$dirs $$d"; done; \
	if [ -n "$$dirs" ]; then \
	  echo "ansible-lint$$dirs"; "$(VENV_BIN)/ansible-lint" $$dirs; \
	else \
	  echo "ansible-lint: no roles/ or playbooks/ yet, nothing to lint"; \
	fi
	"$(VENV_BIN)/antsibull-changelog" lint

test: venv sanity lint units integration

# modules run with the venv's Python (it has the SDK): interpreter discovery would pick
# whatever python3 it finds first (here a pyenv shim that may not work)
demo: export ANSIBLE_PYTHON_INTERPRETER := $(VENV_BIN)/python
demo: venv collection
	@mkdir -p build
	PYTHONPATH=tests "$(VENV_BIN)/python" -m emulator --seed tests/emulator/seeds/demo.yml --log build/emulator.log \
	  --exec -- "$(VENV_BIN)/ansible-playbook" -i playbooks/inventory/localhost.yml playbooks/demo.yml

build: venv
	@mkdir -p "$(DIST_DIR)"
	"$(VENV_BIN)/ansible-galaxy" collection build --force --output-path "$(DIST_DIR)" .

clean:
	rm -rf build tests/output .collections collections .pytest_cache .hypothesis kms-compliance-report
	rm -f $(NAMESPACE)-$(NAME)-*.tar.gz
	find . -path "./$(VENV)" -prune -o -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
