"""exec_iter: rows streamed from a portal through a callback."""

from __future__ import annotations

from typing import Iterator

import pytest

from pyro_postgres.error import DivisionByZero, IncorrectApiUsageError, UndefinedTable
from pyro_postgres.sync import Conn, UnnamedPortal


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    yield c
    c.close()


def test_seed_example(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE large_table(value int)")
    conn.query_drop("INSERT INTO large_table SELECT g FROM generate_series(1, 10000) g")

    def process(portal: UnnamedPortal) -> int:
        total = 0
        while True:
            rows, has_more = portal.fetch(1000)
            total += sum(row[0] for row in rows)
            if not has_more:
                break
        return total

    assert conn.exec_iter("SELECT value FROM large_table", (), process) == sum(range(1, 10001))


def test_slices_dicts_and_exhaustion(conn: Conn) -> None:
    def read(portal: UnnamedPortal) -> list:
        out = []
        rows, more = portal.fetch(2, as_dict=True)
        out.append((rows, more))
        out.append(portal.fetch(0))
        out.append(portal.fetch(5))
        return out

    got = conn.exec_iter("SELECT g AS n FROM generate_series(1, $1::int) g", (4,), read)
    assert got == [([{"n": 1}, {"n": 2}], True), ([(3,), (4,)], False), ([], False)]


def test_large_stream_in_chunks(conn: Conn) -> None:
    def count(portal: UnnamedPortal) -> int:
        n = 0
        while True:
            rows, more = portal.fetch(50_000)
            n += len(rows)
            if not more:
                return n

    assert conn.exec_iter("SELECT g, repeat('x', 100) FROM generate_series(1, 200000) g", (), count) == 200_000


def test_callback_exception_propagates_unchanged(conn: Conn) -> None:
    class Boom(Exception):
        pass

    def fail(portal: UnnamedPortal) -> None:
        portal.fetch(1)
        raise Boom("from the callback")

    with pytest.raises(Boom, match="from the callback"):
        conn.exec_iter("SELECT generate_series(1, 10)", (), fail)
    assert conn.query_first("SELECT 1") == (1,)


def test_portal_after_callback_is_a_clear_error(conn: Conn) -> None:
    kept = conn.exec_iter("SELECT 1", (), lambda p: p)
    with pytest.raises(IncorrectApiUsageError, match="closed"):
        kept.fetch(1)
    assert conn.exec("SELECT 2") == [(2,)]


def test_reentrant_use_is_refused(conn: Conn) -> None:
    def nested(portal: UnnamedPortal) -> None:
        with pytest.raises(IncorrectApiUsageError, match="portal"):
            conn.query("SELECT 1")
        with pytest.raises(IncorrectApiUsageError, match="portal"):
            conn.exec("SELECT 1")
        assert portal.fetch(0) == ([(1,), (2,)], False)

    conn.exec_iter("SELECT generate_series(1, 2)", (), nested)
    assert conn.query_first("SELECT 3") == (3,)


def test_server_error_during_fetch(conn: Conn) -> None:
    def read(portal: UnnamedPortal) -> None:
        rows, more = portal.fetch(3)
        assert len(rows) == 3 and more
        with pytest.raises(DivisionByZero):
            portal.fetch(100)
        with pytest.raises(IncorrectApiUsageError, match="earlier error"):
            portal.fetch(1)

    conn.exec_iter("SELECT 1 / (5 - g) FROM generate_series(1, 10) g", (), read)
    assert conn.query_first("SELECT 4") == (4,)


def test_error_opening_the_portal(conn: Conn) -> None:
    called = []
    with pytest.raises(UndefinedTable):
        conn.exec_iter("SELECT * FROM no_such_table", (), called.append)
    assert called == []
    assert conn.exec_first("SELECT $1::int", (1,)) == (1,)


def test_params_are_typed_by_the_statement(conn: Conn) -> None:
    got = conn.exec_iter("SELECT generate_series(1, $1::int)", (3,), lambda p: p.fetch(0)[0])
    assert got == [(1,), (2,), (3,)]


def test_inside_a_transaction(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE t_it(x int)")
    with conn.tx():
        conn.query_drop("INSERT INTO t_it VALUES (1), (2)")
        assert conn.exec_iter("SELECT x FROM t_it ORDER BY x", (), lambda p: p.fetch(0)[0]) == [(1,), (2,)]
    assert conn.query_first("SELECT count(*) FROM t_it") == (2,)
