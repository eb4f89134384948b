#!/usr/bin/python3
"""http_p99.py: latency of one HTTP GET asked many times in a row, against
a running collector (tests/bench/run, docs/performance.md).

    tests/bench/http_p99.py --port PORT --path /api/indicators [--count 300]

Each request is a new connection (the collector closes after each answer),
sent when the previous answer has been read to its end; the time is from
connect to the last byte. The first request is reported apart (cold: the
collector may compute it); the percentiles are over the others (warm).
Prints one line of key=value: status, bytes, cold_ms, n, p50_ms, p90_ms,
p99_ms, max_ms, and changed: answers whose body differs from the first
one's (a publication in between; a kept answer is the computed one's
bytes). Exits 1 if any answer is not 200."""
import argparse
import socket
import sys
import time


def get(port, path):
    t0 = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        chunks.append(b)
    s.close()
    ms = (time.perf_counter() - t0) * 1000
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return ms, status, body


def pct(sorted_ms, p):
    # nearest rank
    k = max(0, min(len(sorted_ms) - 1, int(round(p / 100 * len(sorted_ms) + 0.5)) - 1))
    return sorted_ms[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/api/indicators")
    ap.add_argument("--count", type=int, default=300, help="warm requests after the first (>= 200 for a p99)")
    a = ap.parse_args()
    cold, status, first = get(a.port, a.path)
    if status != 200:
        print("status=%d bytes=%d cold_ms=%.1f" % (status, len(first), cold))
        return 1
    warm, bad, changed = [], 0, 0
    for _ in range(a.count):
        ms, st, body = get(a.port, a.path)
        warm.append(ms)
        bad += st != 200
        changed += body != first
    warm.sort()
    print("status=%d bytes=%d cold_ms=%.1f n=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f changed=%d"
          % (status, len(first), cold, len(warm), pct(warm, 50), pct(warm, 90), pct(warm, 99), warm[-1], changed))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
