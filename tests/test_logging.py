"""Logging: the pyro_postgres (Python layer) and zero_postgres (Rust layer) loggers, and
server notices."""

from __future__ import annotations

import logging

import pytest

from pyro_postgres.sync import Conn


def test_debug_records_for_connect_and_statements(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pyro_postgres"), caplog.at_level(logging.DEBUG, logger="zero_postgres"):
        conn = Conn(url)
        conn.exec("SELECT $1::text", ("secret-value",))
        conn.query("SELECT 42")
        conn.close()
    by_logger = {r.name for r in caplog.records}
    assert {"pyro_postgres", "zero_postgres"} <= by_logger
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("connected to 127.0.0.1") for m in messages)
    assert any("logged in: server 18" in m for m in messages)
    assert any(m == "exec: SELECT $1::text" for m in messages)
    assert any(m == "query: SELECT 42" for m in messages)
    text = "\n".join(messages)
    assert "secret-value" not in text  # parameters only when asked for
    assert ":postgres@" not in text and "password" not in text.lower()


def test_parameters_logged_when_asked(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="pyro_postgres"):
        conn = Conn(url + "&log_parameters=true")
        conn.exec("SELECT $1::int", (7,))
        conn.close()
    assert any(r.getMessage() == "exec: SELECT $1::int; parameters: (7,)" for r in caplog.records)


def test_level_changes_after_warm_up_are_seen_by_prepared_execs(url: str, caplog: pytest.LogCaptureFixture) -> None:
    # The hot path of exec/exec_first/exec_drop reads logging's cached level answers
    # instead of calling isEnabledFor: a level set later must still be honoured.
    conn = Conn(url)
    stmt = conn.prepare("SELECT $1::int")
    for _ in range(20):
        assert conn.exec(stmt, (1,)) == [(1,)]
    with caplog.at_level(logging.DEBUG, logger="pyro_postgres"):
        conn.exec(stmt, (2,))
        conn.exec_first(stmt, (3,))
        conn.exec_drop(stmt, (4,))
    assert [r.getMessage() for r in caplog.records if r.name == "pyro_postgres"] == ["exec: SELECT $1::int"] * 3
    caplog.clear()
    conn.exec(stmt, (5,))
    assert [r for r in caplog.records if r.name == "pyro_postgres"] == []
    with caplog.at_level(logging.DEBUG, logger="pyro_postgres"):
        logging.disable(logging.CRITICAL)  # (at_level itself lifts an earlier disable)
        try:
            conn.exec(stmt, (6,))
        finally:
            logging.disable(logging.NOTSET)
    assert [r for r in caplog.records if r.name == "pyro_postgres"] == []
    conn.close()


def test_upgrade_outcome_is_logged(pg_server, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="zero_postgres"):
        Conn(pg_server.url("pyro_nopriv", upgrade_to_unix_socket=True)).close()
    assert any("staying on TCP" in r.getMessage() for r in caplog.records)


def test_nothing_logged_when_disabled(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        conn = Conn(url)
        conn.exec("SELECT 1")
        conn.close()
    assert [r for r in caplog.records if r.name in ("pyro_postgres", "zero_postgres")] == []


NOTICE_SQL = "DO $$ BEGIN RAISE NOTICE 'hello %', 41 + 1; RAISE WARNING 'careful'; END $$"


def test_server_notices_go_to_the_logger(url: str, caplog: pytest.LogCaptureFixture) -> None:
    conn = Conn(url)
    with caplog.at_level(logging.INFO, logger="pyro_postgres"):
        conn.query_drop(NOTICE_SQL)
        conn.exec_drop(NOTICE_SQL)
    records = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "pyro_postgres"]
    assert records.count((logging.INFO, "server NOTICE: hello 42")) == 2
    assert records.count((logging.WARNING, "server WARNING: careful")) == 2
    conn.close()


def test_notice_handler_replaces_logging(url: str, caplog: pytest.LogCaptureFixture) -> None:
    conn = Conn(url)
    seen: list[dict[str, str]] = []
    conn.set_notice_handler(seen.append)
    with caplog.at_level(logging.INFO, logger="pyro_postgres"):
        conn.query_drop(NOTICE_SQL)
    assert [n["message"] for n in seen] == ["hello 42", "careful"]
    assert seen[0]["severity"] == "NOTICE" and seen[0]["sqlstate"] == "00000"
    assert [r for r in caplog.records if r.name == "pyro_postgres"] == []
    conn.set_notice_handler(None)
    with caplog.at_level(logging.INFO, logger="pyro_postgres"):
        conn.query_drop(NOTICE_SQL)
    assert any("hello 42" in r.getMessage() for r in caplog.records)
    with pytest.raises(TypeError):
        conn.set_notice_handler(42)  # type: ignore[arg-type]
    conn.close()
