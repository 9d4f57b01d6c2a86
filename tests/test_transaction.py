"""Transactions: commit, rollback, explicit end, failed commits, nesting."""

from __future__ import annotations

from typing import Iterator

import pytest

from pyro_postgres import IsolationLevel
from pyro_postgres.error import (
    DivisionByZero,
    IncorrectApiUsageError,
    InFailedSqlTransaction,
    TransactionClosedError,
    UniqueViolation,
)
from pyro_postgres.sync import Conn


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    c.query_drop("CREATE TEMP TABLE users(id serial PRIMARY KEY, name text UNIQUE)")
    yield c
    c.close()


def names(conn: Conn) -> list[str]:
    return [r[0] for r in conn.query("SELECT name FROM users ORDER BY id")]


def test_seed_quick_start_transaction(conn: Conn) -> None:
    with conn.tx():
        conn.exec_drop("INSERT INTO users (name) VALUES ($1)", ("Alice",))
        conn.exec_drop("INSERT INTO users (name) VALUES ($1)", ("Bob",))
    assert names(conn) == ["Alice", "Bob"]


def test_exception_rolls_back(conn: Conn) -> None:
    with pytest.raises(ValueError):
        with conn.tx():
            conn.query_drop("INSERT INTO users (name) VALUES ('Alice')")
            raise ValueError("oops")
    assert names(conn) == []


def test_explicit_commit_and_rollback(conn: Conn) -> None:
    with conn.tx() as tx:
        conn.query_drop("INSERT INTO users (name) VALUES ('A')")
        tx.commit()
        with pytest.raises(TransactionClosedError):
            tx.commit()
        with pytest.raises(TransactionClosedError):
            tx.rollback()
    with conn.tx() as tx:
        conn.query_drop("INSERT INTO users (name) VALUES ('B')")
        tx.rollback()
    assert names(conn) == ["A"]


def test_commit_of_failed_transaction_raises(conn: Conn) -> None:
    with pytest.raises(InFailedSqlTransaction):
        with conn.tx():
            conn.query_drop("INSERT INTO users (name) VALUES ('A')")
            with pytest.raises(DivisionByZero):
                conn.query("SELECT 1/0")
    assert names(conn) == []
    assert conn._transaction_status() == "I"


def test_deferred_constraint_failure_at_commit_raises(conn: Conn) -> None:
    conn.query_drop(
        "CREATE TEMP TABLE d(id int, CONSTRAINT d_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(UniqueViolation):
        with conn.tx():
            conn.query_drop("INSERT INTO d VALUES (1), (1)")
    assert conn.query_first("SELECT count(*) FROM d") == (0,)
    assert conn._transaction_status() == "I"


def test_nested_tx_is_rejected_and_outer_work_kept(conn: Conn) -> None:
    with conn.tx():
        conn.query_drop("INSERT INTO users (name) VALUES ('outer')")
        with pytest.raises(IncorrectApiUsageError, match="already open"):
            with conn.tx():
                pass
        assert conn._transaction_status() == "T"
    assert names(conn) == ["outer"]


def test_isolation_and_readonly(conn: Conn) -> None:
    with conn.tx(isolation_level=IsolationLevel.Serializable, readonly=True):
        assert conn.query_first("SHOW transaction_isolation") == ("serializable",)
        assert conn.query_first("SHOW transaction_read_only") == ("on",)
    with conn.tx(isolation_level=IsolationLevel("repeatable_read"), readonly=False):
        assert conn.query_first("SHOW transaction_isolation") == ("repeatable read",)
        assert conn.query_first("SHOW transaction_read_only") == ("off",)


def test_transaction_object_cannot_be_reused(conn: Conn) -> None:
    tx = conn.tx()
    with tx:
        pass
    with pytest.raises(TransactionClosedError):
        with tx:
            pass
    with pytest.raises(IncorrectApiUsageError):
        conn.tx().commit()


def test_isolation_level_parsing() -> None:
    assert IsolationLevel("READ COMMITTED") == IsolationLevel.ReadCommitted
    assert IsolationLevel("repeatable_read") == IsolationLevel.RepeatableRead
    level = IsolationLevel("sErIaLiZaBle")
    assert level.as_str() == "SERIALIZABLE"
    assert repr(level) == "IsolationLevel.Serializable"
    assert len({IsolationLevel.ReadUncommitted, IsolationLevel("read uncommitted")}) == 1
    with pytest.raises(ValueError):
        IsolationLevel("read-sometimes")
