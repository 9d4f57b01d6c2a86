"""Callbacks that call back into the connection running them: a notice handler, a logging
handler, a registered type's loads, a JSON loads. None may hang the interpreter: the sync
connection gives its turn back before it runs notice and logging handlers (so they may
query), and refuses with a clear error a call from a loader that runs while a result is
being read (the result buffer is in use)."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

import pytest

from pyro_postgres import Opts
from pyro_postgres.error import IncorrectApiUsageError
from pyro_postgres.sync import Conn

NOTICE_SQL = "DO $$ BEGIN RAISE NOTICE 'hello %', 41 + 1; RAISE WARNING 'careful'; END $$"


def _within(seconds: float, fn: Callable[[], object]) -> None:
    """Runs fn in a thread and fails (instead of hanging the suite) if it has not finished."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as e:  # reported below
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the call hung"
    if errors:
        raise errors[0]


def test_notice_handler_may_use_the_connection(url: str) -> None:
    conn = Conn(url)
    seen: list[object] = []
    conn.set_notice_handler(lambda fields: seen.append((fields["message"], conn.query_first("SELECT 42"))))
    conn.query_drop(
        "CREATE FUNCTION pg_temp.noisy() RETURNS int LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE NOTICE 'from exec'; RETURN 7; END $$"
    )
    stmt = conn.prepare("SELECT pg_temp.noisy()")

    def calls() -> None:
        assert conn.query_drop(NOTICE_SQL) == 0
        conn.exec_drop(NOTICE_SQL)
        assert conn.exec(stmt) == [(7,)]  # the prepared-statement fast path
        assert conn.exec_first(stmt) == (7,)
        assert conn.query_first("SELECT 1") == (1,)

    _within(60, calls)
    assert seen == [("hello 42", (42,)), ("careful", (42,))] * 2 + [("from exec", (42,))] * 2
    conn.close()


def test_logging_handler_may_use_the_connection(url: str) -> None:
    conn = Conn(url)
    answers: list[object] = []

    class ToDatabase(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("server "):
                answers.append(conn.query_first("SELECT 'logged'"))

    handler = ToDatabase()
    log = logging.getLogger("pyro_postgres")
    log.addHandler(handler)
    try:
        with_level = log.level
        log.setLevel(logging.INFO)
        try:
            _within(60, lambda: conn.query_drop(NOTICE_SQL))
        finally:
            log.setLevel(with_level)
    finally:
        log.removeHandler(handler)
    assert answers == [("logged",), ("logged",)]
    conn.close()


def test_a_raising_notice_handler_leaves_the_connection_usable(url: str) -> None:
    conn = Conn(url)

    def refuse(fields: dict[str, str]) -> None:
        raise KeyError(fields["message"])

    conn.set_notice_handler(refuse)
    with pytest.raises(KeyError, match="hello 42"):
        conn.query_drop(NOTICE_SQL)
    conn.set_notice_handler(None)
    # The turn was given back exactly once: another thread can use the connection, and so can this one.
    got: list[object] = []
    _within(30, lambda: got.append(conn.query_first("SELECT 5")))
    assert got == [(5,)] and conn.query_first("SELECT 6") == (6,)
    conn.close()


def test_a_slow_notice_handler_does_not_hold_other_threads(url: str) -> None:
    conn = Conn(url)
    entered = threading.Event()
    release = threading.Event()

    def slow(fields: dict[str, str]) -> None:
        entered.set()
        release.wait(30)

    conn.set_notice_handler(slow)
    outer = threading.Thread(target=lambda: conn.query_drop("DO $$ BEGIN RAISE NOTICE 'x'; END $$"), daemon=True)
    outer.start()
    assert entered.wait(30)
    got: list[object] = []
    _within(30, lambda: got.append(conn.query_first("SELECT 8")))  # while the handler runs
    release.set()
    outer.join(30)
    assert not outer.is_alive() and got == [(8,)]
    conn.close()



def test_a_loader_calling_its_connection_is_refused(url: str) -> None:
    conn = Conn(url)
    conn.query_drop("CREATE TYPE pg_temp.mood AS ENUM ('sad', 'ok', 'happy')")
    refusals: list[str] = []

    def loads(text: str) -> str:
        try:
            conn.query_first("SELECT 1")
        except IncorrectApiUsageError as e:
            refusals.append(str(e))
        return text.upper()

    conn.register_type("pg_temp.mood", loads=loads)
    stmt = conn.prepare("SELECT $1::pg_temp.mood")

    def calls() -> None:
        assert conn.query_first("SELECT 'ok'::pg_temp.mood") == ("OK",)
        assert conn.exec_first(stmt, ("sad",)) == ("SAD",)
        assert conn.exec("SELECT 'happy'::pg_temp.mood") == [("HAPPY",)]

    _within(60, calls)
    assert len(refusals) == 3 and "middle of a call" in refusals[0]
    assert conn.query_first("SELECT 2") == (2,)
    conn.close()


def test_a_json_loads_calling_its_connection_is_refused(url: str) -> None:
    holder: list[Conn] = []

    def loads(text: str) -> object:
        holder[0].exec_drop("SELECT 1")
        return json.loads(text)

    conn = Conn(Opts(url).json_loads(loads))
    holder.append(conn)
    stmt = conn.prepare("SELECT $1::jsonb")

    def call() -> None:
        with pytest.raises(IncorrectApiUsageError, match="middle of a call"):
            conn.exec_first(stmt, ('{"a": 1}',))

    _within(60, call)
    assert conn.query_first("SELECT 3") == (3,)
    conn.close()


def test_other_threads_wait_while_a_loader_runs(url: str) -> None:
    conn = Conn(url)
    conn.query_drop("CREATE TYPE pg_temp.mood AS ENUM ('sad', 'ok', 'happy')")
    inside = threading.Event()

    def slow_loads(text: str) -> str:
        inside.set()
        time.sleep(0.3)
        return text

    conn.register_type("pg_temp.mood", loads=slow_loads)
    reader = threading.Thread(target=lambda: conn.query_first("SELECT 'ok'::pg_temp.mood"), daemon=True)
    reader.start()
    assert inside.wait(30)
    got: list[object] = []
    _within(30, lambda: got.append(conn.query_first("SELECT 9")))  # waits for the reader, then runs
    reader.join(30)
    assert got == [(9,)] and not reader.is_alive()
    conn.close()


def test_notice_handler_may_query_a_connection_that_watches_for_reentry(url: str) -> None:
    conn = Conn(url)
    conn.query_drop("CREATE TYPE pg_temp.mood AS ENUM ('sad', 'ok', 'happy')")
    conn.register_type("pg_temp.mood", loads=str.upper)  # the turn now records its holder
    seen: list[object] = []
    conn.set_notice_handler(lambda fields: seen.append(conn.query_first("SELECT 'ok'::pg_temp.mood")))

    def calls() -> None:
        conn.query_drop("DO $$ BEGIN RAISE NOTICE 'x'; END $$")
        # No holder left behind: another thread, then this one, use the connection.
        got: list[object] = []
        other = threading.Thread(target=lambda: got.append(conn.query_first("SELECT 1")))
        other.start()
        other.join(30)
        assert got == [(1,)]
        assert conn.query_first("SELECT 'sad'::pg_temp.mood") == ("SAD",)

    _within(60, calls)
    assert seen == [("OK",)]
    conn.close()
