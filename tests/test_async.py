"""The asyncio API on the same engine: the core calls, queueing, cancellation."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from pyro_postgres import IsolationLevel
from pyro_postgres.async_ import Conn, Opts
from pyro_postgres.error import (
    ConnectionClosedError,
    DivisionByZero,
    IncorrectApiUsageError,
    InvalidPassword,
    UniqueViolation,
)


async def test_quick_start(url: str) -> None:
    conn = await Conn.new(url)
    await conn.query_drop("CREATE TEMP TABLE users(id serial PRIMARY KEY, name text)")
    assert await conn.query("SELECT id, name FROM users") == []
    async with conn.tx():
        await conn.exec_drop("INSERT INTO users (name) VALUES ($1)", ("Alice",))
        await conn.exec_drop("INSERT INTO users (name) VALUES ($1)", ("Bob",))
    assert await conn.exec_first("SELECT name FROM users WHERE id = $1", (2,)) == ("Bob",)
    assert await conn.query("SELECT name FROM users ORDER BY id", as_dict=True) == [{"name": "Alice"}, {"name": "Bob"}]
    assert (await conn.server_version()).startswith("18")
    assert await conn.id() > 0
    await conn.ping()
    await conn.close()
    assert conn.is_closed()


async def test_direct_constructor_is_refused() -> None:
    with pytest.raises(IncorrectApiUsageError, match="Conn.new"):
        Conn()


async def test_opts_and_auth(pg_server) -> None:
    conn = await Conn.new(Opts(pg_server.url("pyro_scram")).upgrade_to_unix_socket(False))
    assert await conn.query_first("SELECT current_user") == ("pyro_scram",)
    await conn.close()
    with pytest.raises(InvalidPassword):
        await Conn.new(pg_server.url("pyro_md5", password="wrong"))


async def test_unix_socket(pg_server) -> None:
    conn = await Conn.new(f"pg://postgres:postgres@localhost/pyro_test?socket={pg_server.socket_path}")
    assert await conn.query_first("SELECT inet_client_addr()") == (None,)
    await conn.close()


async def test_types_prepare_batch_and_large_results(url: str) -> None:
    conn = await Conn.new(url)
    at = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert await conn.exec_first("SELECT $1::numeric, $2::timestamptz, $3::jsonb", (1.5, at, {"a": 1})) == (
        Decimal("1.5"), at, {"a": 1})
    stmt, other = await conn.prepare_batch(["SELECT $1::int * 2", "SELECT $1::text"])
    assert await conn.exec(stmt, (21,)) == [(42,)]
    assert await conn.exec_first(other, ("x",)) == ("x",)
    await conn.query_drop("CREATE TEMP TABLE t_b(x int)")
    await conn.exec_batch("INSERT INTO t_b VALUES ($1)", [(i,) for i in range(2500)])
    assert await conn.query_first("SELECT count(*) FROM t_b") == (2500,)
    rows = await conn.exec("SELECT g, repeat('x', 100) FROM generate_series(1, $1::int) g", (20000,))
    assert len(rows) == 20000 and rows[-1][0] == 20000
    await conn.close()


async def test_errors_keep_step(url: str) -> None:
    conn = await Conn.new(url)
    with pytest.raises(DivisionByZero):
        await conn.exec("SELECT 1/0")
    with pytest.raises(DivisionByZero):
        await conn.query("SELECT 1/0")
    assert await conn.query_first("SELECT 'next'") == ("next",)
    await conn.query_drop("CREATE TEMP TABLE u(id int PRIMARY KEY)")
    await conn.exec_drop("INSERT INTO u VALUES ($1)", (1,))
    with pytest.raises(UniqueViolation):
        await conn.exec_drop("INSERT INTO u VALUES ($1)", (1,))
    assert await conn.exec_first("SELECT $1::int", (3,)) == (3,)
    await conn.close()


async def test_gather_is_queued_in_order(url: str) -> None:
    conn = await Conn.new(url)
    results = await asyncio.gather(*(conn.exec_first("SELECT $1::int", (i,)) for i in range(50)))
    assert results == [(i,) for i in range(50)]
    await conn.close()


async def test_transaction_rollback_and_isolation(url: str) -> None:
    conn = await Conn.new(url)
    await conn.query_drop("CREATE TEMP TABLE tt(x int)")
    with pytest.raises(ValueError):
        async with conn.tx():
            await conn.query_drop("INSERT INTO tt VALUES (1)")
            raise ValueError
    assert await conn.query_first("SELECT count(*) FROM tt") == (0,)
    async with conn.tx(isolation_level=IsolationLevel.Serializable, readonly=True) as tx:
        assert await conn.query_first("SHOW transaction_isolation") == ("serializable",)
        await tx.commit()
    await conn.close()


async def test_cancelling_a_call_cancels_the_statement(url: str) -> None:
    conn = await Conn.new(url)
    start = asyncio.get_running_loop().time()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(conn.query("SELECT pg_sleep(30)"), 0.2)
    assert asyncio.get_running_loop().time() - start < 10
    # The server cancelled the statement; the connection is in step and usable.
    assert await conn.query("SELECT 1") == [(1,)]
    task = asyncio.ensure_future(conn.exec("SELECT pg_sleep($1)", (30,)))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await conn.exec_first("SELECT $1::int", (5,)) == (5,)
    await conn.close()


async def test_per_call_timeout(url: str) -> None:
    conn = await Conn.new(url)
    with pytest.raises(asyncio.TimeoutError):
        await conn.exec_drop("SELECT pg_sleep(30)", timeout=0.2)
    assert await conn.query_first("SELECT 2", timeout=5) == (2,)
    rows = await conn.exec("SELECT g FROM generate_series(1, 300000) g", timeout=30)
    assert len(rows) == 300000
    await conn.close()


async def test_notices_are_logged(url: str, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    conn = await Conn.new(url)
    with caplog.at_level(logging.INFO, logger="pyro_postgres"):
        await conn.query_drop("DO $$ BEGIN RAISE NOTICE 'async hello'; END $$")
    assert any(r.getMessage() == "server NOTICE: async hello" for r in caplog.records)
    await conn.close()


async def test_other_loop_is_refused(url: str) -> None:
    conn = await Conn.new(url)
    result: list[BaseException] = []

    def run_elsewhere() -> None:
        try:
            asyncio.run(conn.query("SELECT 1"))
        except BaseException as e:  # noqa: BLE001
            result.append(e)

    import threading

    t = threading.Thread(target=run_elsewhere)
    t.start()
    t.join(10)
    assert len(result) == 1 and isinstance(result[0], IncorrectApiUsageError)
    assert await conn.query_first("SELECT 2") == (2,)
    await conn.close()


async def test_large_results_arrive_whole(url: str) -> None:
    # Many chunks arrive while earlier ones wait to be loaded: every row exactly once.
    conn = await Conn.new(url)
    for _ in range(3):
        rows = await conn.exec("SELECT g, repeat('y', 200) FROM generate_series(1, $1::int) g", (200_000,))
        assert len(rows) == 200_000
        assert [r[0] for r in rows[:3]] == [1, 2, 3] and rows[-1][0] == 200_000
        assert sum(r[0] for r in rows) == 200_000 * 200_001 // 2
        text_rows = await conn.query("SELECT g FROM generate_series(1, 150000) g")
        assert sum(r[0] for r in text_rows) == 150_000 * 150_001 // 2
    await conn.close()


async def test_exec_iter_async_and_sync_callbacks(url: str) -> None:
    from pyro_postgres.async_ import UnnamedPortal

    conn = await Conn.new(url)

    async def total(portal: UnnamedPortal) -> int:
        s = 0
        while True:
            rows, more = await portal.fetch(1000)
            s += sum(r[0] for r in rows)
            if not more:
                return s

    assert await conn.exec_iter("SELECT generate_series(1, $1::int)", (10000,), total) == 10000 * 10001 // 2
    assert await conn.exec_iter("SELECT 1", (), lambda portal: "sync result") == "sync result"

    async def reentrant(portal: UnnamedPortal) -> None:
        with pytest.raises(IncorrectApiUsageError, match="exec_iter"):
            await conn.query("SELECT 1")
        assert await portal.fetch(0, as_dict=True) == ([{"g": 1}], False)

    await conn.exec_iter("SELECT 1 AS g", (), reentrant)

    class Boom(Exception):
        pass

    async def boom(portal: UnnamedPortal) -> None:
        await portal.fetch(1)
        raise Boom

    with pytest.raises(Boom):
        await conn.exec_iter("SELECT generate_series(1, 10)", (), boom)
    kept = await conn.exec_iter("SELECT 1", (), lambda p: p)
    with pytest.raises(IncorrectApiUsageError, match="closed"):
        await kept.fetch(1)
    # Other tasks queue behind the callback instead of failing.
    other = asyncio.ensure_future(conn.query_first("SELECT 'queued'"))

    async def slow(portal: UnnamedPortal) -> list:
        await asyncio.sleep(0.05)
        return (await portal.fetch(0))[0]

    assert await conn.exec_iter("SELECT 5", (), slow) == [(5,)]
    assert await other == ("queued",)
    await conn.close()


def test_works_on_uvloop(url: str) -> None:
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (scripts/setup installs it)")

    async def flow() -> list:
        conn = await Conn.new(url)
        rows = await conn.exec("SELECT g FROM generate_series(1, $1::int) g", (30000,))
        async with conn.tx():
            await conn.query_drop("CREATE TEMP TABLE uv(x int)")
            await conn.exec_batch("INSERT INTO uv VALUES ($1)", [(i,) for i in range(100)])
        count = await conn.query_first("SELECT count(*) FROM uv")
        await conn.close()
        return [len(rows), count]

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(flow()) == [30000, (100,)]


def test_open_connections_at_interpreter_exit(url: str, tmp_path) -> None:
    import subprocess
    import sys

    script = (
        "import asyncio\n"
        "from pyro_postgres.async_ import Conn\n"
        "from pyro_postgres.sync import Conn as SyncConn\n"
        "keep = []\n"
        "async def main():\n"
        f"    conn = await Conn.new({url!r})\n"
        "    await conn.query('SELECT 1')\n"
        "    keep.append(conn)\n"
        f"keep.append(SyncConn({url!r}))\n"
        "asyncio.run(main())\n"
        "print('done')\n"
    )
    r = subprocess.run([sys.executable, "-X", "dev", "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "done"
    assert r.stderr == "", r.stderr


async def test_named_portals(url: str) -> None:
    conn = await Conn.new(url)
    async with conn.tx() as tx:
        p1 = await tx.exec_portal("SELECT generate_series(1, $1::int)", (5,))
        p2 = await tx.exec_portal("SELECT 'x' || generate_series(1, 3)")
        got1, got2 = [], []
        while not (p1.is_complete() and p2.is_complete()):
            got1 += await p1.exec_collect(2)
            got2 += await p2.exec_collect(2)
        await p1.close()
        await p2.close()
    assert [r[0] for r in got1] == [1, 2, 3, 4, 5]
    assert [r[0] for r in got2] == ["x1", "x2", "x3"]
    await conn.close()


async def test_pipeline(url: str) -> None:
    from pyro_postgres.error import PipelineAbortedError

    conn = await Conn.new(url)
    await conn.query_drop("CREATE TEMP TABLE ap(id int PRIMARY KEY)")
    stmt = await conn.prepare("SELECT $1::int * 2")
    async with conn.pipeline() as p:
        t1 = p.execute(stmt, (21,))
        t2 = p.exec("INSERT INTO ap VALUES (1)")
        t3 = p.exec("SELECT 1 / 0")
        t4 = p.exec("INSERT INTO ap VALUES (2)")
        await p.sync()
        t5 = p.exec("INSERT INTO ap VALUES (3)")
        assert p.pending_count() == 5
        assert await p.claim(t1) == [(42,)]
        await p.claim_drop(t2)
        with pytest.raises(DivisionByZero):
            await p.claim(t3)
        assert p.is_aborted()
        with pytest.raises(PipelineAbortedError):
            await p.claim_drop(t4)
        await p.claim_drop(t5)
        with pytest.raises(IncorrectApiUsageError, match="pipeline"):
            await conn.query("SELECT 1")
        p.exec("SELECT 'unclaimed'")
    assert await conn.query("SELECT id FROM ap ORDER BY id") == [(3,)]
    await conn.close()


async def test_upgrade_to_unix_socket(pg_server) -> None:
    conn = await Conn.new(pg_server.url("postgres", upgrade_to_unix_socket=True))
    assert await conn.query_first("SELECT inet_client_addr()") == (None,)
    await conn.close()
    # A role that may not read unix_socket_directories stays on TCP, in step.
    conn = await Conn.new(pg_server.url("pyro_nopriv", upgrade_to_unix_socket=True))
    assert await conn.query_first("SELECT 41 + 1") == (42,)
    assert await conn.query_first("SELECT inet_client_addr() IS NOT NULL") == (True,)
    await conn.close()


async def test_timeouts_on_the_other_calls(url: str) -> None:
    conn = await Conn.new(url)
    stmt = await conn.prepare("SELECT pg_sleep($1)", timeout=5)
    await conn.ping(timeout=5)
    async with conn.pipeline() as p:
        t = p.exec(stmt, (30,))
        with pytest.raises(asyncio.TimeoutError):
            await p.claim_drop(t, timeout=0.2)
        t2 = p.exec("SELECT 7")
        assert await p.claim(t2, timeout=5) == [(7,)]
    async with conn.tx() as tx:
        portal = await tx.exec_portal("SELECT g FROM generate_series(1, 3) g")
        assert await portal.exec_collect(0, timeout=5) == [(1,), (2,), (3,)]
    assert await conn.query_first("SELECT 'still usable'") == ("still usable",)
    await conn.close()
