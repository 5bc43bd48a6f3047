#!/usr/bin/env bash
# Does a nightly `compare` cry wolf? Four live runs of profiles/nightly.toml against
# `einv-load serve` on 127.0.0.1:
#
#   busy pair:  two runs of the same build, each against a fresh target, while two `yes`
#               hogs take both cores;
#               expected: "no regression" (exit 0) or "inconclusive" (exit 4), never 1.
#   quiet pair: a run, then one against a target whose every hold is 20 % longer;
#               expected: "regression" (exit 1).
#
# Prints each comparison's verdict, its judged latency figures with their shift in
# standard errors (z), and each side's send lag. Exits 1 if a verdict is not the one
# expected. Takes about four run lengths (DURATION, default the profile's 60 s).
# A timing claim about the machine it runs on, so a script, not a test. KEEP=1 keeps the
# report folders.
#
#   bash scripts/compare-noise.sh [einv-load for the runs] [einv-load for compare]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/einv-load}
cmp=${2:-$bin}
[ -x "$bin" ] || cargo build --release --quiet
duration=${DURATION:+--duration $DURATION}
port=${PORT:-18490}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "runs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# serve PROFILE: start the built-in target on $port, wait until it answers.
serve() {
  "$bin" serve -q --addr "127.0.0.1:$port" --profile "$1" &
  server=$!
  pids+=("$server")
  for _ in $(seq 50); do
    (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "serve did not start on port $port" >&2
  exit 1
}

run() { # run NAME
  # A run whose SLO fails still has a report (exit 1); 2 or 3 is the script's fault.
  local code=0
  "$bin" run profiles/nightly.toml --target "http://127.0.0.1:$port" $duration --out "$tmp/$1" --no-progress -q \
    > /dev/null || code=$?
  [ "$code" -le 1 ] || { echo "run $1 failed with exit code $code" >&2; exit 1; }
}

stop_serve() {
  kill "$server"
  wait "$server" 2>/dev/null || true
}

status=0
verdict() { # verdict BASELINE CURRENT EXPECTED-CODES LABEL
  local code=0
  "$cmp" -q compare "$tmp/$1" "$tmp/$2" --out "$tmp/cmp-$1-$2" > "$tmp/cmp-$1-$2.txt" || code=$?
  python3 - "$tmp/cmp-$1-$2/compare.json" "$tmp/$1/summary.json" "$tmp/$2/summary.json" "$4" "$code" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(f"\n{sys.argv[4]}: verdict {c['verdict']!r} (exit {sys.argv[5]})")
for side, path in (("baseline", sys.argv[2]), ("current", sys.argv[3])):
    o = json.load(open(path))["overall"]
    print(f"  {side:8} send lag p99 {o['send_lag_ms']['p99']:.2f} ms, achieved {o['rate']['achieved_per_s']:.1f} of "
          f"{o['rate']['target_per_s']:.1f} req/s, latency p99 {o['latency_ms']['p99']:.2f} ms")
for why in c.get("inconclusive", []):
    print(f"  inconclusive: {why}")
for s in c["scopes"]:
    for m in s["metrics"]:
        g = m.get("significance")
        if not m["judged"] or g is None:
            continue
        mark = "REGRESSION" if m["regression"] else ("within noise" if m.get("noise") else "ok")
        print(f"  {s['scope']:16} {m['metric']:13} {m['baseline']:9.3f} -> {m['current']:9.3f} ms "
              f"({(m['change'] or 0) * 100:+6.1f}%)  z {g['z']:+7.2f}  n_eff {g['baseline']['effective_samples']}/"
              f"{g['baseline']['samples']}  {mark}")
PY
  case " $3 " in
    *" $code "*) ;;
    *) echo "  UNEXPECTED: exit $code, expected one of: $3"; status=1 ;;
  esac
}

# The busy pair: two hogs on two cores for both runs.
serve profiles/nightly.toml
yes > /dev/null & pids+=($!)
yes > /dev/null & pids+=($!)
hogs=("${pids[@]: -2}")
run busy-1
# A fresh target for each run, as each nightly has: the built-in target remembers what a
# run did (a second run's red-flushes of the same invoice numbers would be refused 409).
stop_serve
serve profiles/nightly.toml
run busy-2
kill "${hogs[@]}"
stop_serve

# The quiet pair: the same build, then a target 20 % slower in every hold.
sed -e 's/issue-hold = { p50 = "4ms", p99 = "20ms" }/issue-hold = { p50 = "4800us", p99 = "24ms" }/' \
    -e 's/query-hold = { exponential = "1ms" }/query-hold = { exponential = "1200us" }/' \
    -e 's/red-flush-hold = "3ms"/red-flush-hold = "3600us"/' \
    -e 's/verify-hold = "1ms"/verify-hold = "1200us"/' \
    -e 's/download-hold = "2ms"/download-hold = "2400us"/' \
    -e 's/callback-hold = "1ms"/callback-hold = "1200us"/' \
    -e "s#path = \"data/#path = \"$PWD/profiles/data/#" profiles/nightly.toml > "$tmp/slower.toml"
grep -q 'p99 = "24ms"' "$tmp/slower.toml" || { echo "profiles/nightly.toml holds changed: update this script" >&2; exit 1; }
serve profiles/nightly.toml
run quiet-1
stop_serve
serve "$tmp/slower.toml"
run quiet-slow
stop_serve

verdict busy-1 busy-2 "0 4" "busy pair (same build, two yes hogs)"
verdict quiet-1 quiet-slow "1" "quiet pair (second target 20 % slower)"
echo
[ "$status" -eq 0 ] && echo "as expected" || echo "NOT as expected"
exit $status
