#!/usr/bin/env python3
"""Try to knock over `einv-load serve`, and say whether it held.

Starts `einv-load serve` on 127.0.0.1 (a free port) with its default limits, then, while a
probe sends a normal request (GET /api/v1/taxpayers/ID on a new connection) every 100 ms:

  - a 1 GiB POST (declared length), and two 768 MB chunked POSTs;
  - 1,000 issues whose order numbers are 100 kB long;
  - 2,000 slowloris connections (a request head, one byte every 2 s);
  - 2,000 idle keep-alive connections (one request each, then nothing).

It prints the server's peak RSS (VmHWM), its CPU time, the probe latencies (p50, p99,
max) and what each attack got, and checks them against --rss-bar and --latency-bar.
Every byte goes to 127.0.0.1, to the server this script started; it is stopped at the
end. Takes about 75 s (the idle connections are closed after the 60 s idle timeout).

    cargo build --release && python3 scripts/serve-attack.py [--bin target/release/einv-load]

Latencies depend on how busy the machine is (the load average is printed); RSS does not.
"""

import argparse
import multiprocessing
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
GOOD = (
    '{"order_no":"%s","seller":{"tax_id":"91350100M000100Y43"},"buyer":{"tax_id":"91350100M000100Y43"},'
    '"lines":[{"amount":"100.00","tax_rate":"0.13","tax":"13.00"}],'
    '"total_amount":"100.00","total_tax":"13.00","total":"113.00"}'
)
PROBE = b"GET /api/v1/taxpayers/91350100M000100Y43 HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"


def status_of(data):
    """The status code of the first response in `data`, or None."""
    parts = data.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[0].startswith(b"HTTP/") and parts[1].isdigit() else None


def read_all(sock, limit=1 << 20):
    out = b""
    try:
        while len(out) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    return out


class Run:
    def __init__(self, port, pid):
        self.port, self.pid = port, pid
        self.t0 = time.monotonic()
        self.stop = threading.Event()
        self.results = {}
        self.lock = threading.Lock()

    def now(self):
        return time.monotonic() - self.t0

    def connect(self, timeout=10.0):
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def record(self, key, value):
        with self.lock:
            self.results[key] = value


def probe(port, stop, out):
    """A normal request every 100 ms on a new connection, in its own process so that the
    attack threads' share of the interpreter does not count as the server's latency."""
    t0 = time.monotonic()
    while not stop.is_set():
        t = time.monotonic()
        try:
            s = socket.create_connection((HOST, port), timeout=5.0)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(PROBE)
            status = status_of(read_all(s))
            s.close()
            out.put((t - t0, time.monotonic() - t, status))
        except OSError as e:
            out.put((t - t0, None, str(e)))
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t)))


def big_body(run, key, total, chunked):
    """POST `total` bytes; return what the server answered and how much it took."""
    s = run.connect(timeout=15.0)
    head = "POST /api/v1/invoices HTTP/1.1\r\nhost: x\r\n"
    head += "transfer-encoding: chunked\r\n\r\n" if chunked else "content-length: %d\r\n\r\n" % total
    s.sendall(head.encode())
    got = []
    reader = threading.Thread(target=lambda: got.append(read_all(s, 65536)), daemon=True)
    reader.start()
    block = b"0" * (1 << 20)
    chunk = (b"%x\r\n" % len(block)) + block + b"\r\n" if chunked else block
    sent = 0
    try:
        while sent < total:
            s.sendall(chunk)
            sent += len(block)
    except OSError:
        pass
    reader.join(15)
    s.close()
    answer = got[0] if got else b""
    run.record(key, "HTTP %s after the client pushed %d of %d MiB" % (status_of(answer), sent >> 20, total >> 20))


def long_order_numbers(run, count):
    statuses = {}
    no = "9" * 100_000
    body = (GOOD % no).encode()
    req = b"POST /api/v1/invoices HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    s = None
    for _ in range(count):
        try:
            if s is None:
                s = run.connect()
            s.sendall(req)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    raise OSError("closed")
                head += chunk
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            rest = head.split(b"\r\n\r\n", 1)[1]
            while len(rest) < length:
                rest += s.recv(length - len(rest))
            code = status_of(head)
        except (OSError, ValueError, IndexError) as e:
            code = type(e).__name__
            s = None
        statuses[code] = statuses.get(code, 0) + 1
    with run.lock:
        for k, v in statuses.items():
            run.results.setdefault("order numbers", {})
            run.results["order numbers"][k] = run.results["order numbers"].get(k, 0) + v


def hold_open(run, key, count, first, trickle):
    """Open `count` connections, send `first` on each, then (if `trickle`) one byte each
    every 2 s; record when the server closes each (seconds after it was opened)."""
    socks = {}
    for _ in range(count):
        try:
            s = run.connect()
            s.sendall(first)
            s.setblocking(False)
            socks[s] = time.monotonic()
        except OSError:
            pass
    opened, closed = len(socks), []
    # epoll, not select(): thousands of sockets are past select's 1,024 descriptors.
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    last_trickle = time.monotonic()
    while socks and not run.stop.is_set():
        for k, _ in sel.select(0.2):
            s = k.fileobj
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data:
                closed.append(time.monotonic() - socks.pop(s))
                sel.unregister(s)
                s.close()
        if trickle and time.monotonic() - last_trickle > 2.0:
            last_trickle = time.monotonic()
            for s in list(socks):
                try:
                    s.send(b"x")
                except OSError:
                    pass
    for s in socks:
        s.close()
    run.record(key, (opened, sorted(closed)))


def vm(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB -> MiB
    return float("nan")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="target/release/einv-load")
    ap.add_argument("--rss-bar", type=float, default=200.0, help="MiB the server's peak RSS must stay under")
    ap.add_argument("--latency-bar", type=float, default=50.0, help="ms every probe must be answered within")
    ap.add_argument("serve_args", nargs="*", help="more flags for serve (after --)")
    a = ap.parse_args()
    if not os.path.exists(a.bin):
        sys.exit("%s not found: cargo build --release (or --bin PATH)" % a.bin)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    server = subprocess.Popen(
        [a.bin, "serve", "--addr", HOST + ":0"] + a.serve_args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        line = server.stdout.readline().decode()
        port = int(line.split("http://")[1].split()[0].rsplit(":", 1)[1])
        run = Run(port, server.pid)
        load_before = os.getloadavg()
        cpu_before = cpu_seconds(server.pid)
        rss_start = vm(server.pid, "VmRSS")
        probe_stop, probe_out = multiprocessing.Event(), multiprocessing.Queue()
        prober = multiprocessing.Process(target=probe, args=(port, probe_stop, probe_out), daemon=True)
        prober.start()
        threads = []
        plan = [
            (1, big_body, (run, "1 GiB POST", 1 << 30, False)),
            (1, big_body, (run, "768 MB chunked #1", 768 << 20, True)),
            (1, big_body, (run, "768 MB chunked #2", 768 << 20, True)),
            (3, long_order_numbers, (run, 500)),
            (3, long_order_numbers, (run, 500)),
            (5, hold_open, (run, "slowloris", 2000, b"POST /api/v1/invoices HTTP/1.1\r\nhost: x\r\n", True)),
            (8, hold_open, (run, "idle keep-alive", 2000, PROBE.replace(b"close", b"keep-alive"), False)),
        ]
        for at, fn, args in plan:
            t = threading.Thread(target=lambda at=at, fn=fn, args=args: (time.sleep(at), fn(*args)), daemon=True)
            threads.append(t)
        for t in threads:
            t.start()
        deadline = time.monotonic() + 85
        probes = []  # (t, latency s or None, status)
        while time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.1)
            while not probe_out.empty():
                probes.append(probe_out.get())
        run.stop.set()
        probe_stop.set()
        prober.join(6)
        while not probe_out.empty():
            probes.append(probe_out.get())
        hwm, rss_end = vm(server.pid, "VmHWM"), vm(server.pid, "VmRSS")
        cpu = cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()
    finally:
        server.kill()
        server.wait()

    lat = [l * 1000 for _, l, st in probes if l is not None and st == 200]
    failed = [(round(t, 1), st) for t, l, st in probes if l is None or st != 200]
    slowest = sorted((l * 1000, t) for t, l, st in probes if l is not None and st == 200)[-5:]
    print("load average before %.2f, after %.2f (1 min; %d CPUs)" % (load_before[0], load_after[0], os.cpu_count()))
    print("serve RSS: at start %.1f MiB, peak (VmHWM) %.1f MiB, at end %.1f MiB; CPU %.1f s" % (rss_start, hwm, rss_end, cpu))
    print("probes: %d answered 200, %d failed; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms"
          % (len(lat), len(failed), percentile(lat, 50), percentile(lat, 99), max(lat or [float("nan")])))
    print("  slowest (ms at s): %s" % ", ".join("%.1f at %.1f" % lt for lt in reversed(slowest)))
    if failed:
        print("  failed probes (t, why): %s" % failed[:10])
    for key in ["1 GiB POST", "768 MB chunked #1", "768 MB chunked #2"]:
        print("%s: %s" % (key, run.results.get(key, "did not finish")))
    print("order numbers of 100 kB: %s" % run.results.get("order numbers", "did not finish"))
    for key in ["slowloris", "idle keep-alive"]:
        opened, closed = run.results.get(key, (0, []))
        span = "after %.1f-%.1f s" % (closed[0], closed[-1]) if closed else ""
        print("%s: %d opened, %d closed by the server %s" % (key, opened, len(closed), span))
    ok_rss = hwm < a.rss_bar
    ok_lat = not failed and bool(lat) and max(lat) <= a.latency_bar
    print("bar: peak RSS < %.0f MiB: %s; every probe answered within %.0f ms: %s"
          % (a.rss_bar, "yes" if ok_rss else "NO", a.latency_bar, "yes" if ok_lat else "NO"))
    sys.exit(0 if ok_rss and ok_lat else 1)


if __name__ == "__main__":
    main()
