"""One library for every Python version: the installed package's library, loaded by the
other CPython versions found on this machine (pyenv's), runs a smoke test of both APIs."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyro_postgres import _ffi

HERE = Path(__file__).resolve().parent


def _interpreters() -> list[str]:
    found = []
    for exe in sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.*/bin/python3"))):
        version = Path(exe).parent.parent.name
        major, minor = (int(x) for x in version.split(".")[:2])
        if (major, minor) >= (3, 10) and os.path.realpath(exe) != os.path.realpath(sys.executable):
            found.append(exe)
    return found


INTERPRETERS = _interpreters()


@pytest.mark.skipif(not INTERPRETERS, reason="no other CPython >= 3.10 found under ~/.pyenv/versions")
@pytest.mark.parametrize("python", INTERPRETERS, ids=[Path(p).parent.parent.name for p in INTERPRETERS])
def test_same_library_on_other_pythons(python: str, url: str, tmp_path: Path) -> None:
    package_parent = str(Path(_ffi.__file__).resolve().parent.parent)
    env = dict(os.environ, PYRO_TEST_URL=url, PYTHONPATH=package_parent, PYRO_POSTGRES_LIB=_ffi.lib().path)
    r = subprocess.run([python, str(HERE / "data" / "smoke.py")], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("ok")
