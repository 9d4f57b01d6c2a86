"""Peak memory of streaming a large result with exec_iter.

    python scripts/bench_memory.py [--rows 1000000,10000000] [--slice 10000]

Starts a throwaway PostgreSQL 18, then for each row count runs a fresh Python process
that reads `SELECT g, repeat('x', 50) FROM generate_series(1, N) g` through
`Conn.exec_iter`, fetching a slice at a time and keeping nothing, and reports the
process's peak RSS (`ru_maxrss`) and the rows per second. Flat memory means the peak does
not grow with N.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgserver  # noqa: E402

CHILD = r"""
import json, resource, sys, time
from pyro_postgres.sync import Conn
url, n, slice_ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conn = Conn(url)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def drain(portal):
    count = 0
    while True:
        rows, more = portal.fetch(slice_)
        count += len(rows)
        if not more:
            return count
t = time.perf_counter()
got = conn.exec_iter("SELECT g, repeat('x', 50) FROM generate_series(1, $1::int) g", (n,), drain)
elapsed = time.perf_counter() - t
assert got == n, (got, n)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": n, "baseline_kib": base, "peak_kib": peak, "seconds": elapsed}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1000000,10000000")
    ap.add_argument("--slice", type=int, default=10_000)
    a = ap.parse_args()
    counts = [int(x) for x in a.rows.split(",")]
    srv = pgserver.start("18")
    try:
        url = srv.url(upgrade_to_unix_socket=False)
        print(f"command: python scripts/bench_memory.py --rows {a.rows} --slice {a.slice}")
        print("| rows | baseline RSS (MiB) | peak RSS (MiB) | rows/s |")
        print("|---:|---:|---:|---:|")
        for n in counts:
            out = subprocess.run([sys.executable, "-c", CHILD, url, str(n), str(a.slice)],
                                 capture_output=True, text=True, check=True, env=dict(os.environ))
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {n:,} | {r['baseline_kib'] / 1024:.1f} | {r['peak_kib'] / 1024:.1f} | "
                  f"{n / r['seconds']:,.0f} |", flush=True)
    finally:
        srv.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
