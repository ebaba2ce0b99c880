#!/bin/sh
# Build a local Debian + PostgreSQL image for the molecule scenarios, without any
# container registry:  mmdebstrap (the machine's own apt sources) -> docker import.
#
# Usage: build-image.sh [SUITE [TAG]]
#   SUITE  Debian suite (default bookworm). The suite's default `postgresql`
#          metapackage decides the major: bullseye 13, bookworm 15, trixie 17.
#   TAG    image tag (default pgops-lr/postgres:SUITE)
#
# Does nothing when TAG exists and was built by this recipe (label
# org.pgops.recipe; PGOPS_REBUILD=1 forces a rebuild). Runs ensure-docker.sh
# first (PGOPS_SKIP_ENSURE_DOCKER=1 skips that).
#
# The mirror is read at run time from this machine's apt sources
# (/etc/apt/sources.list, /etc/apt/sources.list.d/*.list and *.sources): the
# entry for the host's own suite gives the archive, the one for HOST-security the
# security archive. PGOPS_DEBIAN_MIRROR / PGOPS_DEBIAN_SECURITY_MIRROR override
# them (PGOPS_DEBIAN_SECURITY_MIRROR=none: no security archive).
#
# Image contents: minbase + postgresql, python3, python3-psycopg2, sudo, iproute2,
# procps, ca-certificates, systemd, systemd-sysv, dbus; no recommends, no
# docs/man pages/translations. Debian's cluster "<major> main" exists (stock
# config: listen_addresses=localhost, ssl=on with the snakeoil cert).
# CMD: sleep infinity; nothing runs, start the cluster with
#   docker exec CONTAINER pg_ctlcluster <major> main start
# Run with command /lib/systemd/systemd (and the flags in README.md) instead and
# systemd is PID 1: the unit postgresql@<major>-main starts the cluster at boot.
# Labels: org.pgops.pg_major=<major>, org.pgops.suite=SUITE, org.pgops.recipe.
set -eu

SUITE=${1:-bookworm}
TAG=${2:-pgops-lr/postgres:$SUITE}
# Bump when the image contents change: an image of another recipe is rebuilt.
RECIPE=2
HERE=$(cd "$(dirname "$0")" && pwd)

log() { printf 'build-image: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (mmdebstrap root mode, docker)"

if [ "${PGOPS_SKIP_ENSURE_DOCKER:-0}" != 1 ]; then
    "$HERE/ensure-docker.sh" || die "no docker engine"
fi

# One build at a time on this machine (parallel scenarios share the images).
mkdir -p /run/lock
exec 9>/run/lock/pgops-lr-build-image.lock
flock 9

have=$(docker image inspect -f '{{index .Config.Labels "org.pgops.recipe"}}' "$TAG" 2>/dev/null || true)
[ "$have" != "<no value>" ] || have=none
if [ "${PGOPS_REBUILD:-0}" != 1 ] && [ "$have" = "$RECIPE" ]; then
    log "$TAG exists; nothing to do"
    exit 0
fi
[ -z "$have" ] || [ "$have" = "$RECIPE" ] || log "$TAG is of recipe '$have', not $RECIPE: rebuilding"

command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap missing (ensure-docker.sh installs it)"

# --- mirrors from the host's apt sources -------------------------------------
# Prints "URI SUITE" for every enabled `deb` entry, one-line and deb822 formats.
list_sources() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '
            /^[ \t]*deb[ \t]/ {
                sub(/^[ \t]*deb[ \t]+/, "")
                if ($0 ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "")
                print $1, $2
            }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '
            function flush(   i, j, nu, ns, u, s) {
                if (isdeb && enabled) {
                    nu = split(uris, u, /[ \t]+/); ns = split(suites, s, /[ \t]+/)
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        if (u[i] != "" && s[j] != "") print u[i], s[j]
                }
                isdeb = 0; enabled = 1; uris = ""; suites = ""
            }
            BEGIN { enabled = 1 }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            {
                key = tolower($1); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
                if (key == "types:")   { isdeb = (" " val " " ~ /[ \t]deb[ \t]/) }
                else if (key == "uris:")    { uris = val }
                else if (key == "suites:")  { suites = val }
                else if (key == "enabled:") { enabled = (tolower(val) != "no") }
            }
            END { flush() }' "$f"
    done
}

# shellcheck disable=SC1091 # /etc/os-release is the host's file
host_codename=$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")
sources=$(list_sources)

mirror=${PGOPS_DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    [ -n "$host_codename" ] || die "cannot tell the host's suite (VERSION_CODENAME in /etc/os-release); set PGOPS_DEBIAN_MIRROR"
    mirror=$(printf '%s\n' "$sources" | awk -v s="$host_codename" '$2 == s { print $1; exit }')
    [ -n "$mirror" ] || die "no apt source for suite '$host_codename' in /etc/apt; set PGOPS_DEBIAN_MIRROR"
fi
security=${PGOPS_DEBIAN_SECURITY_MIRROR:-}
if [ -z "$security" ]; then
    security=$(printf '%s\n' "$sources" | awk -v s="$host_codename-security" '$2 == s { print $1; exit }')
fi
[ "$security" != none ] || security=""

src_main="deb $mirror $SUITE main"
src_updates=""
src_security=""
case $SUITE in
    sid|unstable|experimental) ;;
    *)
        src_updates="deb $mirror $SUITE-updates main"
        [ -z "$security" ] || src_security="deb $security $SUITE-security main"
        ;;
esac

# Carry over the host's apt settings that decide whether the mirror is usable
# (proxy, validity of old/snapshot Release files); mmdebstrap ignores the host's
# apt configuration otherwise.
aptopts_file=""
cleanup() {
    [ -z "${work:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
work=$(mktemp -d "${TMPDIR:-/var/tmp}/pgops-lr-image.XXXXXX")
aptopts_file="$work/host-apt.conf"
: >"$aptopts_file"
if command -v apt-config >/dev/null 2>&1; then
    apt-config dump 2>/dev/null | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy|ftp::Proxy|Retries) ' \
        >"$aptopts_file" || true
fi

# PostgreSQL's JIT provider pulls in libLLVM (~150 MB with libz3 and the bitcode);
# without the files PostgreSQL simply runs without JIT. PGOPS_IMAGE_JIT=1 keeps it.
set -- --dpkgopt='path-exclude=/usr/share/lintian/*'
if [ "${PGOPS_IMAGE_JIT:-0}" != 1 ]; then
    set -- "$@" \
        --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/bitcode/*' \
        --dpkgopt='path-exclude=/usr/lib/postgresql/*/lib/llvmjit*' \
        --dpkgopt='path-exclude=/usr/lib/*/libLLVM*' \
        --dpkgopt='path-exclude=/usr/lib/*/libz3.so*'
fi

log "building $TAG: suite=$SUITE mirror=$mirror security=${security:-none}"
start=$(date +%s)

# shellcheck disable=SC2016 # $1 in the hooks is expanded by mmdebstrap's shell
mmdebstrap \
    --variant=minbase \
    --mode=root \
    --format=tar \
    --components=main \
    --skip=cleanup/run \
    --include=postgresql,python3,python3-psycopg2,sudo,iproute2,procps,ca-certificates,systemd,systemd-sysv,dbus \
    --aptopt='APT::Install-Recommends "false"' \
    --aptopt='APT::Install-Suggests "false"' \
    --aptopt="$aptopts_file" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    "$@" \
    --customize-hook='set -e
        root=$1
        ver=$(ls "$root/usr/lib/postgresql" | sort -n | tail -n 1)
        [ -n "$ver" ] || { echo "no PostgreSQL installed" >&2; exit 1; }
        if [ -z "$(chroot "$root" pg_lsclusters -h)" ]; then
            chroot "$root" env LANG=C.UTF-8 LC_ALL=C.UTF-8 pg_createcluster "$ver" main
        fi
        chroot "$root" pg_lsclusters
        # the socket directory, so that pg_ctlcluster also works as user postgres
        chroot "$root" install -d -o postgres -g postgres -m 2775 /run/postgresql
        rm -f "$root/etc/hostname" "$root/run/adduser"
        # systemd as PID 1 (when a scenario asks for it): no getty, udev, time sync or timers
        for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
                    systemd-networkd-wait-online.service systemd-timesyncd.service apt-daily.timer \
                    apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
            ln -sf /dev/null "$root/etc/systemd/system/$unit"
        done
        rm -rf "$root/var/cache/apt/"*.bin "$root/var/log/"*.log "$root/var/log/apt/"*
        printf "%s\n" "$ver" >'"$work"'/pg_major' \
    "$SUITE" "$work/rootfs.tar" "$src_main" ${src_updates:+"$src_updates"} ${src_security:+"$src_security"}

pg_major=$(cat "$work/pg_major")
old_id=$(docker image inspect -f '{{.Id}}' "$TAG" 2>/dev/null || true)
docker import \
    --change 'CMD ["sleep", "infinity"]' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.pgops.pg_major=$pg_major org.pgops.suite=$SUITE org.pgops.recipe=$RECIPE" \
    --message "pgops-lr: Debian $SUITE + PostgreSQL $pg_major (mmdebstrap, recipe $RECIPE)" \
    "$work/rootfs.tar" "$TAG" >/dev/null

# A rebuild leaves the previous image untagged; drop it unless a container uses it.
new_id=$(docker image inspect -f '{{.Id}}' "$TAG")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
    docker rmi "$old_id" >/dev/null 2>&1 || true
fi

end=$(date +%s)
size=$(docker image inspect -f '{{.Size}}' "$TAG")
log "built $TAG (PostgreSQL $pg_major) in $((end - start)) s, $((size / 1048576)) MiB"
