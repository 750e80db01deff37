#!/usr/bin/env bash
# Two builds of the server under the same load in one run (docs/performance.md): the release
# server of REV (built in a git worktree under target/compare/) and of the working tree, each
# on a fresh SQLite file with one alias with a jwt_secret and one token, both running. Rounds
# alternate the servers — in turn `/healthz`, then the JWT retrieve of that one hot alias —
# and swap which goes first every round, so that a machine drifting between rounds favours
# neither. Prints each round, then the median of each build's per-round ratio to its own
# `/healthz` and the median per-round ratio of the two builds' retrieves (this tree ÷ REV).
#
#   scripts/bench-compare.sh REV [--duration SECS] [--rounds N] [--connections N]
#
# Needs wrk (Debian: apt-get install wrk), curl and python3. Tokens are signed with this tree's
# `aliaskit token sign`.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 1 ] || { echo "usage: $0 REV [--duration SECS] [--rounds N] [--connections N]" >&2; exit 2; }
REV=$1; shift
DURATION=5; ROUNDS=6; CONNECTIONS=32
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
COMMIT=$(git rev-parse --verify "$REV^{commit}")

TARGET="${CARGO_TARGET_DIR:-target}"
BASE_TREE="$TARGET/compare/$COMMIT"
if [ ! -d "$BASE_TREE" ]; then
  git worktree prune   # a worktree whose folder went with `cargo clean`
  git worktree add --detach "$BASE_TREE" "$COMMIT" >/dev/null
fi
echo "building $REV ($COMMIT) and this tree…" >&2
(cd "$BASE_TREE" && CARGO_TARGET_DIR="$PWD/../target" cargo build --release -q -p aliaskit-server)
cargo build --release -q -p aliaskit-server -p aliaskit-cli
CLI="$TARGET/release/aliaskit"   # signs both servers' tokens: the token format is the same
BINS=("$TARGET/compare/target/release/aliaskit-server" "$TARGET/release/aliaskit-server")
NAMES=("$REV" "this tree")

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

KEY="bench-org-key-0123456789abcdefghij"
SECRET="bench-secret-0123456789abcdef0123"
EXP=$(( $(date +%s) + 86400 ))
declare -a URLS TOKENS
for i in 0 1; do
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  ALIASKIT__DATABASE__URL="$WORK/db$i.sqlite" \
  ALIASKIT__SECURITY__MASTER_KEY=$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())') \
  ALIASKIT__SERVER__PORT=$port ALIASKIT__BOOTSTRAP__API_KEY=$KEY \
  ALIASKIT__LIMITS__RETRIEVE_PER_SECOND=0 ALIASKIT__LIMITS__ORG_PER_SECOND=0 \
    "${BINS[$i]}" >"$WORK/stdout$i" 2>"$WORK/server$i.log" &
  PIDS+=($!)
  ready=0
  for _ in $(seq 1 100); do
    curl -sf "$base/readyz" >/dev/null && { ready=1; break; }
    sleep 0.1
  done
  [ "$ready" = 1 ] || { echo "${NAMES[$i]}: the server did not become ready; its log:" >&2; cat "$WORK/server$i.log" >&2; exit 1; }
  id=$(curl -sf "$base/organization/api/v1/alias/create" -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' \
    -d "{\"type\":\"conference\",\"jwt_secret\":\"$SECRET\",\"stream_key\":\"sk\",\"expired_at\":$EXP}" |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["data"]["id"])')
  TOKENS[$i]=$("$CLI" token sign --secret "$SECRET" --alias "$id" --user-id bench --host --expires-in 86400)
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${TOKENS[$i]}" "$base/api/v1/alias/$id")
  [ "$code" = 200 ] || { echo "${NAMES[$i]}: the retrieve answered $code" >&2; exit 1; }
  URLS[$i]="$base|$base/api/v1/alias/$id"
done

rps() {
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "$@")
  if grep -q 'Non-2xx' <<<"$out"; then echo "$*: non-2xx answers" >&2; exit 1; fi
  grep -Eo 'Requests/sec:\s+[0-9.]+' <<<"$out" | grep -Eo '[0-9.]+$'
}

declare -a HEALTH HOT
for round in $(seq 1 "$ROUNDS"); do
  order=(0 1)
  [ $(( round % 2 )) = 0 ] && order=(1 0)
  for i in "${order[@]}"; do
    IFS='|' read -r base hot <<<"${URLS[$i]}"
    h=$(rps "$base/healthz")
    r=$(rps -H "Authorization: Bearer ${TOKENS[$i]}" "$hot")
    HEALTH[$i]="${HEALTH[$i]:-} $h"; HOT[$i]="${HOT[$i]:-} $r"
    printf 'round %s %s: /healthz %.0f req/s, hot alias %.0f req/s (%.2fx)\n' \
      "$round" "${NAMES[$i]}" "$h" "$r" "$(python3 -c "print($r/$h)")" >&2
  done
done

python3 - "${NAMES[0]}" "${HEALTH[0]}" "${HOT[0]}" "${NAMES[1]}" "${HEALTH[1]}" "${HOT[1]}" <<'PY'
import statistics, sys
a, ha, ra, b, hb, rb = sys.argv[1:]
ha, ra, hb, rb = ([float(x) for x in s.split()] for s in (ha, ra, hb, rb))
print(f"\n{len(ra)} rounds; medians of the per-round figures")
print("| build | /healthz req/s | hot alias req/s | hot alias ÷ /healthz |")
print("|---|---|---|---|")
for name, h, r in ((a, ha, ra), (b, hb, rb)):
    ratios = [x / y for x, y in zip(r, h)]
    print(f"| {name} | {statistics.median(h):.0f} | {statistics.median(r):.0f} | "
          f"{statistics.median(ratios):.2f} (rounds {min(ratios):.2f}–{max(ratios):.2f}) |")
per_round = [y / x for x, y in zip(ra, rb)]
print(f"hot alias, {b} ÷ {a} in the same round: {statistics.median(per_round):.2f} "
      f"(rounds {min(per_round):.2f}–{max(per_round):.2f})")
PY
