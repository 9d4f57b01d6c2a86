"""The type registry (``Conn.register_type``) and anonymous records, in both APIs and both
wire formats: ``query`` (text) and ``exec`` (binary) must agree, values must round-trip
through parameters, and a registration is seen by its connection only."""

from __future__ import annotations

import collections
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyro_postgres import Opts
from pyro_postgres.error import DecodeError, EncodeError, IncorrectApiUsageError, ProgrammingError

# pytest runs in importlib mode: the shared test helper is found next to this file.
sys.path.insert(0, str(Path(__file__).parent))
from flavours import FLAVOURS, Api  # noqa: E402

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS hstore;
DROP SCHEMA IF EXISTS reg CASCADE;
CREATE SCHEMA reg;
CREATE TYPE reg.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN reg.posint AS int CHECK (VALUE > 0);
CREATE TYPE reg.pt AS (x int, label text, tags numeric[], m reg.mood, d reg.posint);
CREATE TYPE reg.outer_t AS (inner_pt reg.pt, kv hstore, pts reg.pt[]);
CREATE TYPE reg.odd AS (p point, t text);
"""

Point = collections.namedtuple("Point", "x label tags m d")


@pytest.fixture(scope="module")
def schema(url: str) -> str:
    setup = Api("sync", url)
    setup.query_drop(SCHEMA)
    setup.close()
    return url


@pytest.fixture(params=FLAVOURS)
def connect(request: pytest.FixtureRequest, schema: str) -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make() -> Api:
        api = Api(request.param, Opts(schema))
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(connect: Callable[..., Api]) -> Api:
    return connect()


def both(api: Api, select_list: str) -> Any:
    text = api.query_first(f"SELECT {select_list}")
    binary = api.exec_first(f"SELECT {select_list}")
    assert text == binary, (text, binary)
    return text


# ---- anonymous records


def test_records_are_tuples(api: Api) -> None:
    # Binary (exec): fields decoded by the type each carries.
    assert api.exec_first("SELECT ROW(1, 'a b', NULL, 2.5::numeric, '2024-02-29'::date, ROW(true, '{1,2}'::int[]))") == (
        (1, "a b", None, Decimal("2.5"), __import__("datetime").date(2024, 2, 29), (True, [1, 2])),
    )
    # Text (query): a record's text names no field types, so the fields stay str.
    assert api.query_first("SELECT ROW(1, 'a b', NULL, '', 'q\",()')") == (("1", "a b", None, "", 'q",()'),)
    # `()` is the text of both ROW() and ROW(NULL): text reads it as one NULL field.
    assert api.exec_first("SELECT ROW(), ROW(NULL)") == ((), (None,))
    assert api.query_first("SELECT ROW(), ROW(NULL)") == ((None,), (None,))
    assert api.exec_first("SELECT ARRAY[ROW(1, 'x'), NULL]") == ([(1, "x"), None],)
    assert api.exec("SELECT r FROM (VALUES (1, 'a'), (2, 'b')) AS r(i, t) ORDER BY i", as_dict=True) == [
        {"r": (1, "a")},
        {"r": (2, "b")},
    ]


def test_record_field_without_binary_decoder_is_a_clear_error(api: Api) -> None:
    with pytest.raises(DecodeError, match=r"record field 2 is of reg\.mood|record field 2 is of type with OID"):
        api.exec("SELECT ROW(1, 'ok'::reg.mood, 2)")
    assert api.exec_first("SELECT ROW(1, 'ok'::reg.mood::text)") == ((1, "ok"),)
    # Registered, the enum decodes inside records too.
    api.register_type("reg.mood")
    assert api.exec_first("SELECT ROW(1, 'ok'::reg.mood)") == ((1, "ok"),)


@pytest.fixture(scope="module")
def record_conns(schema: str) -> Iterator[list[Api]]:
    apis = [Api(f, schema) for f in FLAVOURS]
    for api in apis:
        api.register_type("reg.pt")
    yield apis
    for api in apis:
        api.close()


field_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.lists(st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1), field_text), max_size=6),
    x=st.one_of(st.none(), st.integers(-(2**31), 2**31 - 1)),
    label=st.one_of(st.none(), field_text),
)
def test_records_of_random_ints_and_strings(record_conns: list[Api], fields: list[Any], x: Any, label: Any) -> None:
    """An anonymous record of random ints/strings decodes to the same tuple, and a
    registered composite round-trips through a parameter."""
    params = tuple(f for f in fields if f is not None)
    placeholders = iter(range(1, len(params) + 1))
    values = ", ".join(
        "NULL::int" if f is None else f"${next(placeholders)}::{'int' if isinstance(f, int) else 'text'}" for f in fields
    )
    for api in record_conns:
        assert api.exec_first(f"SELECT ROW({values})", params) == (tuple(fields),)
        value = (x, label, None, None, None)
        assert api.exec_first("SELECT $1::reg.pt", (value,)) == (value,)
        assert api.query_first("SELECT ROW(1, 'a', NULL, NULL, NULL)::reg.pt") == ((1, "a", None, None, None),)


# ---- registered types


def test_enum_and_its_arrays(api: Api) -> None:
    # query() before the connection has seen the type: an array of it is its text.
    assert api.query_first("SELECT ARRAY['ok'::reg.mood, 'sad']") == ("{ok,sad}",)
    assert both(api, "'ok'::reg.mood") == ("ok",)  # str without registering
    # exec introspected the enum (tests/test_types_introspect.py): arrays are lists.
    assert both(api, "ARRAY['ok'::reg.mood, 'sad']") == (["ok", "sad"],)
    api.register_type("reg.mood")
    assert both(api, "'ok'::reg.mood, ARRAY['ok'::reg.mood, NULL, 'happy'], ARRAY[ARRAY['sad'::reg.mood]]") == (
        "ok",
        ["ok", None, "happy"],
        [["sad"]],
    )
    assert api.exec_first("SELECT $1::reg.mood[], $2::reg.mood", (["happy", None], "sad")) == (["happy", None], "sad")


def test_domains(api: Api) -> None:
    # Arrays of a domain have a type of their own: text until the connection knows the
    # domain (registered, or introspected by exec).
    assert api.query_first("SELECT ARRAY[5::reg.posint]") == ("{5}",)
    # Results arrive as the base type: the server describes a domain column by its base.
    assert both(api, "5::reg.posint") == (5,)
    assert api.exec_first("SELECT $1::reg.posint", (7,)) == (7,)
    api.register_type("reg.posint")
    assert both(api, "ARRAY[5::reg.posint, NULL]") == ([5, None],)
    assert api.exec_first("SELECT $1::reg.posint[]", ([3, None],)) == ([3, None],)


def test_composites(api: Api) -> None:
    literal = "ROW(3, 'q,\"x', ARRAY[1.5, NULL], 'ok', 4)::reg.pt"
    # query() before the connection has seen the type: its text.
    assert api.query_first(f"SELECT {literal}") == ('(3,"q,""x","{1.5,NULL}",ok,4)',)
    api.register_type("reg.mood")
    api.register_type("reg.pt")
    value = (3, 'q,"x', [Decimal("1.5"), None], "ok", 4)
    assert both(api, literal) == (value,)
    assert both(api, f"ARRAY[{literal}, NULL]") == ([value, None],)
    assert both(api, "NULL::reg.pt, ROW(NULL, NULL, NULL, NULL, NULL)::reg.pt") == (None, (None,) * 5)
    # Parameters: a tuple or list of the fields, arrays of them as lists.
    assert api.exec_first("SELECT $1::reg.pt", (value,)) == (value,)
    assert api.exec_first("SELECT $1::reg.pt[]", ([list(value), None],)) == ([value, None],)
    with pytest.raises(EncodeError, match="has 5 fields, the value has 2"):
        api.exec("SELECT $1::reg.pt", ((1, "a"),))
    # With a factory, values are built by it.
    api.register_type("reg.pt", factory=Point)
    row = both(api, f"{literal}, ARRAY[{literal}]")
    assert row == (Point(*value), [Point(*value)]) and type(row[0]) is Point
    assert api.exec_first("SELECT $1::reg.pt", (Point(*value),)) == (Point(*value),)


def test_nested_composites_hstore_and_text_fallback(api: Api) -> None:
    api.query_drop("SELECT 1")
    for name in ("reg.mood", "reg.pt", "hstore", "reg.outer_t", "reg.odd"):
        api.register_type(name)
    pt = (1, "a", [], "sad", None)
    outer = (pt, {"k": "v", "n": None}, [pt, None])
    assert api.exec_first("SELECT $1::reg.outer_t", (outer,)) == (outer,)
    assert both(api, "ROW(ROW(1, 'a', '{}', 'sad', NULL)::reg.pt, 'k=>v, n=>NULL', ARRAY[ROW(1, 'a', '{}', 'sad', NULL)::reg.pt, NULL])::reg.outer_t") == (outer,)
    # A field without a binary decoder (point): the composite travels in text, fields typed.
    assert both(api, "ROW(point(1, 2), 'x')::reg.odd") == (("(1,2)", "x"),)


def test_hstore(api: Api) -> None:
    assert api.query_first("SELECT 'a=>1'::hstore") == ('"a"=>"1"',)  # not seen yet: its text
    api.register_type("hstore")
    tricky = {"a": "1", "n": None, 'q"\\ ,=>': 'v"\\', "": "", "é ✓": "ü"}
    assert api.exec_first("SELECT $1::hstore", (tricky,)) == (tricky,)
    assert both(api, r"""'a=>1, b=>NULL, "c d"=>"e\"f"'::hstore, ''::hstore, NULL::hstore""") == (
        {"a": "1", "b": None, "c d": 'e"f'},
        {},
        None,
    )
    assert both(api, "ARRAY['a=>1'::hstore, NULL]") == ([{"a": "1"}, None],)
    assert api.exec_first("SELECT $1::hstore[]", ([{"x": None}, None],)) == ([{"x": None}, None],)
    with pytest.raises(EncodeError, match="hstore values must be str or None"):
        api.exec("SELECT $1::hstore", ({"a": 1},))
    # A dict bound to json is still JSON.
    assert api.exec_first("SELECT $1::jsonb", ({"a": 1},)) == ({"a": 1},)
    assert api.exec_first("SELECT $1::hstore", ({"z": "1"},)) == ({"z": "1"},)


def test_loaders_and_dumpers(api: Api) -> None:
    api.register_type("reg.pt", loads=lambda text: ("loaded", text), dumps=lambda v: f"({v},dumped,{{}},,)")
    assert both(api, "ROW(1, 'a', NULL, NULL, NULL)::reg.pt, ARRAY[ROW(2, 'b', NULL, NULL, NULL)::reg.pt]") == (
        ("loaded", "(1,a,,,)"),
        [("loaded", "(2,b,,,)")],
    )
    assert api.exec_first("SELECT $1::reg.pt, $2::reg.pt[], $3::reg.pt", (7, [8, None], "(9,s,,,)")) == (
        ("loaded", "(7,dumped,{},,)"),
        [("loaded", "(8,dumped,{},,)"), None],
        ("loaded", "(9,s,,,)"),  # a str is the type's text already
    )
    api.query_drop("CREATE TEMP TABLE pts(p reg.pt)")
    api.exec_batch("INSERT INTO pts VALUES ($1)", [(1,), (None,), ("(3,t,,,)",)])
    assert api.query("SELECT p FROM pts") == [(("loaded", "(1,dumped,{},,)"),), (None,), (("loaded", "(3,t,,,)"),)]
    # A loader for a type that has a built-in decoder replaces it, on this connection only.
    api.register_type("numeric", loads=float)
    assert both(api, "1.5::numeric, ARRAY[2.5::numeric]") == (1.5, [2.5])


def test_registration_is_per_connection_and_statements_follow(connect: Callable[..., Api]) -> None:
    a, b = connect(), connect()
    prepared = a.prepare("SELECT ARRAY['ok'::reg.mood]")
    assert a.query_first("SELECT ARRAY['ok'::reg.mood]") == ("{ok}",)
    a.register_type("reg.mood")
    # Statements described before the registration decode with it too.
    assert a.exec_first("SELECT ARRAY['ok'::reg.mood]") == (["ok"],)
    assert a.exec_first(prepared) == (["ok"],)
    assert a.query_first("SELECT ARRAY['ok'::reg.mood]") == (["ok"],)
    assert b.query_first("SELECT ARRAY['ok'::reg.mood]") == ("{ok}",)


def test_registration_by_oid_and_bad_registrations(api: Api) -> None:
    (oid,) = api.query_first("SELECT 'reg.mood'::regtype::oid")
    api.register_type(oid)
    assert both(api, "ARRAY['ok'::reg.mood]") == (["ok"],)
    with pytest.raises(ProgrammingError, match="type 'no_such_type' does not exist"):
        api.register_type("no_such_type")
    with pytest.raises(ProgrammingError, match="type OID 4000000000 does not exist"):
        api.register_type(4_000_000_000)
    with pytest.raises(IncorrectApiUsageError):
        api.register_type(-1)
    with pytest.raises(IncorrectApiUsageError):
        api.register_type(1.5)  # type: ignore[arg-type]
    with pytest.raises(IncorrectApiUsageError, match="factory= is for composite types"):
        api.register_type("reg.mood", factory=tuple)
    with pytest.raises(IncorrectApiUsageError, match="pseudo type; give loads="):
        api.register_type("anyelement")
    with pytest.raises(TypeError):
        api.register_type("reg.mood", loads="str")  # type: ignore[arg-type]
    # A malformed specification at the C ABI is refused, not a crash.
    for spec in (b"", b"garbage", __import__("marshal").dumps((1, 2, "x", "nonsense", 0, 0, []))):
        assert api.conn._lib.conn_register_type(api.conn._h, spec, len(spec)) == 1
    assert api.exec_first("SELECT 1") == (1,)


def test_dumper_errors_leave_the_connection_usable(api: Api) -> None:
    api.register_type("reg.mood", dumps=lambda v: v.name)
    with pytest.raises(EncodeError, match="the dumper raised AttributeError"):
        api.exec("SELECT $1::reg.mood", (5,))
    Mood = collections.namedtuple("Mood", "name")
    assert api.exec_first("SELECT $1::reg.mood", (Mood("happy"),)) == ("happy",)
