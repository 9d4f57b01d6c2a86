"""The asyncio peers of scripts/bench.py: asyncpg, psycopg 3 (AsyncConnection), psqlpy.

Each class has the async driver interface of ``bench_peer.AsyncPyroDriver``
(``connect(srv) / setup / supports / check / run / close`` as coroutines); bench.py
wraps them in ``bench_peer.SyncFacade`` on its one event loop, so every op is timed
with ``bench_peer.atime_block`` (perf_counter_ns around ``await op()`` inside the
running loop). The workload (SQL, data, result checks, table reset after inserts) is
bench_peer's, so all drivers do the same thing.
"""

from __future__ import annotations

from typing import Any, Callable

import bench_peer as bp


class Unavailable(Exception):
    """The driver's package cannot be imported here: reported as n/a, not a failure."""


def _version(dist: str, mod: Any) -> str:
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return str(getattr(mod, "__version__", "?"))


class _AsyncDriver:
    """What every async peer does the same way; subclasses say how to run a plain
    statement (`_simple`) and how to close."""

    conn: Any = None

    async def op(self, case: str) -> Callable[[], Any]:
        raise NotImplementedError

    async def _simple(self, sql: str) -> None:
        raise NotImplementedError

    async def _close_conn(self) -> None:
        await self.conn.close()

    async def reset(self, case: str) -> None:
        if case in bp.INSERT_CASES:
            for q in bp.RESET_SQL:
                await self._simple(q)

    async def check(self, case: str) -> None:
        bp.check_result(case, await (await self.op(case))())
        await self.reset(case)

    async def run(self, case: str, n: int, warm: int) -> list[int]:
        op = await self.op(case)
        try:
            return await bp.atime_block(op, n, warm)
        finally:
            await self.reset(case)

    async def close(self) -> None:
        if self.conn is not None:
            try:
                await self._close_conn()
            except Exception:
                pass
            self.conn = None


class AsyncpgDriver(_AsyncDriver):
    """asyncpg: ``$n`` placeholders; ``conn.prepare()``d statements, ``ps.fetch(*params)``;
    bulk through ``conn.executemany``. Rows are ``asyncpg.Record``s."""

    def __init__(self) -> None:
        self.conn: Any = None
        self.stmts: dict[str, Any] = {}

    async def connect(self, srv: Any) -> dict[str, Any]:
        try:
            import asyncpg  # type: ignore[import-untyped]
        except ImportError as e:
            raise Unavailable(f"asyncpg not importable ({bp.error_text(e)})") from None
        self.conn = await asyncpg.connect(srv.url(scheme="postgresql"))
        return {
            "version": _version("asyncpg", asyncpg),
            "server_version": self.conn.get_settings().server_version,
            "id": self.conn.get_server_pid(),
        }

    async def _stmt(self, name: str) -> Any:
        st = self.stmts.get(name)
        if st is None:
            st = self.stmts[name] = await self.conn.prepare(bp.sql(name, "$"))
        return st

    async def setup(self) -> None:
        c = self.conn
        await c.execute("DROP TABLE IF EXISTS benchmark_test")
        await c.execute(bp.CREATE_SQL)
        await c.executemany(bp.sql("insert", "$"), bp.TABLE_DATA)
        n = await c.fetchval("SELECT count(*) FROM benchmark_test")
        assert n == bp.TABLE_ROWS, f"table has {n} rows after setup"

    async def supports(self, case: str) -> bool:
        return True

    async def op(self, case: str) -> Callable[[], Any]:
        name, params = bp.statement_for(case)
        if case == "bulk_insert_10000":
            many, q = self.conn.executemany, bp.sql(name, "$")
            return lambda: many(q, params)
        fetch = (await self._stmt(name)).fetch
        return lambda: fetch(*params)

    async def _simple(self, sql: str) -> None:
        await self.conn.execute(sql)


class PsycopgAsyncDriver(_AsyncDriver):
    """psycopg 3 AsyncConnection: C accelerator, autocommit, default prepare_threshold,
    ``%s`` placeholders, one reused cursor; bulk through ``cursor.executemany``."""

    def __init__(self) -> None:
        self.conn: Any = None
        self.cur: Any = None

    async def connect(self, srv: Any) -> dict[str, Any]:
        import psycopg

        self.conn = await psycopg.AsyncConnection.connect(srv.dsn(), autocommit=True)
        self.cur = self.conn.cursor()
        return {
            "version": psycopg.__version__,
            "impl": psycopg.pq.__impl__,
            "libpq": psycopg.pq.version(),
            "prepare_threshold": self.conn.prepare_threshold,
            "server_version": self.conn.info.parameter_status("server_version"),
            "id": self.conn.info.backend_pid,
        }

    async def setup(self) -> None:
        cur = self.cur
        await cur.execute("DROP TABLE IF EXISTS benchmark_test")
        await cur.execute(bp.CREATE_SQL)
        await cur.executemany(bp.sql("insert", "%"), bp.TABLE_DATA)
        await cur.execute("SELECT count(*) FROM benchmark_test")
        n = (await cur.fetchone())[0]
        assert n == bp.TABLE_ROWS, f"table has {n} rows after setup"

    async def supports(self, case: str) -> bool:
        return True

    async def op(self, case: str) -> Callable[[], Any]:
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

        async def op() -> Any:
            await execute(q, params)
            return await fetchall()
        return op

    async def _simple(self, sql: str) -> None:
        await self.cur.execute(sql)


class PsqlpyDriver(_AsyncDriver):
    """psqlpy: one standalone ``psqlpy.connect()`` connection; ``$n`` placeholders;
    ``conn.fetch(sql, params)`` (prepared=True, the default: psqlpy prepares and caches
    the statement) and ``.result(as_tuple=True)`` to turn the rows into Python tuples;
    insert_1 through ``conn.execute``; bulk through ``conn.execute_many``."""

    def __init__(self) -> None:
        self.conn: Any = None

    async def connect(self, srv: Any) -> dict[str, Any]:
        try:
            import psqlpy
        except ImportError as e:
            raise Unavailable(f"psqlpy not importable ({bp.error_text(e)})") from None
        self.conn = await psqlpy.connect(dsn=srv.url(scheme="postgresql"))
        info: dict[str, Any] = {"version": _version("psqlpy", psqlpy)}
        try:
            r = await self.conn.fetch("SELECT current_setting('server_version'), "
                                      "pg_backend_pid()", prepared=False)
            info["server_version"], info["id"] = r.result(as_tuple=True)[0]
        except Exception as e:  # informational only
            info["id"] = f"? ({bp.error_text(e)})"
        return info

    async def setup(self) -> None:
        c = self.conn
        await c.execute_batch("DROP TABLE IF EXISTS benchmark_test")
        await c.execute_batch(bp.CREATE_SQL)
        await c.execute_many(bp.sql("insert", "$"), [list(r) for r in bp.TABLE_DATA])
        n = (await c.fetch("SELECT count(*) FROM benchmark_test")).result(as_tuple=True)[0][0]
        assert n == bp.TABLE_ROWS, f"table has {n} rows after setup"

    async def supports(self, case: str) -> bool:
        return True

    async def op(self, case: str) -> Callable[[], Any]:
        name, params = bp.statement_for(case)
        q = bp.sql(name, "$")
        c = self.conn
        if case == "bulk_insert_10000":
            many, rows = c.execute_many, [list(r) for r in params]
            return lambda: many(q, rows)
        args = list(params)
        if case == "insert_1":
            execute = c.execute
            return lambda: execute(q, args)
        fetch = c.fetch

        async def op() -> Any:
            return (await fetch(q, args)).result(as_tuple=True)
        return op

    async def _simple(self, sql: str) -> None:
        await self.conn.execute_batch(sql)  # simple protocol (VACUUM)

    async def _close_conn(self) -> None:
        self.conn.close()
