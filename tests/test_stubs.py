"""The hand-written .pyi stubs match the runtime package (mypy.stubtest)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (scripts/setup installs it)")
def test_stubtest(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "pyro_postgres",
         "--allowlist", str(ROOT / "tests" / "stubtest_allowlist.txt")],
        capture_output=True, text=True, cwd=tmp_path, timeout=600,
        env={**os.environ, "MYPY_CACHE_DIR": str(tmp_path / "cache")},
    )
    assert r.returncode == 0, r.stdout + r.stderr
