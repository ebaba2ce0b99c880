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

.PHONY: help deps venv lint sanity unit integration molecule test demo demo-stop build clean

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

sanity: venv ## ansible-test sanity on a copy of the tree under ansible_collections/pgops/logical_replication
	@pip_version=$$($(VENV_BIN)/python -c 'import types; from ansible_test._internal import python_requirements as r; print(r.get_venv_packages(types.SimpleNamespace(version="$(PY_VERSION)"))["pip"])'); \
	get_pip=$$HOME/.ansible/test/cache/get_pip_$${pip_version//./_}.py; \
	if [ ! -e "$$get_pip" ]; then \
		mkdir -p "$$(dirname "$$get_pip")"; \
		printf '%s\n' "$$GET_PIP_STANDIN" > "$$get_pip"; \
		echo "sanity: wrote pip bootstrap stand-in $$get_pip"; \
	fi
	@tmp=$$(mktemp -d "$(SANITY_TMP)/pgops-sanity.XXXXXX"); trap 'rm -rf "$$tmp"' EXIT; \
	coll=$$tmp/ansible_collections/pgops/logical_replication; \
	$(call copy_tree,$$coll); \
	echo "sanity: collection copied to $$coll"; \
	echo "+ ansible-test sanity $(SANITY_ARGS)"; \
	cd "$$coll" && $(VENV_BIN)/ansible-test sanity $(SANITY_ARGS)

unit: venv ## Unit tests (pure functions, no server)
	$(VENV_BIN)/python -m pytest tests/unit -q

integration: deps venv ## Integration tests against real PostgreSQL 15 and 18 servers
	$(VENV_BIN)/python -m pytest tests/integration -q -n 2 --dist loadfile

molecule: ## Molecule scenario `default`: two PostgreSQL 15 containers (root: starts dockerd, builds the image)
	molecule/_shared/run test -s default

test: deps venv lint sanity unit integration molecule ## Everything CI runs, in order, stopping at the first failure

demo: ## The main job: two local PostgreSQL servers wired by playbooks/setup.yml (left running)
	$(SUDO) demo/run

demo-stop: ## Stop and remove the servers `make demo` left running
	$(SUDO) demo/run --stop

build: venv ## Build the collection tarball into .cache/dist/
	$(VENV_BIN)/ansible-galaxy collection build --force --output-path .cache/dist

clean: ## Remove .venv/, caches and test output
	rm -rf $(VENV) .venv-molecule .cache .pytest_cache tests/output
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
