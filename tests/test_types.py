"""Types in both directions: each sample is read through a SQL literal with `query`
(text format) and with `exec` (binary format) — both must give the same Python value —
and sent back through a bound parameter."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal
from typing import Any, Iterator

import pytest

from pyro_postgres.error import DataError
from pyro_postgres.sync import Conn

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    c.query_drop("SET TimeZone = 'Asia/Kathmandu'")  # +05:45: results must still be UTC instants
    yield c
    c.close()


SAMPLES: list[tuple[str, str, Any]] = [
    ("bool", "true", True),
    ("bool", "false", False),
    ("int2", "-32768", -32768),
    ("int4", "2147483647", 2147483647),
    ("int8", "-9223372036854775808", -9223372036854775808),
    ("int8", "9223372036854775807", 9223372036854775807),
    ("oid", "4294967295", 4294967295),
    ("float4", "1.5", 1.5),
    ("float8", "-0.1", -0.1),
    ("float8", "1e308", 1e308),
    ("float8", "'Infinity'", math.inf),
    ("float8", "'-Infinity'", -math.inf),
    ("numeric", "0", Decimal("0")),
    ("numeric", "0.00001", Decimal("0.00001")),
    ("numeric", "1.500", Decimal("1.500")),
    ("numeric", "-123456789012345678901234567890.123456789", Decimal("-123456789012345678901234567890.123456789")),
    ("numeric", "1e-30", Decimal("1E-30")),
    ("numeric", "'NaN'", Decimal("NaN")),
    ("numeric", "'Infinity'", Decimal("Infinity")),
    ("numeric", "'-Infinity'", Decimal("-Infinity")),
    ("text", "'héllo wörld ✓'", "héllo wörld ✓"),
    ("text", "''", ""),
    ("varchar(5)", "'abc'", "abc"),
    ("bpchar(4)", "'ab'", "ab  "),
    ("name", "'pg_class'", "pg_class"),
    ('"char"', "'x'", "x"),
    ("bytea", "'\\x00ff10'", b"\x00\xff\x10"),
    ("bytea", "''", b""),
    ("date", "'2024-02-29'", dt.date(2024, 2, 29)),
    ("date", "'1969-07-20'", dt.date(1969, 7, 20)),
    ("date", "'0001-01-01'", dt.date(1, 1, 1)),
    ("date", "'infinity'", dt.date.max),
    ("date", "'-infinity'", dt.date.min),
    ("time", "'13:45:10.123456'", dt.time(13, 45, 10, 123456)),
    ("timestamp", "'1999-12-31 12:00'", dt.datetime(1999, 12, 31, 12, 0)),
    ("timestamp", "'1969-07-20 20:17:40.5'", dt.datetime(1969, 7, 20, 20, 17, 40, 500000)),
    ("timestamp", "'2000-01-01 00:00:00'", dt.datetime(2000, 1, 1)),
    ("timestamp", "'infinity'", dt.datetime.max),
    ("timestamp", "'-infinity'", dt.datetime.min),
    ("timestamptz", "'2024-06-01 12:00:00+00'", dt.datetime(2024, 6, 1, 12, tzinfo=UTC)),
    ("timestamptz", "'1999-12-31 23:59:59.999999-09:30'", dt.datetime(2000, 1, 1, 9, 29, 59, 999999, tzinfo=UTC)),
    ("timestamptz", "'1950-01-01 00:00:00+05:45'", dt.datetime(1949, 12, 31, 18, 15, tzinfo=UTC)),
    ("interval", "'1 day 02:03:04.5'", dt.timedelta(days=1, hours=2, minutes=3, seconds=4.5)),
    ("interval", "'-1 day +02:00'", dt.timedelta(days=-1, hours=2)),
    ("interval", "'1 year 2 mons 3 days'", dt.timedelta(days=365 + 60 + 3)),
    ("interval", "'-00:00:01'", dt.timedelta(seconds=-1)),
    ("uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
    ("json", """'{"a": [1, 2.5, null, true], "b": "x"}'""", {"a": [1, 2.5, None, True], "b": "x"}),
    ("jsonb", """'{"big": 123456789012345678901234567890}'""", {"big": 123456789012345678901234567890}),
    ("jsonb", "'[]'", []),
]


def _id(sample: tuple[str, str, Any]) -> str:
    return f"{sample[0]}:{sample[1]}"


@pytest.mark.parametrize("typ, literal, expected", SAMPLES, ids=[_id(s) for s in SAMPLES])
def test_text_and_binary_agree(conn: Conn, typ: str, literal: str, expected: Any) -> None:
    sql = f"SELECT ({literal})::{typ}"
    text_value = conn.query_first(sql)[0]
    binary_value = conn.exec_first(sql)[0]
    if isinstance(expected, Decimal) and expected.is_nan():
        assert text_value.is_nan() and binary_value.is_nan()
    else:
        assert text_value == expected
        assert binary_value == expected
    assert type(text_value) is type(expected)
    assert type(binary_value) is type(expected)
    if isinstance(expected, dt.datetime) and expected.tzinfo is not None:
        assert text_value.utcoffset() == binary_value.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize(
    "typ, literal, expected",
    [s for s in SAMPLES if s[0] not in ("bpchar(4)", "interval")
     and s[1] not in ("'infinity'", "'-infinity'")],
    ids=[_id(s) for s in SAMPLES if s[0] not in ("bpchar(4)", "interval") and s[1] not in ("'infinity'", "'-infinity'")],
)
def test_parameter_round_trip(conn: Conn, typ: str, literal: str, expected: Any) -> None:
    got = conn.exec_first(f"SELECT $1::{typ}", (expected,))[0]
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(got)
    elif isinstance(expected, Decimal) and expected.is_nan():
        assert got.is_nan()
    else:
        assert got == expected


def test_nan_both_formats(conn: Conn) -> None:
    assert math.isnan(conn.query_first("SELECT 'NaN'::float8")[0])
    assert math.isnan(conn.exec_first("SELECT 'NaN'::float8")[0])
    assert math.isnan(conn.exec_first("SELECT $1::float8", (math.nan,))[0])


def test_null_every_type(conn: Conn) -> None:
    types = sorted({s[0] for s in SAMPLES})
    sql = "SELECT " + ", ".join(f"NULL::{t}" for t in types)
    assert conn.query_first(sql) == (None,) * len(types)
    assert conn.exec_first(sql) == (None,) * len(types)


def test_aware_datetime_param_keeps_the_instant(conn: Conn) -> None:
    kathmandu = dt.timezone(dt.timedelta(hours=5, minutes=45))
    value = dt.datetime(2024, 1, 1, 12, 0, tzinfo=kathmandu)
    got = conn.exec_first("SELECT $1::timestamptz", (value,))[0]
    assert got == value
    assert got.tzinfo == UTC
    # A naive datetime means the session's time zone, as in an SQL literal.
    naive = dt.datetime(2024, 1, 1, 12, 0)
    assert conn.exec_first("SELECT $1::timestamptz", (naive,))[0] == value


def test_interval_with_months_policy(conn: Conn) -> None:
    # Months have no fixed length: a year counts 365 days, a month 30 days.
    assert conn.exec_first("SELECT '1 mon'::interval")[0] == dt.timedelta(days=30)
    assert conn.query_first("SELECT '2 years'::interval")[0] == dt.timedelta(days=730)
    td = dt.timedelta(days=3, seconds=7, microseconds=9)
    assert conn.exec_first("SELECT $1::interval", (td,))[0] == td


def test_unknown_types_come_back_as_text(conn: Conn) -> None:
    for sql, text in [
        ("SELECT 'a fat cat'::tsvector", "'a' 'cat' 'fat'"),
        ("SELECT '(1,2)'::point", "(1,2)"),
        ("SELECT '1 day'::interval::text", "1 day"),
        ("SELECT 'a & b'::tsquery", "'a' & 'b'"),
        ("SELECT '0/16B6C50'::pg_lsn", "0/16B6C50"),
    ]:
        assert conn.query_first(sql) == (text,)
        assert conn.exec_first(sql) == (text,)


def test_out_of_range_values_raise_data_error(conn: Conn) -> None:
    for sql in ("SELECT '10000-01-01'::date", "SELECT '0044-03-15 BC'::date", "SELECT '24:00:00'::time"):
        with pytest.raises(DataError):
            conn.exec_first(sql)
        with pytest.raises(DataError):
            conn.query_first(sql)
        assert conn.exec_first("SELECT 1") == (1,)


def test_large_result_with_many_types(conn: Conn) -> None:
    rows = conn.exec(
        "SELECT g, g::text, g * 1.5, g::float8 / 3, now()::date, (g % 2 = 0) "
        "FROM generate_series(1, 5000) g"
    )
    assert len(rows) == 5000
    assert rows[-1][0] == 5000 and rows[-1][1] == "5000" and rows[-1][2] == Decimal("7500.0")


def test_numeric_exact_at_any_precision(conn: Conn) -> None:
    # Wider than any default decimal context: nothing may be rounded, trailing zeros kept.
    for literal in ("(10::numeric ^ 600) + 0.5", "1e-1000::numeric", "123.4500000000::numeric", "-0.000::numeric"):
        text = conn.query_first(f"SELECT ({literal})::text")[0]
        want = Decimal(text)
        for got in (conn.query_first(f"SELECT {literal}")[0], conn.exec_first(f"SELECT {literal}")[0]):
            assert got.as_tuple() == want.as_tuple()
            assert str(got) == str(want)
