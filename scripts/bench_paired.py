#!/usr/bin/env python3
"""This driver against the old pyro-postgres 0.3.1 wheel in ONE process, paired: the
steadiest wall-clock comparison on a noisy VM.

    python3 scripts/bench_paired.py [--cases select_1,select_10,insert_1] [--rounds 15]
                                    [--block 2000] [--lib PATH]

This checkout's pyro_postgres is imported from the repository, its library from --lib or
PYRO_POSTGRES_LIB, else the one inside the package directory (scripts/setup puts it there).

Both packages are called ``pyro_postgres``; this one is imported first, then the old
wheel's extension module is loaded from build/bench-deps/pyro031 (installed there by
scripts/bench) under the name ``old.pyro_postgres``. Client and server are pinned to CPU 0.
For each case, each driver runs the case's prepared statement (the workload of
scripts/bench_peer.py) in blocks of --block calls, alternating drivers (the order flips
every round); the ratio of each pair of neighbouring blocks is kept and the median of those
ratios is printed beside the median µs per call. Slow phases of the machine hit both
members of a pair, so the paired ratio moves far less between runs than the medians of
separate processes do.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import bench_peer as bp  # noqa: E402
import pgserver  # noqa: E402


def load_old_wheel() -> Any:
    deps = Path(os.environ.get("PYRO_BENCH_DEPS", ROOT / "build" / "bench-deps"))
    so = next((deps / "pyro031" / "pyro_postgres").glob("pyro_postgres*.so"), None)
    if so is None:
        raise SystemExit(f"bench_paired: the old wheel is not in {deps / 'pyro031'}; run scripts/bench once")
    spec = importlib.util.spec_from_file_location("old.pyro_postgres", so)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def prepared_call(conn: Any, case: str) -> Callable[[], Any]:
    """A fresh table on the connection and the case's prepared call."""
    conn.query_drop(bp.CREATE_SQL)
    ins = conn.prepare(bp.sql("insert", "$"))
    for r in bp.TABLE_DATA:
        conn.exec_drop(ins, r)
    name, params = bp.statement_for(case)
    stmt = conn.prepare(bp.sql(name, "$"))
    run = conn.exec_drop if case == "insert_1" else conn.exec
    return lambda: run(stmt, params)


def block(call: Callable[[], Any], n: int) -> float:
    """µs per call over n calls."""
    gc.collect()
    t0 = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - t0) / n / 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="select_1,select_10,insert_1")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--block", type=int, default=2000)
    ap.add_argument("--lib", help="the Rust library to load (default: PYRO_POSTGRES_LIB or the package's)")
    args = ap.parse_args()
    from pyro_postgres import _ffi  # this checkout's driver, imported before the old wheel
    from pyro_postgres.sync import Conn

    _ffi.init(args.lib)
    print(f"bench_paired: pyro_postgres from {Path(_ffi.__file__).parent}, library {_ffi._lib.path if _ffi._lib else '?'}")

    old = load_old_wheel()
    os.sched_setaffinity(0, {0})
    print(f"bench_paired: {args.rounds} rounds of {args.block}-call blocks, client and server on CPU 0")
    print("| case | pyro µs | pyro031 µs | pyro/pyro031 (paired median) | range of paired ratios |")
    print("|---|---:|---:|---:|---|")
    with pgserver.start("18", cpu=0) as srv:
        url = srv.url(upgrade_to_unix_socket=False)
        for case in args.cases.split(","):
            ours_conn, old_conn = Conn(url), old.sync.Conn(url)
            ours, theirs = prepared_call(ours_conn, case), prepared_call(old_conn, case)
            times: dict[str, list[float]] = {"ours": [], "old": []}
            warm = max(args.block // 4, 50)
            block(ours, warm)
            block(theirs, warm)
            for r in range(args.rounds):
                order = (("ours", ours), ("old", theirs)) if r % 2 == 0 else (("old", theirs), ("ours", ours))
                for name, call in order:
                    times[name].append(block(call, args.block))
                    if case == "insert_1":
                        for q in bp.RESET_SQL:
                            (ours_conn if name == "ours" else old_conn).query_drop(q)
            ratios = sorted(a / b for a, b in zip(times["ours"], times["old"]))
            print(f"| {case} | {statistics.median(times['ours']):.1f} | {statistics.median(times['old']):.1f} "
                  f"| {statistics.median(ratios):.3f} | {ratios[0]:.2f}–{ratios[-1]:.2f} |", flush=True)
            ours_conn.close()
            old_conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
