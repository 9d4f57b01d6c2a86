"""Build glue for pyro-postgres (metadata lives in pyproject.toml).

* build_py runs ``cargo build --release -p pyro-ffi`` on ``rust/Cargo.toml`` and copies
  the resulting cdylib (libpyro_postgres.so / libpyro_postgres.dylib / pyro_postgres.dll)
  into the package directory ``pyro_postgres/`` and into the build tree.
* bdist_wheel marks the wheel as platform-specific but Python-agnostic:
  ``py3-none-<platform>``. The library is loaded with ctypes and never compiled
  against Python headers, so one wheel serves every CPython (and PyPy) version.

Environment:
  CARGO                 cargo executable (default: `cargo` on PATH, else ~/.cargo/bin/cargo)
  PYRO_CARGO_PROFILE    cargo profile to build (default: release)
  PYRO_PREBUILT_LIB     path of an already built library: skip cargo and package this file
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py as _build_py
from setuptools.errors import ExecError

try:  # setuptools >= 70.1 ships bdist_wheel itself
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # pragma: no cover - older setuptools + the wheel package
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent
PACKAGE = "pyro_postgres"
MANIFEST = ROOT / "rust" / "Cargo.toml"
CRATE = "pyro-ffi"


def lib_filename() -> str:
    if sys.platform == "win32":
        return "pyro_postgres.dll"
    if sys.platform == "darwin":
        return "libpyro_postgres.dylib"
    return "libpyro_postgres.so"


def _cargo() -> str:
    cargo = os.environ.get("CARGO")
    if cargo:
        return cargo
    if shutil.which("cargo"):
        return "cargo"
    home_cargo = Path.home() / ".cargo" / "bin" / "cargo"
    if home_cargo.exists():
        return str(home_cargo)
    raise ExecError("cargo not found: install Rust (https://rustup.rs) or set CARGO")


def build_rust_library() -> Path:
    """Run cargo and return the path of the built cdylib."""
    prebuilt = os.environ.get("PYRO_PREBUILT_LIB")
    if prebuilt:
        path = Path(prebuilt)
        if not path.is_file():
            raise ExecError(f"PYRO_PREBUILT_LIB={prebuilt} does not exist")
        return path

    profile = os.environ.get("PYRO_CARGO_PROFILE", "release")
    cmd = [
        _cargo(), "build", "--manifest-path", str(MANIFEST), "-p", CRATE,
        "--profile", profile, "--message-format=json-render-diagnostics",
    ]
    print("running " + " ".join(cmd), file=sys.stderr, flush=True)
    # JSON messages on stdout (parsed for the artifact); diagnostics go to stderr
    proc = subprocess.Popen(cmd, cwd=str(MANIFEST.parent), stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    wanted = lib_filename()
    found: Path | None = None
    for line in proc.stdout:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("reason") != "compiler-artifact":
            continue
        if "cdylib" not in msg.get("target", {}).get("crate_types", []):
            continue
        for f in msg.get("filenames", []):
            if Path(f).name == wanted:
                found = Path(f)
    if proc.wait() != 0:
        raise ExecError(f"cargo build failed (exit {proc.returncode}): {' '.join(cmd)}")
    if found is None:  # fall back to the conventional location
        target = Path(os.environ.get("CARGO_TARGET_DIR", MANIFEST.parent / "target"))
        candidate = target / ("release" if profile == "release" else profile) / wanted
        if candidate.is_file():
            found = candidate
    if found is None or not found.is_file():
        raise ExecError(f"cargo did not produce {wanted} (crate {CRATE})")
    return found


class build_py(_build_py):
    """Build the Rust library first, then ship it inside the package."""

    def run(self) -> None:
        lib = build_rust_library()
        name = lib_filename()
        # 1) the source package directory (for editable installs and in-tree use)
        src_dest = ROOT / PACKAGE / name
        if lib.resolve() != src_dest.resolve():
            _copy(lib, src_dest)
        build_pkg = Path(self.build_lib) / PACKAGE
        if not getattr(self, "editable_mode", False) and build_pkg.is_dir():
            shutil.rmtree(build_pkg)  # no stale modules from an earlier build in the wheel
        super().run()
        # 2) the build tree, whatever package_data globbing picked up
        build_dest = Path(self.build_lib) / PACKAGE / name
        if not getattr(self, "editable_mode", False):
            build_dest.parent.mkdir(parents=True, exist_ok=True)
            _copy(lib, build_dest)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = list(super().get_outputs(include_bytecode))
        lib = str(Path(self.build_lib) / PACKAGE / lib_filename())
        if lib not in outputs:
            outputs.append(lib)
        return outputs


def _copy(src: Path, dest: Path) -> None:
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.replace(tmp, dest)  # atomic: never a half-written library under the final name


class bdist_wheel(_bdist_wheel):
    """Platform wheel, but not tied to a Python version or ABI: py3-none-<platform>."""

    def finalize_options(self) -> None:
        super().finalize_options()
        self.root_is_pure = False

    def get_tag(self) -> tuple[str, str, str]:
        _python, _abi, plat = super().get_tag()
        return "py3", "none", plat


class BinaryDistribution(Distribution):
    """Contains a native library: install into platlib, not purelib."""

    def has_ext_modules(self) -> bool:
        return True


setup(
    distclass=BinaryDistribution,
    cmdclass={"build_py": build_py, "bdist_wheel": bdist_wheel},
)
