#!/usr/bin/env bash
# Instructions per request of the einv-load client process, under callgrind: repeatable on
# a busy machine where seconds are not. A private nginx (one worker, the bench's 142-byte
# JSON answer) on 127.0.0.1:$PORT, started here and stopped by PID; einv-load sends a fixed
# count (open loop, 900/s for 3 s = 2,700 requests by default, 10 connections) and callgrind counts
# the instructions of its whole process (every thread, start-up and report included).
# Prints each run's Ir / requests and the median of --reps runs (default 3).
#
#   scripts/instr-per-request.sh [--bin target/release/einv-load] [--reps 3] [--port 18090] [--seconds 3]
#
# Start-up and the report are in every count: the per-request cost alone is the difference
# of a --seconds 6 and a --seconds 3 median, divided by the 2,700 requests between them.
set -euo pipefail
BIN=target/release/einv-load REPS=3 PORT=18090 SECONDS_=3
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    --seconds) SECONDS_=$2; shift 2 ;;
    *) echo "usage: $0 [--bin PATH] [--reps N] [--port P] [--seconds S]" >&2; exit 2 ;;
  esac
done
command -v nginx >/dev/null && command -v valgrind >/dev/null || { echo "needs nginx and valgrind" >&2; exit 2; }
DIR=$(mktemp -d /tmp/einv-instr-XXXXXX)
BODY='{"code":"0000","invoice_no":"24112000000000123456","seller":"91350200776049653A","amount":"113.97","tax":"14.82","total":"128.79","msg":"issued"}'
mkdir -p "$DIR/tmp" "$DIR/logs"
cat > "$DIR/nginx.conf" <<CONF
worker_processes 1; daemon off; pid nginx.pid; error_log error.log warn;
events { worker_connections 1024; }
http {
  access_log off; server_tokens off; keepalive_requests 100000000; keepalive_timeout 75s;
  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
  server { listen 127.0.0.1:$PORT; location / { default_type application/json; return 200 '$BODY'; } }
}
CONF
cat > "$DIR/p.toml" <<PROFILE
schema = 1
name = "instr"
[target]
url = "http://127.0.0.1:$PORT/invoice"
connections = 10
[load]
mode = "open"
arrivals = "uniform"
[[load.stage]]
kind = "constant"
rate = 900
duration = "${SECONDS_}s"
[[op]]
name = "get"
path = ""
PROFILE
nginx -p "$DIR" -c nginx.conf -e error.log & NGINX=$!
trap 'kill $NGINX 2>/dev/null; wait $NGINX 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 0.5
per=() irs=()
for i in $(seq "$REPS"); do
  valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.$i" "$BIN" run "$DIR/p.toml" \
    --out "$DIR/r$i" --no-progress >"$DIR/run.$i.log" 2>&1 || true
  ir=$(grep -m1 '^summary:' "$DIR/cg.$i" | awk '{print $2}')
  ok=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['overall']['requests']['ok'])" "$DIR/r$i/summary.json")
  p=$(python3 -c "print(f'{$ir/$ok:.0f}')")
  echo "run $i: $ir instructions, $ok ok requests, $p per request"
  per+=("$p"); irs+=("$ir")
done
printf '%s\n' "${per[@]}" | sort -n | awk '{a[NR]=$1} END {print "median instructions per request:", a[int((NR+1)/2)]}'
printf '%s\n' "${irs[@]}" | sort -n | awk '{a[NR]=$1} END {print "median instructions:", a[int((NR+1)/2)]}'
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
