#!/bin/sh
# Make sure a Docker engine is usable on this machine, for the molecule scenarios.
#
# Idempotent and unattended (no stdin, run as root):
#   - installs Debian's docker.io and mmdebstrap with apt when they are missing;
#   - if `docker info` fails, starts dockerd in the background and waits up to
#     PGOPS_DOCKER_WAIT seconds (default 60) for it;
#   - exits non-zero with a message saying why when no engine can run.
#
# dockerd is started with --bridge=none: no default "bridge" network (which would
# NAT containers to the outside). The tests only use networks they create with
# `internal: true`. If dockerd does not come up with the first set of flags, the
# script tries once more with the conservative fallback flags
# (--iptables=false --storage-driver=vfs), which need nothing from the kernel
# beyond namespaces.
#
# Environment:
#   PGOPS_DOCKERD_FLAGS           flags for the first attempt (default: --bridge=none)
#   PGOPS_DOCKERD_FALLBACK_FLAGS  flags for the second attempt ("" disables it)
#   PGOPS_DOCKERD_LOG             dockerd's log file (default /var/log/pgops-lr-dockerd.log)
#   PGOPS_DOCKER_WAIT             seconds to wait for the engine (default 60)
set -eu

DOCKERD_FLAGS=${PGOPS_DOCKERD_FLAGS:---bridge=none}
FALLBACK_FLAGS=${PGOPS_DOCKERD_FALLBACK_FLAGS---bridge=none --iptables=false --storage-driver=vfs}
DOCKERD_LOG=${PGOPS_DOCKERD_LOG:-/var/log/pgops-lr-dockerd.log}
WAIT=${PGOPS_DOCKER_WAIT:-60}

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages and starts dockerd)"

engine_ok() { docker info >/dev/null 2>&1; }

# --- packages ---------------------------------------------------------------
# Recommends are skipped (needrestart, git, apparmor are of no use here); the few
# recommended packages that matter are named explicitly.
missing=""
if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    missing="$missing docker.io cgroupfs-mount xz-utils ca-certificates"
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
    missing="$missing mmdebstrap gpg libdistro-info-perl mount"
fi

if [ -n "$missing" ]; then
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install$missing by hand"
    log "installing:$missing"
    # Keep the package's own init script/unit from starting dockerd with the
    # default flags (default bridge network); this script starts it itself.
    policy_created=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >&2 || rc=$?
    if [ "$rc" -eq 0 ]; then
        # shellcheck disable=SC2086 # word splitting of the package list is intended
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
            </dev/null >&2 || rc=$?
    fi
    [ -z "$policy_created" ] || rm -f /usr/sbin/policy-rc.d
    [ "$rc" -eq 0 ] || die "apt-get failed (exit $rc) installing:$missing"
fi

# --- engine -----------------------------------------------------------------
# dockerd (cgroup v1 hosts without systemd) needs the cgroup hierarchies mounted.
if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && [ -z "$(ls -A /sys/fs/cgroup 2>/dev/null)" ] &&
    command -v cgroupfs-mount >/dev/null 2>&1; then
    log "mounting cgroup hierarchies (cgroupfs-mount)"
    cgroupfs-mount || log "cgroupfs-mount failed; trying anyway"
fi
if engine_ok; then
    log "docker engine is running"
    exit 0
fi

# Under systemd, prefer the service manager, but only if the unit starts.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl start docker >/dev/null 2>&1; then
        i=0
        while [ "$i" -lt "$WAIT" ]; do
            engine_ok && { log "docker engine started by systemd"; exit 0; }
            sleep 1; i=$((i + 1))
        done
    fi
    log "systemctl start docker did not give a working engine; starting dockerd directly"
fi

# Another dockerd may be alive but not answering yet (e.g. started a moment ago).
if [ -f /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
    log "dockerd (pid $(cat /var/run/docker.pid)) is running; waiting for it"
    i=0
    while [ "$i" -lt "$WAIT" ]; do
        engine_ok && { log "docker engine is running"; exit 0; }
        sleep 1; i=$((i + 1))
    done
    die "dockerd pid $(cat /var/run/docker.pid) runs but 'docker info' fails; see its log"
fi

# try_dockerd FLAGS: start dockerd with FLAGS, wait for it; on failure stop it again.
try_dockerd() {
    flags=$1
    log "starting: dockerd $flags (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # shellcheck disable=SC2086 # flags are a word list on purpose
    nohup setsid dockerd $flags </dev/null >>"$DOCKERD_LOG" 2>&1 &
    pid=$!
    i=0
    while [ "$i" -lt "$WAIT" ]; do
        if engine_ok; then
            log "docker engine is running (dockerd pid $pid, flags: $flags)"
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            log "dockerd exited early; last log lines:"
            grep -v "module=grpc" "$DOCKERD_LOG" | tail -n 10 >&2 || true
            return 1
        fi
        sleep 1; i=$((i + 1))
    done
    log "dockerd did not answer within ${WAIT}s; stopping it (pid $pid); last log lines:"
    grep -v "module=grpc" "$DOCKERD_LOG" | tail -n 10 >&2 || true
    kill "$pid" 2>/dev/null || true
    i=0
    while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 20 ]; do sleep 1; i=$((i + 1)); done
    return 1
}

try_dockerd "$DOCKERD_FLAGS" && exit 0
if [ -n "$FALLBACK_FLAGS" ] && [ "$FALLBACK_FLAGS" != "$DOCKERD_FLAGS" ]; then
    try_dockerd "$FALLBACK_FLAGS" && exit 0
fi
die "no Docker engine could be started on this machine (see $DOCKERD_LOG)"
