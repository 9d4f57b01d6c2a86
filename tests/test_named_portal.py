"""Transaction.exec_portal: named portals read a slice at a time, interleaved."""

from __future__ import annotations

from typing import Iterator

import pytest

from pyro_postgres.error import (
    DivisionByZero,
    IncorrectApiUsageError,
    InFailedSqlTransaction,
    TransactionClosedError,
)
from pyro_postgres.sync import Conn


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    c.query_drop("CREATE TEMP TABLE table1(v int); CREATE TEMP TABLE table2(v text)")
    c.query_drop("INSERT INTO table1 SELECT g FROM generate_series(1, 250) g")
    c.query_drop("INSERT INTO table2 SELECT 'r' || g FROM generate_series(1, 120) g")
    yield c
    c.close()


def test_seed_example_interleaving(conn: Conn) -> None:
    seen1, seen2 = [], []
    with conn.tx() as tx:
        portal1 = tx.exec_portal("SELECT * FROM table1 ORDER BY v")
        portal2 = tx.exec_portal("SELECT * FROM table2 ORDER BY v")
        while True:
            rows1 = portal1.exec_collect(100)
            rows2 = portal2.exec_collect(100)
            seen1 += rows1
            seen2 += rows2
            if portal1.is_complete() and portal2.is_complete():
                break
        portal1.close()
        portal2.close()
    assert [r[0] for r in seen1] == list(range(1, 251))
    assert len(seen2) == 120


def test_is_complete_and_params_typed_like_exec(conn: Conn) -> None:
    with conn.tx() as tx:
        p = tx.exec_portal("SELECT generate_series(1, $1::int)", (4,))
        assert p.exec_collect(2) == [(1,), (2,)]
        assert not p.is_complete()
        assert p.exec_collect(2, as_dict=True) == [{"generate_series": 3}, {"generate_series": 4}]
        assert not p.is_complete()  # the server has not said it is done yet
        assert p.exec_collect(2) == []
        assert p.is_complete()
        assert p.exec_collect(2) == []
        # Other statements may run between slices.
        assert conn.exec_first("SELECT $1::int", (9,)) == (9,)
        assert conn.query_first("SELECT 8") == (8,)


def test_outside_a_transaction_and_after_it(conn: Conn) -> None:
    tx = conn.tx()
    with pytest.raises(IncorrectApiUsageError):
        tx.exec_portal("SELECT 1")
    with conn.tx() as tx:
        p = tx.exec_portal("SELECT generate_series(1, 10)")
        p.exec_collect(1)
    with pytest.raises(TransactionClosedError):
        tx.exec_portal("SELECT 1")
    with pytest.raises(IncorrectApiUsageError, match="closed"):
        p.exec_collect(1)
    assert conn.query_first("SELECT 1") == (1,)


def test_use_after_close(conn: Conn) -> None:
    with conn.tx() as tx:
        p = tx.exec_portal("SELECT 1")
        p.close()
        p.close()
        with pytest.raises(IncorrectApiUsageError, match="closed"):
            p.exec_collect(1)
        assert conn.query_first("SELECT 2") == (2,)


def test_error_in_a_portal_keeps_the_connection_in_step(conn: Conn) -> None:
    with pytest.raises(InFailedSqlTransaction):
        with conn.tx() as tx:
            p = tx.exec_portal("SELECT 1 / (3 - g) FROM generate_series(1, 5) g")
            with pytest.raises(DivisionByZero):
                p.exec_collect(10)
            # The transaction is failed now; the next statement says so, and does not hang.
            with pytest.raises(InFailedSqlTransaction):
                conn.query("SELECT 1")
    assert conn.query_first("SELECT 'fine'") == ("fine",)


def test_bad_params_raise_before_sending(conn: Conn) -> None:
    with conn.tx() as tx:
        with pytest.raises(IncorrectApiUsageError):
            tx.exec_portal("SELECT $1::int", ())
        p = tx.exec_portal("SELECT $1::int", (3,))
        assert p.exec_collect(0) == [(3,)]
