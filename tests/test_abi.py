"""The C ABI: the checked-in header is usable from C against the built library."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import pyro_postgres
from pyro_postgres import _ffi

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler (cc) on this machine")
def test_c_program_against_header(tmp_path: Path, pg_server) -> None:
    lib_path = Path(_ffi.lib().path)
    exe = tmp_path / "abi_smoke"
    subprocess.run(
        ["cc", "-std=c99", "-Wall", "-Werror", "-I", str(ROOT / "include"),
         str(ROOT / "tests" / "c" / "abi_smoke.c"), "-o", str(exe),
         "-L", str(lib_path.parent), "-lpyro_postgres", f"-Wl,-rpath,{lib_path.parent}"],
        check=True,
    )
    args = [str(exe), "host", pg_server.host, "port", str(pg_server.port), "user", "postgres",
            "password", "postgres", "database", "pyro_test", "upgrade_to_unix_socket", "0"]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "rows 3" in r.stdout and r.stdout.strip().endswith("ok")


def test_library_loads_from_env_path(tmp_path: Path) -> None:
    # A fresh interpreter loading the library from an explicit path (manual loading).
    lib_path = _ffi.lib().path
    code = "import pyro_postgres, pyro_postgres._ffi as f; f.init(); print(f.lib().path)"
    env = dict(os.environ, PYRO_POSTGRES_LIB=lib_path)
    r = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == lib_path


def test_missing_library_is_a_clear_error(tmp_path: Path) -> None:
    code = "import pyro_postgres.sync as s\ntry:\n    s.Conn('pg://x')\nexcept Exception as e:\n    print(type(e).__name__, e)"
    env = dict(os.environ, PYRO_POSTGRES_LIB=str(tmp_path / "nope.so"))
    r = subprocess.run([os.sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert "InterfaceError" in r.stdout and "not found" in r.stdout


def test_import_does_not_need_the_library() -> None:
    assert pyro_postgres.Opts is not None


def test_status_functions_return_the_c_int_either_way() -> None:
    # The hot calls go through a ctypes function class without a result type (CPython
    # then returns the C int as is); other implementations declare c_int32 instead.
    cdll = _ffi.lib().cdll
    for make in (_ffi._StatusFunction, _ffi._declared_status_function):
        is_open = make(("pyro_conn_is_open", cdll))
        status = make(("pyro_conn_release_statement", cdll))
        assert is_open(0) == -1 and type(is_open(0)) is int
        assert status(0, 8) == _ffi.BAD_HANDLE
