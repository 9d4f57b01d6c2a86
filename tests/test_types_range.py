"""Range and multirange types: `pyro_postgres.Range` in both directions, both wire formats.

Each sample is read through a SQL literal with `query` (text format) and `exec` (binary
format), which must give the same value, and sent back through a bound parameter. The
property tests compare what the server makes of a random Range (sent as a parameter, or
spelled as a SQL literal) with a model of PostgreSQL's canonical form."""

from __future__ import annotations

import copy
import datetime as dt
import pickle
from decimal import Decimal
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyro_postgres import Range
from pyro_postgres.error import DataError, EncodeError
from pyro_postgres.sync import Conn

UTC = dt.timezone.utc
KATHMANDU = dt.timezone(dt.timedelta(hours=5, minutes=45))


@pytest.fixture(scope="module")
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    c.query_drop("SET TimeZone = 'Asia/Kathmandu'")  # +05:45: results must still be UTC instants
    yield c
    c.close()


def d(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def ts(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s)


def tstz(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s).astimezone(UTC)


# (type, SQL literal, expected value); every value here is already canonical.
SAMPLES: list[tuple[str, str, Any]] = [
    ("int4range", "'[1,5)'", Range(1, 5)),
    ("int4range", "'[-2147483648,2147483647)'", Range(-2147483648, 2147483647)),
    ("int4range", "'empty'", Range(empty=True)),
    ("int4range", "'(,)'", Range(None, None, "()")),
    ("int4range", "'[3,)'", Range(3, None, "[)")),
    ("int4range", "'(,3)'", Range(None, 3, "()")),
    ("int8range", "'[-9223372036854775808,9223372036854775807)'", Range(-2**63, 2**63 - 1)),
    ("int8range", "'[0,1)'", Range(0, 1)),
    ("int8range", "'empty'", Range(empty=True)),
    ("numrange", "'[1.5,2.50]'", Range(Decimal("1.5"), Decimal("2.50"), "[]")),
    ("numrange", "'(-1e-20,1e20)'", Range(Decimal("-0.00000000000000000001"), Decimal("100000000000000000000"), "()")),
    ("numrange", "'(0,)'", Range(Decimal(0), None, "()")),
    ("numrange", "'[-Infinity,Infinity]'", Range(Decimal("-Infinity"), Decimal("Infinity"), "[]")),
    ("numrange", "'[1,1]'", Range(Decimal(1), Decimal(1), "[]")),
    ("numrange", "'empty'", Range(empty=True)),
    ("daterange", "'[2024-02-29,2024-03-01)'", Range(d("2024-02-29"), d("2024-03-01"))),
    ("daterange", "'[0001-01-01,9999-12-31)'", Range(dt.date.min, dt.date.max)),
    ("daterange", "'(,2000-01-01)'", Range(None, d("2000-01-01"), "()")),
    ("daterange", "'empty'", Range(empty=True)),
    ("tsrange", "'[2024-01-01 00:00,2024-01-01 12:30:00.000001]'", Range(ts("2024-01-01"), ts("2024-01-01 12:30:00.000001"), "[]")),
    ("tsrange", "'(1969-07-20 20:17:40.5,)'", Range(ts("1969-07-20 20:17:40.5"), None, "()")),
    ("tsrange", "'(,)'", Range(None, None, "()")),
    ("tstzrange", "'[2024-01-01 00:00+05:45,2024-02-01 00:00+00)'", Range(tstz("2024-01-01 00:00+05:45"), tstz("2024-02-01 00:00+00:00"))),
    ("tstzrange", "'(,2000-01-01 00:00:00.000001-09:30]'", Range(None, tstz("2000-01-01 00:00:00.000001-09:30"), "(]")),
    ("tstzrange", "'empty'", Range(empty=True)),
    ("int4multirange", "'{[1,3),[5,7)}'", [Range(1, 3), Range(5, 7)]),
    ("int4multirange", "'{}'", []),
    ("int4multirange", "'{(,0),[10,)}'", [Range(None, 0, "()"), Range(10, None)]),
    ("int8multirange", "'{[-9223372036854775808,0)}'", [Range(-2**63, 0)]),
    ("nummultirange", "'{[1.5,2],(3,)}'", [Range(Decimal("1.5"), Decimal(2), "[]"), Range(Decimal(3), None, "()")]),
    ("datemultirange", "'{[2024-01-01,2024-01-05),[2024-02-01,)}'", [Range(d("2024-01-01"), d("2024-01-05")), Range(d("2024-02-01"), None)]),
    ("tsmultirange", "'{[2024-01-01 12:00,2024-01-01 13:00)}'", [Range(ts("2024-01-01 12:00"), ts("2024-01-01 13:00"))]),
    ("tstzmultirange", "'{(,2024-01-01 00:00+00)}'", [Range(None, tstz("2024-01-01 00:00+00:00"), "()")]),
    ("tstzmultirange", "'{}'", []),
]


def _id(sample: tuple[str, str, Any]) -> str:
    return f"{sample[0]}:{sample[1]}"


def _same(got: Any, expected: Any) -> None:
    """Equal, and Range (or list of Range) all the way down, not just equal-looking."""
    assert got == expected
    assert type(got) is type(expected)
    if isinstance(expected, list):
        for g, e in zip(got, expected):
            _same(g, e)
    elif isinstance(expected, Range):
        for side in ("lower", "upper"):
            assert type(getattr(got, side)) is type(getattr(expected, side))
            value = getattr(got, side)
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                assert value.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("typ, literal, expected", SAMPLES, ids=[_id(s) for s in SAMPLES])
def test_text_and_binary_agree(conn: Conn, typ: str, literal: str, expected: Any) -> None:
    sql = f"SELECT {literal}::{typ}"
    _same(conn.query_first(sql)[0], expected)
    _same(conn.exec_first(sql)[0], expected)


@pytest.mark.parametrize("typ, literal, expected", SAMPLES, ids=[_id(s) for s in SAMPLES])
def test_parameter_round_trip(conn: Conn, typ: str, literal: str, expected: Any) -> None:
    _same(conn.exec_first(f"SELECT $1::{typ}", (expected,))[0], expected)
    # and the server agrees it is the value the literal spells
    assert conn.exec_first(f"SELECT $1::{typ} = {literal}::{typ}", (expected,)) == (True,)


def test_null_every_range_type(conn: Conn) -> None:
    types = sorted({s[0] for s in SAMPLES})
    assert len(types) == 12
    sql = "SELECT " + ", ".join(f"NULL::{t}, NULL::{t}[]" for t in types)
    assert conn.query_first(sql) == (None,) * 24
    assert conn.exec_first(sql) == (None,) * 24


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("int4range(1, 5, '[]')", Range(1, 6)),
        ("int4range(1, 5, '()')", Range(2, 5)),
        ("int4range(1, 2, '()')", Range(empty=True)),
        ("int4range(3, 3)", Range(empty=True)),
        ("int4range(NULL, 5, '[]')", Range(None, 6, "()")),
        ("int8range(-1, 1, '(]')", Range(0, 2)),
        ("daterange('2024-02-28', '2024-02-29', '[]')", Range(d("2024-02-28"), d("2024-03-01"))),
        ("numrange(1, 1, '[)')", Range(empty=True)),
        ("numrange(1, 2, '(]')", Range(Decimal(1), Decimal(2), "(]")),
        ("'{[1,3),[2,6),[8,9),empty}'::int4multirange", [Range(1, 6), Range(8, 9)]),
        ("'{[1,2],[3,4]}'::int4multirange", [Range(1, 5)]),
    ],
)
def test_canonical_forms(conn: Conn, sql: str, expected: Any) -> None:
    _same(conn.query_first(f"SELECT {sql}")[0], expected)
    _same(conn.exec_first(f"SELECT {sql}")[0], expected)


def test_parameters_come_back_canonical(conn: Conn) -> None:
    assert conn.exec_first("SELECT $1::int4range", (Range(1, 5, "[]"),)) == (Range(1, 6),)
    assert conn.exec_first("SELECT $1::int4range", (Range(1, 2, "()"),)) == (Range(empty=True),)
    assert conn.exec_first("SELECT $1::daterange", (Range(d("2024-01-01"), d("2024-01-31"), "(]"),)) == (
        Range(d("2024-01-02"), d("2024-02-01")),
    )
    assert conn.exec_first("SELECT $1::int4multirange", ([Range(5, 7), Range(1, 3), Range(3, 4)],)) == (
        [Range(1, 4), Range(5, 7)],
    )
    assert conn.exec_first("SELECT $1::int4multirange", ([Range(empty=True)],)) == ([],)


def test_infinite_bounds_are_not_unbounded_sides(conn: Conn) -> None:
    both = "SELECT '[-infinity,infinity]'::{0}, '(,)'::{0}"
    for typ, lo, hi in [
        ("daterange", dt.date.min, dt.date.max),
        ("tsrange", dt.datetime.min, dt.datetime.max),
        ("tstzrange", dt.datetime.min.replace(tzinfo=UTC), dt.datetime.max.replace(tzinfo=UTC)),
    ]:
        for row in (conn.query_first(both.format(typ)), conn.exec_first(both.format(typ))):
            infinite, unbounded = row
            _same(infinite, Range(lo, hi, "[]"))
            assert not infinite.lower_inf and not infinite.upper_inf
            assert unbounded.lower_inf and unbounded.upper_inf and unbounded.lower is None
    _same(conn.exec_first("SELECT '[-Infinity,Infinity)'::numrange")[0], Range(Decimal("-Infinity"), Decimal("Infinity")))
    # An unbounded side goes to the server as unbounded, not as an infinite value.
    assert conn.exec_first("SELECT upper_inf($1::tsrange), upper($1::tsrange)", (Range(ts("2024-01-01"), None),)) == (
        True,
        None,
    )


def test_arrays_of_ranges_and_multiranges(conn: Conn) -> None:
    cases: list[tuple[str, Any]] = [
        ("ARRAY['[1,2)'::int4range, NULL, 'empty', '(,)']", [Range(1, 2), None, Range(empty=True), Range(None, None, "()")]),
        ("ARRAY[NULL::int8range]", [None]),
        ("'{}'::numrange[]", []),
        ("""'{{"[1,2)",NULL},{NULL,"[3,4)"}}'::int4range[]""", [[Range(1, 2), None], [None, Range(3, 4)]]),
        ("ARRAY['[2024-01-01 00:00+00,)'::tstzrange, NULL]", [Range(tstz("2024-01-01 00:00+00:00"), None), None]),
        ("ARRAY['[\"2024-01-01 12:00\",)'::tsrange]", [Range(ts("2024-01-01 12:00"), None)]),
        ("ARRAY['[2024-01-01,2024-01-02)'::daterange]", [Range(d("2024-01-01"), d("2024-01-02"))]),
        ("ARRAY['{[1,2),[4,5)}'::int4multirange, NULL, '{}']", [[Range(1, 2), Range(4, 5)], None, []]),
        ("ARRAY['{[1.5,2)}'::nummultirange]", [[Range(Decimal("1.5"), Decimal(2))]]),
        ("ARRAY['{(,2024-01-01 00:00+00)}'::tstzmultirange, NULL]", [[Range(None, tstz("2024-01-01 00:00+00:00"), "()")], None]),
    ]
    for sql, expected in cases:
        _same(conn.query_first(f"SELECT {sql}")[0], expected)
        _same(conn.exec_first(f"SELECT {sql}")[0], expected)
    for typ, value in [
        ("int4range[]", [Range(1, 2), None, Range(empty=True), Range(None, None, "()")]),
        ("int4range[]", [[Range(1, 2), None], [None, Range(3, 4)]]),
        ("tstzrange[]", [Range(tstz("2024-01-01 00:00+00:00"), None), None]),
        ("int4multirange[]", [[Range(1, 2), Range(4, 5)], None, []]),
        ("int4multirange[]", []),
        ("datemultirange[]", [None, [Range(d("2024-01-01"), None)]]),
    ]:
        _same(conn.exec_first(f"SELECT $1::{typ}", (value,))[0], value)


def test_bounds_sent_as_text_are_parsed_by_the_server(conn: Conn) -> None:
    # A naive datetime for timestamptz means the session time zone, as in a literal; the
    # whole range then goes as a text literal.
    naive = Range(ts("2024-01-01 12:00"), ts("2024-01-02 12:00"), "[]")
    aware = Range(dt.datetime(2024, 1, 1, 12, tzinfo=KATHMANDU), dt.datetime(2024, 1, 2, 12, tzinfo=KATHMANDU), "[]")
    _same(conn.exec_first("SELECT $1::tstzrange", (naive,))[0], Range(aware.lower.astimezone(UTC), aware.upper.astimezone(UTC), "[]"))
    _same(conn.exec_first("SELECT $1::tstzmultirange", ([naive],))[0], [Range(aware.lower.astimezone(UTC), aware.upper.astimezone(UTC), "[]")])
    _same(conn.exec_first("SELECT $1::tstzrange[]", ([naive, None],))[0], [Range(aware.lower.astimezone(UTC), aware.upper.astimezone(UTC), "[]"), None])
    # str bounds are parsed by the server, as str scalars are
    _same(conn.exec_first("SELECT $1::int4range", (Range("1", "5", "[]"),))[0], Range(1, 6))
    with pytest.raises(DataError, match="invalid input syntax for type integer"):
        conn.exec_first("SELECT $1::int4range", (Range("x", None),))
    assert conn.exec_first("SELECT 1") == (1,)


def test_ranges_as_query_arguments(conn: Conn) -> None:
    r = Range(d("2024-01-01"), d("2024-02-01"))
    assert conn.exec_first("SELECT $1::daterange @> '2024-01-15'::date, lower($1), upper_inc($1)", (r,)) == (
        True,
        d("2024-01-01"),
        False,
    )
    assert conn.exec_first("SELECT $1::int4multirange @> 6", ([Range(1, 3), Range(5, 7)],)) == (True,)
    # in a pipeline, statements not prepared yet send text parameters the server types
    with conn.pipeline() as p:
        t1 = p.exec("SELECT $1::int4range * $2::int4range", (Range(1, 10), Range(5, None)))
        t2 = p.exec("SELECT $1::int4multirange", ([Range(1, 3), Range(2, 7)],))
        t3 = p.exec("SELECT $1::tstzrange", (Range(None, tstz("2024-01-01 00:00+00:00"), "(]"),))
        got = (p.claim(t1), p.claim(t2), p.claim(t3))
    assert got == ([(Range(5, 10),)], [([Range(1, 7)],)], [(Range(None, tstz("2024-01-01 00:00+00:00"), "(]"),)])


def test_batches_and_dict_rows(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE booking (id int, during tstzrange, days datemultirange)")
    t0 = tstz("2024-01-01 00:00+00:00")
    rows = [
        (1, Range(t0, t0 + dt.timedelta(hours=1)), [Range(d("2024-01-01"), d("2024-01-03"))]),
        (2, Range(empty=True), []),
        (3, None, None),
    ]
    conn.exec_batch("INSERT INTO booking VALUES ($1, $2, $3)", rows)
    assert conn.exec("SELECT * FROM booking ORDER BY id") == rows
    assert conn.query("SELECT * FROM booking ORDER BY id") == rows
    assert conn.exec_first("SELECT during FROM booking WHERE id = 1", as_dict=True) == {"during": rows[0][1]}


def test_wrong_values_are_encode_errors_before_sending(conn: Conn) -> None:
    for sql, value, needle in [
        ("SELECT $1::int4", Range(1, 5), "cannot bind a Python Range to a parameter of type int4"),
        ("SELECT $1::text", Range(1, 5), "cannot bind a Python Range to a parameter of type text"),
        ("SELECT $1::int4[]", Range(1, 5), "cannot bind a Python Range to a parameter of type int4[]"),
        ("SELECT $1::int4multirange", Range(1, 5), "cannot bind a Python Range to a parameter of type int4multirange"),
        ("SELECT $1::int4range", [Range(1, 5)], "cannot bind a Python list to a parameter of type int4range"),
        ("SELECT $1::int4range", 5, "cannot bind a Python int to a parameter of type int4range"),
        ("SELECT $1::int4range", Range(d("2024-01-01"), None), "int4range: lower bound: cannot bind a Python date"),
        ("SELECT $1::int4range", Range(1, 2**31), "int4range: upper bound: parameter of type int4: 2147483648 is out of range"),
        ("SELECT $1::daterange", Range(1, 2), "lower bound: cannot bind a Python int to a parameter of type date"),
        ("SELECT $1::tstzrange", Range("2024-01-01", 5), "upper bound: cannot bind a Python int"),
        ("SELECT $1::int8range", Range(Decimal("1.5"), None), "is not an integer"),
        ("SELECT $1::int4multirange", [Range(1, 2), (3, 4)], "a multirange is a list of Range, not of list"),
        ("SELECT $1::int4multirange", [None], "a multirange is a list of Range, not of NoneType"),
        ("SELECT $1::int4multirange[]", [Range(1, 2)], "not Range"),
    ]:
        with pytest.raises(EncodeError, match="parameter \\$1: .*" + needle.replace("[", "\\[").replace("$", "\\$")):
            conn.exec_first(sql, (value,))
        assert conn.exec_first("SELECT 1") == (1,)


def test_server_rejects_inverted_bounds(conn: Conn) -> None:
    with pytest.raises(DataError, match="lower bound must be less than or equal to range upper bound"):
        conn.exec_first("SELECT $1::int4range", (Range(5, 1),))
    assert conn.exec_first("SELECT 1") == (1,)


def test_bounds_python_cannot_hold_raise_data_error(conn: Conn) -> None:
    # '[..,9999-12-31]' is stored as '[..,10000-01-01)', beyond date.max: the date policy.
    for call in (conn.query_first, conn.exec_first):
        with pytest.raises(DataError, match="10000-01-01"):
            call("SELECT daterange('2024-01-01', '9999-12-31', '[]')")
        assert call("SELECT 1") == (1,)


async def test_async_connection_decodes_and_encodes_ranges(url: str) -> None:
    from pyro_postgres.async_ import Conn as AsyncConn

    c = await AsyncConn.new(url)
    try:
        assert await c.exec_first("SELECT $1::int8multirange", ([Range(1, 2)],)) == ([Range(1, 2)],)
        assert await c.query_first("SELECT '[1,5]'::int4range") == (Range(1, 6),)
    finally:
        await c.close()


# ---- the Range class


def test_range_attributes() -> None:
    r = Range(1, 5)
    assert (r.lower, r.upper, r.bounds) == (1, 5, "[)")
    assert r.lower_inc and not r.upper_inc and not r.lower_inf and not r.upper_inf and not r.isempty
    r = Range(1, 5, "(]")
    assert not r.lower_inc and r.upper_inc
    r = Range(None, 5, "[]")  # an unbounded side is never inclusive, as in PostgreSQL
    assert r.bounds == "(]" and r.lower_inf and not r.lower_inc and not r.upper_inf
    assert Range(3, None, "[]").bounds == "[)"
    assert Range().bounds == "()" and Range().lower_inf and Range().upper_inf
    e = Range(empty=True)
    assert e.isempty and e.bounds is None and e.lower is None and e.upper is None
    assert not (e.lower_inf or e.upper_inf or e.lower_inc or e.upper_inc)


def test_range_equality_and_hash() -> None:
    assert Range(1, 5) == Range(1, 5, "[)")
    assert Range(1, 5) != Range(1, 5, "[]")
    assert Range(1, 5) != Range(1, 6)
    assert Range(1, 5, "[]") != Range(1, 6)  # field-wise: no canonicalisation in Python
    assert Range(empty=True) == Range(empty=True)
    assert Range(empty=True) != Range()
    assert Range(None, None, "[]") == Range()
    assert Range(1, 5) != (1, 5) and Range(1, 5) != "[1,5)"
    assert len({Range(1, 5), Range(1, 5), Range(1.0, 5.0), Range(empty=True), Range(empty=True), Range()}) == 3
    assert hash(Range(Decimal(1), 2)) == hash(Range(1, 2))


def test_range_contains() -> None:
    r = Range(1, 5)
    assert [x in r for x in (0, 1, 4, 4.999, 5)] == [False, True, True, True, False]
    r = Range(1, 5, "(]")
    assert [x in r for x in (1, 1.001, 5, 5.001)] == [False, True, True, False]
    assert 10**100 in Range(0, None) and -(10**100) in Range() and -1 not in Range(0, None)
    assert 5 in Range(None, 5, "(]") and 5 not in Range(None, 5)
    assert 1 not in Range(empty=True) and None not in Range(empty=True)
    assert d("2024-01-15") in Range(d("2024-01-01"), d("2024-02-01"))
    with pytest.raises(TypeError):
        "x" in Range(1, 5)  # noqa: B015


def test_range_repr_and_bool() -> None:
    assert repr(Range(1, 5)) == "Range(1, 5, '[)')"
    assert repr(Range(None, Decimal("1.5"), "(]")) == "Range(None, Decimal('1.5'), '(]')"
    assert repr(Range(empty=True)) == "Range(empty=True)"
    assert eval(repr(Range(1, 5, "[]"))) == Range(1, 5, "[]")
    assert bool(Range(1, 5)) and bool(Range()) and not Range(empty=True)


def test_range_is_immutable_and_pickles() -> None:
    r = Range(d("2024-01-01"), None)
    with pytest.raises(AttributeError):
        r.lower = d("2024-01-02")  # type: ignore[misc]
    with pytest.raises(AttributeError):
        r.other = 1  # type: ignore[attr-defined]
    for value in (r, Range(empty=True), Range(), Range(1, 5, "(]"), [Range(1, 2), Range(3, 4)]):
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            back = pickle.loads(pickle.dumps(value, proto))
            assert back == value and repr(back) == repr(value)
        assert copy.deepcopy(value) == value and copy.copy(value) == value


def test_range_bad_arguments() -> None:
    for args, kwargs, exc, needle in [
        ((1, 5, "[["), {}, ValueError, "one of"),
        ((1, 5, ""), {}, ValueError, "one of"),
        ((1, 5, "[ )"), {}, ValueError, "one of"),
        ((1, 5, None), {}, TypeError, "must be a str"),
        ((1, 5, 2), {}, TypeError, "must be a str"),
        ((1, None), {"empty": True}, ValueError, "empty Range has no bounds"),
        ((None, 5), {"empty": True}, ValueError, "empty Range has no bounds"),
        ((None, None, "[]"), {"empty": True}, ValueError, "empty Range has no bounds"),
        ((1, 2, "[)", True), {}, TypeError, "positional"),
    ]:
        with pytest.raises(exc, match=needle):
            Range(*args, **kwargs)


# ---- property tests


def _literal_text(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def range_literal(r: Range) -> str:
    """The range input syntax for r, every bound quoted."""
    if r.isempty:
        return "empty"
    assert r.bounds is not None
    lo = "" if r.lower is None else f'"{_literal_text(r.lower)}"'
    hi = "" if r.upper is None else f'"{_literal_text(r.upper)}"'
    return f"{r.bounds[0]}{lo},{hi}{r.bounds[1]}"


def canonical(r: Range, step: Any) -> Range:
    """What PostgreSQL stores for r: empty when it contains nothing, and for discrete
    types (step not None) the '[)' form."""
    if r.isempty:
        return r
    assert r.bounds is not None
    lo, hi = r.lower, r.upper
    lo_inc, hi_inc = r.bounds[0] == "[", r.bounds[1] == "]"
    if lo is not None and hi is not None and lo == hi and not (lo_inc and hi_inc):
        return Range(empty=True)
    if step is not None:
        if lo is not None and not lo_inc:
            lo, lo_inc = lo + step, True
        if hi is not None and hi_inc:
            hi, hi_inc = hi + step, False
        if lo is not None and hi is not None and lo >= hi:
            return Range(empty=True)
    return Range(lo, hi, ("[" if lo_inc else "(") + ("]" if hi_inc else ")"))


def range_strategy(bound: st.SearchStrategy[Any]) -> st.SearchStrategy[Range]:
    def build(a: Any, b: Any, bounds: str) -> Range:
        if a is not None and b is not None and b < a:
            a, b = b, a
        return Range(a, b, bounds)

    return st.one_of(
        st.just(Range(empty=True)),
        st.builds(build, st.none() | bound, st.none() | bound, st.sampled_from(["[)", "[]", "(]", "()"])),
        # equal bounds: empty unless both inclusive
        st.builds(lambda x, b: Range(x, x, b), bound, st.sampled_from(["[)", "[]", "(]", "()"])),
    )


_aware = st.builds(
    lambda t, minutes: t.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes))),
    st.datetimes(min_value=dt.datetime(2, 1, 1), max_value=dt.datetime(9998, 12, 31)),
    st.integers(-15 * 60 - 59, 15 * 60 + 59),
)

# (type, bound strategy, canonical step or None for continuous types, normalise a value
# to what the server returns)
PROPERTY_TYPES: list[tuple[str, st.SearchStrategy[Any], Any, Callable[[Any], Any]]] = [
    # The last value is kept out of discrete types: '[x,max]' is stored as '[x,max+1)'.
    ("int4range", st.integers(-(2**31), 2**31 - 2), 1, lambda v: v),
    ("int8range", st.integers(-(2**63), 2**63 - 2), 1, lambda v: v),
    (
        "numrange",
        st.decimals(min_value=Decimal("-1e30"), max_value=Decimal("1e30"), allow_nan=False, places=None)
        | st.sampled_from([Decimal("Infinity"), Decimal("-Infinity"), Decimal("0.000"), Decimal("-1.50")]),
        None,
        lambda v: v,
    ),
    ("daterange", st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 30)), dt.timedelta(days=1), lambda v: v),
    ("tsrange", st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)), None, lambda v: v),
    ("tstzrange", _aware, None, lambda v: v.astimezone(UTC)),
]


def _normalised(r: Range, norm: Callable[[Any], Any]) -> Range:
    if r.isempty or r.bounds is None:
        return r
    return Range(
        None if r.lower is None else norm(r.lower),
        None if r.upper is None else norm(r.upper),
        r.bounds,
    )


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("typ, bound, step, norm", PROPERTY_TYPES, ids=[t[0] for t in PROPERTY_TYPES])
def test_property_parameter_round_trip(conn: Conn, typ: str, bound: Any, step: Any, norm: Any) -> None:
    @PROPERTY_SETTINGS
    @given(r=range_strategy(bound))
    def check(r: Range) -> None:
        want = _normalised(canonical(r, step), norm)
        got = conn.exec_first(f"SELECT $1::{typ}", (r,))[0]
        _same(got, want)
        # a multirange of it, and the server's own reading of the same range as a literal
        multi = typ.replace("range", "multirange")
        assert conn.exec_first(f"SELECT $1::{multi}", ([r],))[0] == ([] if want.isempty else [want])
        assert conn.exec_first(f"SELECT $1::{typ} = '{range_literal(r)}'::{typ}", (r,)) == (True,)

    check()


@pytest.mark.parametrize("typ, bound, step, norm", PROPERTY_TYPES, ids=[t[0] for t in PROPERTY_TYPES])
def test_property_sql_literal_in_both_formats(conn: Conn, typ: str, bound: Any, step: Any, norm: Any) -> None:
    @PROPERTY_SETTINGS
    @given(r=range_strategy(bound))
    def check(r: Range) -> None:
        want = _normalised(canonical(r, step), norm)
        sql = f"SELECT '{range_literal(r)}'::{typ}"
        _same(conn.query_first(sql)[0], want)
        _same(conn.exec_first(sql)[0], want)

    check()
