"""Automatic introspection: the first exec of a statement using composite, enum, domain or
hstore types the connection does not know yet looks them up (one catalog query) and
already decodes them; each type is looked up at most once per connection; pipelines do
not introspect; a user registration wins. Both APIs (tests/flavours.py)."""

from __future__ import annotations

import collections
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from pyro_postgres import Opts, _typereg
from pyro_postgres.error import IncorrectApiUsageError, InFailedSqlTransaction

sys.path.insert(0, str(Path(__file__).parent))
from flavours import FLAVOURS, Api  # noqa: E402

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS hstore;
DROP SCHEMA IF EXISTS intro CASCADE;
CREATE SCHEMA intro;
CREATE TYPE intro.mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN intro.posint AS int CHECK (VALUE > 0);
CREATE TYPE intro.pt AS (x int, label text, m intro.mood, d intro.posint);
CREATE TYPE intro.outer_t AS (inner_pt intro.pt, kv hstore, pts intro.pt[], n numeric);
CREATE TYPE intro.frange AS RANGE (subtype = float8);
CREATE TABLE intro.pts (p intro.pt);
"""

Point = collections.namedtuple("Point", "x label m d")


@pytest.fixture(scope="module")
def schema(url: str) -> str:
    setup = Api("sync", url)
    setup.query_drop(SCHEMA)
    setup.close()
    return url


@pytest.fixture(params=FLAVOURS)
def api(request: pytest.FixtureRequest, schema: str) -> Iterator[Api]:
    made = Api(request.param, Opts(schema))
    yield made
    made.close()


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The OIDs of every catalog lookup (one entry per introspection round trip)."""
    seen: list[list[int]] = []
    original = _typereg.automatic_specs

    def counting(rows: list[tuple[Any, ...]], skip: Any) -> list[bytes]:
        seen.append(sorted(r[0] for r in rows))
        return original(rows, skip)

    monkeypatch.setattr(_typereg, "automatic_specs", counting)
    return seen


def oid_of(api: Api, name: str) -> int:
    return api.query_first(f"SELECT '{name}'::regtype::oid")[0]  # type: ignore[no-any-return]


PT = "ROW(1, 'a b', 'ok', 4)::intro.pt"
PT_VALUE = (1, "a b", "ok", 4)


def test_first_exec_already_decodes_a_composite(api: Api, lookups: list[list[int]]) -> None:
    # Before the connection has seen the type, query() returns the composite's text.
    assert api.query_first(f"SELECT {PT}") == ('(1,"a b",ok,4)',)
    assert api.exec_first(f"SELECT {PT}") == (PT_VALUE,)
    assert len(lookups) == 1
    # Once known, query() (text) decodes it the same way.
    assert api.query_first(f"SELECT {PT}") == (PT_VALUE,)
    assert api.exec(f"SELECT {PT}, NULL::intro.pt") == [(PT_VALUE, None)]
    assert len(lookups) == 1


def test_prepared_statement_first_exec(api: Api, lookups: list[list[int]]) -> None:
    stmt = api.prepare(f"SELECT {PT}, ARRAY[{PT}, NULL]")
    assert api.exec(stmt) == [(PT_VALUE, [PT_VALUE, None])]
    assert api.exec_drop(stmt) == 1
    assert len(lookups) == 1


def test_composite_parameters(api: Api, lookups: list[list[int]]) -> None:
    assert api.exec_first("SELECT $1::intro.pt", ((2, "x", "sad", None),)) == ((2, "x", "sad", None),)
    assert api.exec_first("SELECT $1::intro.pt[]", ([[3, "y", None, 1], None],)) == ([(3, "y", None, 1), None],)


def test_parameter_iterator_and_a_lookup(api: Api) -> None:
    # The first attempt used the iterator up before the lookup: a clear error, not a wrong
    # parameter count; the connection stays usable and a tuple works.
    with pytest.raises(IncorrectApiUsageError, match="tuple or list"):
        api.exec_first("SELECT $1::intro.pt", iter([(2, "x", "sad", None)]))
    assert api.exec_first("SELECT 1") == (1,)
    assert api.exec_first("SELECT $1::intro.pt", iter([(2, "x", "sad", None)])) == ((2, "x", "sad", None),)


def test_exec_batch_with_composite_parameters(api: Api, lookups: list[list[int]]) -> None:
    api.query_drop("BEGIN")
    try:
        api.exec_batch("INSERT INTO intro.pts VALUES ($1)", [((5, "b", "happy", 2),), ([6, "c", None, None],), (None,)])
        assert len(lookups) == 1
        assert api.exec("SELECT p FROM intro.pts ORDER BY (p).x NULLS LAST") == [
            ((5, "b", "happy", 2),),
            ((6, "c", None, None),),
            (None,),
        ]
    finally:
        api.query_drop("ROLLBACK")


def test_nested_composite_hstore_and_arrays_in_one_lookup(api: Api, lookups: list[list[int]]) -> None:
    outer = (PT_VALUE, {"k": "v", "n": None}, [PT_VALUE, None], Decimal("1.5"))
    literal = f"ROW({PT}, 'k=>v, n=>NULL', ARRAY[{PT}, NULL], 1.5)::intro.outer_t"
    assert api.exec_first(f"SELECT {literal}, ARRAY[{literal}]") == (outer, [outer])
    # One round trip found the outer type and everything it is made of.
    assert len(lookups) == 1
    wanted = {oid_of(api, n) for n in ("intro.outer_t", "intro.pt", "intro.mood", "intro.posint", "hstore")}
    assert wanted <= set(lookups[0])
    assert api.query_first(f"SELECT {literal}") == (outer,)
    assert api.exec_first("SELECT $1::intro.outer_t", (outer,)) == (outer,)
    assert len(lookups) == 1


def test_enum_and_domain_arrays_without_registering(api: Api) -> None:
    assert api.exec_first("SELECT ARRAY['ok'::intro.mood, NULL, 'sad'], ARRAY[[5]]::intro.posint[]") == (
        ["ok", None, "sad"],
        [[5]],
    )
    assert api.query_first("SELECT ARRAY['happy'::intro.mood], ARRAY[7]::intro.posint[]") == (["happy"], [7])
    assert api.exec_first("SELECT $1::intro.posint[], $2::intro.mood[]", ([1, None], ["ok"])) == ([1, None], ["ok"])


def test_hstore_dict(api: Api) -> None:
    assert api.exec_first("SELECT 'a=>1, b=>NULL'::hstore, $1::hstore", ({"k": "v"},)) == (
        {"a": "1", "b": None},
        {"k": "v"},
    )
    assert api.query_first("SELECT ARRAY['x=>y'::hstore]") == ([{"x": "y"}],)


def test_unknown_type_is_looked_up_once(api: Api, lookups: list[list[int]]) -> None:
    # A range type of the user's: introspection registers nothing for it, so it stays text.
    sql = "SELECT '[1.5,2)'::intro.frange"
    assert api.exec_first(sql) == ("[1.5,2)",)
    assert len(lookups) == 1
    assert api.exec_first(sql) == ("[1.5,2)",)
    assert api.exec_first("SELECT '[1,2)'::intro.frange, 1") == ("[1,2)", 1)  # another statement
    stmt = api.prepare(sql)
    assert api.exec_first(stmt) == ("[1.5,2)",)
    assert len(lookups) == 1


def test_aborted_transaction_reports_the_real_error(api: Api, lookups: list[list[int]]) -> None:
    stmt = api.prepare(f"SELECT {PT}")
    api.query_drop("BEGIN")
    with pytest.raises(Exception):
        api.query_drop("SELECT 1/0")
    with pytest.raises(InFailedSqlTransaction):
        api.exec(stmt)
    api.query_drop("ROLLBACK")
    # The lookup failed, and the type is not looked up again (no loop): it stays text.
    assert api.exec(stmt) == [('(1,"a b",ok,4)',)]
    assert lookups == [[]]
    assert api.exec("SELECT 1") == [(1,)]


def test_user_registration_wins(api: Api, lookups: list[list[int]]) -> None:
    api.register_type("intro.pt", factory=Point)
    row = api.exec_first(f"SELECT {PT}, ROW({PT}, NULL, NULL, 2)::intro.outer_t")
    assert row == (Point(*PT_VALUE), (Point(*PT_VALUE), None, None, Decimal(2)))
    assert type(row[0]) is Point and type(row[1][0]) is Point
    assert len(lookups) == 1
    assert type(api.exec_first(f"SELECT {PT}")[0]) is Point


def test_exec_iter_and_named_portal(api: Api, lookups: list[list[int]]) -> None:
    assert api.iter_rows(f"SELECT {PT} FROM generate_series(1, 3)", ()) == [(PT_VALUE,)] * 3
    assert len(lookups) == 1
    # hstore is not part of intro.pt: a lookup of its own.
    assert api.portal_rows("SELECT ARRAY['a=>b'::hstore]", ()) == [([{"a": "b"}],)]
    assert len(lookups) == 2


def test_pipelines_do_not_introspect(api: Api, lookups: list[list[int]]) -> None:
    assert api.pipeline_rows([(f"SELECT {PT}", ())]) == [[('(1,"a b",ok,4)',)]]
    assert lookups == []
    assert api.exec_first(f"SELECT {PT}") == (PT_VALUE,)
    assert api.pipeline_rows([(f"SELECT {PT}", ())]) == [[(PT_VALUE,)]]


def test_each_connection_introspects_for_itself(schema: str, lookups: list[list[int]]) -> None:
    a, b = Api("sync", schema), Api("async", schema)
    try:
        assert a.exec_first(f"SELECT {PT}") == (PT_VALUE,)
        assert b.query_first(f"SELECT {PT}") == ('(1,"a b",ok,4)',)
        assert b.exec_first(f"SELECT {PT}") == (PT_VALUE,)
        assert len(lookups) == 2
    finally:
        a.close()
        b.close()
