#!/usr/bin/env python3
"""Whole-process comparison of einv-load with wrk and oha (run it through bench-peers.sh), or
with `--http2` with h2load over prior-knowledge h2c (run it through h2load-compare.sh).

All traffic goes to a private nginx on 127.0.0.1 that this script starts and stops by PID.
Requests are counted on the SERVER side (nginx stub_status), so every tool is judged by the
same counter, not by what it says of itself. Client cost = user+sys CPU of the tool's whole
process (GNU time, children included), divided by the requests nginx counted; peak RSS is
GNU time's maximum resident set. nginx is pinned to CPU 0 and the tool to CPU 1 (taskset), so
each tool runs on one core; wrk and oha are told to use one thread, and einv-load sizes its
runtime from the one CPU it may use.

Modes: `sat` (saturation: as fast as --conns keep-alive connections go; einv-load runs
profiles/bench-saturate.toml, a closed loop) and `rate` (a fixed --rate, open loop:
profiles/bench-rate.toml with its pacing line taken out, so the default pacing is measured;
--pacing 1ms puts one back; wrk has no fixed-rate mode). Runs are interleaved (rep 1 of every
tool, then rep 2, ...) so that a machine that slows down mid-way hurts every tool alike, and
the table shows medians.

With --http2 nginx listens with `http2` (h2c; its counter is read on a second, HTTP/1.1
port), einv-load runs with `protocol = "http2"`, and h2load (nghttp2-client, one thread) is
the peer. Rate mode: --conns connections of --streams streams each for both (h2load
`-m`, einv-load `max-streams`; h2load's `--rps` is per connection, so --rate / --conns).
Saturation: einv-load's closed loop gives each user a connection of its own, so both run
--conns connections of one stream each (h2load `-m 1`).
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BODY = ('{"code":"0000","invoice_no":"24112000000000123456","seller":"91350200776049653A",'
        '"amount":"113.97","tax":"14.82","total":"128.79","msg":"issued"}')

NGINX_CONF = """worker_processes 1;
daemon off;
pid nginx.pid;
error_log error.log warn;
events {{ worker_connections 8192; multi_accept on; }}
http {{
  access_log off; server_tokens off;
  keepalive_requests 100000000; keepalive_timeout 75s;
  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
  server {{
    listen 127.0.0.1:{port}{http2} backlog=8192;
    # The counter's own port: HTTP/1.1 whatever the benchmarked port speaks.
    listen 127.0.0.1:{status_port};
    location = /nginx_status {{ stub_status; }}
    location / {{ default_type application/json; return 200 '{body}'; }}
  }}
}}
"""


def run(cmd):
    return subprocess.run(cmd, shell=True, text=True, capture_output=True)


class Nginx:
    def __init__(self, port, http2):
        self.port = port
        self.status_port = port + 1
        self.dir = tempfile.mkdtemp(prefix="einv-bench-nginx-")
        os.makedirs(os.path.join(self.dir, "tmp"))
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            conf = NGINX_CONF.format(port=port, status_port=self.status_port, http2=" http2" if http2 else "", body=BODY)
            f.write(conf)
        self.proc = subprocess.Popen(
            ["taskset", "-c", "0", "nginx", "-p", self.dir, "-c", "nginx.conf", "-e", "error.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            try:
                self.handled()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"nginx did not start on 127.0.0.1:{port} (port busy? try --port)")

    def handled(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.status_port}/nginx_status", timeout=2) as r:
            text = r.read().decode()
        # "server accepts handled requests\n A B C" -> C, minus this status request itself.
        return int(text.split("\n")[2].split()[2]) - 1

    def stop(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def profile(a, mode, out):
    """The mode's profile, written next to the run's output: bench-rate.toml at the default
    pacing (or --pacing); with --http2 either speaks h2c with --streams per connection."""
    with open(a.rate_profile if mode == "rate" else a.sat_profile) as f:
        text = f.read()
    if mode == "rate":
        text = re.sub(r"(?m)^pacing\s*=.*\n", "", text)
    if mode == "rate" and a.pacing:
        text = text.replace('arrivals = "uniform"\n', f'arrivals = "uniform"\npacing = "{a.pacing}"\n', 1)
    if a.http2:
        text = text.replace("[target]\n", f'[target]\nprotocol = "http2"\nmax-streams = {a.streams}\n', 1)
    path = os.path.join(out, f"bench-{mode}.toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def command(tool, mode, a, url, out):
    c, d, r = a.conns, a.dur, a.rate
    if tool == "wrk":
        return None if mode == "rate" else f"wrk -t1 -c{c} -d{d}s {url}"
    if tool == "oha":
        q = f" -q {r}" if mode == "rate" else ""
        return f"{a.oha} --no-tui --worker-threads 1 -c {c} -z {d}s{q} {url}"
    if tool == "h2load":
        q = f" -m {a.streams} --rps {r / c:g}" if mode == "rate" else " -m 1"
        return f"h2load -t 1 -c {c}{q} -D {d} {url}"
    report = os.path.join(out, "report")
    run_ = f"{a.einv} run {profile(a, mode, out)} --target {url} --connections {c} --duration {d}s --out {report}"
    return run_ if mode == "sat" else f"{run_} --rate {r}"


def send_lag_p99(out):
    try:
        with open(os.path.join(out, "report", "summary.json")) as f:
            return json.load(f)["overall"]["send_lag_ms"]["p99"]
    except (OSError, KeyError, ValueError):
        return None


def measure(nginx, tool, mode, a):
    out = tempfile.mkdtemp(prefix="einv-bench-out-")
    try:
        cmd = command(tool, mode, a, f"http://127.0.0.1:{nginx.port}/invoice", out)
        if cmd is None:
            return None
        tf = os.path.join(out, "time.txt")
        before = nginx.handled()
        p = run(f"timeout -k 5 {a.dur + 60} /usr/bin/time -f '%U %S %M' -o {tf} taskset -c 1 {cmd}")
        n = nginx.handled() - before
        try:
            u, s, rss = open(tf).read().split()[-3:]
        except (OSError, ValueError):
            print(f"{tool} {mode} failed: {p.stderr[-500:]}", file=sys.stderr)
            return None
        cpu = float(u) + float(s)
        return {"rps": n / a.dur, "us": cpu / max(n, 1) * 1e6, "rss": int(rss) / 1024,
                "lag": send_lag_p99(out) if tool == "einv-load" else None, "exit": p.returncode}
    finally:
        shutil.rmtree(out, ignore_errors=True)


def version(tool, a):
    if tool == "wrk":
        m = re.search(r"wrk (?:debian/)?(\d+\.\d+)", run("wrk -v").stdout + run("wrk -v").stderr)
        return f"wrk {m.group(1)}" if m else "wrk"
    if tool == "oha":
        m = re.search(r"(\d+\.\d+)", run(f"{a.oha} --version").stdout)
        return f"oha {m.group(1)}" if m else "oha"
    if tool == "h2load":
        m = re.search(r"nghttp2/(\d+\.\d+\.\d+)", run("h2load --version").stdout)
        return f"h2load {m.group(1)}" if m else "h2load"
    return "einv-load"


def fmt_int(x):
    return f"{x:,.0f}"


def table(a, results, names, load):
    med = {k: {m: statistics.median(x[m] for x in v) for m in ("rps", "us", "rss")} for k, v in results.items()}
    lags = {k: [x["lag"] for x in v if x["lag"] is not None] for k, v in results.items()}
    pacing = a.pacing or "default"
    # The peer whose req/s the others are set against.
    base = "h2load" if a.http2 else "wrk"
    h2 = f", h2c: rate mode {a.streams} streams per connection, saturation 1" if a.http2 else ""
    print(f"\n{a.conns} connections{h2}, {a.dur} s runs, median of {a.reps} interleaved runs; nginx on CPU 0, "
          f"tool on CPU 1; requests counted by nginx; load average before: {load}\n")
    print(f"| mode | tool | req/s | client CPU µs/req | peak RSS MiB | req/s vs {base} | µs/req vs best peer |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for mode in a.mode.split(","):
        label = "saturation" if mode == "sat" else f"{fmt_int(a.rate)}/s"
        wrk = med.get((base, mode))
        peers = [v["us"] for (t, md), v in med.items() if md == mode and t != "einv-load"]
        for tool in names:
            m = med.get((tool, mode))
            if not m:
                continue
            name = names[tool] + (f" (pacing {pacing})" if tool == "einv-load" and mode == "rate" else "")
            vs_wrk = f"{m['rps'] / wrk['rps']:.2f}" if wrk else "–"
            vs_best = f"{m['us'] / min(peers):.2f}" if peers else "–"
            print(f"| {label} | {name} | {fmt_int(m['rps'])} | {m['us']:.2f} | {m['rss']:.1f} | {vs_wrk} | {vs_best} |")
    for (tool, mode), v in sorted(lags.items()):
        if v and mode == "rate":
            print(f"\neinv-load at {fmt_int(a.rate)}/s: send-lag p99 {statistics.median(v):.2f} ms (median of {len(v)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tools", default="wrk,oha,einv-load", help="wrk, oha, h2load (with --http2), einv-load")
    ap.add_argument("--http2", action="store_true", help="h2c: nginx listens with http2, einv-load speaks it")
    ap.add_argument("--streams", type=int, default=10, help="with --http2: streams per connection in rate mode")
    ap.add_argument("--mode", default="sat,rate", help="sat, rate or both (default)")
    ap.add_argument("--conns", type=int, default=50)
    ap.add_argument("--dur", type=int, default=10, help="seconds per run")
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--pacing", default="", help="einv-load's pacing in rate mode (default: the profile default)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--einv", default="target/release/einv-load")
    ap.add_argument("--oha", default="oha")
    ap.add_argument("--sat-profile", default="profiles/bench-saturate.toml")
    ap.add_argument("--rate-profile", default="profiles/bench-rate.toml")
    a = ap.parse_args()
    tools = [t for t in a.tools.split(",") if t]
    if "oha" in tools and not shutil.which(a.oha):
        print("note: oha not found; left out", file=sys.stderr)
        tools.remove("oha")
    names = {t: version(t, a) for t in tools}
    load = open("/proc/loadavg").read().split()[0]
    if a.http2 and ({"wrk", "oha"} & set(tools)):
        raise SystemExit("--http2 compares with h2load: --tools h2load,einv-load")
    nginx = Nginx(a.port, a.http2)
    results = {}
    try:
        for mode in a.mode.split(","):
            for rep in range(a.reps):
                for tool in tools:
                    r = measure(nginx, tool, mode, a)
                    if r:
                        results.setdefault((tool, mode), []).append(r)
                        print(f"[{mode} rep {rep + 1}] {tool}: {r['rps']:.0f} req/s, {r['us']:.2f} us/req, "
                              f"{r['rss']:.1f} MiB, exit {r['exit']}", file=sys.stderr)
                    time.sleep(1)
    finally:
        nginx.stop()
    table(a, results, names, load)


if __name__ == "__main__":
    main()
