# pgops.logical_replication: developer and CI entry points. `make` (or `make help`) lists them.
# The one command that tests everything is `make test` (it is what .ci/run runs).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory

PYTHON     ?= python3
PY_VERSION := 3.11
VENV       := .venv
VENV_BIN   := $(CURDIR)/$(VENV)/bin
VENV_STAMP := $(VENV)/.installed
PG15_BIN   := /usr/lib/postgresql/15/bin
SUDO       := $(if $(filter 0,$(shell id -u)),,sudo)

# ansible-test wants the collection at .../ansible_collections/<namespace>/<name>: `make sanity`
# copies the tree (tracked and untracked, not ignored, files) there, in a temporary directory outside
# this git work tree (inside it, ansible-test would list files through git and find them ignored).
SANITY_TMP ?= $(or $(TMPDIR),/tmp)
# pslint needs PowerShell, and the collection has no PowerShell code.
SANITY_ARGS := --python $(PY_VERSION) --skip-test pslint

# Copy the collection's files (tracked and untracked, not ignored; deleted ones skipped) to $(1).
copy_tree = mkdir -p "$(1)" && git ls-files -z --cached --others --exclude-standard \
	| while IFS= read -r -d '' f; do if [ -e "$$f" ]; then printf '%s\0' "$$f"; fi; done \
	| tar --null -T - -cf - | tar -xf - -C "$(1)"

.PHONY: help deps venv lint sanity unit integration molecule ee test demo demo-stop build importer clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install the system packages the tests need (PostgreSQL 15 server, shellcheck) if missing
	@missing=""; \
	[ -x $(PG15_BIN)/postgres ] || missing="$$missing postgresql-15"; \
	command -v shellcheck >/dev/null || missing="$$missing shellcheck"; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		$(SUDO) apt-get update; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

venv: $(VENV_STAMP) ## Create .venv/ with tests/requirements.txt (only when the requirements changed)

$(VENV_STAMP): tests/requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV_BIN)/python -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
	touch $@

# ansible-lint runs offline (it would otherwise try Galaxy), so it does not install this collection
# itself: a copy in .cache/collections lets roles and playbooks resolve pgops.logical_replication.*
# (a symlink to the work tree sends ansible-lint into an endless walk).
LINT_COLLECTIONS := $(CURDIR)/.cache/collections

lint: venv ## ansible-lint, production profile (config: .ansible-lint)
	@rm -rf $(LINT_COLLECTIONS) && $(call copy_tree,$(LINT_COLLECTIONS)/ansible_collections/pgops/logical_replication)
	PATH="$(VENV_BIN):$$PATH" ANSIBLE_COLLECTIONS_PATH=$(LINT_COLLECTIONS) ansible-lint

# ansible-test creates each sanity virtualenv without pip and bootstraps pip with a get-pip.py that
# it downloads into ~/.ansible/test/cache/ from a host this machine cannot reach. This stand-in does
# the same job with what is reachable: the interpreter's ensurepip, then the wanted pip from PyPI.
define GET_PIP_STANDIN
"""Stand-in for get-pip.py, written by `make sanity` (pgops.logical_replication Makefile)."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip'])
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--upgrade'] + args)
if '--no-setuptools' in sys.argv:
    subprocess.call([sys.executable, '-m', 'pip', 'uninstall', '--yes', '--quiet', 'setuptools'])
endef
export GET_PIP_STANDIN

# `make sanity` runs ansible-test sanity twice on one copy of the tree: with the oldest ansible-core
# the collection supports (meta/runtime.yml requires_ansible, in its own venv) and with the newest
# one Python $(PY_VERSION) installs (.venv, tests/requirements.txt). Each run prints how long it took.
CORE_OLDEST       := 2.16.19
VENV_OLDEST       := .venv-sanity-216
VENV_OLDEST_BIN   := $(CURDIR)/$(VENV_OLDEST)/bin
VENV_OLDEST_STAMP := $(VENV_OLDEST)/.installed-$(CORE_OLDEST)

$(VENV_OLDEST_STAMP):
	rm -rf $(VENV_OLDEST)
	$(PYTHON) -m venv $(VENV_OLDEST)
	$(VENV_OLDEST_BIN)/python -m pip install --quiet --disable-pip-version-check ansible-core==$(CORE_OLDEST)
	touch $@

# $(1): the bin directory of the venv whose ansible-test runs. Writes the get-pip stand-in for the pip
# version that ansible-test wants (it differs between cores), then runs and times the sanity tests.
sanity_with = pip_version=$$($(1)/python -c 'import types; from ansible_test._internal import python_requirements as r; \
	print(r.get_venv_packages(types.SimpleNamespace(version="$(PY_VERSION)"))["pip"])'); \
	get_pip=$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	if [ ! -e "$$get_pip" ]; then \
		mkdir -p "$$(dirname "$$get_pip")"; \
		printf '%s\n' "$$GET_PIP_STANDIN" > "$$get_pip"; \
		echo "sanity: wrote pip bootstrap stand-in $$get_pip"; \
	fi; \
	core=$$($(1)/python -c 'from ansible.release import __version__; print(__version__)'); \
	echo "+ ansible-test sanity $(SANITY_ARGS)   (ansible-core $$core)"; \
	start=$$SECONDS; \
	(cd "$$coll" && $(1)/ansible-test sanity $(SANITY_ARGS)); \
	echo "sanity: ansible-core $$core passed in $$((SECONDS - start)) s"

sanity: venv $(VENV_OLDEST_STAMP) ## ansible-test sanity on ansible-core 2.16 and the newest, on a copy under ansible_collections/pgops/logical_replication
	@tmp=$$(mktemp -d "$(SANITY_TMP)/pgops-sanity.XXXXXX"); trap 'rm -rf "$$tmp"' EXIT; \
	coll=$$tmp/ansible_collections/pgops/logical_replication; \
	$(call copy_tree,$$coll); \
	echo "sanity: collection copied to $$coll"; \
	$(call sanity_with,$(VENV_OLDEST_BIN)); \
	$(call sanity_with,$(VENV_BIN))

unit: venv ## Unit tests (pure functions, no server)
	$(VENV_BIN)/python -m pytest tests/unit -q

# Integration: the whole suite on PostgreSQL 15, 16, 17 and 18 (plus the cross-version pairs) with the
# newest ansible-core (.venv), then the tests marked all_cores (the modules; setup, status, switchover,
# teardown) on PostgreSQL 15 with the oldest supported core (the venv `make sanity` uses): its
# ansible-playbook, while the modules run on .venv's Python. The first part forces psycopg2 on the modules,
# the second psycopg 3 (PGOPS_PSYCOPG: a forced driver that is missing fails the module). pytest exits 5 when it
# collected nothing, which fails the target like any other failure.
INTEGRATION_PYTEST := $(VENV_BIN)/python -m pytest tests/integration -q -n 2 --dist loadfile

integration: deps venv $(VENV_OLDEST_STAMP) ## Integration: PostgreSQL 15-18 and cross-version pairs, then modules + playbooks on ansible-core 2.16
	@start=$$SECONDS; set -x; PGOPS_TEST_MAJORS="15 16 17 18" PGOPS_PSYCOPG=2 $(INTEGRATION_PYTEST); set +x; \
	echo "integration: PostgreSQL 15 16 17 18 on the newest ansible-core (psycopg2) passed in $$((SECONDS - start)) s"
	@start=$$SECONDS; set -x; PGOPS_TEST_MAJORS=15 PGOPS_PSYCOPG=3 PGOPS_ANSIBLE_BIN_DIR=$(VENV_OLDEST_BIN) \
		PGOPS_ANSIBLE_CORE=$(CORE_OLDEST) $(INTEGRATION_PYTEST) -m all_cores; set +x; \
	echo "integration: PostgreSQL 15 on ansible-core $(CORE_OLDEST) (psycopg 3) passed in $$((SECONDS - start)) s"

molecule: ## Molecule scenarios default (15, pg_ctlcluster), upgrade (13 -> 17 under a writer), systemd (PID 1, fan-in, serial) (root: starts dockerd, builds the images)
	molecule/_shared/run test -s default
	molecule/_shared/run test -s upgrade
	molecule/_shared/run test -s systemd

test: deps venv lint sanity importer unit integration molecule ee ## Everything CI runs, in order, stopping at the first failure

demo: ## The main job: two local PostgreSQL servers wired by playbooks/setup.yml (left running)
	$(SUDO) demo/run

demo-stop: ## Stop and remove the servers `make demo` left running
	$(SUDO) demo/run --stop

DIST     := .cache/dist
VERSION   = $(shell awk '/^version:/ {print $$2}' galaxy.yml)
TARBALL   = $(DIST)/pgops-logical_replication-$(VERSION).tar.gz

build: venv ## Build the collection tarball into .cache/dist/ (galaxy.yml build_ignore keeps tests and tooling out)
	$(VENV_BIN)/ansible-galaxy collection build --force --output-path $(DIST)
	@echo "build: $(TARBALL), $$(tar -tzf $(TARBALL) | wc -l) entries"

# galaxy-importer is the checker Galaxy and Automation Hub run on an uploaded tarball. It lives in its
# own venv (its pins are its own), reads the config below, and runs ansible-doc and ansible-lint
# (production profile, offline: no Galaxy call). It logs findings as WARNING/ERROR lines and still
# exits 0, so any such line fails the target.
IMPORTER_VERSION := 0.4.44
VENV_IMPORTER    := .venv-importer
VENV_IMPORTER_STAMP := $(VENV_IMPORTER)/.installed-$(IMPORTER_VERSION)
IMPORTER_DIR     := $(CURDIR)/.cache/importer

define GALAXY_IMPORTER_CFG
[galaxy-importer]
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_ansible_test = False
run_flake8 = False
check_changelog = True
log_level_main = INFO
endef
export GALAXY_IMPORTER_CFG

$(VENV_IMPORTER_STAMP):
	rm -rf $(VENV_IMPORTER)
	$(PYTHON) -m venv $(VENV_IMPORTER)
	$(VENV_IMPORTER)/bin/python -m pip install --quiet --disable-pip-version-check \
		galaxy-importer==$(IMPORTER_VERSION) ansible-core==2.19.14 ansible-lint==26.10.1
	touch $@

importer: build $(VENV_IMPORTER_STAMP) ## galaxy-importer (with ansible-lint) on the built tarball; fails on any warning or error
	@rm -rf $(IMPORTER_DIR) && mkdir -p $(IMPORTER_DIR) && printf '%s\n' "$$GALAXY_IMPORTER_CFG" > $(IMPORTER_DIR)/galaxy-importer.cfg
	@echo "+ galaxy-importer $(TARBALL)"; start=$$SECONDS; \
	cd $(IMPORTER_DIR) && PATH="$(CURDIR)/$(VENV_IMPORTER)/bin:$$PATH" GALAXY_IMPORTER_CONFIG=$(IMPORTER_DIR)/galaxy-importer.cfg \
		$(CURDIR)/$(VENV_IMPORTER)/bin/python -m galaxy_importer.main $(CURDIR)/$(TARBALL) > importer.log 2>&1 \
		|| { cat importer.log; echo "importer: galaxy-importer failed"; exit 1; }; \
	grep -v '^Loading \|^Running ' importer.log || true; \
	if grep -q '^\(WARNING\|ERROR\|CRITICAL\)' importer.log; then echo "importer: findings above"; exit 1; fi; \
	echo "importer: passed in $$((SECONDS - start)) s (result: .cache/importer/importer_result.json)"

ee: ## Execution environment: build it with ansible-builder (offline), run setup.yml and status.yml from it with ansible-runner
	@start=$$SECONDS; examples/ee/build.sh; echo "ee: image built in $$((SECONDS - start)) s"
	@start=$$SECONDS; examples/ee/check.sh; echo "ee: setup.yml and status.yml through ansible-runner passed in $$((SECONDS - start)) s"

clean: ## Remove .venv/, caches and test output
	rm -rf $(VENV) .venv-molecule $(VENV_OLDEST) $(VENV_IMPORTER) .venv-ee examples/ee/_work .cache .pytest_cache tests/output
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
