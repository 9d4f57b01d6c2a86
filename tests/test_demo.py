"""The README's first command runs scripts/demo.py: it must work against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_script(url: str, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), url],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "users after: [(1, 'Alice'), (2, 'Bob')]" in r.stdout
    assert "Bob: {'id': 2, 'name': 'Bob'}" in r.stdout
