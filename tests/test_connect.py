"""Connecting: URLs and Opts, authentication methods, sockets, protocol versions, closing."""

from __future__ import annotations

import gc
import os
import time

import pytest

from pyro_postgres import Opts
from pyro_postgres.error import (
    AuthenticationError,
    ConnectionClosedError,
    Error,
    IncorrectApiUsageError,
    InvalidPassword,
    NotSupportedError,
    OperationalError,
    UrlError,
)
from pyro_postgres.sync import Conn


def test_opts_parse_url_percent_decoded() -> None:
    o = Opts("postgresql://us%40er:p%3Aw%2Fd@db.example:6543/my%20db?application_name=app&sslmode=disable")
    assert o._user == "us@er"
    assert o._password == "p:w/d"
    assert o._host == "db.example"
    assert o._port == 6543
    assert o._db == "my db"
    assert o._application_name == "app"
    assert o._ssl_mode == "disable"


@pytest.mark.parametrize("scheme", ["pg", "postgres", "postgresql"])
def test_opts_schemes(scheme: str) -> None:
    assert Opts(f"{scheme}://u@h/d")._host == "h"


def test_opts_defaults_and_ipv6() -> None:
    o = Opts("pg://[::1]:5433")
    assert o._host == "::1" and o._port == 5433 and o._db is None and o._user == ""
    o = Opts("pg://")
    assert o._host == "localhost" and o._port == 5432


def test_opts_bad_urls() -> None:
    with pytest.raises(UrlError, match="scheme"):
        Opts("mysql://u@h/d")
    with pytest.raises(UrlError):
        Opts("pg://u@h:notaport/d")
    with pytest.raises(UrlError):
        Opts("pg://u@h/d?upgrade_to_unix_socket=maybe")
    with pytest.raises(IncorrectApiUsageError):
        Opts("pg://u@h/d?sslmode=sometimes")
    # UrlError is also a ValueError, as users of URL parsers expect.
    with pytest.raises(ValueError):
        Opts("http://x")


def test_opts_builder_chain_and_repr_hides_password() -> None:
    o = Opts().host("h").port(1234).user("u").password("hunter2").db("d").application_name("a")
    o = o.ssl_mode("require").upgrade_to_unix_socket(False).socket(None)
    text = repr(o)
    assert "hunter2" not in text
    assert "***" in text and "'h'" in text and "1234" in text
    assert "hunter2" not in repr(Opts("pg://u:hunter2@h/d"))
    with pytest.raises(OverflowError):
        Opts().port(70000)
    # The existing release's pool options are accepted (there is no pool yet).
    Opts().pool_max_idle_conn(3).pool_max_concurrency(None)


def test_opts_unknown_keys_become_settings() -> None:
    o = Opts("pg://u@h/d?statement_timeout=1234&socket=/tmp/x/.s.PGSQL.1&upgrade_to_unix_socket=off")
    assert o._settings == {"statement_timeout": "1234"}
    assert o._socket == "/tmp/x/.s.PGSQL.1"
    assert o._upgrade_to_unix_socket is False


def test_conn_rejects_other_arguments() -> None:
    with pytest.raises(IncorrectApiUsageError):
        Conn(42)  # type: ignore[arg-type]


def test_connect_and_basic_info(url: str) -> None:
    with Conn(url) as conn:
        assert conn.query_first("SELECT 1") == (1,)
        pid = conn.id()
        assert pid == conn.query_first("SELECT pg_backend_pid()")[0]
        assert conn.server_version().split(".")[0] == "18"
        conn.ping()
        assert not conn.is_closed()
    assert conn.is_closed()


def test_url_setting_is_applied(url: str) -> None:
    with Conn(url + "&statement_timeout=1234") as conn:
        assert conn.query_first("SHOW statement_timeout") == ("1234ms",)


def test_rejected_url_setting_names_the_key(url: str) -> None:
    with pytest.raises(Error) as info:
        Conn(url + "&no_such_setting=1")
    assert "no_such_setting" in str(info.value)
    assert "URL" in str(info.value)


@pytest.mark.parametrize(
    "role",
    ["pyro_trust", "pyro_plain", "pyro_md5", "pyro_scram", "postgres"],
)
def test_auth_methods(role_url, role: str) -> None:
    with Conn(role_url(role)) as conn:
        assert conn.query_first("SELECT current_user") == (role,)


@pytest.mark.parametrize("role", ["pyro_plain", "pyro_md5", "pyro_scram"])
def test_wrong_password_is_a_clear_error(role_url, pg_server, role: str) -> None:
    bad = pg_server.url(role, password="wrong", upgrade_to_unix_socket=False)
    with pytest.raises(InvalidPassword) as info:
        Conn(bad)
    assert info.value.sqlstate == "28P01"
    assert isinstance(info.value, AuthenticationError)


def test_missing_password_is_a_clear_error(pg_server) -> None:
    url = pg_server.url("pyro_scram", password=None, upgrade_to_unix_socket=False)
    with pytest.raises(AuthenticationError, match="password"):
        Conn(url)


def test_unix_socket_param(pg_server) -> None:
    path = pg_server.socket_path if hasattr(pg_server, "socket_path") else None
    if not path:
        pytest.skip("the test server has no unix socket")
    url = f"pg://postgres:postgres@localhost/pyro_test?socket={path}"
    with Conn(url) as conn:
        # No client address: the session runs over the unix socket.
        assert conn.query_first("SELECT inet_client_addr()") == (None,)
    with Conn(Opts().socket(path).user("postgres").password("postgres").db("pyro_test")) as conn:
        assert conn.query_first("SELECT inet_client_addr()") == (None,)


def test_upgrade_to_unix_socket(pg_server) -> None:
    url = pg_server.url("postgres", upgrade_to_unix_socket=True)
    with Conn(url) as conn:
        assert conn.query_first("SELECT inet_client_addr()") == (None,)
        assert conn._session_info()["unix_socket"] is True


def test_upgrade_falls_back_to_tcp_for_ordinary_roles(pg_server) -> None:
    # pyro_nopriv may not read unix_socket_directories: the probe fails and the TCP
    # session must stay in step — the very next query returns its own result.
    url = pg_server.url("pyro_nopriv", upgrade_to_unix_socket=True)
    with Conn(url) as conn:
        assert conn.query_first("SELECT 41 + 1") == (42,)
        assert conn.query_first("SELECT inet_client_addr() IS NOT NULL") == (True,)
        assert conn._session_info()["unix_socket"] is False


def test_upgrade_disabled_stays_on_tcp(url: str) -> None:
    with Conn(url) as conn:
        assert conn.query_first("SELECT inet_client_addr() IS NOT NULL") == (True,)


@pytest.mark.parametrize("mode", ["require", "verify-ca", "verify-full"])
def test_tls_required_fails_clearly_without_connecting(url: str, mode: str) -> None:
    with pytest.raises(NotSupportedError, match="TLS"):
        Conn(url + f"&sslmode={mode}")


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_tls_optional_modes_connect(url: str, mode: str) -> None:
    with Conn(url + f"&sslmode={mode}") as conn:
        assert conn.query_first("SELECT 1") == (1,)


def test_connection_refused_is_operational_error() -> None:
    with pytest.raises(OperationalError):
        Conn("pg://u:p@127.0.0.1:1/d?upgrade_to_unix_socket=false&connect_timeout=2")


def test_use_after_close(url: str) -> None:
    conn = Conn(url)
    conn.close()
    conn.close()  # idempotent
    with pytest.raises(ConnectionClosedError):
        conn.query("SELECT 1")
    with pytest.raises(ConnectionClosedError):
        conn.exec("SELECT $1::int", (1,))
    with pytest.raises(ConnectionClosedError):
        conn.ping()


def _backend_alive(conn: Conn, pid: int) -> bool:
    return conn.query_first(f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pid}")[0] == 1


def test_finalizer_terminates_the_session(url: str) -> None:
    watcher = Conn(url)
    conn = Conn(url)
    pid = conn.id()
    assert _backend_alive(watcher, pid)
    del conn
    gc.collect()
    deadline = time.monotonic() + 5
    while _backend_alive(watcher, pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _backend_alive(watcher, pid)
    watcher.close()


def test_server_terminating_the_session_is_reported(url: str) -> None:
    victim = Conn(url)
    killer = Conn(url)
    killer.query_drop(f"SELECT pg_terminate_backend({victim.id()})")
    with pytest.raises(OperationalError):
        victim.query("SELECT 1")
    assert victim.is_closed()
    with pytest.raises(ConnectionClosedError):
        victim.query("SELECT 1")
    killer.close()


@pytest.mark.pg15
def test_postgres_15_negotiates_protocol_3_0(pg15_url: str) -> None:
    with Conn(pg15_url) as conn:
        assert conn.server_version().startswith("15")
        assert conn._session_info()["protocol_minor"] == 0
        assert conn.exec("SELECT $1::int + 1", (41,)) == [(42,)]
        assert conn.query("SELECT 'x'::text") == [("x",)]


def test_postgres_18_speaks_protocol_3_2(url: str) -> None:
    with Conn(url) as conn:
        assert conn._session_info()["protocol_minor"] == 2
