#!/bin/bash
# Build the execution environment image pgops-lr/ee:latest with ansible-builder, without a
# container registry or network access during the build:
#   1. the base image pgops-lr/postgres:bookworm, built from Debian packages by
#      molecule/_shared/build-image.sh (mmdebstrap + docker import) when missing;
#   2. build files in examples/ee/_work/: Python wheels (pip download on the host), the Debian
#      packages the base lacks (apt-get download on the host), this collection's tarball
#      (ansible-galaxy collection build) and community.docker (from .venv-molecule);
#   3. ansible-builder build (3.x, in .venv-ee) with examples/ee/execution-environment.yml.
# Usage: examples/ee/build.sh        (root; PGOPS_EE_TAG overrides the tag)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WORK=$HERE/_work
TAG=${PGOPS_EE_TAG:-pgops-lr/ee:latest}
PYTHON=${PYTHON:-python3}
VENV=$REPO/.venv-ee
BUILDER_VERSION=3.2.0
RUNNER_VERSION=2.4.3

log() { printf 'ee-build: %s\n' "$*" >&2; }

# Tools on the host: ansible-builder and ansible-runner (the runner AWX uses).
if [ ! -e "$VENV/.installed-$BUILDER_VERSION-$RUNNER_VERSION" ]; then
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "ansible-builder==$BUILDER_VERSION" "ansible-runner==$RUNNER_VERSION"
    touch "$VENV/.installed-$BUILDER_VERSION-$RUNNER_VERSION"
fi

# 1. Base image from Debian packages (starts dockerd when needed).
"$REPO/molecule/_shared/build-image.sh" bookworm

# 2. Build files.
rm -rf "$WORK"
mkdir -p "$WORK/wheels" "$WORK/debs" "$WORK/collections"
log "downloading wheels"
# The image's Python is Debian bookworm's 3.11 on this machine's architecture, like the host's.
"$PYTHON" -m pip download --quiet --disable-pip-version-check --only-binary=:all: -d "$WORK/wheels" \
    pip setuptools wheel \
    ansible-core==2.16.19 ansible-runner==$RUNNER_VERSION dumb-init==1.2.5 \
    bindep pyyaml packaging \
    docker==7.2.0 requests==2.34.2
log "downloading Debian packages the base image lacks"
(cd "$WORK/debs" && { apt-get download postgresql-client 2>/dev/null || { apt-get update -qq && apt-get download postgresql-client; }; })
log "building the collection tarball"
"$REPO/.venv/bin/ansible-galaxy" collection build --force --output-path "$WORK" "$REPO" >/dev/null
mv "$WORK"/pgops-logical_replication-*.tar.gz "$WORK/collections/pgops-logical_replication.tar.gz"
docker_coll=$(find "$REPO"/.venv-molecule/lib -maxdepth 5 -path "*/site-packages/ansible_collections/community/docker" -type d 2>/dev/null | head -1)
[ -n "$docker_coll" ] || { log "community.docker missing: run make molecule once (it creates .venv-molecule)"; exit 1; }
mkdir -p "$WORK/collections/ansible_collections/community"
cp -a "$docker_coll" "$WORK/collections/ansible_collections/community/docker"

# 3. The image.
log "ansible-builder build -t $TAG"
cd "$HERE"
"$VENV/bin/ansible-builder" build --container-runtime docker --tag "$TAG" \
    --file execution-environment.yml --context "$WORK/context" --verbosity 2
log "built $TAG"
