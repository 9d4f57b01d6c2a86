"""Per-connection decoding options (``Opts.json_as_str``, ``json_loads``, ``json_dumps``,
``temporal_out_of_range``) in both APIs and both wire formats: ``query`` (text) and
``exec`` (binary) must agree, and a connection without the option is unaffected."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyro_postgres import Json, Opts
from pyro_postgres.error import DecodeError, EncodeError, IncorrectApiUsageError, UrlError

# pytest runs in importlib mode: the shared test helper is found next to this file.
sys.path.insert(0, str(Path(__file__).parent))
from flavours import FLAVOURS, Api  # noqa: E402

UTC = dt.timezone.utc


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def connect(flavour: str, url: str) -> Iterator[Callable[..., Api]]:
    """connect(opts_builder=None) -> Api on a fresh connection, closed after the test."""
    made: list[Api] = []

    def make(build: Callable[[Opts], Opts] | None = None) -> Api:
        opts = Opts(url)
        api = Api(flavour, build(opts) if build else opts)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


def both(api: Api, select_list: str) -> Any:
    """The row of ``SELECT select_list`` in text format (query) and binary (exec), which
    must be equal."""
    text = api.query_first(f"SELECT {select_list}")
    binary = api.exec_first(f"SELECT {select_list}")
    assert text == binary
    return text


JSON_SELECT = """'{"b": [1, 2.5, null], "a": "x"}'::jsonb, '[1,  2]'::json, NULL::jsonb,
    ARRAY['{"k": true}'::jsonb, NULL], ARRAY['"s"'::json]"""


# ---- json


def test_json_default_is_parsed(connect: Callable[..., Api]) -> None:
    api = connect()
    assert both(api, JSON_SELECT) == ({"a": "x", "b": [1, 2.5, None]}, [1, 2], None, [{"k": True}, None], ["s"])


def test_json_as_str(connect: Callable[..., Api]) -> None:
    api = connect(lambda o: o.json_as_str())
    assert both(api, JSON_SELECT) == (
        '{"a": "x", "b": [1, 2.5, null]}',  # jsonb: the server's normalised text
        "[1,  2]",  # json: the text as stored
        None,
        ['{"k": true}', None],
        ['"s"'],
    )
    # A connection without the option still parses.
    assert both(connect(), "'[1]'::json") == ([1],)


def test_json_as_str_from_url_and_wins_over_loads(connect: Callable[..., Api], url: str) -> None:
    sep = "&" if "?" in url else "?"
    assert both(connect(lambda o: Opts(url + sep + "json_as_str=true")), "'{}'::jsonb") == ("{}",)
    assert both(connect(lambda o: Opts(url + sep + "json_as_str=0")), "'{}'::jsonb") == ({},)
    api = connect(lambda o: o.json_loads(lambda t: 1 / 0).json_as_str())
    assert both(api, "'{}'::jsonb") == ("{}",)
    with pytest.raises(UrlError):
        Opts(url + sep + "json_as_str=maybe")


def test_json_loads(connect: Callable[..., Api]) -> None:
    seen: list[str] = []

    def loads(text: str) -> Any:
        seen.append(text)
        return ("loaded", json.loads(text))

    api = connect(lambda o: o.json_loads(loads))
    assert both(api, JSON_SELECT) == (
        ("loaded", {"a": "x", "b": [1, 2.5, None]}),
        ("loaded", [1, 2]),
        None,
        [("loaded", {"k": True}), None],
        [("loaded", "s")],
    )
    assert len(seen) == 8  # four documents per format; NULLs never reach loads
    # As dicts, through every way of reading rows.
    assert api.exec("SELECT $1::jsonb AS j", ('{"a": 1}',), as_dict=True) == [{"j": ("loaded", {"a": 1})}]
    assert api.iter_rows("SELECT $1::json FROM generate_series(1, 3)", ("[]",)) == [(("loaded", []),)] * 3
    assert api.portal_rows("SELECT $1::json", ("1",)) == [(("loaded", 1),)]
    assert api.pipeline_rows([("SELECT '2'::jsonb", ())]) == [[(("loaded", 2),)]]
    # Many rows arrive in several chunks; every chunk finds the function.
    rows = api.exec("SELECT ('[' || g || ']')::jsonb FROM generate_series(1, 20000) g")
    assert rows[-1] == (("loaded", [20000]),) and len(rows) == 20000
    # Another connection is unaffected.
    assert both(connect(), "'[1]'::json") == ([1],)


def test_json_loads_that_raises_leaves_the_connection_usable(connect: Callable[..., Api]) -> None:
    def loads(text: str) -> Any:
        if text == "[13]":
            raise ValueError("unlucky")
        return json.loads(text)

    api = connect(lambda o: o.json_loads(loads))
    with pytest.raises(ValueError, match="unlucky"):
        api.exec("SELECT '[13]'::json")
    # Also when the failing value is in a later chunk of a large result.
    with pytest.raises(ValueError, match="unlucky"):
        api.exec("SELECT ('[' || g || ']')::json FROM generate_series(1, 30000) g")
    assert api.exec("SELECT '[1]'::json, 2") == [([1], 2)]
    assert api.query("SELECT 3") == [(3,)]


def test_json_options_refuse_non_callables() -> None:
    with pytest.raises(TypeError):
        Opts().json_loads("json.loads")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Opts().json_dumps(42)  # type: ignore[arg-type]


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True) + " "


def test_json_dumps(connect: Callable[..., Api]) -> None:
    api = connect(lambda o: o.json_dumps(compact))
    # json keeps the text it was given, so the dumper's output is visible.
    row = api.exec_first(
        "SELECT $1::json::text, $2::json::text, $3::json[]::text, $4::jsonb, $5::json::text, $6::json::text, $7::int[]",
        ({"b": 1, "a": [None]}, [1, "x"], [{"k": 1}, None, "[2]"], {"z": 0}, '{"raw": 1}', Json([3]), [1, 2]),
    )
    assert row == (
        '{"a":[null],"b":1} ',
        '[1,"x"] ',
        '{"{\\"k\\":1} ",NULL,[2]}',
        {"z": 0},
        '{"raw": 1}',  # a str is the document already
        "[3]",  # so is a Json wrapper
        [1, 2],  # a list for an int[] is no JSON
    )
    # The same through batches, portals and pipelines.
    api.query_drop("CREATE TEMP TABLE jd(doc json)")
    api.exec_batch("INSERT INTO jd VALUES ($1)", [({"n": i},) for i in range(3)] + [(None,), ("[0]",)])
    assert api.query("SELECT doc::text FROM jd") == [('{"n":0} ',), ('{"n":1} ',), ('{"n":2} ',), (None,), ("[0]",)]
    assert api.exec_batch("INSERT INTO jd VALUES ($1)", iter([({"it": 1},)])) is None
    assert api.query_first("SELECT count(*) FROM jd") == (6,)
    assert api.iter_rows("SELECT $1::json::text", ({"p": 1},)) == [('{"p":1} ',)]
    assert api.portal_rows("SELECT $1::json::text", ({"q": 1},)) == [('{"q":1} ',)]
    prepared = api.prepare("SELECT $1::json::text")
    assert api.exec_first(prepared, ([True],)) == ("[true] ",)
    assert api.pipeline_rows([("SELECT $1::json::text", ({"r": 1},))]) == [[('{"r":1} ',)]]
    # Without the option the built-in serialiser runs.
    assert connect().exec_first("SELECT $1::json::text", ({"b": 1, "a": 2},)) == ('{"b": 1, "a": 2}',)


def test_json_dumps_errors_are_encode_errors(connect: Callable[..., Api]) -> None:
    api = connect(lambda o: o.json_dumps(lambda v: 5))
    with pytest.raises(EncodeError, match=r"parameter \$1: the dumper returned int, not str"):
        api.exec("SELECT $1::json", ({"a": 1},))

    def fails(v: Any) -> str:
        raise RuntimeError("nope")

    api = connect(lambda o: o.json_dumps(fails))
    with pytest.raises(EncodeError, match=r"parameter \$2: the dumper raised RuntimeError: nope"):
        api.exec("SELECT $1::int, $2::jsonb", (1, [1]))
    with pytest.raises(EncodeError, match="parameter set 2"):
        api.exec_batch("SELECT $1::jsonb", [("[1]",), ([1],)])
    assert api.exec("SELECT $1::jsonb, $2::int", ('{"ok": 1}', 2)) == [({"ok": 1}, 2)]
    with pytest.raises(IncorrectApiUsageError, match="tuple or list"):
        api.exec("SELECT $1::jsonb", iter([{"a": 1}]))
    assert api.exec_first("SELECT 1") == (1,)


# ---- dates and timestamps outside Python's range

OUTSIDE_SELECT = """'infinity'::date, '-infinity'::date, '0044-03-15 BC'::date, '10000-01-01'::date,
    'infinity'::timestamp, '-infinity'::timestamptz, '0044-03-15 12:00:00.5 BC'::timestamp,
    '12345-06-07 01:02:03'::timestamp, '0001-01-01 00:30:00+01'::timestamptz,
    '10000-01-01 00:30:00+01'::timestamptz, '2024-02-29'::date,
    ARRAY['infinity'::date, '2000-01-01', NULL]"""


def test_temporal_default_policy(connect: Callable[..., Api]) -> None:
    api = connect()
    assert both(api, "'infinity'::date, '-infinity'::date, 'infinity'::timestamp, '-infinity'::timestamptz") == (
        dt.date.max,
        dt.date.min,
        dt.datetime.max,
        dt.datetime.min.replace(tzinfo=UTC),
    )
    for literal in ("'0044-03-15 BC'::date", "'10000-01-01'::timestamp", "'0001-01-01 00:30:00+01'::timestamptz"):
        with pytest.raises(DecodeError, match="outside Python's"):
            api.query(f"SELECT {literal}")
        with pytest.raises(DecodeError, match="outside Python's"):
            api.exec(f"SELECT {literal}")
    assert api.exec_first("SELECT 1") == (1,)


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu"])
def test_temporal_out_of_range_str(connect: Callable[..., Api], zone: str) -> None:
    api = connect(lambda o: o.temporal_out_of_range("str"))
    api.query_drop(f"SET TimeZone = '{zone}'")
    assert both(api, OUTSIDE_SELECT) == (
        "infinity",
        "-infinity",
        "0044-03-15 BC",
        "10000-01-01",
        "infinity",
        "-infinity",
        "0044-03-15 12:00:00.5 BC",
        "12345-06-07 01:02:03",
        "0001-12-31 23:30:00+00 BC",  # timestamptz: shown in UTC, like the datetimes
        dt.datetime(9999, 12, 31, 23, 30, tzinfo=UTC),  # inside the range once in UTC
        dt.date(2024, 2, 29),
        ["infinity", dt.date(2000, 1, 1), None],
    )
    # Without the option, the same connection settings keep the default.
    assert both(connect(), "'infinity'::date") == (dt.date.max,)


def test_temporal_option_from_url_and_bad_values(connect: Callable[..., Api], url: str) -> None:
    sep = "&" if "?" in url else "?"
    api = connect(lambda o: Opts(url + sep + "temporal_out_of_range=str"))
    assert both(api, "'infinity'::timestamp") == ("infinity",)
    with pytest.raises(UrlError):
        Opts(url + sep + "temporal_out_of_range=clamp")
    with pytest.raises(IncorrectApiUsageError):
        Opts().temporal_out_of_range("clamp")
    assert Opts().temporal_out_of_range("default")._temporal_out_of_range == "default"


@pytest.fixture(scope="module")
def utc_str_conns(url: str) -> Iterator[list[Api]]:
    apis = []
    for flavour in FLAVOURS:
        api = Api(flavour, Opts(url).temporal_out_of_range("str").setting("TimeZone", "UTC"))
        apis.append(api)
    yield apis
    for api in apis:
        api.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    year=st.integers(min_value=-4700, max_value=294275),
    month=st.integers(min_value=1, max_value=12),
    day=st.integers(min_value=1, max_value=28),
    usecs=st.integers(min_value=0, max_value=86_400_000_000 - 1),
    offset_minutes=st.integers(min_value=-15 * 60, max_value=15 * 60),
)
def test_temporal_str_matches_the_server_text(
    utc_str_conns: list[Api], year: int, month: int, day: int, usecs: int, offset_minutes: int
) -> None:
    """Any date or timestamp: text and binary agree; a value Python cannot hold is the
    server's own text of it (TimeZone UTC), one it can hold is the Python value."""
    era = " BC" if year <= 0 else ""
    shown_year = 1 - year if year <= 0 else year
    secs, micro = divmod(usecs, 1_000_000)
    clock = f"{secs // 3600:02}:{secs // 60 % 60:02}:{secs % 60:02}.{micro:06}"
    sign = "-" if offset_minutes < 0 else "+"
    zone = f"{sign}{abs(offset_minutes) // 60:02}:{abs(offset_minutes) % 60:02}"
    date_lit = f"'{shown_year:04}-{month:02}-{day:02}{era}'::date"
    ts_lit = f"'{shown_year:04}-{month:02}-{day:02} {clock}{era}'::timestamp"
    tstz_lit = f"'{shown_year:04}-{month:02}-{day:02} {clock}{zone}{era}'::timestamptz"
    select = f"{date_lit}, {ts_lit}, {tstz_lit}"
    for api in utc_str_conns:
        row = both(api, select)
        texts = api.query_first(f"SELECT ({date_lit})::text, ({ts_lit})::text, ({tstz_lit})::text")
        for value, text in zip(row, texts):
            if isinstance(value, str):
                assert value == text
            else:
                assert isinstance(value, dt.date)
                assert 1 <= value.year <= 9999
