#!/usr/bin/env python3
"""A service einv-load cannot see inside, for scripts/calibrate-check.sh.

A fixed pool of W request workers (a ThreadPoolExecutor behind http.server) and a
"database" of P slots (a threading.Semaphore) held for a fixed time per path:
GET /lookup/<id> holds a slot 20 ms, POST /update/<id> 40 ms. Connections beyond the
workers wait for one; requests beyond the slots wait for one (no timeout), as a real
service's connection pool makes them. Stdlib only.

    python3 server.py [--port 0] [--workers 32] [--pool 6]

prints "port N" once listening; stop it by its PID.
"""
import argparse
import concurrent.futures
import http.server
import socketserver
import sys
import threading
import time

HOLDS = {"lookup": 0.020, "update": 0.040}
# The service's own timings on GET /metrics: how long each op held a database slot, a
# Prometheus histogram in 1 ms buckets (what `calibrate --service-timings` reads).
BOUNDS = [i / 1000 for i in range(1, 101)]


class Timings:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {op: [0] * (len(BOUNDS) + 1) for op in HOLDS}
        self.sums = {op: 0.0 for op in HOLDS}

    def record(self, op, seconds):
        i = next((i for i, b in enumerate(BOUNDS) if seconds <= b), len(BOUNDS))
        with self.lock:
            self.counts[op][i] += 1
            self.sums[op] += seconds

    def text(self):
        lines = ["# TYPE db_hold_seconds histogram"]
        with self.lock:
            for op, counts in self.counts.items():
                total = 0
                for b, n in zip(BOUNDS + ["+Inf"], counts):
                    total += n
                    lines.append(f'db_hold_seconds_bucket{{op="{op}",le="{b}"}} {total}')
                lines.append(f'db_hold_seconds_sum{{op="{op}"}} {self.sums[op]}')
                lines.append(f'db_hold_seconds_count{{op="{op}"}} {total}')
        return ("\n".join(lines) + "\n").encode()


class PooledServer(socketserver.TCPServer):
    """http.server on a fixed worker pool instead of a thread per connection."""

    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, addr, handler, workers):
        super().__init__(addr, handler)
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers)

    def process_request(self, request, client_address):
        self.executor.submit(self._work, request, client_address)

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def handler(db, timings):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle's algorithm the body waits
        # for the client's delayed ACK, 40 ms added to every answer.
        disable_nagle_algorithm = True

        def _serve(self):
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            op = self.path.strip("/").split("/")[0]
            if op == "metrics":
                self._answer(200, timings.text())
                return
            hold = HOLDS.get(op)
            if hold is None:
                self._answer(404, b'{"error":"no such op"}')
                return
            with db:
                start = time.perf_counter()
                time.sleep(hold)
                timings.record(op, time.perf_counter() - start)
            self._answer(200, b'{"ok":true}')

        def _answer(self, status, body):
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--workers", type=int, default=32)
    p.add_argument("--pool", type=int, default=6)
    a = p.parse_args()
    db = threading.BoundedSemaphore(a.pool)
    server = PooledServer(("127.0.0.1", a.port), handler(db, Timings()), a.workers)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
