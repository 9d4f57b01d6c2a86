"""The only module that touches ctypes: finds and loads the Rust library, declares every
function's signature, and turns the library's status codes into Python exceptions.

The library is loaded on first use, not at import, so that ``init(path)`` can point at a
library elsewhere (``PYRO_POSTGRES_LIB`` does the same from the environment) and so that
``pyro_postgres.error`` imports without it.
"""

from __future__ import annotations

import ctypes
import decimal
import marshal
import os
import pickle
import sys
import threading
from ctypes import c_char_p, c_int32, c_size_t, c_uint32, c_uint64, c_void_p  # noqa: F401
from typing import Any

from . import _registry
from . import error as _error

# Status codes of the C ABI (PyroStatus in include/pyro_postgres.h).
OK = 0
ERROR = 1
BAD_HANDLE = 2
PANIC = 3
OK_WITH_NOTICES = 4
OK_LARGE = 5
INTERRUPTED = 6
OK_MARSHAL = 7
OK_PARTIAL = 8
NEED_IO = 9

# Row modes (below STATEMENT_ID_STEP: conn_exec_call takes the statement id plus one).
ROWS_TUPLES = 0
ROWS_DICTS = 1
FIRST_TUPLE = 2
FIRST_DICT = 3
DROP = 4
STATEMENT_ID_STEP = 8


class PyroOut(ctypes.Structure):
    data: int | None
    len: int
    value: int
    has_data: int
    notices: int
    send_data: int | None
    send_len: int
    _fields_ = [
        ("data", c_void_p),
        ("len", c_size_t),
        ("value", c_uint64),
        ("has_data", c_uint32),
        ("notices", c_uint32),
        ("send_data", c_void_p),
        ("send_len", c_size_t),
    ]


def _declared_status_function(spec: tuple[str, Any]) -> Any:
    fn = spec[1]._FuncPtr(spec)
    fn.restype = c_int32
    return fn


_StatusFunction: Any = _declared_status_function
if sys.implementation.name == "cpython":  # the behaviour relied on below is CPython's
    try:

        class _StatusFunction(ctypes._CFuncPtr):  # type: ignore[name-defined,misc,no-redef]
            """A foreign function returning a C ``int``, without a declared result type:
            CPython's ctypes then builds the Python int directly instead of going through
            a result type's converter (measurably cheaper on the per-query calls)."""

            _flags_ = ctypes._FUNCFLAG_CDECL  # type: ignore[attr-defined]

    except (AttributeError, TypeError):  # pragma: no cover - a ctypes without these internals
        pass


def _library_filename() -> str:
    if sys.platform == "win32":
        return "pyro_postgres.dll"
    if sys.platform == "darwin":
        return "libpyro_postgres.dylib"
    return "libpyro_postgres.so"


class _Lib:
    """The loaded library with its functions declared."""

    def __init__(self, path: str) -> None:
        self.path = path
        lib = ctypes.CDLL(path)
        self.cdll = lib
        u32, i32 = c_uint32, c_int32
        status = c_int32

        def declare(name: str, restype: Any, *argtypes: Any) -> Any:
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = list(argtypes)
            return fn

        self.version = declare("pyro_version", c_char_p)
        self.conn_new = declare("pyro_conn_new", u32)
        self.conn_out = declare("pyro_conn_out", c_void_p, u32)
        self.conn_free = declare("pyro_conn_free", status, u32)
        self.conn_connect = declare("pyro_conn_connect", status, u32, c_char_p, u32)
        self.conn_connect_fed = declare("pyro_conn_connect_fed", status, u32, c_char_p, u32, c_char_p, u32, u32)
        self.conn_feed = declare("pyro_conn_feed", status, u32, c_char_p, u32)
        self.conn_cancel_message = declare("pyro_conn_cancel_message", status, u32)
        self.conn_set_result_buffer = declare("pyro_conn_set_result_buffer", status, u32, c_void_p, u32)
        self.conn_prepare = declare("pyro_conn_prepare", status, u32, c_char_p, u32, u32)
        self.conn_portal_open = declare("pyro_conn_portal_open", status, u32, u32, c_char_p, u32, c_char_p, u32)
        self.conn_portal_fetch = declare("pyro_conn_portal_fetch", status, u32, u32, u32)
        self.conn_portal_close = declare("pyro_conn_portal_close", status, u32)
        self.conn_named_portal_open = declare(
            "pyro_conn_named_portal_open", status, u32, u32, c_char_p, u32, c_char_p, u32
        )
        self.conn_named_portal_fetch = declare("pyro_conn_named_portal_fetch", status, u32, u32, u32, u32)
        self.conn_named_portal_close = declare("pyro_conn_named_portal_close", status, u32, u32)
        self.conn_pipeline_begin = declare("pyro_conn_pipeline_begin", status, u32)
        self.conn_pipeline_exec = declare("pyro_conn_pipeline_exec", status, u32, u32, c_char_p, u32, c_char_p, u32)
        self.conn_pipeline_send = declare("pyro_conn_pipeline_send", status, u32, u32)
        self.conn_pipeline_claim = declare("pyro_conn_pipeline_claim", status, u32, u32, u32)
        self.conn_pipeline_end = declare("pyro_conn_pipeline_end", status, u32)
        self.conn_pipeline_status = declare("pyro_conn_pipeline_status", ctypes.c_int64, u32)
        self.conn_exec_batch = declare("pyro_conn_exec_batch", status, u32, u32, c_char_p, u32, c_char_p, u32)
        self.conn_release_statement = declare("pyro_conn_release_statement", status, u32, u32)
        self.conn_register_type = declare("pyro_conn_register_type", status, u32, c_char_p, u32)
        self.conn_types_introspected = declare("pyro_conn_types_introspected", status, u32, c_char_p, u32)
        self.conn_ping = declare("pyro_conn_ping", status, u32)
        self.conn_resume = declare("pyro_conn_resume", status, u32)
        self.conn_abandon = declare("pyro_conn_abandon", status, u32)
        self.conn_info = declare("pyro_conn_info", status, u32)
        self.conn_take_notices = declare("pyro_conn_take_notices", status, u32)
        self.conn_close = declare("pyro_conn_close", status, u32)
        self.conn_is_open = declare("pyro_conn_is_open", i32, u32)
        self.conn_transaction_status = declare("pyro_conn_transaction_status", i32, u32)

        # The per-query calls go without declared argument types: ctypes then converts
        # Python ints to C ints and bytes to char pointers directly, which costs a third
        # of a call through declared types. The C ABI takes only 32-bit integers for this
        # reason, and these callers pass only ints below 2**32 and bytes objects.
        def raw(name: str) -> Any:
            return _StatusFunction((name, lib))

        self.conn_query = raw("pyro_conn_query")
        self.conn_exec = raw("pyro_conn_exec")
        self.conn_exec_call = raw("pyro_conn_exec_call")


_lib: _Lib | None = None
_load_lock = threading.Lock()


def init(path: str | os.PathLike[str] | None = None) -> None:
    """Loads the Rust library now. ``path`` (or the ``PYRO_POSTGRES_LIB`` environment
    variable) names a library file to use instead of the one inside the package.

    Calling it again with no path is a no-op; with a path, after the library is already
    loaded from another file, it raises ``IncorrectApiUsageError``.
    """
    global _lib
    with _load_lock:
        wanted = os.fspath(path) if path is not None else os.environ.get("PYRO_POSTGRES_LIB")
        if _lib is not None:
            if path is not None and os.path.realpath(wanted or "") != os.path.realpath(_lib.path):
                raise _error.IncorrectApiUsageError(
                    f"the pyro_postgres library is already loaded from {_lib.path}"
                )
            return
        if wanted is None:
            wanted = os.path.join(os.path.dirname(os.path.abspath(__file__)), _library_filename())
        if not os.path.exists(wanted):
            raise _error.InterfaceError(
                f"the pyro_postgres native library was not found at {wanted}; "
                "install the package with pip, or set PYRO_POSTGRES_LIB to the library's path"
            )
        _lib = _Lib(wanted)


def lib() -> _Lib:
    if _lib is None:
        init()
    assert _lib is not None
    return _lib


# Result streams build every numeric through this (the library names it): a context wide
# enough never to round, and without traps, so the value is exactly the server's text, and
# a one-argument method call, cheaper than Decimal()'s keyword parsing.
decimal_from_text = decimal.Context(
    prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN, capitals=1, clamp=0, traps=[]
).create_decimal

_loads = pickle.loads
try:  # the C helper behind ctypes.string_at, without the Python-level wrapper frame
    _string_at = ctypes._string_at  # type: ignore[attr-defined]
except AttributeError:  # pragma: no cover
    _string_at = ctypes.string_at


_mloads = marshal.loads


def read_out(out: PyroOut) -> Any:
    """The value in the out area: a pickle stream (it starts with the PROTO opcode 0x80)
    or, for results of built-in values only, a marshal stream."""
    data = _string_at(out.data, out.len)
    return _loads(data) if data[:1] == b"\x80" else _mloads(data)


class NeedsDump(_error.Error):
    """Internal: the call sent nothing because parameters of types with a Python dumper
    hold values that are not text yet; ``needs`` lists ``(parameter index, parameter
    type, element type)`` of every such parameter. The caller dumps them and calls again."""

    def __init__(self, needs: list[tuple[int, int, int]]) -> None:
        super().__init__("parameters need a Python dumper")
        self.needs = needs


class NeedsTypes(_error.Error):
    """Internal: the call sent nothing because the statement uses types that are neither
    built in nor registered and that this connection has not looked up yet; ``oids`` lists
    them. The caller introspects them (``_typereg.introspection``), marks them looked up
    and calls again."""

    def __init__(self, oids: list[int]) -> None:
        super().__init__("the statement uses types not introspected yet")
        self.oids = oids


def raise_status(status: int, out: PyroOut | None) -> None:
    """Raises the exception for a failed call (status ERROR, BAD_HANDLE or PANIC)."""
    if status == ERROR and out is not None:
        kind, message, fields = read_out(out)
        if kind == "needs_dump":
            raise NeedsDump(fields)
        if kind == "needs_types":
            raise NeedsTypes(fields)
        raise _error._make_error(kind, message, fields)
    if status == BAD_HANDLE:
        raise _error.InterfaceError("the connection handle is no longer valid (the connection was freed)")
    if status == PANIC:
        raise _error.LibraryBugError("pyro_postgres hit an internal error (a caught panic); please report it")
    raise _error.LibraryBugError(f"unexpected status {status} from the pyro_postgres library")


RESULT_BUFFER_SIZE = 64 * 1024


class Handle:
    """Owns one connection handle of the library, freed exactly once, and the buffer
    the library copies results into (unpickled in place, no further foreign call)."""

    __slots__ = ("h", "out", "lib", "buf", "_view", "registry_key", "__weakref__")

    def __init__(self) -> None:
        lib_ = lib()
        h = lib_.conn_new()
        if h == 0:
            raise _error.InterfaceError("could not allocate a connection handle (too many open connections)")
        self.h = h
        self.lib = lib_
        self.out = PyroOut.from_address(lib_.conn_out(h))
        # Exporting the bytearray to ctypes pins it: it cannot be resized or freed while
        # the library holds its address, which it does until the handle is freed.
        self.buf = bytearray(RESULT_BUFFER_SIZE)
        self._view = (ctypes.c_char * RESULT_BUFFER_SIZE).from_buffer(self.buf)
        lib_.conn_set_result_buffer(h, ctypes.addressof(self._view), RESULT_BUFFER_SIZE)
        # Where this connection's Python callables (JSON loads, type loaders) live.
        self.registry_key = _registry.new_key()

    def free(self) -> None:
        h, self.h = self.h, 0
        if h:
            self.lib.conn_free(h)
            _registry.forget(self.registry_key)
