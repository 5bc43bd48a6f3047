#!/usr/bin/env bash
# Calibrate check (issue 12): does `calibrate`, on a run against a service it cannot see
# inside, give a model whose predicted knee is within 10 % of the knee measured live?
# The service is scripts/calibrate/server.py: 32 Python workers, a "database" of 6 slots
# held 20 ms (lookup) or 40 ms (update), mix 1:1, so its knee is 6 / 30 ms = 200/s.
#  1. `run` a ramp 40/s -> 320/s against it; `calibrate` the folder -> model.toml;
#  2. predicted knee: `simulate` the profile with the fitted model at a constant 300/s
#     (past the knee), median throughput of its seconds;
#     and again with the service's own hold times (its /metrics, --service-timings);
#  3. measured knee: `run` the same constant 300/s against the server, the same median.
# Exits 1 if they differ by more than 10 %. Takes about a minute.
#
#   bash scripts/calibrate-check.sh [path/to/einv-load]
set -euo pipefail
cd "$(dirname "$0")/.."
# Built when not given: a release binary left from before `calibrate` existed would not do.
bin=${1:-target/release/einv-load}
[ -n "${1:-}" ] || cargo build --release --quiet
tmp=$(mktemp -d)
[ -z "${KEEP:-}" ] || echo "keeping $tmp"
python3 scripts/calibrate/server.py --workers 32 --pool 6 > "$tmp/port" &
server=$!
trap 'kill "$server" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q port "$tmp/port" && break; sleep 0.1; done
port=$(awk '{print $2}' "$tmp/port")
# Fewer connections than workers: a kept-alive connection holds a Python worker.
cat > "$tmp/profile.toml" <<TOML
schema = 1
name = "calibrate-check"
seed = 7

[target]
url = "http://127.0.0.1:$port"
connections = 24
request-timeout = "10s"

[load]
mode = "open"

[[load.stage]]
kind = "ramp"
from = 40
to = 320
duration = "30s"

[[op]]
name = "lookup"
weight = 1
path = "/lookup/\${index}"

[[op]]
name = "update"
weight = 1
method = "POST"
path = "/update/\${index}"
body = '{"n":\${index}}'
TOML
"$bin" run "$tmp/profile.toml" --out "$tmp/ramp" --no-progress -q > /dev/null || true
"$bin" calibrate "$tmp/ramp" --out "$tmp/model.toml" --replay-out "$tmp/replay"
# The same run with the service's own hold times (its /metrics, scraped after the ramp).
python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/metrics').read().decode())" > "$tmp/metrics.txt"
"$bin" calibrate "$tmp/ramp" --service-timings "$tmp/metrics.txt" --out "$tmp/model-own.toml" --replay-out "$tmp/replay-own" > /dev/null
grep -E "^size|hold = " "$tmp/model-own.toml"
cat "$tmp/profile.toml" "$tmp/model.toml" > "$tmp/fitted.toml"
cat "$tmp/profile.toml" "$tmp/model-own.toml" > "$tmp/fitted-own.toml"
"$bin" simulate "$tmp/fitted.toml" --rate 300 --duration 15s --out "$tmp/predicted" > /dev/null || true
"$bin" simulate "$tmp/fitted-own.toml" --rate 300 --duration 15s --out "$tmp/predicted-own" > /dev/null || true
"$bin" run "$tmp/profile.toml" --rate 300 --duration 15s --out "$tmp/measured" --no-progress -q > /dev/null || true
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp/predicted/timeseries.csv" "$tmp/measured/timeseries.csv" "$tmp/predicted-own/timeseries.csv" <<'PY'
import csv, statistics, sys
def knee(path):
    rows = [r for r in csv.DictReader(open(path)) if 3 <= float(r["start_s"]) < 14]
    return statistics.median(float(r["ok"]) / float(r["length_s"]) for r in rows)
predicted, measured, own = knee(sys.argv[1]), knee(sys.argv[2]), knee(sys.argv[3])
d, d_own = predicted / measured - 1, own / measured - 1
print(f"knee predicted {predicted:.1f}/s (with the service's own timings {own:.1f}/s), measured {measured:.1f}/s: {d:+.1%} ({d_own:+.1%})")
sys.exit(0 if abs(d) <= 0.10 and abs(d_own) <= 0.10 else 1)
PY
