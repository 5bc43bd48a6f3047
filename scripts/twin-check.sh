#!/usr/bin/env bash
# Twin check: does the built-in target behave like its model? Runs profiles/twin.toml at
# 70 % and 95 % of the pool's capacity with `einv-load simulate` (virtual time) and with
# `einv-load run` (the live target on 127.0.0.1), and compares p50 and p99 latency.
# Exits 1 if any differs by more than 15 %. Takes about a minute.
#
#   bash scripts/twin-check.sh [path/to/einv-load]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/einv-load}
[ -x "$bin" ] || cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
printf '| load | rate/s | simulate p50 | run p50 | diff | simulate p99 | run p99 | diff |\n|---|---:|---:|---:|---:|---:|---:|---:|\n'
for share in 70 95; do
  rate=$((2500 * share / 100))
  "$bin" simulate profiles/twin.toml --rate "$rate" --out "$tmp/sim-$share" > /dev/null
  "$bin" run profiles/twin.toml --rate "$rate" --out "$tmp/run-$share" --no-progress -q > /dev/null
  python3 - "$tmp/sim-$share/summary.json" "$tmp/run-$share/summary.json" "$share" "$rate" <<'PY' || status=1
import json, sys
s = json.load(open(sys.argv[1]))["overall"]["latency_ms"]
r = json.load(open(sys.argv[2]))["overall"]["latency_ms"]
d50, d99 = r["p50"] / s["p50"] - 1, r["p99"] / s["p99"] - 1
print(f"| {sys.argv[3]} % | {sys.argv[4]} | {s['p50']:.2f} ms | {r['p50']:.2f} ms | {d50:+.1%} | {s['p99']:.2f} ms | {r['p99']:.2f} ms | {d99:+.1%} |")
sys.exit(0 if abs(d50) <= 0.15 and abs(d99) <= 0.15 else 1)
PY
done
exit $status
