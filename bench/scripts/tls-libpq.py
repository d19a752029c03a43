#!/usr/bin/env python3
"""The `tls` scenario's workload sent by libpq, the reference C client: what TLS costs a client
other than sqlx against the same server.

200 statements a run on one connection, half binding 1 byte and half 24 KiB, prepared, each
waiting for its answer; the TLS and plain links take turns, three blocks of 15 runs each.

Usage: pip install "psycopg[binary]"; python3 bench/scripts/tls-libpq.py \
    "host=127.0.0.1 user=postgres dbname=bench_city"
"""

import statistics
import sys
import time

import psycopg

STATEMENTS = 200
LARGE = "x" * 24 * 1024


def runs(dsn: str, mode: str) -> list[float]:
    with psycopg.connect(f"{dsn} sslmode={mode}", prepare_threshold=0) as conn:
        cur = conn.cursor()
        for _ in range(50):
            cur.execute("SELECT length(%s::text) AS n", ("x",))
            cur.fetchone()
        times = []
        for _ in range(15):
            start = time.perf_counter()
            for i in range(STATEMENTS):
                cur.execute("SELECT length(%s::text) AS n", ("x" if i % 2 == 0 else LARGE,))
                cur.fetchone()
            times.append(time.perf_counter() - start)
        return times


def main() -> None:
    dsn = sys.argv[1] if len(sys.argv) > 1 else "host=127.0.0.1 user=postgres dbname=postgres"
    measured: dict[str, list[float]] = {"require": [], "disable": []}
    for _ in range(3):
        for mode in measured:
            measured[mode] += runs(dsn, mode)
    for mode, times in measured.items():
        print(f"{mode}: median {statistics.median(times) * 1e3:.1f} ms, "
              f"fastest {min(times) * 1e3:.1f} ms, "
              f"{statistics.median(times) / STATEMENTS * 1e6:.0f} µs a statement")
    tls, plain = measured["require"], measured["disable"]
    print(f"ratio: {statistics.median(tls) / statistics.median(plain):.2f}× "
          f"(fastest runs {min(tls) / min(plain):.2f}×)")


if __name__ == "__main__":
    main()
