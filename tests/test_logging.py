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
