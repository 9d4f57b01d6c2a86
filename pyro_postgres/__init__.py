"""pyro_postgres: a PostgreSQL driver whose protocol work is done by a Rust library,
loaded with ctypes (one library for every Python version).

``pyro_postgres.sync`` holds the blocking API. Top level: ``Opts``, ``IsolationLevel``,
``PreparedStatement`` (alias ``Statement``), ``Ticket``, ``Json``, ``Jsonb``, ``Range``, ``init``.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._ffi import init
from ._opts import Opts
from ._types import IsolationLevel, Json, Jsonb, PreparedStatement, Statement, Ticket
from ._types import Range

__version__ = "0.4.0"

__all__ = [
    "IsolationLevel",
    "Json",
    "Jsonb",
    "Opts",
    "PreparedStatement",
    "Range",
    "Statement",
    "Ticket",
    "async_",
    "error",
    "init",
    "sync",
]


def __getattr__(name: str) -> Any:
    # Submodules load on first attribute access, so `import pyro_postgres` stays cheap
    # and never needs the native library.
    if name in ("sync", "async_", "error"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
