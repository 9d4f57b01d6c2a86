"""The same test bodies against the sync and the async connection, so the two APIs cannot
drift: each body drives a connection through `Api`, which awaits what the async API
returns and passes the sync API's results through."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pyro_postgres.error import DivisionByZero, IncorrectApiUsageError, UniqueViolation

# pytest runs in importlib mode: the shared test helper is found next to this file.
sys.path.insert(0, str(Path(__file__).parent))
from flavours import FLAVOURS, Api  # noqa: E402


@pytest.fixture(params=FLAVOURS)
def api(request: pytest.FixtureRequest, url: str) -> Any:
    a = Api(request.param, url)
    yield a
    a.close()


def test_queries(api: Api) -> None:
    assert api.query("SELECT 1 AS a UNION ALL SELECT 2 ORDER BY 1") == [(1,), (2,)]
    assert api.query("SELECT 1 AS a", as_dict=True) == [{"a": 1}]
    assert api.query_first("SELECT 1 WHERE false") is None
    api.query_drop("CREATE TEMP TABLE p(id int PRIMARY KEY, v text)")
    assert api.query_drop("INSERT INTO p SELECT g, 'v' FROM generate_series(1, 4) g") == 4
    assert api.exec("SELECT v FROM p WHERE id = $1", (2,)) == [("v",)]
    assert api.exec_first("SELECT id FROM p ORDER BY id DESC") == (4,)
    assert api.exec_drop("UPDATE p SET v = $1 WHERE id < $2", ("w", 3)) == 2


def test_prepare_and_batch(api: Api) -> None:
    api.query_drop("CREATE TEMP TABLE b(x int, y text)")
    stmt = api.prepare("INSERT INTO b VALUES ($1, $2)")
    api.exec_batch(stmt, [(i, None if i % 2 else str(i)) for i in range(1500)])
    assert api.query_first("SELECT count(*), count(y) FROM b") == (1500, 750)
    s1, s2 = api.prepare_batch(["SELECT $1::int + 1", "SELECT $1::text"])
    assert api.exec_first(s1, (1,)) == (2,)
    assert api.exec_first(s2, ("t",)) == ("t",)


SAMPLES = [
    ("numeric", Decimal("-12.500")),
    ("timestamptz", dt.datetime(2001, 2, 3, 4, 5, 6, 789, tzinfo=dt.timezone.utc)),
    ("date", dt.date(1999, 12, 31)),
    ("interval", dt.timedelta(days=3, seconds=5)),
    ("uuid", uuid.UUID("12345678-1234-5678-1234-567812345678")),
    ("jsonb", {"k": [1, None, "x"]}),
    ("bytea", b"\x00\x01"),
    ("float8", 1.25),
    ("int8", -(2**60)),
    ("text", "héllo"),
    ("bool", False),
]


@pytest.mark.parametrize("typ, value", SAMPLES, ids=[s[0] for s in SAMPLES])
def test_types(api: Api, typ: str, value: Any) -> None:
    assert api.exec_first(f"SELECT $1::{typ}", (value,)) == (value,)


def test_errors_and_recovery(api: Api) -> None:
    with pytest.raises(DivisionByZero):
        api.exec("SELECT 1 / 0")
    with pytest.raises(IncorrectApiUsageError):
        api.exec("SELECT $1::int", ())
    api.query_drop("CREATE TEMP TABLE u(id int PRIMARY KEY)")
    api.exec_drop("INSERT INTO u VALUES ($1)", (1,))
    with pytest.raises(UniqueViolation) as info:
        api.exec_drop("INSERT INTO u VALUES ($1)", (1,))
    assert info.value.constraint_name == "u_pkey"
    assert api.query_first("SELECT 'ok'") == ("ok",)


def test_transactions(api: Api) -> None:
    api.query_drop("CREATE TEMP TABLE t(x int)")
    api.tx(["INSERT INTO t VALUES (1)"])
    assert api.query_first("SELECT count(*) FROM t") == (1,)
    with pytest.raises(ValueError):
        api.tx(["INSERT INTO t VALUES (2)"], ValueError("inside"))
    assert api.query_first("SELECT count(*) FROM t") == (1,)
