"""Pipelines: requests buffered, sent with Sync/Flush or by a claim, claimed in order."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Iterator

import pytest

from pyro_postgres.error import (
    DivisionByZero,
    IncorrectApiUsageError,
    PipelineAbortedError,
    UniqueViolation,
)
from pyro_postgres.sync import Conn


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    c.query_drop("CREATE TEMP TABLE pl(id int PRIMARY KEY, name text, at timestamptz, j jsonb)")
    yield c
    c.close()


def count(conn: Conn) -> int:
    return conn.query_first("SELECT count(*) FROM pl")[0]


def test_seed_example(conn: Conn) -> None:
    with conn.pipeline() as p:
        ticket1 = p.execute("SELECT 1 AS one")
        ticket2 = p.execute("INSERT INTO pl(id) VALUES (1)")
        ticket3 = p.execute("INSERT INTO pl(id) VALUES (2)")
        rows = p.claim(ticket1)
        p.claim_drop(ticket2)
        p.claim_drop(ticket3)
        p.execute("UPDATE pl SET name = 'x'")
        p.execute("INSERT INTO pl(id) VALUES (3)")
        p.execute("SELECT 2")
    assert rows == [(1,)]
    assert count(conn) == 3
    assert conn.query_first("SELECT count(*) FROM pl WHERE name = 'x'") == (2,)


def test_prepared_statements_and_explicit_sync(conn: Conn) -> None:
    stmt1, stmt2, stmt3 = conn.prepare_batch([
        "SELECT $1::int * 2",
        "INSERT INTO pl(id, name) VALUES ($1, $2)",
        "INSERT INTO pl(id, at) VALUES ($1, $2)",
    ])
    at = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    with conn.pipeline() as p:
        t1 = p.exec(stmt1, (21,))
        t2 = p.exec(stmt2, (10, "ten"))
        t3 = p.exec(stmt3, (11, at))
        p.sync()
        assert p.claim(t1) == [(42,)]
        p.claim_drop(t2)
        p.claim_drop(t3)
        assert p.pending_count() == 0
    assert conn.query("SELECT id, name, at FROM pl ORDER BY id") == [(10, "ten", None), (11, None, at)]


def test_unprepared_strings_are_typed_by_the_server(conn: Conn) -> None:
    at = dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=45)))
    with conn.pipeline() as p:
        t1 = p.exec("INSERT INTO pl(id, name, at, j) VALUES ($1, $2, $3, $4)", (1, "a", at, {"k": [1, 2]}))
        t2 = p.exec("SELECT $1::numeric + 1, $2::bool, $3::bytea, $4::int[]", (Decimal("1.5"), True, b"\x00\xff", [1, None]))
        p.claim_drop(t1)
        assert p.claim_one(t2) == (Decimal("2.5"), True, b"\x00\xff", [1, None])
    assert conn.query_first("SELECT at, j FROM pl") == (at, {"k": [1, 2]})


def test_same_values_as_exec(conn: Conn) -> None:
    sql = "SELECT $1::int, $2::text, now()::date, 1.5::float8, '{\"a\": 1}'::jsonb, $3::timestamptz"
    params = (5, "x", dt.datetime(2020, 2, 2, 2, 2, tzinfo=dt.timezone.utc))
    direct = conn.exec(sql, params, as_dict=True)
    with conn.pipeline() as p:
        t = p.exec(sql, params)
        piped = p.claim(t, as_dict=True)
    assert piped == direct


def test_auto_sync_and_interleaving(conn: Conn) -> None:
    with conn.pipeline() as p:
        a = p.exec("SELECT 1")
        assert p.claim(a) == [(1,)]  # still buffered: the claim sends it with a Sync
        b = p.exec("SELECT 2")
        c = p.exec("SELECT 3")
        assert p.pending_count() == 2
        assert p.claim_one(b) == (2,)
        assert p.claim(c) == [(3,)]


def test_claims_in_issue_order_only(conn: Conn) -> None:
    with conn.pipeline() as p:
        a = p.exec("SELECT 1")
        b = p.exec("SELECT 2")
        with pytest.raises(IncorrectApiUsageError, match="order"):
            p.claim(b)
        assert p.claim(a) == [(1,)]
        assert p.claim(b) == [(2,)]
        with pytest.raises(IncorrectApiUsageError):
            p.claim(b)
    with conn.pipeline() as q:
        with pytest.raises(IncorrectApiUsageError, match="not issued by this pipeline"):
            q.claim(a)


def test_error_aborts_its_segment_only(conn: Conn) -> None:
    with conn.pipeline() as p:
        t1 = p.exec("INSERT INTO pl(id) VALUES (1)")
        t2 = p.exec("SELECT 1 / 0")
        t3 = p.exec("INSERT INTO pl(id) VALUES (2)")
        p.sync()
        t4 = p.exec("INSERT INTO pl(id) VALUES (3)")
        p.claim_drop(t1)
        with pytest.raises(DivisionByZero):
            p.claim(t2)
        assert p.is_aborted()
        with pytest.raises(PipelineAbortedError):
            p.claim_drop(t3)
        p.claim_drop(t4)  # the next segment runs
        assert not p.is_aborted()
    # The failed segment was one implicit transaction: its insert was rolled back too.
    assert conn.query("SELECT id FROM pl ORDER BY id") == [(3,)]


def test_exit_sends_and_drains_unclaimed(conn: Conn) -> None:
    with conn.pipeline() as p:
        p.exec("INSERT INTO pl(id) VALUES (1)")
        p.exec("SELECT g FROM generate_series(1, 5000) g")
        p.flush()
        p.exec("INSERT INTO pl(id) VALUES (1)")  # fails: drained silently at exit
        p.exec("INSERT INTO pl(id) VALUES (2)")
    assert conn.query_first("SELECT 'usable'") == ("usable",)


def test_exit_with_an_exception_keeps_the_connection(conn: Conn) -> None:
    with pytest.raises(ValueError):
        with conn.pipeline() as p:
            p.exec("INSERT INTO pl(id) VALUES (7)")
            raise ValueError("oops")
    assert count(conn) == 1
    assert conn.exec_first("SELECT $1::int", (1,)) == (1,)


def test_connection_refuses_other_statements_meanwhile(conn: Conn) -> None:
    with conn.pipeline() as p:
        t = p.exec("SELECT 1")
        with pytest.raises(IncorrectApiUsageError, match="pipeline"):
            conn.query("SELECT 2")
        errors: list[BaseException] = []

        def other() -> None:
            try:
                conn.exec("SELECT 3")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        th = threading.Thread(target=other)
        th.start()
        th.join(10)
        assert not th.is_alive()
        assert len(errors) == 1 and isinstance(errors[0], IncorrectApiUsageError)
        assert p.claim(t) == [(1,)]
    with pytest.raises(IncorrectApiUsageError, match="not open"):
        p.exec("SELECT 1")


def test_encode_error_buffers_nothing(conn: Conn) -> None:
    stmt = conn.prepare("SELECT $1::int")
    with conn.pipeline() as p:
        with pytest.raises(IncorrectApiUsageError):
            p.exec(stmt, ())
        t = p.exec(stmt, (4,))
        assert p.claim(t) == [(4,)]


def test_many_requests_in_one_round_trip(conn: Conn) -> None:
    ins = conn.prepare("INSERT INTO pl(id, name) VALUES ($1, $2)")
    sel = conn.prepare("SELECT count(*) FROM pl")
    with conn.pipeline() as p:
        tickets = [p.exec(ins, (i, str(i))) if i % 2 else p.exec(sel) for i in range(1000)]
        p.sync()
        results = []
        for i, t in enumerate(tickets):
            if i % 2:
                p.claim_drop(t)
            else:
                results.append(p.claim_one(t)[0])
    assert count(conn) == 500
    assert results[:3] == [0, 1, 2]


def test_failure_inside_a_transaction(conn: Conn) -> None:
    with pytest.raises(UniqueViolation):
        with conn.tx():
            with conn.pipeline() as p:
                t1 = p.exec("INSERT INTO pl(id) VALUES (1)")
                t2 = p.exec("INSERT INTO pl(id) VALUES (1)")
                p.claim_drop(t1)
                p.claim_drop(t2)
    assert count(conn) == 0
    assert conn.query_first("SELECT 1") == (1,)
