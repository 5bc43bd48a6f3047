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
for i in range(1, runs + 1):
    before, after = (json.loads(x) for x in open(f"{tmp}/stats-{i}").read().splitlines())
    timeouts = after["pool_timeouts"] - before["pool_timeouts"]
    served = after["served"] - before["served"]
    holds.append((after["hold_ns"] - before["hold_ns"]) / served / 1e6)
    summary = json.load(open(f"{tmp}/run-{i}/summary.json"))
    client_5xx = summary["overall"]["errors"].get("http_5xx", 0)
    if client_5xx != timeouts:
        sys.exit(f"run {i}: einv-load counted {client_5xx} 5xx, the service {timeouts} pool timeouts")
    real.append(timeouts)
hold_ms = statistics.median(holds)
text = open(profile).read().replace('hold = "20ms"', f'hold = "{hold_ms:.3f}ms"')

def simulate(discipline):
    counts = []
    for seed in range(1, 6):
        model = text.replace('discipline = "fifo"', f'discipline = "{discipline}"')
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
