#!/usr/bin/env python3
"""Instructions per call, counted by valgrind's callgrind: a repeatable cost measure
beside scripts/bench's wall-clock medians (which this VM's neighbours make noisy).

    python3 scripts/instructions.py [--cases select_1,insert_1] [--drivers pyro,pyro031]
                                    [--top 25] [--lib PATH] [--footprint [KIB]]

For each driver and case of the benchmark workload (scripts/bench_peer.py), runs one
prepared statement in a loop of N1 and of N2 calls under callgrind, in a fresh process
each, and prints (cost(N2) - cost(N1)) / (N2 - N1): the instructions of one call, split
by shared object and by function (self cost). Start-up, connect and warm-up cancel out.

``--footprint`` adds callgrind's cache simulation with small fully associative caches
(16 KiB each for instructions and data unless given): a call whose code (or data) does not
fit misses on about every line it touches, so the misses per call approximate how many
distinct 64-byte lines of code and data one call touches. With client and server on one
CPU, the server evicts the client's lines between calls and each of those lines is fetched
again on the next call: this predicts wall time better than the instruction count.

``pyro`` is this checkout's pyro_postgres (imported from the repository, the library
from --lib or PYRO_POSTGRES_LIB, else the one inside the package); ``pyro031`` is the
old wheel that scripts/bench installs into build/bench-deps/pyro031. Needs valgrind:
installed with apt-get when missing and run as root. PYTHONHASHSEED is fixed: dict layouts, and so costs,
otherwise differ between processes by a thousand instructions or more.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import pgserver  # noqa: E402

WORKER = r'''
import os, sys
driver, case, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path.insert(0, os.environ["PYRO_SCRIPTS"])
if driver == "pyro031":
    sys.path.insert(0, os.environ["PYRO_OLD_WHEEL"])
else:
    sys.path.insert(0, os.environ["PYRO_ROOT"])
import bench_peer as bp
from pyro_postgres.sync import Conn


def main():  # a function: module-level loops would store into the globals dict each turn
    conn = Conn(os.environ["PYRO_URL"])
    conn.query_drop(bp.CREATE_SQL)
    conn.exec_batch(bp.sql("insert", "$"), bp.TABLE_DATA)
    name, params = bp.statement_for(case)
    stmt = conn.prepare(bp.sql(name, "$"))
    call = conn.exec_drop if case == "insert_1" else conn.exec
    for _ in range(50):
        call(stmt, params)
    for _ in range(n):
        call(stmt, params)

main()
'''

CASES = ["select_1", "select_10", "select_100", "insert_1"]


def callgrind(worker: Path, driver: str, case: str, n: int, env: dict[str, str], out: Path,
              footprint_kib: int | None) -> None:
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
    if footprint_kib:
        size = footprint_kib * 1024
        lines = size // 64
        cmd += ["--cache-sim=yes", f"--I1={size},{lines},64", f"--D1={size},{lines},64", "--LL=4194304,16,64"]
    cmd += [sys.executable, str(worker), driver, case, str(n)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"instructions: {driver} {case} failed:\n{r.stderr[-3000:]}")


def self_costs(path: Path, events: list[str]) -> dict[tuple[str, str], list[int]]:
    """(function, object file) -> self costs of the events, from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100",
                          f"--show={','.join(events)}", str(path)],
                         capture_output=True, text=True, check=True).stdout
    # "count (pct)" per event, then "file:function [object]"; the object is missing on some lines
    counts = r"\s+".join([r"([\d,]+|\.)(?:\s+\([^)]*\))?"] * len(events))  # "." is a zero
    pattern = re.compile(r"\s*" + counts + r"\s+(.*?)\s*(?:\[([^\[\]]*)\])?\s*$")
    costs: dict[tuple[str, str], list[int]] = {}
    for line in out.splitlines():
        m = pattern.match(line)
        if not m:
            continue
        function, obj = m.group(len(events) + 1), m.group(len(events) + 2)
        if function == "PROGRAM TOTALS" or function.startswith("=>"):
            continue
        key = (function, os.path.basename(obj or "?"))
        values = [int(m.group(i + 1).replace(",", "").replace(".", "0")) for i in range(len(events))]
        costs[key] = [a + b for a, b in zip(costs.get(key, [0] * len(events)), values)]
    return costs


def report(per_call: dict[tuple[str, str], list[float]], events: list[str], i: int, what: str) -> str:
    """Event i summed over the call, and split by shared object."""
    by_object: dict[str, float] = {}
    for (_, obj), v in per_call.items():
        by_object[obj] = by_object.get(obj, 0) + v[i]
    floor = 50 if events[i] == "Ir" else 3
    objects = ", ".join(f"{o} {v:,.0f}" for o, v in sorted(by_object.items(), key=lambda x: -x[1]) if v >= floor)
    return f"{sum(v[i] for v in per_call.values()):,.0f} {what} ({objects})"


def short(function: str) -> str:
    function = re.sub(r"^.*?/Python-3[.\d]+/", "", function)
    function = re.sub(r"^/work/[^:]*/rust/", "", function)
    return function[:110]


def ensure_valgrind() -> None:
    if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
        return
    if os.geteuid() != 0:
        raise SystemExit("instructions: valgrind is not installed (apt-get install valgrind)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "valgrind"]):
        if subprocess.run(cmd, env=env, capture_output=True).returncode != 0:
            raise SystemExit(f"instructions: {' '.join(cmd)} failed; install valgrind by hand")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--drivers", default="pyro,pyro031")
    ap.add_argument("--top", type=int, default=25, help="functions listed per run (0: none)")
    ap.add_argument("--lib", help="the Rust library to load (default: PYRO_POSTGRES_LIB or the package's)")
    ap.add_argument("--n1", type=int, default=100)
    ap.add_argument("--n2", type=int, default=600)
    ap.add_argument("--keep", metavar="DIR", help="keep the callgrind files there (for callgrind_annotate)")
    ap.add_argument("--footprint", nargs="?", type=int, const=16, metavar="KIB",
                    help="also count cache misses with KIB (default 16) fully associative caches")
    args = ap.parse_args()
    events = ["Ir", "I1mr", "D1mr", "D1mw"] if args.footprint else ["Ir"]
    ensure_valgrind()
    old_wheel = Path(os.environ.get("PYRO_BENCH_DEPS", ROOT / "build" / "bench-deps")) / "pyro031"
    drivers = args.drivers.split(",")
    if "pyro031" in drivers and not old_wheel.exists():
        raise SystemExit(f"instructions: the old wheel is not at {old_wheel}; run scripts/bench once")
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, pgserver.start("18") as srv:
        worker = Path(tmp) / "worker.py"
        worker.write_text(WORKER)
        env = dict(os.environ, PYTHONHASHSEED="0", PYRO_URL=srv.url(upgrade_to_unix_socket=False),
                   PYRO_SCRIPTS=str(ROOT / "scripts"), PYRO_ROOT=str(ROOT), PYRO_OLD_WHEEL=str(old_wheel))
        if args.lib:
            env["PYRO_POSTGRES_LIB"] = os.path.abspath(args.lib)
        for case in args.cases.split(","):
            for driver in drivers:
                runs = []
                for n in (args.n1, args.n2):
                    out = Path(args.keep or tmp) / f"{driver}-{case}-{n}.out"
                    callgrind(worker, driver, case, n, env, out, args.footprint)
                    runs.append(self_costs(out, events))
                span = args.n2 - args.n1
                zero = [0] * len(events)
                per_call = {
                    k: [(b - a) / span for a, b in zip(runs[0].get(k, zero), runs[1].get(k, zero))]
                    for k in set(runs[0]) | set(runs[1])
                }
                print(f"\n{case} / {driver}: " + report(per_call, events, 0, "instructions per call"))
                if args.footprint:
                    print(f"{case} / {driver}: " + report(per_call, events, 1, "code lines missed per call")
                          + f"; data lines missed per call: {sum(v[2] + v[3] for v in per_call.values()):,.0f}")
                sort = 1 if args.footprint else 0
                for (fn, obj), v in sorted(per_call.items(), key=lambda x: -x[1][sort])[: args.top]:
                    shown = "  ".join(f"{x:8,.0f}" for x in v)
                    print(f"  {shown}  {short(fn)}  [{obj}]")
                if args.footprint and args.top:
                    print(f"  (columns: {', '.join(events)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
