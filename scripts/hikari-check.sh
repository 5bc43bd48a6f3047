#!/usr/bin/env bash
# Barging check: does the model's `discipline = "barging"` reproduce a real HikariCP pool?
# Starts PostgreSQL 15 (a throw-away cluster on 127.0.0.1) and scripts/hikari/InvoiceService.java
# (a JDK HttpServer with 40 workers and Debian's HikariCP 2.7.9, 10 connections, 250 ms
# timeout), then runs profiles/hikari-barging.toml (600/s, 120 % of the pool) against it
# RUNS times and simulates the same profile with the hold the service itself measured,
# under `barging` and under `fifo`. Passes when the real service and the barging model
# both return 500s, their medians agree within 25 %, and the fifo model returns none.
# Needs about two minutes and a quiet machine (the hand-off window is a thread wake-up).
#
#   bash scripts/hikari-check.sh [path/to/einv-load] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/einv-load}
runs=${2:-3}
[ -x "$bin" ] || cargo build --release --quiet
profile=profiles/hikari-barging.toml

java_jars=(/usr/share/java/HikariCP.jar /usr/share/java/postgresql.jar /usr/share/java/slf4j-api.jar /usr/share/java/slf4j-nop.jar)
pg_bin=/usr/lib/postgresql/15/bin
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jdk-headless)
[ -x "$pg_bin/initdb" ] || missing+=(postgresql-15)
[ -e /usr/share/java/HikariCP.jar ] || missing+=(libhikaricp-java)
[ -e /usr/share/java/postgresql.jar ] || missing+=(libpostgresql-jdbc-java)
[ -e /usr/share/java/slf4j-nop.jar ] || missing+=(libslf4j-java)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

tmp=$(mktemp -d)
pg_user=$(id -un)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && { pg_user=postgres; chown postgres "$tmp"; }
service_pid=""
cleanup() {
  set +e  # every step runs, whatever the one before it returned (wait gives the JVM's 143)
  [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null && wait "$service_pid" 2>/dev/null
  as_pg "$pg_bin/pg_ctl" -D "$tmp/pg" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
as_pg "$pg_bin/initdb" -D "$tmp/pg" -A trust -U "$pg_user" >/dev/null
as_pg "$pg_bin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w \
  -o "-p $pg_port -k $tmp -c listen_addresses=127.0.0.1 -c max_connections=50" start >/dev/null

cp scripts/hikari/InvoiceService.java "$tmp/"
classpath=$(IFS=:; echo "${java_jars[*]}")
java -cp "$classpath" "$tmp/InvoiceService.java" 0 40 10 250 20 \
  "jdbc:postgresql://127.0.0.1:$pg_port/postgres?user=$pg_user" > "$tmp/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 60); do grep -q listening "$tmp/service.log" && break; sleep 0.5; done
port=$(sed -n 's/^listening on 127.0.0.1://p' "$tmp/service.log")
[ -n "$port" ] || { cat "$tmp/service.log" >&2; exit 3; }
url="http://127.0.0.1:$port"
stats() { python3 -c 'import json,sys,urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1]+"/stats"))))' "$url"; }

# The JIT compiles the hot path in the first seconds: warm it below the knee first.
"$bin" run "$profile" --target "$url" --rate 300 --duration 5s --out "$tmp/warm" --no-progress -q >/dev/null || true

for i in $(seq "$runs"); do
  before=$(stats)
  "$bin" run "$profile" --target "$url" --out "$tmp/run-$i" --no-progress -q >/dev/null || true
  after=$(stats)
  printf "%s\n%s\n" "$before" "$after" > "$tmp/stats-$i"
done

python3 - "$tmp" "$runs" "$bin" "$profile" <<'PY'
import json, re, statistics, subprocess, sys
tmp, runs, binary, profile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
real, holds = [], []
race = {"path_us": {}, "wake_us": {}}
# What the service saw besides the race, in 100 us buckets.
waits = {"served_wait_100us": {}, "timed_out_wait_100us": {}, "hold_100us": {}}

def add_delta(into, before, after):
    b = dict(map(tuple, before["counts"]))
    for us, k in after["counts"]:
        into[us] = into.get(us, 0) + k - b.get(us, 0)

def quantiles(counts):
    n, seen, out = sum(counts.values()), 0, {}
    qs = [0.1, 0.5, 0.9, 0.99]
    for us in sorted(counts):
        seen += counts[us]
        while qs and seen >= qs[0] * n:
            out[qs.pop(0)] = us
    return n, out

for i in range(1, runs + 1):
    before, after = (json.loads(x) for x in open(f"{tmp}/stats-{i}").read().splitlines())
    for side in race:
        add_delta(race[side], before[side], after[side])
    for side in waits:
        add_delta(waits[side], before[side], after[side])
    timeouts = after["pool_timeouts"] - before["pool_timeouts"]
    served = after["served"] - before["served"]
    holds.append((after["hold_ns"] - before["hold_ns"]) / served / 1e6)
    summary = json.load(open(f"{tmp}/run-{i}/summary.json"))
    client_5xx = summary["overall"]["errors"].get("http_5xx", 0)
    if client_5xx != timeouts:
        sys.exit(f"run {i}: einv-load counted {client_5xx} 5xx, the service {timeouts} pool timeouts")
    real.append(timeouts)
hold_ms = statistics.median(holds)
fits = {}
for side, counts in race.items():
    n, q = quantiles(counts)
    # Microsecond buckets: the 0 bucket holds wake-ups under 1 us; a lognormal needs p50 > 0.
    fits[side] = (max(q[0.5], 1), max(q[0.99], q[0.5], 1))
    print(f"{side}: n={n} " + " ".join(f"p{int(k*100)}={v}" for k, v in q.items()) + " (us)")

for side, counts in waits.items():
    n, q = quantiles(counts)
    top = max((k for k, v in counts.items() if v > 0), default=0)
    print(f"{side[:-6]}: n={n} " + " ".join(f"p{int(k*100)}={v/10:g}" for k, v in q.items()) + f" max={top/10:g} (ms)")

def p_lost(wake, path):
    """P(a waiter's wake-up outlasts a newcomer's path), the two drawn independently."""
    import bisect, itertools
    keys = sorted(path)
    below = [0] + list(itertools.accumulate(path[k] for k in keys))
    lost = sum(kw * below[bisect.bisect_left(keys, w)] for w, kw in wake.items())
    return lost / (sum(wake.values()) * below[-1])

# How often a hand-off is lost, read off the pool's own waits rather than off the probes
# (one probe's offerer sleeps at once, the other's spins: they bracket the truth at 5 %
# and 55 %). In this service the line is full: a waiter served at its first hand-off
# waited one trip through the line, B (the median served wait); one that lost k times
# waited about (k + 1) B; one that timed out lost every hand-off it got. So
# P(lost) = losses / hand-offs over every request that waited.
import math
from statistics import NormalDist
(p50, p99) = fits["path_us"]
sigma_path = math.log(p99 / p50) / 2.326347874
served, timed_out = waits["served_wait_100us"], waits["timed_out_wait_100us"]
n_served = sum(served.values())
trip = quantiles(served)[1][0.5] / 10 if n_served else 0  # ms
losses = handoffs = 0
for bucket, n in served.items():
    k = max(0, round(bucket / 10 / trip) - 1) if trip else 0
    losses, handoffs = losses + k * n, handoffs + (k + 1) * n
for bucket, n in timed_out.items():
    k = max(1, int(bucket / 10 / trip)) if trip else 1
    losses, handoffs = losses + k * n, handoffs + k * n
lost = losses / handoffs if handoffs else 0
# The newcomer who takes a lost hand-off is the releaser itself, back after its path: a
# waiter that wakes after w loses when the path is shorter, so the wake-up that loses
# `lost` of them is the path's `lost` quantile (of the path as the model draws it).
wake_us = max(1, round(p50 * math.exp(sigma_path * NormalDist().inv_cdf(min(max(lost, 1e-4), 0.9999)))))
print(f"P(a hand-off is lost): {lost:.1%} from the pool's waits (one trip through the line "
      f"{trip:g} ms; {losses} of {handoffs} hand-offs), {p_lost(race['wake_us'], race['path_us']):.1%} "
      f"from the probes; the model's wake-up: {wake_us} us against the path p50 {p50} us p99 {p99} us")
text = open(profile).read().replace('hold = "20ms"', f'hold = "{hold_ms:.3f}ms"')
text = re.sub(r'handoff-delay = \{[^}]*\}', f'handoff-delay = "{wake_us}us"', text)
text = re.sub(r'\{ hold = \{[^}]*\} \}',
              '{{ hold = {{ p50 = "{}us", p99 = "{}us" }} }}'.format(*fits["path_us"]), text)

def simulate(discipline):
    counts = []
    for seed in range(1, 6):
        model = text if discipline == "barging" else re.sub(
            r'discipline = "barging".*\n.*handoff-delay.*\n', 'discipline = "fifo"\n', text)
        path = f"{tmp}/model-{discipline}.toml"
        open(path, "w").write(model)
        out = f"{tmp}/sim-{discipline}-{seed}"
        done = subprocess.run([binary, "simulate", path, "--seed", str(seed), "--out", out],
                              stdout=subprocess.DEVNULL)
        if done.returncode not in (0, 1):  # 1: an SLO failed, which is not this check's concern
            sys.exit(f"simulate {path} failed (exit {done.returncode})")
        counts.append(json.load(open(f"{out}/summary.json"))["overall"]["errors"].get("http_5xx", 0))
    return statistics.median(counts)

barging, fifo = simulate("barging"), simulate("fifo")
median_real = statistics.median(real)
diff = barging / median_real - 1 if median_real else float("inf")
print(f"hold the service measured: {hold_ms:.3f} ms (pg_sleep 20 ms)")
print(f"500s past the knee (600/s, 10 s): real HikariCP {real} (median {median_real}), "
      f"model barging {barging} ({diff:+.1%}), model fifo {fifo}")
ok = median_real > 0 and barging > 0 and abs(diff) <= 0.25 and fifo == 0
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
PY
