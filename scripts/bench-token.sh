#!/usr/bin/env bash
# Token verification benchmark (docs/performance.md): runs the criterion bench
# crates/token/benches/verify.rs and prints its medians as a table with the two ratios issue 2
# sets as targets — aliaskit no slower than jsonwebtoken, and within 5x raw HMAC-SHA256 —
# all from the same run. Exits 1 if a target does not hold on this machine.
#
#   scripts/bench-token.sh [--measurement-time SECS]
set -euo pipefail
cd "$(dirname "$0")/.."

MEASURE=10
while [ $# -gt 0 ]; do
  case "$1" in
    --measurement-time) MEASURE=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

CRITERION="${CARGO_TARGET_DIR:-target}/criterion/verify_hs256"
# Results of an earlier run must not stand in for a bench that failed to run this time.
rm -rf "$CRITERION"
cargo bench -q -p aliaskit-token --bench verify -- \
  --warm-up-time 3 --measurement-time "$MEASURE" >/dev/null

python3 - "$CRITERION" <<'EOF'
import json, sys
from pathlib import Path

root = Path(sys.argv[1])
def median_ns(name):
    return json.loads((root / name / "new" / "estimates.json").read_text())["median"]["point_estimate"]

benches = ["aliaskit", "aliaskit_aud_list", "jsonwebtoken", "raw_hmac"]
t = {b: median_ns(b) for b in benches}
print("| bench | time (median) | ratio to jsonwebtoken | ratio to raw HMAC |")
print("|---|---|---|---|")
for b in benches:
    print(f"| {b} | {t[b] / 1000:.3f} µs | {t[b] / t['jsonwebtoken']:.2f}× | {t[b] / t['raw_hmac']:.1f}× |")
targets = [
    ("aliaskit no slower than jsonwebtoken", t["aliaskit"] / t["jsonwebtoken"], 1.0),
    ("aliaskit within 5× raw HMAC", t["aliaskit"] / t["raw_hmac"], 5.0),
]
print()
failed = False
for what, ratio, limit in targets:
    holds = ratio <= limit
    failed |= not holds
    print(f"{what}: {ratio:.2f} (limit {limit}) — {'holds' if holds else 'DOES NOT HOLD'}")
sys.exit(1 if failed else 0)
EOF
