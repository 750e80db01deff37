#!/usr/bin/env bash
# HTTP load harness (docs/performance.md): starts the release server, prepares an alias with a
# jwt_secret, one with a passcode and an OpenCAP address, then measures in one run, alternating
# rounds: /healthz, the JWT retrieve, the passcode retrieve and the OpenCAP single-address lookup.
# Prints requests/s, p50/p99 latency and the server's peak RSS for each, each route's
# throughput as a ratio of /healthz, and the server's CPU time per request (user + system, all
# its threads, over the run: on two cores shared with wrk, what a route costs the server apart
# from what wrk costs; for the login-burst and hanging-receiver rows it includes that work) and
# wrk's own (user + system over its whole run, its script's loading included: what the load
# generator took of the two cores, so that loads are compared at a like cost to generate), and
# on PostgreSQL the database's (every PostgreSQL process on this machine, read from /proc:
# its side of each cache miss, which shares the two cores too).
#
#   scripts/bench-http.sh [--postgres URL] [--aliases N] [--duration SECS] [--rounds N]
#                         [--connections N] [--login-burst N] [--hanging-receiver]
#                         [--many N] [--profile NAME]
#
# --postgres URL  run on PostgreSQL (a fresh database is created on that server and dropped)
# --aliases N     fill the database with N aliases first (bulk loader) — for the size test
# --login-burst N also measure the JWT retrieve while N concurrent OpenCAP logins run
# --hanging-receiver  also measure the JWT retrieve while every webhook sender waits on a
#                 receiver that takes requests and never answers (a backlog of events to it)
# --many N        the realistic load: N aliases (200000 is the issue's size) bulk-loaded, a
#                 distinct token per alias, and the JWT retrieve driven over a Zipf (s = 1.0)
#                 sequence of the first 50,000 and a uniform one over all N, in rounds that
#                 also run /healthz and the one hot alias (many_* rows: the median of each
#                 round's ratio to that round's /healthz, and the Zipf and uniform loads'
#                 ratios to the same round's hot alias, and the cache's hit rates); before
#                 the rounds, two passes of each sequence warm the cache and are printed but
#                 not counted; then alias creates/s and updates/s (updates over the first 50,000)
# --profile NAME  the cargo profile to build and run (default release, stripped);
#                 `profiling` keeps symbols and debug info, for `perf record` during the run
#
# Needs wrk (Debian: apt-get install wrk) and curl.
set -euo pipefail
cd "$(dirname "$0")/.."

POSTGRES=""; ALIASES=0; DURATION=10; ROUNDS=3; CONNECTIONS=32; BURST=0; PROFILE=release; HANG=0
MANY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) POSTGRES=$2; shift 2 ;;
    --aliases) ALIASES=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --login-burst) BURST=$2; shift 2 ;;
    --hanging-receiver) HANG=1; shift ;;
    --many) MANY=$2; shift 2 ;;
    --profile) PROFILE=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

# The median of whitespace-separated numbers on stdin.
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

cargo build --profile "$PROFILE" -q -p aliaskit-server -p aliaskit-cli -p aliaskit-bench
BIN="${CARGO_TARGET_DIR:-target}/$PROFILE"
WORK=$(mktemp -d)
KEY="bench-org-key-0123456789abcdefghij"
MASTER=$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
DBNAME=""
if [ -n "$POSTGRES" ]; then
  DBNAME="aliaskit_bench_$$"
  psql "$POSTGRES" -XAtqc "CREATE DATABASE $DBNAME" >/dev/null
  # The URL with the new database's name, its parameters (?sslmode=…) kept.
  base=${POSTGRES%%\?*}
  DB_URL="${base%/*}/$DBNAME${POSTGRES#"$base"}"
else
  DB_URL="$WORK/aliaskit.db"
fi

cleanup() {
  [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
  [ -n "${RECEIVER:-}" ] && kill "$RECEIVER" 2>/dev/null
  [ -n "$DBNAME" ] && psql "$POSTGRES" -XAtqc "DROP DATABASE IF EXISTS $DBNAME WITH (FORCE)" >/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

export ALIASKIT__DATABASE__URL="$DB_URL" ALIASKIT__SECURITY__MASTER_KEY="$MASTER"

ALIASKIT__SERVER__PORT=$PORT ALIASKIT__BOOTSTRAP__API_KEY=$KEY \
ALIASKIT__LIMITS__RETRIEVE_PER_SECOND=0 ALIASKIT__LIMITS__ORG_PER_SECOND=0 \
ALIASKIT__OPENCAP__AUTH_LIMIT_PER_MINUTE=0 ALIASKIT__OPENCAP__DOMAINS=example.com \
ALIASKIT__OPENCAP__OPEN_SIGNUP=true ALIASKIT__DATABASE__POOL_SIZE=${POOL_SIZE:-16} \
ALIASKIT__WEBHOOKS__ALLOW_INSECURE=true ALIASKIT__WEBHOOKS__ALLOW_PRIVATE_TARGETS=true \
  "$BIN/aliaskit-server" >"$WORK/stdout" 2>"$WORK/server.log" &
SERVER=$!
ready=0
for _ in $(seq 1 100); do
  kill -0 "$SERVER" 2>/dev/null || break
  curl -sf "$BASE/readyz" >/dev/null && { ready=1; break; }
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "the server did not become ready; its log:" >&2
  cat "$WORK/server.log" >&2
  exit 1
fi

# Filled once the server has made its bootstrap organization: the bootstrap key applies to an
# empty database only.
if [ "$ALIASES" -gt 0 ]; then
  echo "filling the database with $ALIASES aliases…" >&2
  "$BIN/bulk-load" --count "$ALIASES" >&2
fi
if [ "$MANY" -gt 0 ]; then
  echo "loading $MANY aliases for the realistic load…" >&2
  "$BIN/bulk-load" --count "$MANY" --ids "$WORK/ids" --tokens "$WORK/tokens" >&2
fi

json() { python3 -c "import json,sys;print(json.load(sys.stdin)$1)"; }
post() { curl -sf -X "${3:-POST}" "$BASE$1" -H "Authorization: Bearer ${4:-$KEY}" -H 'Content-Type: application/json' -d "$2"; }
EXP=$(( $(date +%s) + 86400 ))
SECRET="bench-secret-0123456789abcdef0123"
JWT_ALIAS=$(post /organization/api/v1/alias/create "{\"type\":\"conference\",\"jwt_secret\":\"$SECRET\",\"stream_key\":\"sk\",\"expired_at\":$EXP}" | json '["data"]["id"]')
PASS_ALIAS=$(post /organization/api/v1/alias/create "{\"type\":\"live\",\"passcode\":\"bench-pass\",\"expired_at\":$EXP}" | json '["data"]["id"]')
TOKEN=$("$BIN/aliaskit" token sign --secret "$SECRET" --alias "$JWT_ALIAS" --user-id bench --host --expires-in 86400)
post /v1/users '{"alias":"bench$example.com","password":"bench-password"}' >/dev/null
CAP_JWT=$(post /v1/auth '{"alias":"bench$example.com","password":"bench-password"}' | json '["jwt"]')
post /v1/addresses '{"address_type":100,"address":"1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"}' PUT "$CAP_JWT" >/dev/null

# route name | URL | extra header
ROUTES=(
  "healthz|$BASE/healthz|"
  "jwt_retrieve|$BASE/api/v1/alias/$JWT_ALIAS|Authorization: Bearer $TOKEN"
  "passcode_retrieve|$BASE/api/v1/alias/$PASS_ALIAS?passcode=bench-pass|"
  "opencap_lookup|$BASE/v1/addresses?alias=bench%24example.com&address_type=100|"
)
for r in "${ROUTES[@]}"; do
  IFS='|' read -r _ url header <<<"$r"
  code=$(curl -s -o /dev/null -w '%{http_code}' ${header:+-H "$header"} "$url")
  [ "$code" = 200 ] || { echo "warm-up of $url answered $code" >&2; exit 1; }
done

peak_rss() { awk '/VmHWM/ {print int($2/1024)}' "/proc/$SERVER/status"; }

# The server's CPU time so far (user + system), in clock ticks.
server_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
TICKS=$(getconf CLK_TCK)
# On PostgreSQL, the CPU time so far of every PostgreSQL process on this machine (its backends
# and its background processes), in clock ticks: the database shares the cores with the server
# and wrk, and a miss costs it a round trip. Empty on SQLite (in the server's process) and where
# its processes cannot be read.
db_ticks() {
  [ -n "$POSTGRES" ] || return 0
  # A process may end between the listing and the reading: cat then fails, the rest counts.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } |
    awk '$2 == "(postgres)" {s += $14 + $15; n++} END {if (n) print s}'
}

# wrk output → "req/s p50_ms p99_ms server_cpu_us wrk_cpu_us db_cpu_us": server_cpu_us is the
# server's CPU time (user + system, every thread) during the run divided by the requests wrk
# counted — what one request costs the server, whatever share of the two cores wrk took that
# round; wrk_cpu_us is wrk's own CPU time divided the same way, db_cpu_us PostgreSQL's
# (db_ticks; "-" where there is none to count).
measure() {
  local url=$1 header=$2 script=${3:-}
  local out args=(-t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency) ticks0 ticks1 wrk_time db0 db1
  local TIMEFORMAT='%3U %3S'
  [ -n "$header" ] && args+=(-H "$header")
  [ -n "$script" ] && args+=(-s "$script")
  ticks0=$(server_ticks); db0=$(db_ticks)
  wrk_time=$( { time wrk "${args[@]}" "$url" >"$WORK/wrk.out" 2>&3; } 3>&2 2>&1 )
  out=$(<"$WORK/wrk.out")
  ticks1=$(server_ticks); db1=$(db_ticks)
  local errors
  errors=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' <<<"$out" | grep -Eo '[0-9]+$' || true)
  [ -z "$errors" ] || { echo "$url: $errors non-2xx answers" >&2; exit 1; }
  python3 - "$out" "$(( ticks1 - ticks0 ))" "$TICKS" "$wrk_time" "$db0" "$db1" <<'EOF'
import re, sys
out, ticks, hz = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wrk_secs = sum(map(float, sys.argv[4].split()))
db_ticks = int(sys.argv[6]) - int(sys.argv[5]) if sys.argv[5] and sys.argv[6] else None
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s|m)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
try:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    # Anchored: "+/- Stdev" columns end in "…50%" too.
    p50 = ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
except (AttributeError, ValueError):
    sys.exit("cannot read this wrk output:\n" + out)
per_request = 1e6 / max(requests, 1)
db = "-" if db_ticks is None else f"{db_ticks / hz * per_request:.1f}"
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {ticks / hz * per_request:.1f} {wrk_secs * per_request:.1f} {db}")
EOF
}

declare -A RPS P50 P99 CPU WRK_CPU DB_CPU
# Appends measurement $2 (a line of measure's) of route $1 to its rounds. Callers assign the
# measurement first (m=$(measure …)): a failed measure then stops the script (set -e), where
# it would not as an argument.
record() {
  local rps p50 p99 cpu wcpu dcpu
  read -r rps p50 p99 cpu wcpu dcpu <<<"$2"
  RPS[$1]+=" $rps"; P50[$1]+=" $p50"; P99[$1]+=" $p99"
  CPU[$1]+=" $cpu"; WRK_CPU[$1]+=" $wcpu"; DB_CPU[$1]+=" $dcpu"
}
# Measurement $1 (a line of measure's) in words, for a round's line.
described() {
  local rps p50 p99 cpu wcpu dcpu
  read -r rps p50 p99 cpu wcpu dcpu <<<"$1"
  echo "$rps req/s, p50 $p50 ms, p99 $p99 ms, CPU µs/request: server $cpu, wrk $wcpu, database $dcpu"
}
for round in $(seq 1 "$ROUNDS"); do
  for r in "${ROUTES[@]}"; do
    IFS='|' read -r name url header <<<"$r"
    m=$(measure "$url" "$header")
    record "$name" "$m"
    echo "round $round $name: $(described "$m")" >&2
  done
done

if [ "$MANY" -gt 0 ]; then
  # Each alias's request with its token (from bulk-load) written out in full (one file, with a
  # file of where each starts), and two sequences of alias indexes:
  # Zipf (s = 1.0) over the first 50,000, as room popularity is skewed, and uniform over all.
  # Numbers are written as 32-bit integers, so that wrk reads them without parsing text.
  python3 - "$WORK" "$MANY" "127.0.0.1:$PORT" <<'PY'
import bisect, itertools, random, struct, sys
work, n, host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
requests, starts = bytearray(), [0]
for line in itertools.islice(open(f"{work}/tokens"), n):
    i, token = line.split()
    # As wrk.format writes a request, and as wrk sends the hot alias's.
    requests += (f"GET /api/v1/alias/{i} HTTP/1.1\r\nHost: {host}\r\n"
                 f"Authorization: Bearer {token}\r\n\r\n").encode()
    starts.append(len(requests))
ints = lambda name, values: open(f"{work}/{name}", "wb").write(struct.pack(f"<{len(values)}i", *values))
open(f"{work}/requests", "wb").write(requests)
ints("starts", starts)
rng = random.Random(7)
count = len(starts) - 1
hot = min(50_000, count)
cum = list(itertools.accumulate(1 / k for k in range(1, hot + 1)))
ints("zipf", [bisect.bisect(cum, rng.random() * cum[-1]) for _ in range(1_000_000)])
ints("uniform", [rng.randrange(count) for _ in range(1_000_000)])
PY
  # Each wrk thread reads the requests and a sequence, and sends each request as it was read.
  # wrk loads a thread's script while the threads before it already send requests (which it
  # counts, though the timed run has not begun), and a script that makes garbage per request
  # has its collector walk everything it holds: so the files are read whole in init(), into
  # one string and two arrays outside the collector's heap, and a request is a slice of that
  # string. Building each request in Lua from text tables cost wrk twice the CPU per request
  # of the static hot alias (docs/performance.md).
  for seq in zipf uniform; do
    cat >"$WORK/$seq.lua" <<LUA
local ffi = require("ffi")
local function ints(path)
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("*a")
  f:close()
  local array = ffi.new("int32_t[?]", #bytes / 4)
  ffi.copy(array, bytes, #bytes)
  return array, #bytes / 4
end
local requests, starts, seq, n, i
-- Each thread of each round starts at its own random place: replaying one stretch of the
-- sequence in lockstep, or in every round, would find what the other thread or the last round
-- put in the cache.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
function init(args)
  local f = assert(io.open("$WORK/requests", "rb"))
  requests = f:read("*a")
  f:close()
  starts = ints("$WORK/starts")
  seq, n = ints("$WORK/$seq")
  math.randomseed(os.time() * 100 + id)
  i = math.random(n) - 1
end
function request()
  i = (i + 1) % n
  local k = seq[i]
  return requests:sub(starts[k] + 1, starts[k + 1])
end
LUA
  done
  # /healthz and the one hot alias run again in these rounds, alternating with the two
  # sequences, so that their ratios compare loads measured minutes apart on a drifting machine
  # as little as possible.
  # The alias cache's hits and misses so far ("hits misses"), from /metrics.
  alias_reads() {
    curl -s "$BASE/metrics" | awk '/^aliaskit_cache_reads_total\{cache="alias",result="hit"\}/ {h=$2}
      /^aliaskit_cache_reads_total\{cache="alias",result="miss"\}/ {m=$2} END {print h+0, m+0}'
  }
  IFS='|' read -r _ hot_url hot_header <<<"${ROUTES[1]}"
  # One measurement of load $1 (healthz, hot, zipf or uniform) → "hits% " and measure's line,
  # hits% being the share of its alias reads the cache answered (from /metrics).
  many_pass() {
    local hits0 misses0 hits misses m
    read -r hits0 misses0 < <(alias_reads)
    case $1 in
      healthz) m=$(measure "$BASE/healthz" "") ;;
      hot) m=$(measure "$hot_url" "$hot_header") ;;
      *) m=$(measure "$BASE/api/v1/alias/x" "" "$WORK/$1.lua") ;;
    esac
    read -r hits misses < <(alias_reads)
    echo "$(python3 -c "h, m = $hits - $hits0, $misses - $misses0; print(f'{100 * h / max(h + m, 1):.1f}')") $m"
  }
  # Two passes of each sequence first, not counted: the rounds measure a server whose cache
  # holds what the load keeps reading, as on a server that has run a while, not one just
  # started (in the first pass most of the Zipf set is read for the first time; after one
  # pass of each, the first round's Zipf load often found only 89-90 % of its reads cached,
  # the later rounds 94-99 %: the Zipf set's tail had been read too few times for the cache's
  # admission to keep it through a uniform pass). Printed all the same.
  for pass in 1 2; do
    for seq in zipf uniform; do
      read -r share m < <(many_pass "$seq")
      echo "warm-up $pass, not counted: many aliases, $seq: $(described "$m"); cache hits $share %" >&2
    done
  done
  declare -A HITS
  for round in $(seq 1 "$ROUNDS"); do
    for seq in healthz hot zipf uniform; do
      read -r share m < <(many_pass "$seq")
      record "many_$seq" "$m"
      hit_rate=""
      if [ "$seq" != healthz ]; then
        HITS[$seq]="${HITS[$seq]:-} $share"
        hit_rate="; cache hits $share %"
      fi
      echo "round $round many aliases, $seq: $(described "$m")$hit_rate" >&2
    done
  done
fi

ROUTES_RSS=$(peak_rss)
if [ "$BURST" -gt 0 ]; then
  IFS='|' read -r _ url header <<<"${ROUTES[1]}"
  # N concurrent logins (argon2id) from one light wrk thread (a loop of curl processes would
  # take the CPU from the server itself); quiet and during alternate, a pair per round.
  cat >"$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"alias":"bench$example.com","password":"bench-password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
  LOGINS=""
  for round in $(seq 1 "$ROUNDS"); do
    m=$(measure "$url" "$header")
    record "jwt_quiet" "$m"
    wrk -t1 -c"$BURST" -d"$(( DURATION + 2 ))s" --timeout 30s -s "$WORK/login.lua" "$BASE/v1/auth" \
      >"$WORK/logins.txt" 2>&1 &
    BURSTER=$!
    sleep 1
    m=$(measure "$url" "$header")
    wait "$BURSTER"
    record "jwt_during_logins" "$m"
    LOGINS="$LOGINS $(grep -Eo 'Requests/sec:\s+[0-9.]+' "$WORK/logins.txt" | grep -Eo '[0-9.]+$' || echo 0)"
    echo "round $round login burst: quiet p99 ${P99[jwt_quiet]##* } ms, during p99 ${P99[jwt_during_logins]##* } ms" >&2
  done
  LOGINS=$(echo "$LOGINS" | median)
fi

if [ "$HANG" = 1 ]; then
  IFS='|' read -r _ url header <<<"${ROUTES[1]}"
  for round in $(seq 1 "$ROUNDS"); do
    m=$(measure "$url" "$header")
    record "jwt_no_webhooks" "$m"
  done
  # A receiver that accepts connections and never reads nor answers: each attempt holds its
  # sender for the whole 10 s timeout. 300 events for 300 aliases keep every sender waiting
  # (retries come back after 5 s, 10 s, …) for the rounds that follow.
  python3 -u -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(1024); print(s.getsockname()[1])
held = []
while True:
    held.append(s.accept()[0])
' >"$WORK/receiver.port" &
  RECEIVER=$!
  for _ in $(seq 1 50); do [ -s "$WORK/receiver.port" ] && break; sleep 0.1; done
  post /organization/api/v1/webhooks "{\"url\":\"http://127.0.0.1:$(cat "$WORK/receiver.port")/hook\",\"events\":[\"*\"]}" >/dev/null
  for n in $(seq 1 300); do
    post /organization/api/v1/alias/create "{\"type\":\"conference\",\"name\":\"hook-$n\",\"expired_at\":$EXP}" >/dev/null
  done
  sleep 2
  for round in $(seq 1 "$ROUNDS"); do
    m=$(measure "$url" "$header")
    record "jwt_hanging_receiver" "$m"
    echo "round $round hanging receiver: p99 ${P99[jwt_hanging_receiver]##* } ms (without webhooks ${P99[jwt_no_webhooks]##* } ms)" >&2
  done
  PENDING=$(curl -s "$BASE/metrics" | awk '/^aliaskit_webhook_pending / {print $2}')
fi

if [ "$MANY" -gt 0 ]; then
  # Writes, 32 connections: creates, then updates spread over the first 50,000 aliases.
  cat >"$WORK/create.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"type":"conference","name":"load","jwt_secret":"$SECRET","expired_at":$EXP}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
  BENCH_KEY=$("$BIN/aliaskit" org rotate-key bench-load 2>/dev/null)
  cat >"$WORK/update.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids") do
  ids[#ids + 1] = line
  if #ids == 50000 then break end
end
local i = 0
function init(args) i = math.random(#ids) end
function request()
  i = i % #ids + 1
  return wrk.format("POST", "/organization/api/v1/alias/update/" .. ids[i],
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $BENCH_KEY"},
    '{"type":"conference","name":"updated ' .. i .. '"}')
end
LUA
  for round in $(seq 1 "$ROUNDS"); do
    m=$(measure "$BASE/organization/api/v1/alias/create" "" "$WORK/create.lua")
    record "creates" "$m"
    m=$(measure "$BASE/organization/api/v1/alias/update/x" "" "$WORK/update.lua")
    record "updates" "$m"
    echo "round $round writes: creates ${RPS[creates]##* }/s, updates ${RPS[updates]##* }/s" >&2
  done
fi

HEALTH=$(echo "${RPS[healthz]}" | median)
# The median over the rounds of route $1's req/s divided by route $2's in the same round.
per_round() {
  python3 -c 'import sys; print(" ".join(str(float(a) / float(b)) for a, b in zip(sys.argv[1].split(), sys.argv[2].split())))' \
    "${RPS[$1]}" "${RPS[$2]}" | median
}
RSS=$(peak_rss)
printf '\n%s, %s connections, %s s x %s rounds (medians); peak server RSS %s MiB under the route load, %s MiB at the end\n' \
  "$([ -n "$POSTGRES" ] && echo PostgreSQL || echo SQLite)" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$ROUTES_RSS" "$RSS"
[ -n "${LOGINS:-}" ] && printf 'during the login burst: %s logins/s completed by %s concurrent clients\n' "$LOGINS" "$BURST"
printf '| route | req/s | p50 ms | p99 ms | ratio to /healthz | server CPU µs/request | wrk CPU µs/request | database CPU µs/request |\n|---|---|---|---|---|---|---|---|\n'
for name in healthz jwt_retrieve passcode_retrieve opencap_lookup jwt_quiet jwt_during_logins jwt_no_webhooks jwt_hanging_receiver many_healthz many_hot many_zipf many_uniform creates updates; do
  [ -n "${RPS[$name]:-}" ] || continue
  rps=$(echo "${RPS[$name]}" | median); p50=$(echo "${P50[$name]}" | median); p99=$(echo "${P99[$name]}" | median)
  cpu=$(echo "${CPU[$name]}" | median); wcpu=$(echo "${WRK_CPU[$name]}" | median)
  dcpu=$(echo "${DB_CPU[$name]}" | tr -d '-' | median || true); dcpu=${dcpu:--}
  ratio=$(python3 -c "print($rps/$HEALTH)")
  # A many-aliases row's ratio is the median of each round's ratio to that round's /healthz.
  if [[ $name == many_* ]]; then ratio=$(per_round "$name" many_healthz); fi
  printf '| %s | %s | %s | %s | %.2f | %s | %s | %s |\n' "$name" "$rps" "$p50" "$p99" "$ratio" "$cpu" "$wcpu" "$dcpu"
done
if [ "$MANY" -gt 0 ]; then
  # How near the hit path the miss path runs, machine drift aside: each round's Zipf and
  # uniform loads divided by the same round's hot alias, medians.
  printf 'many aliases, each round divided by its hot alias (medians): zipf %.2f, uniform %.2f\n' \
    "$(per_round many_zipf many_hot)" "$(per_round many_uniform many_hot)"
  printf 'many aliases, cache hits in the counted rounds (medians): zipf %s %%, uniform %s %%\n' \
    "$(echo "${HITS[zipf]}" | median)" "$(echo "${HITS[uniform]}" | median)"
fi
if [ -n "${RPS[jwt_quiet]:-}" ]; then
  quiet=$(echo "${P99[jwt_quiet]}" | median); during=$(echo "${P99[jwt_during_logins]}" | median)
  printf 'JWT retrieve p99 during the login burst: %.2f x quiet (target: at most 2)\n' \
    "$(python3 -c "print($during/$quiet)")"
fi
if [ -n "${RPS[jwt_hanging_receiver]:-}" ]; then
  quiet=$(echo "${P99[jwt_no_webhooks]}" | median); during=$(echo "${P99[jwt_hanging_receiver]}" | median)
  printf 'JWT retrieve p99 while the webhook senders wait on a hanging receiver: %.2f x without webhooks (%s deliveries pending at the end)\n' \
    "$(python3 -c "print($during/$quiet)")" "${PENDING:-?}"
fi
