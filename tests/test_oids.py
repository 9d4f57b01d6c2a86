"""The generated table of built-in types (rust/codecs/src/builtin_types.rs) matches the
test server's pg_type."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent


def test_builtin_type_table_is_current(url: str) -> None:
    parts = urlsplit(url)
    # libpq does not know our URL options; host, port, user, password and database suffice.
    libpq_url = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
    r = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_oids.py"), "--check", "--url", libpq_url],
        capture_output=True, text=True, timeout=120,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "up to date" in r.stdout


def test_check_mode_notices_a_stale_table(url: str, tmp_path: Path, monkeypatch: Any) -> None:
    # Runs the generator's own module against a copy whose table lacks one line.
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen_oids", REPO / "scripts" / "gen_oids.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    stale = tmp_path / "builtin_types.rs"
    lines = mod.OUT.read_text().splitlines(keepends=True)
    stale.write_text("".join(line for line in lines if "name: \"inet\"" not in line))
    monkeypatch.setattr(mod, "OUT", stale)
    parts = urlsplit(url)
    libpq_url = urlunsplit(("postgresql", parts.netloc, parts.path, "", ""))
    monkeypatch.setattr(sys, "argv", ["gen_oids.py", "--check", "--url", libpq_url])
    assert mod.main() == 1
    monkeypatch.setattr(sys, "argv", ["gen_oids.py", "--url", libpq_url])
    assert mod.main() == 0
    assert stale.read_text() == mod.OUT.read_text() == "".join(lines)
