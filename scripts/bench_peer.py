#!/usr/bin/env python3
"""Benchmark cases for pyro_postgres-style drivers, and the worker process for a peer.

Used two ways:

* imported by scripts/bench.py, which runs this repo's installed ``pyro_postgres``
  in-process through :class:`PyroDriver`;
* run as a worker (``python -I bench_peer.py --worker --path DIR``) for a driver whose
  Python package is also called ``pyro_postgres`` (the old 0.3.1 wheel, installed with
  ``pip install --target DIR``). DIR goes first on sys.path so that copy is imported.
  The worker reads one JSON command per line on stdin and answers one JSON line on
  its (private) stdout; its timings are taken in its own process with the same code
  as the in-process driver:

      {"cmd": "connect", "url": U, "prepared": true,
       "api": "sync"|"async"}                          -> {"ok": true, "info": {...}}
      {"cmd": "setup"}                                 -> {"ok": true}
      {"cmd": "supports", "case": C}                   -> {"ok": true, "value": bool}
      {"cmd": "check", "case": C}                      -> {"ok": true}
      {"cmd": "run", "case": C, "n": N, "warm": W}     -> {"ok": true, "value": [ns, ...]}
      {"cmd": "quit"}                                  -> (exits)

  Failures answer {"ok": false, "error": "Type: message"}.

  With ``"api": "async"`` the worker drives ``pyro_postgres.async_`` instead: it makes
  one asyncio event loop and runs every command to completion on it, so each op is
  timed around ``await op()`` inside the running loop (:func:`atime_block`).

Standard library only.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import json
import os
import sys
import time
from decimal import Decimal
from typing import Any, Callable

# --------------------------------------------------------------------------- workload

CASES = [
    "select_1", "select_10", "select_100", "select_1000",
    "insert_1", "bulk_insert_10000", "read_100000", "read_float_100000",
]
SELECT_K = {"select_1": 1, "select_10": 10, "select_100": 100, "select_1000": 1000}
TABLE_ROWS = 1000
BULK_ROWS = 10_000
READ_ROWS = 100_000
INSERT_CASES = ("insert_1", "bulk_insert_10000")

CREATE_SQL = (
    "CREATE TEMP TABLE benchmark_test (id SERIAL PRIMARY KEY, name VARCHAR(100), age INT, "
    "email VARCHAR(100), score FLOAT, description VARCHAR(100))"
)
# The SQL of every statement in the two placeholder styles: "$" (pyro) and "%" (psycopg).
_SQL = {
    "select": "SELECT * FROM benchmark_test LIMIT {p1}",
    "insert": "INSERT INTO benchmark_test (name, age, email, score, description) "
              "VALUES ({p1}, {p2}, {p3}, {p4}, {p5})",
    "read": "SELECT i, i::text, i*1.5 FROM generate_series(1, {p1}::int) i",
    "read_float": "SELECT i, i::text, (i*1.5)::float8 FROM generate_series(1, {p1}::int) i",
}
# after an insert block (untimed): back to the initial 1000 rows, dead tuples reclaimed,
# so every block of every round sees the same table
RESET_SQL = ("DELETE FROM benchmark_test WHERE id > %d" % TABLE_ROWS, "VACUUM benchmark_test")


def sql(name: str, style: str) -> str:
    ph = {f"p{i}": (f"${i}" if style == "$" else "%s") for i in range(1, 6)}
    return _SQL[name].format(**ph)


def row(i: int) -> tuple[str, int, str, float, str]:
    return (f"user_{i}", 20 + i % 5, f"user{i}@example.com", float(i % 10),
            f"Description for user {i}")


TABLE_DATA = [row(i) for i in range(TABLE_ROWS)]
BULK_DATA = [row(i) for i in range(TABLE_ROWS, TABLE_ROWS + BULK_ROWS)]
INSERT_ONE = row(TABLE_ROWS)


def statement_for(case: str) -> tuple[str, tuple[Any, ...] | list[Any]]:
    """(statement name in _SQL, params) of a case."""
    if case in SELECT_K:
        return "select", (SELECT_K[case],)
    if case == "insert_1":
        return "insert", INSERT_ONE
    if case == "bulk_insert_10000":
        return "insert", BULK_DATA
    if case == "read_100000":
        return "read", (READ_ROWS,)
    if case == "read_float_100000":
        return "read_float", (READ_ROWS,)
    raise ValueError(f"unknown case {case!r}")


def check_result(case: str, rows: Any) -> None:
    """Raise AssertionError when a case's result is not what the workload promises."""
    if case in SELECT_K:
        k = SELECT_K[case]
        assert len(rows) == k, f"{case}: {len(rows)} rows, expected {k}"
        assert len(rows[0]) == 6, f"{case}: row {rows[0]!r} has not 6 columns"
        r = rows[0]
        assert isinstance(r[0], int) and isinstance(r[1], str) and isinstance(r[4], float), \
            f"{case}: unexpected types in {r!r}"
    elif case in ("read_100000", "read_float_100000"):
        assert len(rows) == READ_ROWS, f"{case}: {len(rows)} rows, expected {READ_ROWS}"
        want = Decimal if case == "read_100000" else float
        last = rows[-1]
        assert last[0] == READ_ROWS and last[1] == str(READ_ROWS), f"{case}: last row {last!r}"
        assert type(last[2]) is want and last[2] == Decimal(READ_ROWS) * Decimal("1.5"), \
            f"{case}: third column {last[2]!r} ({type(last[2]).__name__}), expected {want.__name__}"


# --------------------------------------------------------------------------- timing


def time_block(op: Callable[[], Any], n: int, warm: int) -> list[int]:
    """``warm`` untimed calls, gc.collect(), then ``n`` calls each timed alone (ns)."""
    for _ in range(warm):
        op()
    gc.collect()
    out = [0] * n
    clock = time.perf_counter_ns
    for j in range(n):
        t0 = clock()
        op()
        out[j] = clock() - t0
    return out


async def atime_block(op: Callable[[], Any], n: int, warm: int) -> list[int]:
    """The async twin of :func:`time_block`: ``op()`` returns an awaitable; each
    ``await op()`` is timed alone, inside the running event loop."""
    for _ in range(warm):
        await op()
    gc.collect()
    out = [0] * n
    clock = time.perf_counter_ns
    for j in range(n):
        t0 = clock()
        await op()
        out[j] = clock() - t0
    return out


async def maybe_await(v: Any) -> Any:
    """``id()``/``server_version()`` are coroutines in some async APIs, plain in others."""
    return (await v) if inspect.isawaitable(v) else v


def error_text(e: BaseException) -> str:
    msg = str(e).strip().replace("\n", " | ")
    return f"{type(e).__name__}: {msg}" if msg else type(e).__name__


# --------------------------------------------------------------------------- pyro driver


class PyroDriver:
    """A pyro_postgres-API driver: ``prepared=True`` runs ``prepare()``d statements,
    ``prepared=False`` passes the SQL text to ``exec``/``exec_drop``/``exec_batch``."""

    def __init__(self, sync_module: Any, prepared: bool = True) -> None:
        self.mod = sync_module
        self.prepared = prepared
        self.conn: Any = None
        self.stmts: dict[str, Any] = {}

    def connect(self, url: str) -> dict[str, Any]:
        self.conn = self.mod.Conn(url)
        info: dict[str, Any] = {}
        for attr in ("server_version", "id"):
            try:
                info[attr] = getattr(self.conn, attr)()
            except Exception as e:  # informational only
                info[attr] = f"? ({error_text(e)})"
        return info

    def _stmt(self, name: str) -> Any:
        if not self.prepared:
            return sql(name, "$")
        st = self.stmts.get(name)
        if st is None:
            st = self.stmts[name] = self.conn.prepare(sql(name, "$"))
        return st

    def setup(self) -> None:
        c = self.conn
        c.query_drop("DROP TABLE IF EXISTS benchmark_test")
        c.query_drop(CREATE_SQL)
        ins = self.conn.prepare(sql("insert", "$"))  # untimed; plain per-row inserts
        for r in TABLE_DATA:
            c.exec_drop(ins, r)
        n = c.query_first("SELECT count(*) FROM benchmark_test")[0]
        assert int(n) == TABLE_ROWS, f"table has {n} rows after setup"

    def supports(self, case: str) -> bool:
        if case == "bulk_insert_10000":
            return hasattr(self.conn, "exec_batch")
        return True

    def op(self, case: str) -> Callable[[], Any]:
        name, params = statement_for(case)
        st = self._stmt(name)
        c = self.conn
        if case == "bulk_insert_10000":
            batch = c.exec_batch
            return lambda: batch(st, params)
        if case == "insert_1":
            drop = c.exec_drop
            return lambda: drop(st, params)
        ex = c.exec
        return lambda: ex(st, params)

    def reset(self, case: str) -> None:
        if case in INSERT_CASES:
            for q in RESET_SQL:
                self.conn.query_drop(q)

    def check(self, case: str) -> None:
        rows = self.op(case)()
        check_result(case, rows)
        self.reset(case)

    def run(self, case: str, n: int, warm: int) -> list[int]:
        op = self.op(case)
        try:
            return time_block(op, n, warm)
        finally:
            self.reset(case)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


class AsyncPyroDriver:
    """The same workload on a ``pyro_postgres.async_``-API driver (``await Conn.new(url)``;
    every I/O method awaited). ``prepared`` as in :class:`PyroDriver`."""

    def __init__(self, async_module: Any, prepared: bool = True) -> None:
        self.mod = async_module
        self.prepared = prepared
        self.conn: Any = None
        self.stmts: dict[str, Any] = {}

    async def connect(self, url: str) -> dict[str, Any]:
        self.conn = await self.mod.Conn.new(url)
        info: dict[str, Any] = {}
        for attr in ("server_version", "id"):
            try:
                info[attr] = await maybe_await(getattr(self.conn, attr)())
            except Exception as e:  # informational only
                info[attr] = f"? ({error_text(e)})"
        return info

    async def _stmt(self, name: str) -> Any:
        if not self.prepared:
            return sql(name, "$")
        st = self.stmts.get(name)
        if st is None:
            st = self.stmts[name] = await self.conn.prepare(sql(name, "$"))
        return st

    async def setup(self) -> None:
        c = self.conn
        await c.query_drop("DROP TABLE IF EXISTS benchmark_test")
        await c.query_drop(CREATE_SQL)
        ins = await c.prepare(sql("insert", "$"))  # untimed; plain per-row inserts
        for r in TABLE_DATA:
            await c.exec_drop(ins, r)
        n = (await c.query_first("SELECT count(*) FROM benchmark_test"))[0]
        assert int(n) == TABLE_ROWS, f"table has {n} rows after setup"

    async def supports(self, case: str) -> bool:
        if case == "bulk_insert_10000":
            return hasattr(self.conn, "exec_batch")
        return True

    async def op(self, case: str) -> Callable[[], Any]:
        name, params = statement_for(case)
        st = await self._stmt(name)
        c = self.conn
        if case == "bulk_insert_10000":
            batch = c.exec_batch
            return lambda: batch(st, params)
        if case == "insert_1":
            drop = c.exec_drop
            return lambda: drop(st, params)
        ex = c.exec
        return lambda: ex(st, params)

    async def reset(self, case: str) -> None:
        if case in INSERT_CASES:
            for q in RESET_SQL:
                await self.conn.query_drop(q)

    async def check(self, case: str) -> None:
        rows = await (await self.op(case))()
        check_result(case, rows)
        await self.reset(case)

    async def run(self, case: str, n: int, warm: int) -> list[int]:
        op = await self.op(case)
        try:
            return await atime_block(op, n, warm)
        finally:
            await self.reset(case)

    async def close(self) -> None:
        if self.conn is not None:
            try:
                await self.conn.close()
            except Exception:
                pass
            self.conn = None


class SyncFacade:
    """Runs an async driver's methods to completion on one event loop, so it can be
    called like a sync driver (the loop is running for the whole of each call)."""

    def __init__(self, driver: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.d = driver
        self.loop = loop

    def __getattr__(self, name: str) -> Any:
        f = getattr(self.d, name)
        if not inspect.iscoroutinefunction(f):
            return f
        return lambda *a, **kw: self.loop.run_until_complete(f(*a, **kw))


# --------------------------------------------------------------------------- worker


def _worker(path: str) -> int:
    # Protocol on a private copy of stdout; fd 1 now goes to stderr, so nothing the
    # driver (or Rust logging) prints can corrupt the replies.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin
    driver: Any = None
    loop: asyncio.AbstractEventLoop | None = None

    def reply(**kw: Any) -> None:
        proto.write(json.dumps(kw) + "\n")
        proto.flush()

    try:
        sys.path.insert(0, os.path.abspath(path))
        import pyro_postgres  # noqa: F401  (the copy under `path`)
        import pyro_postgres.sync as sync_mod
        async_mod: Any = None
        async_err = ""
        try:
            import pyro_postgres.async_ as async_mod
        except ImportError as e:
            async_err = error_text(e)
        where = os.path.dirname(os.path.abspath(pyro_postgres.__file__))
        if not where.startswith(os.path.abspath(path) + os.sep):
            raise ImportError(f"pyro_postgres imported from {where}, not from {path}")
        try:
            from importlib.metadata import version
            ver = version("pyro-postgres")
        except Exception:
            ver = getattr(pyro_postgres, "__version__", "?")
    except Exception as e:
        # answer the first command with the import error
        inp.readline()
        reply(ok=False, error=f"cannot import pyro_postgres from {path}: {error_text(e)}")
        return 1

    for line in inp:
        if not line.strip():
            continue
        req = json.loads(line)
        cmd = req.get("cmd")
        try:
            if cmd == "quit":
                break
            if cmd == "connect":
                if driver is not None:
                    raise RuntimeError("already connected")
                prepared = req.get("prepared", True)
                if req.get("api", "sync") == "async":
                    if async_mod is None:
                        raise ImportError(f"cannot import pyro_postgres.async_: {async_err}")
                    loop = asyncio.new_event_loop()
                    asyncio.set_event_loop(loop)
                    driver = SyncFacade(AsyncPyroDriver(async_mod, prepared), loop)
                else:
                    driver = PyroDriver(sync_mod, prepared=prepared)
                info = driver.connect(req["url"])
                info.update(version=ver, module=where, pid=os.getpid(),
                            affinity=sorted(os.sched_getaffinity(0)))
                reply(ok=True, info=info)
            elif driver is None:
                reply(ok=False, error="not connected")
            elif cmd == "setup":
                driver.setup()
                reply(ok=True)
            elif cmd == "supports":
                reply(ok=True, value=driver.supports(req["case"]))
            elif cmd == "check":
                driver.check(req["case"])
                reply(ok=True)
            elif cmd == "run":
                reply(ok=True, value=driver.run(req["case"], int(req["n"]), int(req["warm"])))
            else:
                reply(ok=False, error=f"unknown command {cmd!r}")
        except Exception as e:
            reply(ok=False, error=error_text(e))
    if driver is not None:
        driver.close()
    if loop is not None:
        loop.close()
        # Skip interpreter finalization: the 0.3.1 wheel's Tokio threads can still take
        # the GIL then ("Fatal Python error: PyGILState_Release ... finalizing").
        proto.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


def main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worker", action="store_true", required=True)
    ap.add_argument("--path", required=True,
                    help="directory holding the pyro_postgres package to import")
    a = ap.parse_args(argv)
    return _worker(a.path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
