#!/usr/bin/env bash
# Own-service check: does the built-in target serve profiles/own-service.toml (four ops
# of its own, workers and two pools) as its model predicts? Runs it at 70 % and 95 % of
# the tightest resource's capacity (the tax gateway's 1,091/s) with `einv-load simulate`
# and with `einv-load run` (the live target on 127.0.0.1), and compares p50 and p99 per
# op; then runs the profile's own schedule (70 % then 130 %) in both and compares which
# resource ran dry first (the model's resource table; the live target's 5xx answers,
# which name it). Exits 1 if a figure differs by more than 15 % or the resources differ.
# The model's steps are the service; what a client sees besides them (its own send lag,
# loopback, both HTTP stacks, the target's timer waking a hold late) is `[model] wire`,
# measured first at each load: the same profile and rate run live with every op's steps
# cut to its worker and one 1 ms hold; the wire is its latency less that 1 ms. Takes
# about a minute.
#
#   bash scripts/own-service-check.sh [path/to/einv-load]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/einv-load}
[ -x "$bin" ] || cargo build --release --quiet
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
profile=profiles/own-service.toml
status=0
printf '| load | op | simulate p50 | run p50 | diff | simulate p99 | run p99 | diff |\n|---|---|---:|---:|---:|---:|---:|---:|\n'
for share in 70 95; do
  rate=$((1091 * share / 100))
  python3 - "$profile" "$tmp/ping.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(re.sub(r'steps = \[.*?\]\n', 'steps = [{ use = "workers" }, { hold = "1ms" }]\n', text, flags=re.S))
PY
  "$bin" run "$tmp/ping.toml" --rate "$rate" --duration 10s --out "$tmp/ping-$share" --no-progress -q > /dev/null || true
  python3 - "$profile" "$tmp/ping-$share/summary.json" "$tmp/wired.toml" "$share" <<'PY'
import json, sys
lat = json.load(open(sys.argv[2]))["overall"]["latency_ms"]
# Microseconds past the probe's 1 ms hold; a lognormal needs 0 < p50 <= p99.
p50 = max(round(lat["p50"] * 1000) - 1000, 1)
p99 = max(round(lat["p99"] * 1000) - 1000, p50)
print(f"| {sys.argv[4]} % | (wire: steps cut to one 1 ms hold) | | +{p50 / 1000:.2f} ms | | | +{p99 / 1000:.2f} ms | |")
text = open(sys.argv[1]).read().replace("[model]\n", f'[model]\nwire = {{ p50 = "{p50}us", p99 = "{p99}us" }}\n', 1)
open(sys.argv[3], "w").write(text)
PY
  "$bin" simulate "$tmp/wired.toml" --rate "$rate" --duration 20s --out "$tmp/sim-$share" > /dev/null || true
  "$bin" run "$profile" --rate "$rate" --duration 20s --out "$tmp/run-$share" --no-progress -q > /dev/null || true
  python3 - "$tmp/sim-$share/summary.json" "$tmp/run-$share/summary.json" "$share" <<'PY' || status=1
import json, sys
sim, run = (json.load(open(p))["ops"] for p in sys.argv[1:3])
ok = True
for op in sorted(sim):
    s, r = sim[op]["latency_ms"], run[op]["latency_ms"]
    d50, d99 = r["p50"] / s["p50"] - 1, r["p99"] / s["p99"] - 1
    ok = ok and abs(d50) <= 0.15 and abs(d99) <= 0.15
    print(f"| {sys.argv[3]} % | {op} | {s['p50']:.2f} ms | {r['p50']:.2f} ms | {d50:+.1%} | {s['p99']:.2f} ms | {r['p99']:.2f} ms | {d99:+.1%} |")
sys.exit(0 if ok else 1)
PY
done
"$bin" simulate "$profile" --out "$tmp/sim-ramp" > /dev/null || true
"$bin" run "$profile" --out "$tmp/run-ramp" --no-progress -q > /dev/null || true
python3 - "$tmp/sim-ramp/summary.json" "$tmp/run-ramp/errors.jsonl" <<'PY' || status=1
import json, re, sys
resources = json.load(open(sys.argv[1]))["pool"]["resources"]
dry = [r for r in resources if r["first_dry_s"] is not None]
model = min(dry, key=lambda r: r["first_dry_s"])["name"] if dry else None
live = None
for line in open(sys.argv[2]):
    e = json.loads(line)
    m = re.search(r'"msg":"(\S+) exhausted', e.get("body") or "")
    if m and (live is None or e["at_s"] < live[1]):
        live = (m.group(1), e["at_s"])
live_name = live[0] if live else None
print(f"\nfirst to run dry past the knee: simulate {model}, run {live_name}" + (f" (first 5xx at {live[1]:.1f} s)" if live else ""))
sys.exit(0 if model and model == live_name else 1)
PY
exit $status
