# Build, test and demo targets for the alicloud.kms collection (GNU make).
#
#   make test          everything CI runs: venv, sanity, lint, units, integration
#   make venv          create $(VENV) and install requirements*.txt (once per change)
#   make sanity        ansible-test sanity (offline, no ignore file) on a staged copy
#   make lint          ruff (format check and lint), ansible-lint (roles/, playbooks/), antsibull-changelog lint
#   make format        apply the one style (ruff format, import order) to the whole tree
#   make units         pytest tests/unit
#   make integration   pytest tests/integration (real ansible runs against the emulator)
#   make demo          the demo playbook and the compliance check against a seeded local KMS emulator
#   make bench         benchmark against the emulator and the official SDK (~5 min; BENCH_QUICK=1: ~1 min)
#   make build         ansible-galaxy collection build into build/dist/
#   make publish-check galaxy-importer (Galaxy's and Automation Hub's import checks) on the built tarball, offline
#   make ee            the tarball plus an ansible-builder build context in build/ee/context (no container engine needed)
#   make test-matrix   tests/integration under each ansible-core 2.16-2.21 in its own venv under build/matrix/ (slow; not in `test`)
#   make docs          antsibull-docs lint, then the docs site (antsibull-docs + Sphinx) in build/docs/build/html/
#   make changelog     antsibull-changelog lint, then CHANGELOG.rst (before the first release: a preview in build/changelog/)
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

.PHONY: help venv collection sanity units integration lint format test demo bench build clean

help:
	@sed -n '3,/^$$/s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

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
	"$(VENV_BIN)/ruff" format --check --diff .
	"$(VENV_BIN)/ruff" check .
	@dirs=""; for d in roles playbooks tests/integration/playbooks; do [ -d "$$d" ] && dirs="$$dirs $$d"; done; \
	if [ -n "$$dirs" ]; then \
	  echo "ansible-lint$$dirs"; "$(VENV_BIN)/ansible-lint" $$dirs; \
	else \
	  echo "ansible-lint: no roles/ or playbooks/ yet, nothing to lint"; \
	fi
	"$(VENV_BIN)/antsibull-changelog" lint

test: venv sanity lint units publish-check integration

format: venv
	"$(VENV_BIN)/ruff" check --select I --fix .
	"$(VENV_BIN)/ruff" format .

# modules run with the venv's Python (it has the SDK): interpreter discovery would pick
# whatever python3 it finds first (here a pyenv shim that may not work). The compliance check
# prints its verdict and report paths and does not fail on violations here: it is a demo.
demo: export ANSIBLE_PYTHON_INTERPRETER := $(VENV_BIN)/python
demo: venv collection
	@mkdir -p build
	PYTHONPATH=tests "$(VENV_BIN)/python" -m emulator --seed tests/emulator/seeds/demo.yml --log build/emulator.log \
	  --exec -- sh -c '"$$0" -i playbooks/inventory/localhost.yml playbooks/demo.yml && \
	    "$$0" -i playbooks/inventory/localhost.yml playbooks/compliance_check.yml -e @playbooks/vars/policy.example.yml \
	      -e kms_compliance_fail_on_violation=false -e "{\"kms_compliance_accounts\": [\"all\"]}"' "$(VENV_BIN)/ansible-playbook"

# speed against the quota (issue 6): one table, written into docs/docsite/rst/performance.rst by a full run; not a test
bench: venv collection
	"$(VENV_BIN)/python" bench/run.py $(if $(filter-out 0,$(BENCH_QUICK)),--quick)

build: venv
	@mkdir -p "$(DIST_DIR)"
	"$(VENV_BIN)/ansible-galaxy" collection build --force --output-path "$(DIST_DIR)" .

# galaxy-importer brings its own ansible-core and ansible-lint: it lives in a venv of its own. Any WARNING or ERROR
# it prints fails the target, as it would hold the collection back on Galaxy or Automation Hub. The importer's EDA
# linting (ruff and pylint on extensions/eda/plugins) runs in its container, which is not used here:
# tests/utils/eda_lint.py runs the same commands (ruff from $(VENV), pylint in the importer venv), and any finding
# fails the target too.
IMPORTER_VENV := $(CURDIR)/build/importer-venv
IMPORTER_REQUIREMENT := galaxy-importer==0.4.44
IMPORTER_PYLINT := pylint==4.1.4
.PHONY: publish-check
publish-check: build
	@if [ ! -x "$(IMPORTER_VENV)/bin/python" ]; then $(PYTHON) -m venv "$(IMPORTER_VENV)"; fi
	@"$(IMPORTER_VENV)/bin/python" -m pip install --disable-pip-version-check --quiet "$(IMPORTER_REQUIREMENT)" "$(IMPORTER_PYLINT)"
	@tarball="$(DIST_DIR)/$(NAMESPACE)-$(NAME)-$$(sed -n 's/^version: *//p' galaxy.yml).tar.gz"; \
	out=$$(cd "$(DIST_DIR)" && env -u ANSIBLE_COLLECTIONS_PATH GALAXY_IMPORTER_CONFIG="$(CURDIR)/tests/utils/galaxy-importer.cfg" \
	  PATH="$(IMPORTER_VENV)/bin:$$PATH" "$(IMPORTER_VENV)/bin/python" -m galaxy_importer.main "$$tarball" 2>&1); \
	echo "$$out" | grep -v '^Loading '; \
	if echo "$$out" | grep -E '^(WARNING|ERROR)' >&2; then echo "publish-check: galaxy-importer found the problems above" >&2; exit 1; fi; \
	echo "$$out" | grep -q 'Importer processing completed successfully'
	@PATH="$(IMPORTER_VENV)/bin:$(VENV_BIN):$$PATH" "$(IMPORTER_VENV)/bin/python" tests/utils/eda_lint.py "$(CURDIR)"

# --- execution environment, version matrix, docs, changelog (issue 8) ---------------------------------------
.PHONY: ee test-matrix docs changelog
EE_DIR := $(CURDIR)/build/ee
DOCS_DIR := $(CURDIR)/build/docs
# ansible-core minors to run, e.g. MATRIX_ONLY=2.16,2.21 (default: all); MATRIX_PYTEST_ARGS='-k inventory' (passed to pytest)
MATRIX_ONLY ?=
MATRIX_PYTEST_ARGS ?=
# versions tested at the same time; 1 (default) suits the timing-sensitive fault tests best
MATRIX_JOBS ?= 1
# offline, Sphinx cannot fetch docs.ansible.com's inventory (intersphinx): the references into Ansible's own
# docs stay unresolved and are the only warnings allowed. DOCS_ONLINE=1 keeps intersphinx and allows none.
DOCS_ONLINE ?=
DOCS_OFFLINE_WARNINGS := undefined label: '(ansible_configuration_settings|common_return_values)'|'envvar' reference target not found: ANSIBLE_
ee test-matrix docs changelog: export PATH := $(VENV_BIN):$(PATH)
docs changelog: export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)

# execution-environment.yml takes the tarball from build/ee/; where podman or docker exists, build the image with
#   ansible-builder build -f execution-environment.yml -c build/ee/context -t alicloud-kms-ee:latest
ee: build
	@mkdir -p "$(EE_DIR)"
	cp "$(DIST_DIR)/$(NAMESPACE)-$(NAME)-$$(sed -n 's/^version: *//p' galaxy.yml).tar.gz" "$(EE_DIR)/$(NAMESPACE)-$(NAME).tar.gz"
	ansible-builder create -f execution-environment.yml -c "$(EE_DIR)/context" --output-filename Containerfile
	@echo "ee: build context in $(EE_DIR)/context; to build the image: ansible-builder build -f execution-environment.yml -c build/ee/context -t alicloud-kms-ee:latest"

test-matrix: venv
	"$(VENV_BIN)/python" tests/utils/test_matrix.py --jobs $(MATRIX_JOBS) $(if $(MATRIX_ONLY),--only $(MATRIX_ONLY)) $(if $(MATRIX_PYTEST_ARGS),-- $(MATRIX_PYTEST_ARGS))

docs: venv collection
	antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all "$(COLLECTION_LINK)"
	rm -rf "$(DOCS_DIR)" && mkdir -p "$(DOCS_DIR)/rst" && chmod og-w "$(DOCS_DIR)/rst"
	antsibull-docs sphinx-init --use-current --squash-hierarchy --fail-on-error --dest-dir "$(DOCS_DIR)" \
	  --project "$(NAMESPACE).$(NAME)" --title "$(NAMESPACE).$(NAME)" $(NAMESPACE).$(NAME) >/dev/null
	$(if $(DOCS_ONLINE),@true,echo "intersphinx_mapping = {}  # make docs: offline" >> "$(DOCS_DIR)/conf.py")
	cd "$(DOCS_DIR)" && antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything --fail-on-error \
	  --use-current --squash-hierarchy --dest-dir rst $(NAMESPACE).$(NAME)
	cd "$(DOCS_DIR)" && sphinx-build -M html rst build -c . -q --keep-going -w warnings.log
	@if grep -v -E "$(if $(DOCS_ONLINE),^$$,$(DOCS_OFFLINE_WARNINGS))" "$(DOCS_DIR)/warnings.log" | grep . >&2; then \
	  echo "docs: Sphinx warnings above" >&2; exit 1; \
	fi
	@echo "docs: $(DOCS_DIR)/build/html/index.html"

# Once a release is recorded (`antsibull-changelog release`, the release manager's step) this regenerates
# CHANGELOG.rst. Until then it renders the next release's notes (the version in galaxy.yml) from the fragments
# in a staged copy, so nothing here is recorded: build/changelog/CHANGELOG.rst.
CHANGELOG_DIR := $(CURDIR)/build/changelog
changelog: venv collection
	antsibull-changelog lint
	@if "$(VENV_BIN)/python" -c 'import sys, yaml; sys.exit(not (yaml.safe_load(open("changelogs/changelog.yaml")) or {}).get("releases"))' 2>/dev/null; then \
	  antsibull-changelog generate && echo "changelog: CHANGELOG.rst generated"; \
	else \
	  staged="$(CHANGELOG_DIR)/ansible_collections/$(NAMESPACE)/$(NAME)"; \
	  "$(VENV_BIN)/python" tests/utils/stage_collection.py . "$$staged" >/dev/null && \
	  cd "$$staged" && ANSIBLE_COLLECTIONS_PATH="$(CHANGELOG_DIR)" antsibull-changelog release && \
	  cp CHANGELOG.rst "$(CHANGELOG_DIR)/CHANGELOG.rst" && \
	  echo "changelog: no release recorded yet; the next release's notes: $(CHANGELOG_DIR)/CHANGELOG.rst"; \
	fi

clean:
	rm -rf build tests/output .collections collections .pytest_cache .hypothesis kms-compliance-report
	rm -f $(NAMESPACE)-$(NAME)-*.tar.gz
	find . -path "./$(VENV)" -prune -o -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
