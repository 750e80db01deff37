#!/usr/bin/env bash
# The shipped systemd unit, deploy/systemd/aliaskit.service, checked by systemd's own tools:
#   1. `systemd-analyze verify`: it parses, every directive is known and every value valid.
#      verify also wants ExecStart's binary to exist; it is checked on a copy whose ExecStart
#      names a stand-in executable instead of /usr/local/bin/aliaskit-server, the one line
#      changed (asserted), so a missing install on this machine is not a failure.
#   2. `systemd-analyze security --offline=yes --threshold=25`: the exposure level is 2.5 or
#      lower (the threshold is in tenths).
# Installs systemd with apt if systemd-analyze is missing.
#
#   scripts/check-systemd.sh
set -euo pipefail
cd "$(dirname "$0")/.."

UNIT=deploy/systemd/aliaskit.service
BINARY=/usr/local/bin/aliaskit-server

if ! command -v systemd-analyze >/dev/null; then
  echo "check-systemd: installing systemd (for systemd-analyze)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

grep -q "^ExecStart=$BINARY " "$UNIT" || { echo "check-systemd: $UNIT: no ExecStart=$BINARY" >&2; exit 1; }
printf '#!/bin/sh\nexit 0\n' >"$work/aliaskit-server"
chmod 0755 "$work/aliaskit-server"
mkdir "$work/unit"
sed "s|^ExecStart=$BINARY |ExecStart=$work/aliaskit-server |" "$UNIT" >"$work/unit/aliaskit.service"
[ "$(diff "$UNIT" "$work/unit/aliaskit.service" | grep -c '^[<>]')" = 2 ] ||
  { echo "check-systemd: the copy differs by more than ExecStart" >&2; exit 1; }

# verify prints its complaints and still exits 0 for some of them: any output fails too.
if ! out=$(systemd-analyze verify "$work/unit/aliaskit.service" 2>&1) || [ -n "$out" ]; then
  printf '%s\n' "$out" >&2
  echo "check-systemd: systemd-analyze verify $UNIT failed" >&2
  exit 1
fi
echo "check-systemd: systemd-analyze verify: ok"

if ! out=$(systemd-analyze security --offline=yes --threshold=25 "$UNIT" 2>&1); then
  printf '%s\n' "$out" >&2
  echo "check-systemd: $UNIT is rated above 2.5" >&2
  exit 1
fi
printf '%s\n' "$out" | grep 'Overall exposure level' | sed 's/^→ /check-systemd: /'
