#!/usr/bin/env bash
# The container image (Containerfile), built and run on this machine with podman: exits 0 only
# when, with a read-only root filesystem,
#   1. on SQLite in a named /data volume: the first start prints the bootstrap key (read from
#      `podman logs`), the HEALTHCHECK passes, an alias is created with that key and retrieved
#      with a token signed by the image's `aliaskit token sign`, SIGTERM (`podman stop`) ends it
#      with status 0, and after a start of the same container the alias is still there and no
#      second key was printed;
#   2. on a fresh database of the local PostgreSQL, with a master key from the image's
#      `aliaskit keys generate` in the environment: the same.
# Containers, the volume and the database are removed on exit, whatever happened.
#
#   scripts/test-container.sh
#
# The runtime image is built with `--target runtime-prebuilt` from host binaries: those of
# $ALIASKIT_BIN_DIR, else ${CARGO_TARGET_DIR:-target}/debug (which `cargo test --workspace`
# has built in CI; built here if missing), stripped into the build context. The base image is
# made from Debian packages with debootstrap (no registry is reachable here), once: it is kept
# as aliaskit-base:bookworm and reused.
# Installs podman, runc and debootstrap with apt if missing.
# PostgreSQL: ALIASKIT_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# a user that may create databases.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
BASE_IMAGE=aliaskit-base:bookworm
IMAGE="localhost/aliaskit-test:$$"
PG_URL="${ALIASKIT_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BIN_DIR="${ALIASKIT_BIN_DIR:-${CARGO_TARGET_DIR:-target}/debug}"
NAME="aliaskit-test-$$"
VOLUME="$NAME-data"
DB="aliaskit_container_$$"

say() { printf 'test-container: %s\n' "$*"; }
fail() { printf 'test-container: FAILED: %s\n' "$*" >&2; exit 1; }

# What works on this machine: runc (crun fails), cgroupfs (no systemd cgroup manager), vfs.
pm() { podman --runtime runc --cgroup-manager cgroupfs --storage-driver vfs "$@"; }
RUN_FLAGS=(--network host --ulimit nofile=20000:20000 --ulimit nproc=1000:1000 --read-only)

if ! command -v podman >/dev/null || ! command -v debootstrap >/dev/null || ! command -v runc >/dev/null; then
  say "installing podman, runc and debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq podman runc debootstrap >/dev/null ||
    { apt-get update -qq && apt-get install -y -qq podman runc debootstrap >/dev/null; }
fi

work=$(mktemp -d)
cleanup() {
  local status=$?
  if [ $status -ne 0 ]; then
    for c in "$NAME-sqlite" "$NAME-pg"; do
      if pm container exists "$c" 2>/dev/null; then
        echo "--- logs of $c (last 15 lines) ---" >&2
        pm logs "$c" 2>&1 | grep -v '^ak_' | tail -15 >&2 || true
      fi
    done
  fi
  pm rm -f -v "$NAME-sqlite" "$NAME-pg" >/dev/null 2>&1 || true
  pm volume rm -f "$VOLUME" >/dev/null 2>&1 || true
  pm rmi -f "$IMAGE" >/dev/null 2>&1 || true
  psql "$PG_URL" -XAtqc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
  say "took $((SECONDS - started)) s"
  exit $status
}
trap cleanup EXIT

# --- the base image, made once ---------------------------------------------------------------
if pm image exists "$BASE_IMAGE"; then
  say "base image $BASE_IMAGE: cached"
else
  say "making the base image $BASE_IMAGE with debootstrap (once)"
  root="$work/rootfs"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
  # What debian:bookworm-slim leaves out too: package lists, caches, docs.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/*
  tar -C "$root" -c . | pm import --quiet - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
fi

# --- the runtime image, from host binaries ---------------------------------------------------
if [ ! -x "$BIN_DIR/aliaskit-server" ] || [ ! -x "$BIN_DIR/aliaskit" ]; then
  say "no binaries in $BIN_DIR: building them (cargo build)"
  cargo build --quiet -p aliaskit-server -p aliaskit-cli
  BIN_DIR="${CARGO_TARGET_DIR:-target}/debug"
fi
mkdir -p "$work/context/bin"
for bin in aliaskit-server aliaskit; do
  strip -o "$work/context/bin/$bin" "$BIN_DIR/$bin"
done
# Docker format: the OCI image format has no HEALTHCHECK. No intermediate layers: with vfs each
# is a full copy of the file system (a minute of copying for nothing).
pm build --quiet --layers=false --format docker --target runtime-prebuilt --build-arg BASE="$BASE_IMAGE" \
  -t "$IMAGE" -f Containerfile "$work/context" >/dev/null
say "built $IMAGE from $BIN_DIR"

# --- helpers ---------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE_URL="http://127.0.0.1:$PORT"

# Waits until the container's own HEALTHCHECK passes (`podman healthcheck run`).
wait_healthy() {
  local c=$1
  for _ in $(seq 1 120); do
    if pm healthcheck run "$c" >/dev/null 2>&1; then return 0; fi
    [ "$(pm inspect --format '{{.State.Running}}' "$c")" = true ] || fail "$c exited"
    sleep 0.5
  done
  fail "$c did not become healthy in 60 s"
}

# The keys the container printed on stdout (the logs are JSON lines on stderr).
printed_keys() { pm logs "$1" 2>/dev/null | grep -E '^ak_[A-Za-z0-9_-]+$' || true; }

# Stops with SIGTERM and asserts a clean exit: status 0, "aliaskit-server stopped" logged.
stop_cleanly() {
  local c=$1
  local before code logs
  before=$(pm logs "$c" 2>&1 | grep -c 'aliaskit-server stopped' || true)
  pm stop -t 40 "$c" >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; fail "podman stop $c"; }
  code=$(pm inspect --format '{{.State.ExitCode}}' "$c")
  [ "$code" = 0 ] || fail "$c exited $code on SIGTERM"
  logs=$(pm logs "$c" 2>&1)
  [ "$(printf '%s\n' "$logs" | grep -c 'aliaskit-server stopped')" = $((before + 1)) ] ||
    fail "$c did not log its clean stop"
}

# GET $1 with bearer $2: the status, and the body in $work/body.
get() {
  curl -sS -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $2" "$BASE_URL$1"
}

# The whole flow in container $1, started by `pm run` with the extra arguments that follow.
flow() {
  local c=$1; shift
  # podman would run the HEALTHCHECK from systemd timers, which it cannot reach here, and says
  # so on stderr: it is run by hand below (`podman healthcheck run`).
  pm run -d --name "$c" "${RUN_FLAGS[@]}" -e ALIASKIT__SERVER__PORT="$PORT" "$@" "$IMAGE" \
    >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; fail "podman run $c"; }
  wait_healthy "$c"
  local key
  key=$(printed_keys "$c")
  [ "$(printf '%s\n' "$key" | grep -c .)" = 1 ] || fail "$c: the first start printed no bootstrap key"
  say "$c: healthy on port $PORT, bootstrap key printed"

  local secret id status token
  secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  status=$(curl -sS -o "$work/created" -w '%{http_code}' -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' \
    -d "{\"type\":\"conference\",\"name\":\"Container Alias\",\"jwt_secret\":\"$secret\",\"expired_at\":$(($(date +%s) + 86400))}" \
    "$BASE_URL/organization/api/v1/alias/create")
  [ "$status" = 200 ] || fail "$c: create answered $status: $(cat "$work/created")"
  id=$(jq -er .data.id "$work/created")
  token=$(pm exec "$c" aliaskit token sign --secret "$secret" --alias "$id" --user-id container-test \
    --expires-in 600)
  status=$(get "/api/v1/alias/$id" "$token")
  [ "$status" = 200 ] || fail "$c: retrieve answered $status: $(cat "$work/body")"
  [ "$(jq -r .data.name "$work/body")" = "Container Alias" ] || fail "$c: retrieved $(cat "$work/body")"
  say "$c: alias $id created and retrieved with a token"

  stop_cleanly "$c"
  say "$c: stopped by SIGTERM, status 0"
  pm start "$c" >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; fail "podman start $c"; }
  wait_healthy "$c"
  status=$(get "/api/v1/alias/$id" "$token")
  [ "$status" = 200 ] || fail "$c: after the restart, retrieve answered $status: $(cat "$work/body")"
  status=$(get "/organization/api/v1/aliases" "$key")
  [ "$status" = 200 ] || fail "$c: after the restart, the key is refused ($status)"
  [ "$(printed_keys "$c" | grep -c .)" = 1 ] || fail "$c: the restart printed another key"
  say "$c: restarted, the alias and the key are still there"
  stop_cleanly "$c"
}

# --- 1. SQLite in the /data volume -----------------------------------------------------------
pm volume create "$VOLUME" >/dev/null
flow "$NAME-sqlite" -v "$VOLUME:/data"
pm run --rm "${RUN_FLAGS[@]}" -v "$VOLUME:/data" --entrypoint /bin/sh "$IMAGE" -c \
  'test "$(stat -c %a /data/aliaskit.db /data/aliaskit.key | sort -u)" = 600' 2>"$work/run.err" ||
  fail "the database and key file in /data are not 0600"
say "sqlite: passed (database and key file in the volume, mode 0600)"

# --- 2. PostgreSQL, master key in the environment --------------------------------------------
psql "$PG_URL" -XAtqc "CREATE DATABASE $DB" >/dev/null
db_url="${PG_URL%/*}/$DB"
ALIASKIT__SECURITY__MASTER_KEY=$(pm run --rm "${RUN_FLAGS[@]}" --entrypoint aliaskit "$IMAGE" keys generate 2>/dev/null)
export ALIASKIT__SECURITY__MASTER_KEY
# `-e NAME` without a value passes the variable on: the key stays out of the process list.
flow "$NAME-pg" -e ALIASKIT__DATABASE__URL="$db_url" -e ALIASKIT__SECURITY__MASTER_KEY
say "postgres: passed"

say "all passed"
