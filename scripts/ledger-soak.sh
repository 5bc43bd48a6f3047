#!/usr/bin/env bash
# Ledger soak: does the built-in target's memory stay flat while it issues far more
# invoices than its ledger window holds?
#
#   cargo build --release && scripts/ledger-soak.sh [RATE] [SECONDS] [WINDOW]
#
# Starts `einv-load serve` on 127.0.0.1 with --ledger-window WINDOW (default 100000), runs
# `einv-load run` against it (90 % issues, 6 % queries, 4 % red-flushes, 1 % duplicates)
# at RATE/s (default 3000) for SECONDS (default 150), samples the server's VmRSS every
# second, and prints it over time with the issue count. Both processes are stopped at
# the end. Figures are RSS (robust on a busy machine); the achieved rate is the client's.
set -euo pipefail

rate=${1:-3000}
secs=${2:-150}
window=${3:-100000}
bin=${EINV_LOAD:-target/release/einv-load}
[ -x "$bin" ] || { echo "$bin not found: cargo build --release (or EINV_LOAD=path)" >&2; exit 2; }

dir=$(mktemp -d)
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null; [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

cat > "$dir/soak.toml" <<EOF
schema = 1
name = "ledger-soak"
seed = 7

[target]
url = "builtin"
connections = 200
request-timeout = "5s"

[load]
mode = "open"
max-send-lag = "50ms"

[[load.stage]]
kind = "constant"
rate = $rate
duration = "${secs}s"

[workload]
duplicate-rate = 0.01
pool-size = 10000

[[op]]
name = "issue"
weight = 90
method = "POST"
path = "/api/v1/invoices"
headers = { content-type = "application/json" }
body = { generator = "invoice" }
extract = { invoice_no = "/invoice_no" }
check = { status = [200] }

[[op]]
name = "query"
weight = 6
path = "/api/v1/invoices/\${pool.invoice_no}"
check = { status = [200] }

[[op]]
name = "red_flush"
weight = 4
method = "POST"
path = "/api/v1/invoices/\${take.invoice_no}/red-flush"
check = { status = [200] }
EOF

"$bin" serve --addr 127.0.0.1:0 --ledger-window "$window" > "$dir/serve.out" 2>/dev/null &
server=$!
for _ in $(seq 50); do grep -q listening "$dir/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$dir/serve.out")

# One sample a second: seconds since start, VmRSS in kB, invoices issued (/metrics).
(
  t=0
  while kill -0 "$server" 2>/dev/null; do
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")
    issued=$(exec 3<>"/dev/tcp/127.0.0.1/${url##*:}" && printf 'GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n' >&3 \
      && awk '/^einv_invoices_issued_total/ {print $2}' <&3)
    echo "$t $rss ${issued:-?}"
    t=$((t + 1))
    sleep 1
  done
) > "$dir/rss.txt" &
sampler=$!

"$bin" run "$dir/soak.toml" --target "$url" --out "$dir/report" --no-progress > "$dir/run.out" 2>&1 || true
grep -E "^(requests|rate|errors|issue|query|red_flush)" "$dir/run.out" || tail -5 "$dir/run.out"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server/status")
kill "$sampler" 2>/dev/null || true
echo "ledger window $window invoices; serve RSS over time (s: MiB, invoices issued):"
awk 'NR == 1 || $1 % 15 == 0 || $1 == 30 { printf "  %4d s: %6.1f MiB  %s\n", $1, $2 / 1024, $3 }' "$dir/rss.txt"
tail -1 "$dir/rss.txt" | awk '{ printf "  %4d s: %6.1f MiB  %s (last)\n", $1, $2 / 1024, $3 }'
echo "  peak (VmHWM): $(awk -v k="$hwm" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
