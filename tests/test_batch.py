"""exec_batch: many parameter sets, pipelined in chunks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Iterator

import pytest

from pyro_postgres.error import EncodeError, IncorrectApiUsageError, UniqueViolation
from pyro_postgres.sync import Conn


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    c.query_drop("CREATE TEMP TABLE b(id int PRIMARY KEY, name text, score numeric, at timestamptz)")
    yield c
    c.close()


def count(conn: Conn) -> int:
    return conn.query_first("SELECT count(*) FROM b")[0]


def test_seed_example(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE users(age int, name text)")
    conn.exec_batch("INSERT INTO users (age, name) VALUES ($1, $2)", [
        (20, "Alice"),
        (21, "Bob"),
        (22, "Charlie"),
    ])
    assert conn.query("SELECT age, name FROM users ORDER BY age") == [(20, "Alice"), (21, "Bob"), (22, "Charlie")]


def test_many_rows_across_chunks(conn: Conn) -> None:
    rows = [(i, f"n{i}", Decimal(i) / 4, None) for i in range(10_500)]
    conn.exec_batch("INSERT INTO b VALUES ($1, $2, $3, $4)", rows)
    assert count(conn) == 10_500
    assert conn.exec_first("SELECT name, score FROM b WHERE id = $1", (10_499,)) == ("n10499", Decimal("2624.75"))


def test_typed_by_statement_not_first_row(conn: Conn) -> None:
    # The first row's None must not decide the type of the column.
    stmt = conn.prepare("INSERT INTO b(id, score, at) VALUES ($1, $2, $3)")
    at = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    conn.exec_batch(stmt, [(1, None, None), (2, 5, at), (3, 1.5, None)])
    assert conn.query("SELECT id, score, at FROM b ORDER BY id") == [
        (1, None, None),
        (2, Decimal(5), at),
        (3, Decimal("1.5"), None),
    ]


def test_empty_batch_sends_nothing(conn: Conn) -> None:
    conn.exec_batch("INSERT INTO b(id) VALUES ($1)", [])
    conn.exec_batch("INSERT INTO b(id) VALUES ($1)")
    assert count(conn) == 0


def test_generator_of_lists(conn: Conn) -> None:
    conn.exec_batch("INSERT INTO b(id, name) VALUES ($1, $2)", ([i, str(i)] for i in range(5)))
    assert count(conn) == 5


def test_bad_value_raises_before_anything_runs(conn: Conn) -> None:
    with pytest.raises(EncodeError, match="parameter set 3"):
        conn.exec_batch("INSERT INTO b(id) VALUES ($1)", [(1,), (2,), (object(),)])
    with pytest.raises(IncorrectApiUsageError, match="parameter set 2"):
        conn.exec_batch("INSERT INTO b(id) VALUES ($1)", [(1,), (1, 2)])
    with pytest.raises(IncorrectApiUsageError, match="parameter set 2"):
        conn.exec_batch("INSERT INTO b(id) VALUES ($1)", [(1,), "x"])
    with pytest.raises(IncorrectApiUsageError):
        conn.exec_batch("INSERT INTO b(id) VALUES ($1)", "abc")
    assert count(conn) == 0
    conn.exec_batch("INSERT INTO b(id) VALUES ($1)", [(1,)])
    assert count(conn) == 1


def test_server_error_stops_the_batch_and_connection_recovers(conn: Conn) -> None:
    rows = [(i,) for i in range(2500)] + [(0,)] + [(i,) for i in range(5000, 6000)]
    with pytest.raises(UniqueViolation):
        conn.exec_batch("INSERT INTO b(id) VALUES ($1)", rows)
    # Chunks before the failing one stay committed; the failing chunk and the rest do not run.
    assert count(conn) == 2000
    assert conn.exec_first("SELECT 1") == (1,)


def test_error_inside_transaction_rolls_back_everything(conn: Conn) -> None:
    with pytest.raises(UniqueViolation):
        with conn.tx():
            conn.exec_batch("INSERT INTO b(id) VALUES ($1)", [(i,) for i in range(1500)] + [(1,)])
    assert count(conn) == 0
