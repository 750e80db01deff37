#!/usr/bin/env bash
# The audit trail at size (docs/performance.md#audit-trail): the release server on a database
# whose organization has 1,000 audit entries, then one with 1,000,000, each answering in the same
# run: the first page of GET /organization/api/v1/audit, a page filtered by action, one filtered
# by target (each target has 100 entries at either size, so both pages are full), and a page
# from the middle of the trail (a cursor). Prints requests/s and p99 of
# each at both sizes, and the ratio of the large to the small.
#
#   scripts/bench-audit.sh [--postgres URL] [--duration SECS] [--large N]
#
# Needs wrk (Debian: apt-get install wrk), curl, and sqlite3 or psql.
set -euo pipefail
cd "$(dirname "$0")/.."

POSTGRES=""; DURATION=5; LARGE=1000000; SMALL=1000
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) POSTGRES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --large) LARGE=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

cargo build --release -q -p aliaskit-server
BIN="${CARGO_TARGET_DIR:-target}/release"
WORK=$(mktemp -d)
KEY="bench-org-key-0123456789abcdefghij"
MASTER=$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')
SERVER=""; DBNAME=""
cleanup() {
  [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  [ -n "$DBNAME" ] && psql "$POSTGRES" -XAtqc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# sql TEXT: runs TEXT on the current database.
sql() {
  if [ -n "$POSTGRES" ]; then psql "$DB_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; else sqlite3 "$DB_URL" "$1"; fi
}

# wrk output → "req/s p99_ms"
measure() {
  wrk -t1 -c8 -d"${DURATION}s" --latency -H "Authorization: Bearer $KEY" "$1" | python3 -c '
import re, sys
out = sys.stdin.read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(\w+)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
print(f"{rps:.0f} {p99:.3f}")'
}

declare -A RPS P99
for N in "$SMALL" "$LARGE"; do
  if [ -n "$POSTGRES" ]; then
    DBNAME="aliaskit_audit_bench_$$_$N"
    psql "$POSTGRES" -XAtqc "CREATE DATABASE $DBNAME" >/dev/null
    DB_URL="${POSTGRES%/*}/$DBNAME"
  else
    DB_URL="$WORK/audit-$N.db"
  fi
  PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  BASE="http://127.0.0.1:$PORT"
  ALIASKIT__DATABASE__URL="$DB_URL" ALIASKIT__SECURITY__MASTER_KEY="$MASTER" \
  ALIASKIT__SERVER__PORT=$PORT ALIASKIT__BOOTSTRAP__API_KEY=$KEY \
  ALIASKIT__LIMITS__ORG_PER_SECOND=0 \
    "$BIN/aliaskit-server" >"$WORK/stdout" 2>"$WORK/server.log" &
  SERVER=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.1; done
  ORG=$(sql "SELECT id FROM organizations WHERE name = 'default'")
  echo "writing $N audit entries…" >&2
  ROWS="$N"
  if [ -n "$POSTGRES" ]; then
    SERIES="generate_series(1, $ROWS) AS s(x)"
  else
    SERIES="(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < $ROWS) SELECT x FROM c)"
  fi
  sql "INSERT INTO audit_log (at, org_id, org_name, actor_kind, actor_id, action, target, changes)
       SELECT 1765000000 + x, $ORG, 'default', 'api_key', 'default/00000000',
              CASE x % 3 WHEN 0 THEN 'alias.create' WHEN 1 THEN 'alias.update' ELSE 'alias.rotate_secret' END,
              'alias-' || (x % $(( N / 100 ))), 'name' FROM $SERIES" >/dev/null
  if [ -n "$POSTGRES" ]; then sql "ANALYZE audit_log" >/dev/null; else sql "ANALYZE" >/dev/null; fi
  MIDDLE=$(python3 -c "import base64;print(base64.urlsafe_b64encode(b'audit:$(( N / 2 ))').decode().rstrip('='))")
  declare -A URLS=(
    [first_page]="$BASE/organization/api/v1/audit?limit=50"
    [by_action]="$BASE/organization/api/v1/audit?limit=50&action=alias.rotate_secret"
    [by_target]="$BASE/organization/api/v1/audit?limit=50&target=alias-7"
    [middle_page]="$BASE/organization/api/v1/audit?limit=50&after=$MIDDLE"
  )
  for name in first_page by_action by_target middle_page; do
    code=$(curl -s -o "$WORK/page.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" "${URLS[$name]}")
    [ "$code" = 200 ] || { echo "${URLS[$name]} answered $code: $(cat "$WORK/page.json")" >&2; exit 1; }
    read -r rps p99 < <(measure "${URLS[$name]}")
    RPS[$name,$N]=$rps; P99[$name,$N]=$p99
    echo "$N entries, $name: $rps req/s, p99 $p99 ms" >&2
  done
  kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""
  if [ -n "$DBNAME" ]; then psql "$POSTGRES" -XAtqc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null; DBNAME=""; fi
done

printf '\n%s, 8 connections, %s s per page (release build)\n' \
  "$([ -n "$POSTGRES" ] && echo PostgreSQL || echo SQLite)" "$DURATION"
printf '| page | req/s at %s | p99 ms | req/s at %s | p99 ms | ratio |\n|---|---|---|---|---|---|\n' "$SMALL" "$LARGE"
for name in first_page by_action by_target middle_page; do
  printf '| %s | %s | %s | %s | %s | %.2f |\n' "$name" "${RPS[$name,$SMALL]}" "${P99[$name,$SMALL]}" \
    "${RPS[$name,$LARGE]}" "${P99[$name,$LARGE]}" "$(python3 -c "print(${RPS[$name,$LARGE]}/${RPS[$name,$SMALL]})")"
done
