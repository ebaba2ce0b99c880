#!/bin/bash
# Run the AWX project's playbooks (examples/awx: setup.yml, then status.yml) from the execution
# environment image through ansible-runner, as AWX does, against a PostgreSQL pair in containers:
#   rhino (publisher) and hippo (subscriber), from the molecule base image
#   (pgops-lr/postgres:bookworm), on a docker network created internal: true.
# ansible-runner starts the EE container (process isolation, docker); the playbooks reach the
# pair with community.docker.docker_api through the docker socket mounted into it.
# Checks: setup.yml succeeds, a row inserted on rhino afterwards arrives on hippo, status.yml
# succeeds and returns the subscription, streaming, in its artifacts (set_stats, as AWX shows them). Removes the pair at the end.
# Usage: examples/ee/check.sh   (root; builds the image first with examples/ee/build.sh if missing)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TAG=${PGOPS_EE_TAG:-pgops-lr/ee:latest}
BASE=pgops-lr/postgres:bookworm
NET=pgops-ee-check
PUB=pgops-ee-rhino
SUB=pgops-ee-hippo
RUNNER=$REPO/.venv-ee/bin/ansible-runner
DATA=$(mktemp -d "${TMPDIR:-/tmp}/pgops-ee-check.XXXXXX")

log() { printf 'ee-check: %s\n' "$*" >&2; }
cleanup() {
    docker rm -f "$PUB" "$SUB" >/dev/null 2>&1 || true
    docker network rm "$NET" >/dev/null 2>&1 || true
    rm -rf "$DATA"
}
on_exit() { local rc=$?; cleanup; exit "$rc"; }
trap on_exit EXIT

docker image inspect "$TAG" >/dev/null 2>&1 || "$HERE/build.sh"
[ -x "$RUNNER" ] || "$HERE/build.sh"

cleanup
mkdir -p "$DATA"
docker network create --internal "$NET" >/dev/null
for c in "$PUB" "$SUB"; do
    docker run -d --name "$c" --hostname "${c#pgops-ee-}" --network "$NET" "$BASE" sleep infinity >/dev/null
    docker exec "$c" sh -c "echo \"listen_addresses = '*'\" > /etc/postgresql/15/main/conf.d/listen.conf"
    docker exec -u postgres "$c" pg_ctlcluster 15 main start
    docker exec -u postgres "$c" sh -c 'until pg_isready -q; do sleep 0.2; done; createdb zoo'
done
docker exec -u postgres "$PUB" psql -XAtq -d zoo -v ON_ERROR_STOP=1 \
    -c "CREATE TABLE public.abc (id int PRIMARY KEY, v text)" \
    -c "INSERT INTO public.abc SELECT g, 'row ' || g FROM generate_series(1, 100) g"
ip_of() { docker inspect -f "{{ (index .NetworkSettings.Networks \"$NET\").IPAddress }}" "$1"; }

# ansible-runner's private data dir: the AWX project's wrapper playbooks, an inventory of the pair.
mkdir -p "$DATA/project" "$DATA/inventory"
cp "$REPO/examples/awx/setup.yml" "$REPO/examples/awx/status.yml" "$DATA/project/"
cat > "$DATA/inventory/hosts.yml" <<EOF
all:
  vars:
    ansible_connection: community.docker.docker_api
    ansible_python_interpreter: /usr/bin/python3
    logical_replication:
      - {name: zoo, publisher: rhino, subscriber: hippo, database: zoo, tables: [public.abc],
         user: logic, password: ee-check-password}
  hosts:
    rhino: {ansible_host: $PUB, server_address: "$(ip_of "$PUB")"}
    hippo: {ansible_host: $SUB, server_address: "$(ip_of "$SUB")"}
EOF

run() {
    log "ansible-runner: $1 in $TAG"
    local start=$SECONDS
    # As root in the EE container: it talks to the docker socket (root:docker 0660 on the host).
    "$RUNNER" run "$DATA" -p "$1" --ident "$2" \
        --process-isolation --process-isolation-executable docker --container-image "$TAG" \
        --container-volume-mount /var/run/docker.sock:/var/run/docker.sock \
        --container-option=--user=0 --container-option=--network=none
    log "$1: rc=$(cat "$DATA/artifacts/$2/rc") in $((SECONDS - start)) s"
    [ "$(cat "$DATA/artifacts/$2/rc")" = 0 ]
}

run setup.yml setup
docker exec -u postgres "$PUB" psql -XAtq -d zoo -c "INSERT INTO public.abc VALUES (101, 'after setup')"
for _ in $(seq 1 50); do
    got=$(docker exec -u postgres "$SUB" psql -XAt -d zoo -c "SELECT count(*) FROM public.abc") || got=""
    [ "$got" = 101 ] && break
    sleep 0.2
done
[ "$got" = 101 ] || { log "hippo has $got rows of public.abc, expected 101"; exit 1; }
log "hippo has all 101 rows of public.abc (100 copied, 1 replicated after setup)"

run status.yml status
"$REPO/.venv/bin/python" - "$DATA/artifacts/status/job_events" <<'PY'
import glob, json, os, sys
data = {}
for path in glob.glob(os.path.join(sys.argv[1], '*.json')):
    with open(path) as handle:
        event = json.load(handle)
    data.update(event.get('event_data', {}).get('artifact_data') or {})
rows = (data.get('logical_replication_status') or {}).get('subscriptions')
assert rows and len(rows) == 1 and rows[0]['name'] == 'zoo' and rows[0]['state'] == 'streaming', \
    'status.yml artifacts: %r' % (data,)
print('ee-check: status row: %s' % json.dumps(rows[0], sort_keys=True), file=sys.stderr)
PY
log "passed: setup.yml and status.yml ran from $TAG through ansible-runner"
