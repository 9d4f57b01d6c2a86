"""The remaining built-in types: network addresses, money, bit strings, system and
catalogue types, geometry, text search, and arrays of every built-in type.

Each sample is read through a SQL literal with `query` (text format) and `exec` (binary
format, or text where the type has no binary decoder) — both must give the expected
value — and sent back through a bound parameter."""

from __future__ import annotations

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyro_postgres.error import DatabaseError, EncodeError
from pyro_postgres.sync import Conn

IP = ipaddress.ip_address
IFACE = ipaddress.ip_interface
NET = ipaddress.ip_network


def tz(hours: int, minutes: int = 0) -> dt.timezone:
    sign = -1 if hours < 0 else 1
    return dt.timezone(sign * dt.timedelta(hours=abs(hours), minutes=minutes))


@pytest.fixture(scope="module")
def conn(url: str) -> Iterator[Conn]:
    c = Conn(url)
    yield c
    c.close()


# (type, SQL literal, expected value). The str values of text-only types are what
# PostgreSQL 18 prints.
SAMPLES: list[tuple[str, str, Any]] = [
    ("inet", "'1.2.3.4'", IP("1.2.3.4")),
    ("inet", "'1.2.3.4/24'", IFACE("1.2.3.4/24")),
    ("inet", "'0.0.0.0/0'", IFACE("0.0.0.0/0")),
    ("inet", "'::1'", IP("::1")),
    ("inet", "'2001:4f8:3:ba::1/64'", IFACE("2001:4f8:3:ba::1/64")),
    ("inet", "'::ffff:1.2.3.4'", IP("::ffff:1.2.3.4")),
    ("cidr", "'10.0.0.0/8'", NET("10.0.0.0/8")),
    ("cidr", "'10.0.0.1/32'", NET("10.0.0.1/32")),
    ("cidr", "'2001:db8::/32'", NET("2001:db8::/32")),
    ("cidr", "'::/0'", NET("::/0")),
    ("macaddr", "'08:00:2B:01:02:03'", "08:00:2b:01:02:03"),
    ("macaddr", "'0800.2b01.0203'", "08:00:2b:01:02:03"),
    ("macaddr8", "'08:00:2b:01:02:03:04:05'", "08:00:2b:01:02:03:04:05"),
    ("macaddr8", "'08:00:2b:01:02:03'", "08:00:2b:ff:fe:01:02:03"),
    ("money", "12.34", Decimal("12.34")),
    ("money", "-1234567.89", Decimal("-1234567.89")),
    ("money", "0", Decimal("0.00")),
    ("money", "'-92233720368547758.08'", Decimal("-92233720368547758.08")),
    ("money", "'92233720368547758.07'", Decimal("92233720368547758.07")),
    ("bit(5)", "B'10110'", "10110"),
    ("bit(1)", "B'0'", "0"),
    ("varbit", "B''", ""),
    ("varbit", "B'" + "10" * 50 + "1'", "10" * 50 + "1"),
    ("timetz", "'12:34:56.789+05:45'", dt.time(12, 34, 56, 789000, tzinfo=tz(5, 45))),
    ("timetz", "'01:00:00-09:30'", dt.time(1, 0, tzinfo=tz(-9, 30))),
    ("timetz", "'23:59:59.999999+14:00'", dt.time(23, 59, 59, 999999, tzinfo=tz(14))),
    ('"char"', "'x'", "x"),
    ("name", "'pg_class'", "pg_class"),
    ("xid", "'42'", 42),
    ("xid", "'4294967295'", 4294967295),
    ("xid8", "'18446744073709551615'", 18446744073709551615),
    ("cid", "'7'", 7),
    ("tid", "'(0,1)'", (0, 1)),
    ("tid", "'(4294967295,65535)'", (4294967295, 65535)),
    ("int2vector", "'1 -2 3'", [1, -2, 3]),
    ("int2vector", "''", []),
    ("oidvector", "'23 25'", [23, 25]),
    ("pg_lsn", "'16/B374D848'", "16/B374D848"),
    ("pg_lsn", "'0/0'", "0/0"),
    ("txid_snapshot", "'10:20:10,14,15'", "10:20:10,14,15"),
    ("pg_snapshot", "'10:20:10,14,15'", "10:20:10,14,15"),
    ("regclass", "'pg_class'", "pg_class"),
    ("regtype", "'int4'", "integer"),
    ("regproc", "'now'", "now"),
    ("regprocedure", "'sum(int4)'", "sum(integer)"),
    ("regoper", "'||/'", "||/"),
    ("regoperator", "'+(int4,int4)'", "+(integer,integer)"),
    ("regnamespace", "'pg_catalog'", "pg_catalog"),
    ("regrole", "'postgres'", "postgres"),
    ("regconfig", "'english'", "english"),
    ("regdictionary", "'simple'", "simple"),
    ("regcollation", "'\"C\"'", '"C"'),
    ("point", "'(1.5,2.25)'", "(1.5,2.25)"),
    ("line", "'{1,-1,0}'", "{1,-1,0}"),
    ("lseg", "'[(0,0),(1,1)]'", "[(0,0),(1,1)]"),
    ("box", "'(0,0),(1,1)'", "(1,1),(0,0)"),
    ("path", "'[(0,0),(1,1)]'", "[(0,0),(1,1)]"),
    ("polygon", "'((0,0),(1,1),(1,0))'", "((0,0),(1,1),(1,0))"),
    ("circle", "'<(0,0),1>'", "<(0,0),1>"),
    ("tsvector", "'a fat cat'", "'a' 'cat' 'fat'"),
    ("tsquery", "'a & !b'", "'a' & !'b'"),
    ("jsonpath", "'$.a[*] ? (@ > 1)'", '$."a"[*]?(@ > 1)'),
    ("aclitem", "'postgres=arwdDxtm/postgres'", "postgres=arwdDxtm/postgres"),
    ("refcursor", "'c1'", "c1"),
]


def _id(sample: tuple[str, str, Any]) -> str:
    return f"{sample[0]}:{sample[1]}"


def _same(got: Any, expected: Any) -> None:
    assert got == expected
    assert type(got) is type(expected)
    if isinstance(expected, dt.time):
        assert got.utcoffset() == expected.utcoffset()
    if isinstance(expected, Decimal):
        assert got.as_tuple() == expected.as_tuple()


@pytest.mark.parametrize("typ, literal, expected", SAMPLES, ids=[_id(s) for s in SAMPLES])
def test_text_and_binary_agree(conn: Conn, typ: str, literal: str, expected: Any) -> None:
    sql = f"SELECT ({literal})::{typ}"
    _same(conn.query_first(sql)[0], expected)
    _same(conn.exec_first(sql)[0], expected)


@pytest.mark.parametrize("typ, literal, expected", SAMPLES, ids=[_id(s) for s in SAMPLES])
def test_parameter_round_trip(conn: Conn, typ: str, literal: str, expected: Any) -> None:
    _same(conn.exec_first(f"SELECT $1::{typ}", (expected,))[0], expected)


ARRAY_TYPES = sorted({s[0] for s in SAMPLES})


def _first_sample(typ: str) -> tuple[str, Any]:
    return next((lit, exp) for t, lit, exp in SAMPLES if t == typ)


@pytest.mark.parametrize("typ", ARRAY_TYPES)
def test_arrays_of_every_sampled_type(conn: Conn, typ: str) -> None:
    literal, e = _first_sample(typ)
    item = f"({literal})::{typ}"
    queries = {
        f"SELECT ARRAY[{item}, NULL]": [e, None],
        f"SELECT ARRAY[[{item}, NULL], [{item}, {item}]]": [[e, None], [e, e]],
        f"SELECT ARRAY[[[{item}]]]": [[[e]]],
        f"SELECT '{{}}'::{typ}[]": [],
        f"SELECT ARRAY[NULL::{typ}]": [None],
    }
    for sql, want in queries.items():
        assert conn.query_first(sql)[0] == want, sql
        assert conn.exec_first(sql)[0] == want, sql
    # A tuple or list inside a list is a dimension, so tid and the vectors cannot be
    # array elements as Python values; their str form still works.
    x = literal.strip("'") if typ in ("tid", "int2vector", "oidvector") else e
    for value, want in (([x, None], [e, None]), ([[x], [None]], [[e], [None]]), ([], [])):
        assert conn.exec_first(f"SELECT $1::{typ}[]", (value,))[0] == want


def test_every_builtin_array_type_is_a_list(conn: Conn) -> None:
    elements = [r[0] for r in conn.query(
        "SELECT oid::regtype::text FROM pg_type WHERE typarray <> 0 AND oid < 10000 "
        "AND typtype <> 'p' ORDER BY oid"
    )]
    assert len(elements) > 80
    for element in elements:
        sql = f"SELECT ARRAY[NULL::{element}], '{{}}'::{element}[], ARRAY[[NULL::{element}]]"
        want = ([None], [], [[None]])
        assert conn.query_first(sql) == want, element
        assert conn.exec_first(sql) == want, element


def test_box_arrays_use_semicolons(conn: Conn) -> None:
    sql = "SELECT ARRAY['(1,1),(0,0)'::box, NULL, '(3,3),(2,2)']"
    want = ["(1,1),(0,0)", None, "(3,3),(2,2)"]
    assert conn.query_first(sql)[0] == want
    assert conn.exec_first(sql)[0] == want
    assert conn.query_first(sql + "::text")[0] == "{(1,1),(0,0);NULL;(3,3),(2,2)}"
    assert conn.exec_first("SELECT $1::box[]", (want,))[0] == want
    assert conn.exec_first("SELECT array_length($1::box[], 1)", (want,))[0] == 3


def test_text_only_array_elements_with_quotes_and_nulls(conn: Conn) -> None:
    sql = """SELECT ARRAY['a "q" \\ b'::tsvector, NULL, ''::tsvector]"""
    want = [conn.query_first("""SELECT 'a "q" \\ b'::tsvector""")[0], None, ""]
    assert conn.query_first(sql)[0] == want
    assert conn.exec_first(sql)[0] == want
    assert conn.exec_first("SELECT $1::tsvector[]", (want,))[0] == want


@pytest.mark.parametrize(
    "literal, want",
    [
        ("'[0:2]={1,2,3}'::int4[]", [1, 2, 3]),
        ("'[-3:-2][5:5]={{1},{NULL}}'::int8[]", [[1], [None]]),
        ("'[0:1]={1.5,NULL}'::numeric[]", [Decimal("1.5"), None]),
        ("'[2:3]={10.0.0.0/8,::/0}'::cidr[]", [NET("10.0.0.0/8"), NET("::/0")]),
        ("'[0:1]={\"(1,2)\",NULL}'::point[]", ["(1,2)", None]),
        ("'[0:1]={(1,1),(0,0);(3,3),(2,2)}'::box[]", ["(1,1),(0,0)", "(3,3),(2,2)"]),
        ("'[7:7]={16/B374D848}'::pg_lsn[]", ["16/B374D848"]),
    ],
)
def test_lower_bounds_are_dropped_in_both_formats(conn: Conn, literal: str, want: Any) -> None:
    # Documented choice: a plain list, indexed from 0 like every Python list.
    assert conn.query_first(f"SELECT {literal}")[0] == want
    assert conn.exec_first(f"SELECT {literal}")[0] == want
    assert conn.exec_first(f"SELECT array_lower({literal}, 1)")[0] != 1


def test_xml(conn: Conn) -> None:
    assert conn.query_first("SELECT NULL::xml, ARRAY[NULL::xml]") == (None, [None])
    assert conn.exec_first("SELECT NULL::xml, ARRAY[NULL::xml]") == (None, [None])
    try:
        conn.query_first("SELECT '<a>x</a>'::xml")
    except DatabaseError as e:
        assert "libxml" in str(e)
        pytest.skip("server built without libxml")
    for sql in ("SELECT '<a>x</a>'::xml", "SELECT $1::xml"):
        assert conn.exec_first(sql, ("<a>x</a>",) if "$1" in sql else ())[0] == "<a>x</a>"
    assert conn.query_first("SELECT ARRAY['<a>x</a>'::xml]")[0] == ["<a>x</a>"]


def test_network_parameters(conn: Conn) -> None:
    for value, typ in [
        (IP("192.168.0.1"), "inet"),
        (IFACE("192.168.0.1/24"), "inet"),
        (IP("fe80::1"), "inet"),
        (IFACE("fe80::1/10"), "inet"),
        (NET("192.168.0.0/16"), "cidr"),
        (NET("2001:db8::/48"), "cidr"),
    ]:
        _same(conn.exec_first(f"SELECT $1::{typ}", (value,))[0], value)
        assert conn.exec_first(f"SELECT $1::{typ}::text", (value,))[0] in (str(value), f"{value}/32", f"{value}/128")
    # An address (no prefix) to cidr is a single-host network; a network to inet keeps
    # its prefix, so it comes back as an interface.
    assert conn.exec_first("SELECT $1::cidr", (IP("10.1.2.3"),))[0] == NET("10.1.2.3/32")
    assert conn.exec_first("SELECT $1::inet", (NET("10.0.0.0/8"),))[0] == IFACE("10.0.0.0/8")
    values = [IP("1.2.3.4"), None, IFACE("::1/64")]
    assert conn.exec_first("SELECT $1::inet[]", (values,))[0] == values
    nets = [[NET("10.0.0.0/8"), None], [NET("::/0"), NET("1.2.3.0/24")]]
    assert conn.exec_first("SELECT $1::cidr[]", (nets,))[0] == nets
    assert conn.exec_first("SELECT $1::inet[]", ([],))[0] == []
    # Strings go to the server's parser.
    assert conn.exec_first("SELECT $1::inet, $2::cidr", ("10.0.0.1/8", "10/8")) == (IFACE("10.0.0.1/8"), NET("10.0.0.0/8"))


def test_money_parameters(conn: Conn) -> None:
    for value, want in [
        (Decimal("12.34"), "12.34"),
        (Decimal("12.345"), "12.35"),  # rounded half away from zero, as money_in does
        (Decimal("-12.345"), "-12.35"),
        (Decimal("1E+3"), "1000.00"),
        (7, "7.00"),
        (-7, "-7.00"),
        (0.1, "0.10"),
        ("$1,234.56", "1234.56"),  # the server parses a str with lc_monetary
        ("-12.5", "-12.50"),
    ]:
        got = conn.exec_first("SELECT $1::money", (value,))[0]
        _same(got, Decimal(want))
    assert conn.exec_first("SELECT $1::money[]", ([Decimal("1.5"), None, 2],))[0] == [Decimal("1.50"), None, Decimal("2.00")]
    for bad in (Decimal("NaN"), Decimal("1E+20"), 2**62, float("inf")):
        with pytest.raises(EncodeError):
            conn.exec_first("SELECT $1::money", (bad,))
    assert conn.exec_first("SELECT 1") == (1,)


def test_money_text_follows_lc_monetary_digits(conn: Conn) -> None:
    # The text form is parsed by its digits, so the currency symbol and separators of
    # lc_monetary do not matter; C prints '$1,234.56' and '-$1,234.56'.
    assert conn.query_first("SELECT (-1234.56)::money::text")[0] == "-$1,234.56"
    assert conn.query_first("SELECT (-1234.56)::money")[0] == Decimal("-1234.56")
    assert conn.query_first("SELECT sum(x) FROM (VALUES (1.5::money), (2.25::money)) v(x)")[0] == Decimal("3.75")
    assert conn.exec_first("SELECT sum(x) FROM (VALUES (1.5::money), (2.25::money)) v(x)")[0] == Decimal("3.75")


def test_lone_surrogate_str_parameter_is_an_encode_error(conn: Conn) -> None:
    # marshal writes it as an encoded surrogate, which is not UTF-8: refused before
    # anything is sent, whether it stands alone, after ASCII text or beside other values.
    stmt = conn.prepare("SELECT $1::text, $2::int4, $3::varchar")
    for value in ("\ud800", "abcdefghijklmnopq\udfff", "é\ud800x"):
        for sql, params in (("SELECT $1::text", (value,)), (stmt, ("ok", 1, value)), (stmt, (value, 1, "ok"))):
            with pytest.raises(EncodeError, match="not valid Unicode"):
                conn.exec_first(sql, params)
    assert conn.exec_first(stmt, ("a", 2, "b")) == ("a", 2, "b")
    assert conn.exec_first("SELECT $1::text", ("é😀",)) == ("é😀",)


def test_bit_parameters(conn: Conn) -> None:
    assert conn.exec_first("SELECT $1::bit(4), $2::varbit", ("1010", "1")) == ("1010", "1")
    assert conn.exec_first("SELECT $1::varbit(8)", ("",))[0] == ""
    with pytest.raises(DatabaseError):
        conn.exec_first("SELECT $1::bit(4)", ("12",))
    assert conn.exec_first("SELECT 1") == (1,)


def test_system_type_parameters(conn: Conn) -> None:
    assert conn.exec_first("SELECT $1::tid, $2::tid", ((3, 7), "(3,7)")) == ((3, 7), (3, 7))
    assert conn.exec_first("SELECT $1::int2vector, $2::oidvector", ([1, 2], (23,))) == ([1, 2], [23])
    assert conn.exec_first("SELECT $1::xid, $2::xid8, $3::cid", (1, 2**64 - 1, 3)) == (1, 2**64 - 1, 3)
    with pytest.raises(EncodeError):
        conn.exec_first("SELECT $1::tid", ((1, 2, 3),))
    assert conn.exec_first("SELECT 1") == (1,)


def test_real_system_values(conn: Conn) -> None:
    conn.query_drop("CREATE TEMP TABLE sysvals (x int)")
    conn.query_drop("INSERT INTO sysvals VALUES (1)")
    sql = "SELECT ctid, xmin, cmin, pg_current_xact_id(), pg_current_snapshot() FROM sysvals"
    for row in (conn.query_first(sql), conn.exec_first(sql)):
        ctid, xmin, cmin, xid8, snapshot = row
        assert ctid == (0, 1)
        assert isinstance(xmin, int) and isinstance(cmin, int) and isinstance(xid8, int)
        assert isinstance(snapshot, str) and ":" in snapshot
    rows = conn.exec("SELECT indkey FROM pg_index WHERE indrelid = 'pg_class'::regclass ORDER BY 1")
    assert all(isinstance(r[0], list) and all(isinstance(k, int) for k in r[0]) for r in rows)
    assert conn.query("SELECT indkey FROM pg_index WHERE indrelid = 'pg_class'::regclass ORDER BY 1") == rows
    conn.query_drop("DROP TABLE sysvals")


# ---- parameters of types the codecs do not know (OIDs >= 16384)


@pytest.fixture(scope="module")
def user_types(conn: Conn) -> Iterator[None]:
    domains = {
        "t_posint": "int4 CHECK (VALUE > 0)",
        "t_label": "text CHECK (VALUE <> '')",
        "t_flag": "bool",
        "t_day": "date",
        "t_clock": "time",
        "t_stamp": "timestamp",
        "t_stamptz": "timestamptz",
        "t_span": "interval",
        "t_ratio": "float8",
        "t_amount": "numeric(10,2)",
        "t_id": "uuid",
        "t_addr": "inet",
        "t_blob": "bytea",
        "t_doc": "jsonb",
        "t_cash": "money",
        "t_ints": "int4[]",
    }
    conn.query_drop("DROP TYPE IF EXISTS t_mood CASCADE; CREATE TYPE t_mood AS ENUM ('sad', 'ok', 'happy')")
    for name, definition in domains.items():
        conn.query_drop(f"DROP DOMAIN IF EXISTS {name} CASCADE; CREATE DOMAIN {name} AS {definition}")
    yield
    conn.query_drop("DROP TYPE t_mood CASCADE; " + "; ".join(f"DROP DOMAIN {n} CASCADE" for n in domains))


UNKNOWN_TYPE_PARAMS: list[tuple[str, Any, str]] = [
    # (type, Python value, the server's text of the value)
    ("t_posint", 5, "5"),
    ("t_posint", "7", "7"),
    ("t_posint", Decimal("8"), "8"),
    ("t_label", "héllo", "héllo"),
    ("t_mood", "happy", "happy"),
    ("t_flag", True, "true"),
    ("t_flag", False, "false"),
    ("t_day", dt.date(2024, 2, 29), "2024-02-29"),
    ("t_clock", dt.time(13, 45, 10, 5), "13:45:10.000005"),
    ("t_stamp", dt.datetime(2024, 2, 29, 13, 45), "2024-02-29 13:45:00"),
    ("t_stamptz", dt.datetime(2024, 2, 29, 13, 45, tzinfo=dt.timezone.utc), "2024-02-29 13:45:00+00"),
    ("t_span", dt.timedelta(days=-1, seconds=5, microseconds=7), "-1 days +00:00:05.000007"),
    ("t_ratio", 0.1, "0.1"),
    ("t_ratio", float("-inf"), "-Infinity"),
    ("t_amount", Decimal("12.345"), "12.35"),
    ("t_id", uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
    ("t_addr", IFACE("10.0.0.1/8"), "10.0.0.1/8"),
    ("t_blob", b"\x00\xff", "\\x00ff"),
    ("t_doc", {"a": [1, None]}, '{"a": [1, null]}'),
    ("t_cash", Decimal("1.5"), "$1.50"),
    ("t_cash", 2, "$2.00"),
    ("t_ints", [1, None], "{1,NULL}"),
]


@pytest.mark.parametrize(
    "typ, value, text", UNKNOWN_TYPE_PARAMS, ids=[f"{t}:{v!r}" for t, v, _ in UNKNOWN_TYPE_PARAMS]
)
def test_unknown_parameter_types_take_text(conn: Conn, user_types: None, typ: str, value: Any, text: str) -> None:
    conn.query_drop("SET TimeZone = 'UTC'")
    assert conn.exec_first(f"SELECT $1::{typ}::text", (value,))[0] == text
    if typ != "t_ints":  # a list in a list would be a second dimension
        # An array of a domain or enum has an unknown OID too: an array literal.
        assert conn.exec_first(f"SELECT $1::{typ}[]::text[]", ([value, None],))[0] == [text, None]


def test_unknown_parameter_types_results(conn: Conn, user_types: None) -> None:
    # Results of a domain have the base type's OID, so they decode like the base type;
    # an enum is its label.
    assert conn.exec_first("SELECT $1::t_posint, $2::t_mood, $3::t_addr", (5, "ok", IP("1.2.3.4"))) == (5, "ok", IP("1.2.3.4"))
    assert conn.exec_first("SELECT $1::t_mood[]", (["sad", None],))[0] in (["sad", None], "{sad,NULL}")


@pytest.mark.parametrize(
    "typ, value, sqlstate",
    [("t_posint", -5, "23514"), ("t_mood", "angry", "22P02"), ("t_label", "", "23514"), ("t_day", "not a day", "22007")],
)
def test_unknown_parameter_types_rejected_value(conn: Conn, user_types: None, typ: str, value: Any, sqlstate: str) -> None:
    with pytest.raises(DatabaseError) as info:
        conn.exec_first(f"SELECT $1::{typ}", (value,))
    assert sqlstate in str(info.value)
    assert conn.exec_first("SELECT 1") == (1,)


def test_unknown_parameter_type_with_unsendable_value(conn: Conn, user_types: None) -> None:
    with pytest.raises(EncodeError):
        conn.exec_first("SELECT $1::t_posint", (object(),))
    assert conn.exec_first("SELECT 1") == (1,)


# ---- property tests

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def ip_values(draw: Any) -> Any:
    v6 = draw(st.booleans())
    width = 128 if v6 else 32
    address = draw(st.integers(0, 2**width - 1))
    prefix = draw(st.integers(0, width))
    cls = ipaddress.IPv6Interface if v6 else ipaddress.IPv4Interface
    iface = cls((address, prefix))
    kind = draw(st.sampled_from(["address", "interface", "network"]))
    if kind == "address":
        return "inet", iface.ip
    if kind == "interface":
        return "inet", iface.ip if prefix == width else iface
    return "cidr", iface.network


@PROPERTY
@given(ip_values())
def test_property_inet_cidr(conn: Conn, sample: tuple[str, Any]) -> None:
    typ, value = sample
    literal = f"SELECT '{value}'::{typ}"
    for got in (conn.query_first(literal)[0], conn.exec_first(literal)[0], conn.exec_first(f"SELECT $1::{typ}", (value,))[0]):
        _same(got, value)


@PROPERTY
@given(st.binary(min_size=6, max_size=6), st.binary(min_size=8, max_size=8))
def test_property_macaddr(conn: Conn, mac6: bytes, mac8: bytes) -> None:
    for typ, raw in (("macaddr", mac6), ("macaddr8", mac8)):
        want = ":".join(f"{b:02x}" for b in raw)
        upper = "-".join(f"{b:02X}" for b in raw)
        sql = f"SELECT '{upper}'::{typ}"
        assert conn.query_first(sql)[0] == want
        assert conn.exec_first(sql)[0] == want
        assert conn.exec_first(f"SELECT $1::{typ}", (upper,))[0] == want


@PROPERTY
@given(st.text(alphabet="01", max_size=200), st.booleans())
def test_property_bit_varbit(conn: Conn, bits: str, fixed: bool) -> None:
    typ = f"bit({len(bits)})" if fixed and bits else "varbit"
    sql = f"SELECT B'{bits}'::{typ}"
    assert conn.query_first(sql)[0] == bits
    assert conn.exec_first(sql)[0] == bits
    assert conn.exec_first(f"SELECT $1::{typ}", (bits,))[0] == bits


@PROPERTY
@given(st.integers(-(2**63), 2**63 - 1))
def test_property_money(conn: Conn, cents: int) -> None:
    value = Decimal(cents).scaleb(-2)
    sql = f"SELECT '{value}'::money"
    for got in (conn.query_first(sql)[0], conn.exec_first(sql)[0], conn.exec_first("SELECT $1::money", (value,))[0]):
        _same(got, value.quantize(Decimal("0.01")))
    assert conn.exec_first("SELECT ($1::money)::numeric", (value,))[0] == value


def _arrays(elements: Any) -> Any:
    # Rectangular nested lists of 1 to 3 dimensions.
    return st.integers(1, 3).flatmap(
        lambda ndim: st.lists(st.integers(0, 4), min_size=ndim, max_size=ndim).flatmap(
            lambda dims: _shaped(dims, elements)
        )
    )


def _shaped(dims: list[int], elements: Any) -> Any:
    if len(dims) == 1:
        return st.lists(elements, min_size=dims[0], max_size=dims[0])
    return st.lists(_shaped(dims[1:], elements), min_size=dims[0], max_size=dims[0])


def _normalised(value: list[Any]) -> list[Any]:
    # PostgreSQL has no empty sub-arrays: any zero-length dimension is the empty array.
    def empty(v: Any) -> bool:
        return isinstance(v, list) and (not v or any(empty(x) for x in v))

    return [] if empty(value) else value


@PROPERTY
@given(_arrays(st.none() | st.integers(-(2**31), 2**31 - 1)))
def test_property_int_arrays(conn: Conn, value: list[Any]) -> None:
    want = _normalised(value)
    got = conn.exec_first("SELECT $1::int4[]", (value,))[0]
    assert got == want
    literal = conn.exec_first("SELECT $1::int4[]::text", (value,))[0]
    assert conn.query_first(f"SELECT '{literal}'::int4[]")[0] == want
    assert conn.exec_first(f"SELECT '{literal}'::int4[]")[0] == want
    as_int8 = conn.exec_first("SELECT $1::int8[]", (value,))[0]
    assert as_int8 == want
