"""Simple and extended queries, the statement cache, parameters, and staying in step
after errors."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Iterator

import pytest

from pyro_postgres import Json, Jsonb, Opts, PreparedStatement
from pyro_postgres.error import (
    DivisionByZero,
    EncodeError,
    IncorrectApiUsageError,
    IntegrityError,
    ProgrammingError,
    SyntaxError_,
    UndefinedTable,
    UniqueViolation,
)
from pyro_postgres.sync import Conn


@pytest.fixture
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    yield c
    c.close()


def server_statements(conn: Conn) -> int:
    return conn.query_first("SELECT count(*) FROM pg_prepared_statements")[0]


# -- simple query ----------------------------------------------------------------------


def test_query_rows_and_dicts(conn: Conn) -> None:
    assert conn.query("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY 1") == [(1, "x"), (2, "y")]
    rows = conn.query("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY 1", as_dict=True)
    assert rows == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    # Dict rows share one key object per column.
    assert list(rows[0])[0] is list(rows[1])[0]


def test_query_first_and_empty(conn: Conn) -> None:
    assert conn.query_first("SELECT g FROM generate_series(5, 9) g") == (5,)
    assert conn.query_first("SELECT 1 WHERE false") is None
    assert conn.query_first("SELECT 1 AS one", as_dict=True) == {"one": 1}
    assert conn.query("SELECT 1 WHERE false") == []


def test_query_several_statements(conn: Conn) -> None:
    rows = conn.query("SELECT 1; SELECT 2, 3; CREATE TEMP TABLE t_multi(x int)")
    assert rows == [(1,), (2, 3)]
    assert conn.query_drop("INSERT INTO t_multi VALUES (1), (2); INSERT INTO t_multi VALUES (3)") == 1


def test_query_drop_counts(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE t_cnt(id int PRIMARY KEY, v text)")
    assert conn.query_drop("INSERT INTO t_cnt SELECT g, 'v' FROM generate_series(1, 5) g") == 5
    assert conn.query_drop("UPDATE t_cnt SET v = 'w' WHERE id <= 3") == 3
    assert conn.query_drop("DELETE FROM t_cnt WHERE id = 1") == 1
    merged = conn.query_drop(
        "MERGE INTO t_cnt t USING (VALUES (2), (9)) s(id) ON t.id = s.id "
        "WHEN MATCHED THEN UPDATE SET v = 'm' WHEN NOT MATCHED THEN INSERT VALUES (s.id, 'n')"
    )
    assert merged == 2
    assert conn.query_drop("SELECT 1 FROM generate_series(1, 7)") == 7
    assert conn.query_drop("CREATE TEMP TABLE t_cnt2(x int)") == 0


def test_empty_query(conn: Conn) -> None:
    assert conn.query("") == []
    assert conn.query_drop("  ") == 0


def test_query_rejects_non_str(conn: Conn) -> None:
    with pytest.raises(IncorrectApiUsageError):
        conn.query(b"SELECT 1")  # type: ignore[arg-type]
    assert conn.query_first("SELECT 1") == (1,)


def test_nul_in_sql_with_a_close_pending(conn: Conn) -> None:
    # A released statement's Close waits for the next request; a refused request must
    # not leave it (or its expected reply) half-queued.
    for call in (conn.query, conn.exec):
        stmt = conn.prepare("SELECT 1")
        del stmt
        with pytest.raises(IncorrectApiUsageError, match="NUL"):
            call("SELECT '\0'")
        assert conn.query_first("SELECT 4") == (4,)
        assert server_statements(conn) == 0


def test_nul_in_sql(conn: Conn) -> None:
    with pytest.raises(IncorrectApiUsageError, match="NUL"):
        conn.query("SELECT '\0'")
    with pytest.raises(IncorrectApiUsageError, match="NUL"):
        conn.exec("SELECT '\0'")
    assert conn.query_first("SELECT 2") == (2,)


# -- errors keep the connection in step ------------------------------------------------


def test_server_errors_carry_fields_and_connection_recovers(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE t_uniq(id int PRIMARY KEY)")
    conn.exec_drop("INSERT INTO t_uniq VALUES ($1)", (1,))
    with pytest.raises(UniqueViolation) as info:
        conn.exec_drop("INSERT INTO t_uniq VALUES ($1)", (1,))
    e = info.value
    assert isinstance(e, IntegrityError)
    assert e.sqlstate == "23505"
    assert e.constraint_name == "t_uniq_pkey"
    assert e.table_name == "t_uniq"
    assert "already exists" in (e.detail or "")
    assert e.severity == "ERROR"
    assert conn.exec_first("SELECT $1::int", (7,)) == (7,)


@pytest.mark.parametrize(
    "sql, exc",
    [
        ("SELECT 1/0", DivisionByZero),
        ("SELEC 1", SyntaxError_),
        ("SELECT * FROM no_such_table", UndefinedTable),
    ],
)
def test_every_api_recovers_after_errors(conn: Conn, sql: str, exc: type) -> None:
    for call in (conn.query, conn.query_first, conn.query_drop, conn.exec, conn.exec_first, conn.exec_drop):
        with pytest.raises(exc):
            call(sql)
        assert conn.query_first("SELECT 'next'") == ("next",)
        assert conn.exec("SELECT $1::text", ("again",)) == [("again",)]
    if exc is not DivisionByZero:  # preparing does not run the statement
        with pytest.raises(exc):
            conn.prepare(sql)
    assert conn.exec_first("SELECT 3") == (3,)


def test_error_position(conn: Conn) -> None:
    with pytest.raises(ProgrammingError) as info:
        conn.query("SELECT nope FROM (SELECT 1) s")
    assert info.value.position == 8


def test_error_mid_result_keeps_step(conn: Conn) -> None:
    # The error arrives after some rows were sent.
    with pytest.raises(DivisionByZero):
        conn.exec("SELECT 10 / (5 - g) FROM generate_series(1, 10) g")
    with pytest.raises(DivisionByZero):
        conn.query("SELECT 10 / (5 - g) FROM generate_series(1, 10) g")
    assert conn.exec("SELECT g FROM generate_series(1, 3) g") == [(1,), (2,), (3,)]


# -- extended query --------------------------------------------------------------------


def test_exec_family(conn: Conn) -> None:
    assert conn.exec("SELECT $1::int + 1, $2::text", (41, "x")) == [(42, "x")]
    assert conn.exec("SELECT $1::int AS n", [5], as_dict=True) == [{"n": 5}]
    assert conn.exec_first("SELECT g FROM generate_series(1, $1) g", (3,)) == (1,)
    assert conn.exec_first("SELECT g FROM generate_series(1, 0) g") is None
    assert conn.exec_first("SELECT 1 AS a", as_dict=True) == {"a": 1}
    assert conn.exec_drop("SELECT g FROM generate_series(1, $1) g", (4,)) == 4
    assert conn.exec("SELECT 1 WHERE false") == []


def test_exec_first_runs_dml_fully(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE t_ret(id serial, v int)")
    first = conn.exec_first("INSERT INTO t_ret(v) SELECT g FROM generate_series(1, 5) g RETURNING v")
    assert first == (1,)
    assert conn.query_first("SELECT count(*) FROM t_ret") == (5,)


def test_prepare_and_batch(conn: Conn) -> None:
    stmt = conn.prepare("SELECT $1::int * 2")
    assert isinstance(stmt, PreparedStatement)
    assert [conn.exec_first(stmt, (i,))[0] for i in (1, 2, 3)] == [2, 4, 6]
    s1, s2 = conn.prepare_batch(["SELECT $1::text || 'a'", "SELECT $1::int - 1"])
    assert conn.exec(s1, ("b",)) == [("ba",)]
    assert conn.exec(s2, (10,)) == [(9,)]
    assert conn.prepare_batch([]) == []


def test_prepare_batch_error_leaks_nothing(conn: Conn) -> None:
    before = server_statements(conn)
    with pytest.raises(SyntaxError_):
        conn.prepare_batch(["SELECT 1", "SELEC 2", "SELECT 3"])
    conn.ping()
    assert server_statements(conn) == before


def test_prepared_statement_released_on_gc(conn: Conn) -> None:
    base = server_statements(conn)
    stmt = conn.prepare("SELECT 42")
    assert server_statements(conn) == base + 1
    del stmt
    conn.ping()  # the Close rides along with the next request
    assert server_statements(conn) == base


def test_prepared_statement_of_another_connection(conn: Conn, url: str) -> None:
    other = Conn(url)
    stmt = other.prepare("SELECT 1")
    with pytest.raises(IncorrectApiUsageError, match="another connection"):
        conn.exec(stmt)
    other.close()


def test_statement_cache_is_bounded_and_closes_evicted(url: str) -> None:
    conn = Conn(Opts(url).statement_cache_size(4))
    for i in range(20):
        assert conn.exec_first(f"SELECT {i} + $1::int", (1,)) == (i + 1,)
    conn.ping()
    assert server_statements(conn) <= 4
    # Cached statements are reused: no new server statements for repeats.
    for _ in range(3):
        conn.exec_first("SELECT 19 + $1::int", (1,))
    assert server_statements(conn) <= 4
    conn.close()


def test_statement_cache_disabled(url: str) -> None:
    conn = Conn(Opts(url).statement_cache_size(0))
    for i in range(5):
        assert conn.exec_first("SELECT $1::int", (i,)) == (i,)
    conn.ping()
    assert server_statements(conn) == 0
    conn.close()


def test_exec_str_is_one_round_trip_after_first_use(conn: Conn) -> None:
    sql = "SELECT $1::int"
    conn.exec(sql, (1,))
    before = server_statements(conn)
    for i in range(50):
        conn.exec(sql, (i,))
    assert server_statements(conn) == before


# -- parameters ------------------------------------------------------------------------


def test_param_count_mismatch(conn: Conn) -> None:
    with pytest.raises(IncorrectApiUsageError, match="2 parameters but 1 was given"):
        conn.exec("SELECT $1::int, $2::int", (1,))
    stmt = conn.prepare("SELECT $1::int")
    with pytest.raises(IncorrectApiUsageError, match="1 parameter but 0 were given"):
        conn.exec(stmt)
    assert conn.exec_first("SELECT 5") == (5,)


def test_params_must_be_a_sequence(conn: Conn) -> None:
    for bad in ("ab", b"ab", {"a": 1}, 5):
        with pytest.raises(IncorrectApiUsageError):
            conn.exec("SELECT $1::text", bad)  # type: ignore[arg-type]
    assert conn.exec("SELECT 1", None) == [(1,)]
    assert conn.exec("SELECT $1::int", iter([3])) == [(3,)]


def test_unsupported_param_type(conn: Conn) -> None:
    with pytest.raises(EncodeError, match="object"):
        conn.exec("SELECT $1::text", (object(),))
    with pytest.raises(EncodeError):
        conn.exec("SELECT $1::int", ({1, 2},))
    assert conn.exec_first("SELECT $1::int", (8,)) == (8,)


@pytest.mark.parametrize(
    "sql, value, expected",
    [
        ("SELECT $1::numeric", 5, Decimal(5)),
        ("SELECT $1::numeric", 1.5, Decimal("1.5")),
        ("SELECT $1::float8", 5, 5.0),
        ("SELECT $1::int2", 7, 7),
        ("SELECT $1::int8", 2**62, 2**62),
        ("SELECT $1::date", "2024-02-29", dt.date(2024, 2, 29)),
        ("SELECT $1::uuid", "12345678-1234-5678-1234-567812345678", uuid.UUID("12345678-1234-5678-1234-567812345678")),
        ("SELECT $1::int", "42", 42),
        ("SELECT $1::text", 42, "42"),
        ("SELECT $1::numeric", Decimal("-1.250"), Decimal("-1.250")),
        ("SELECT $1::float8", Decimal("2.5"), 2.5),
        ("SELECT $1::bool", True, True),
        ("SELECT $1::bytea", bytearray(b"\x00\x01"), b"\x00\x01"),
        ("SELECT $1::bytea", memoryview(b"ab"), b"ab"),
        ("SELECT $1::jsonb", {"a": [1, 2]}, {"a": [1, 2]}),
        ("SELECT $1::json", [1, "x"], [1, "x"]),
        ("SELECT $1::jsonb", Jsonb({"k": None}), {"k": None}),
        ("SELECT $1::json", Json('{"raw": true}'), {"raw": True}),
    ],
)
def test_params_follow_server_types(conn: Conn, sql: str, value: object, expected: object) -> None:
    assert conn.exec_first(sql, (value,)) == (expected,)


def test_param_out_of_range(conn: Conn) -> None:
    with pytest.raises(EncodeError, match="int2"):
        conn.exec("SELECT $1::int2", (70000,))
    assert conn.exec_first("SELECT 1") == (1,)


def test_null_params(conn: Conn) -> None:
    assert conn.exec_first("SELECT $1::int, $2::text, $3::numeric", (None, None, None)) == (None, None, None)


def test_enum_and_subclass_params(conn: Conn) -> None:
    import enum

    class Color(enum.IntEnum):
        RED = 1

    class Name(str):
        pass

    class Label(enum.Enum):
        A = "alpha"

    assert conn.exec_first("SELECT $1::int, $2::text, $3::text", (Color.RED, Name("x"), Label.A)) == (1, "x", "alpha")


def test_results_of_builtin_values_large_and_small(conn: Conn) -> None:
    # Results made only of int/float/str/bytes/bool/json/arrays travel in marshal format;
    # check both sizes (in the result buffer, and too large for it) and dict key sharing.
    sql = (
        "SELECT g, g::text || repeat('x', 50), g * 0.5::float8, g % 2 = 0, "
        "'\\x00ff'::bytea, ARRAY[g, NULL], ('{\"k\": ' || g || '}')::jsonb, 2^62::int8 * (-1) "
        "FROM generate_series(1, $1::int) g"
    )
    for n in (1, 3000):
        rows = conn.exec(sql, (n,))
        assert len(rows) == n
        last = rows[-1]
        assert last == (n, str(n) + "x" * 50, n * 0.5, n % 2 == 0, b"\x00\xff", [n, None], {"k": n}, -(2**62))
        dicts = conn.exec(sql, (n,), as_dict=True)
        assert dicts[-1]["g"] == n
        if n > 1:
            assert list(dicts[0])[0] is list(dicts[1])[0]
    assert conn.exec_first(sql, (2,)) == (1, "1" + "x" * 50, 0.5, False, b"\x00\xff", [1, None], {"k": 1}, -(2**62))
    assert conn.exec_first("SELECT 1 WHERE false") is None


def test_large_results_arrive_in_chunks_intact(conn: Conn) -> None:
    # Large results are handed over in chunks; every row must arrive once, in order.
    rows = conn.query("SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g; SELECT -1, 'end'")
    assert len(rows) == 20001
    assert rows[0] == (1, "x" * 100) and rows[19999] == (20000, "x" * 100) and rows[-1] == (-1, "end")
    assert [r[0] for r in rows[:-1]] == list(range(1, 20001))
    dicts = conn.exec("SELECT g AS n, g * 1.5 AS d FROM generate_series(1, $1::int) g", (30000,), as_dict=True)
    assert [d["n"] for d in dicts] == list(range(1, 30001))
    assert dicts[-1]["d"] == Decimal("45000.0")


def test_error_after_some_chunks_keeps_step(conn: Conn) -> None:
    for call in (conn.exec, conn.query):
        with pytest.raises(DivisionByZero):
            call("SELECT g, repeat('y', 50), 1 / (g - 30000) FROM generate_series(1, 40000) g")
        assert conn.query_first("SELECT 'after'") == ("after",)


def test_deferred_constraint_failing_at_implicit_commit(conn: Conn) -> None:
    # Outside a transaction the error arrives at Sync, when the implicit transaction
    # commits; the connection must stay in step (not break).
    conn.query_drop("CREATE TEMP TABLE dfr(id int, CONSTRAINT dfr_u UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(UniqueViolation):
        conn.exec_drop("INSERT INTO dfr VALUES ($1), ($1)", (1,))
    with pytest.raises(UniqueViolation):
        conn.exec_batch("INSERT INTO dfr VALUES ($1)", [(2,), (2,)])
    assert conn.query_first("SELECT count(*) FROM dfr") == (0,)
    assert not conn.is_closed()


def test_copy_is_refused_cleanly(conn: Conn) -> None:
    from pyro_postgres.error import NotSupportedError, QueryCanceled

    conn.query_drop("CREATE TEMP TABLE cp(x int)")
    for call in (conn.query_drop, conn.exec_drop):
        with pytest.raises(QueryCanceled, match="COPY FROM STDIN is not supported"):
            call("COPY cp FROM STDIN")
        assert conn.query_first("SELECT 1") == (1,)
    conn.query_drop("INSERT INTO cp VALUES (1), (2)")
    for call in (conn.query, conn.exec):
        with pytest.raises(NotSupportedError, match="COPY TO STDOUT"):
            call("COPY cp TO STDOUT")
        assert conn.exec_first("SELECT 2") == (2,)
