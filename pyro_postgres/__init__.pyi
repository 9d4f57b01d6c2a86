"""pyro_postgres: a PostgreSQL driver whose protocol work is done by a Rust library
loaded with ctypes."""

import os
from . import async_ as async_
from . import error as error
from . import sync as sync
from ._opts import Opts as Opts
from ._types import IsolationLevel as IsolationLevel
from ._types import Json as Json
from ._types import Jsonb as Jsonb
from ._types import PreparedStatement as PreparedStatement
from ._types import Range as Range
from ._types import Statement as Statement
from ._types import Ticket as Ticket

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

__version__: str

def init(path: str | os.PathLike[str] | None = None) -> None:
    """Load the native library now (normally it loads on first use). ``path`` or the
    ``PYRO_POSTGRES_LIB`` environment variable names a library file to use instead of the
    packaged one."""

