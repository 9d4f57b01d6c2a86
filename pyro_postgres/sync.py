"""The blocking API: ``Conn`` and ``Transaction``.

Each call is one foreign call into the Rust library, which does the network I/O with the
GIL released (ctypes releases it around every foreign call), then one ``pickle.loads`` of
the rows it produced. A ``Conn`` may be shared by threads: calls are serialised by a lock,
so a second thread waits for the first call to finish.
"""

from __future__ import annotations

import logging
import marshal
import sys
import pickle
import queue
import weakref
from threading import get_ident as _get_ident
from typing import Any, Callable, Iterable, Sequence, TypeVar, Union

from . import _ffi, _registry, _typereg
from ._logging import log_notices as _log_notices
from ._logging import deliver_notices as _deliver_notices
from ._logging import take_notices as _take_notices
from ._opts import Opts
from ._params import encode as _encode_params
from ._params import check_max_rows as _check_rows_arg
from ._params import encode_batch as _encode_batch
from ._params import again as _params_again
from ._params import dump as _dump_params
from ._params import dump_batch as _dump_batch
from ._params import call_head as _call_head
from ._types import IsolationLevel, PreparedStatement, Ticket
from ._transaction import TransactionRules
from ._types import statement_args
from .error import (
    ConnectionClosedError,
    Error,
    DatabaseError,
    IncorrectApiUsageError,
)

__all__ = ["Conn", "NamedPortal", "Pipeline", "Transaction", "UnnamedPortal"]

_log = logging.getLogger("pyro_postgres")
_rust_log = logging.getLogger("zero_postgres")
# Bound once: the hot paths check the level with one call and log nothing otherwise.
_debug = _log.isEnabledFor
_rust_debug = _rust_log.isEnabledFor
_DEBUG = logging.DEBUG
_read_out = _ffi.read_out
_NeedsDump = _ffi.NeedsDump
_NeedsTypes = _ffi.NeedsTypes
_loads = pickle.loads
_dumps = marshal.dumps
_OK = _ffi.OK
_OK_LARGE = _ffi.OK_LARGE
_INTERRUPTED = _ffi.INTERRUPTED
_OK_MARSHAL = _ffi.OK_MARSHAL
_OK_PARTIAL = _ffi.OK_PARTIAL
_mloads = marshal.loads
_OK_WITH_NOTICES = _ffi.OK_WITH_NOTICES
_ROWS_TUPLES = _ffi.ROWS_TUPLES
_ROWS_DICTS = _ffi.ROWS_DICTS
_FIRST_TUPLE = _ffi.FIRST_TUPLE
_FIRST_DICT = _ffi.FIRST_DICT
_DROP = _ffi.DROP
# Nothing was sent: the general path looks the types up or runs the dumpers, then retries.
_RETRIED = (_NeedsTypes, _NeedsDump)
# The library's conn_exec_call, bound by the first Conn (the library loads lazily).
_exec_call_c: Any = None
# The statement log's level check without the call: logging keeps its per-level answers
# in this dict (emptied, not replaced, whenever levels change); False means "not logged".
# A missing answer (None) takes the general path, whose check fills it in.
_level_cache = getattr(_log, "_cache", None)
_statement_logging = _level_cache.get if isinstance(_level_cache, dict) else {}.get

T = TypeVar("T")
Params = Union[Sequence[Any], None]
StatementLike = Union[str, PreparedStatement]

def _log_statement(conn: Conn, kind: str, stmt: object, params: object) -> None:
    sql = stmt.sql if isinstance(stmt, PreparedStatement) else stmt
    if conn._log_params and params:
        _log.debug("%s: %s; parameters: %r", kind, sql, params)
    else:
        _log.debug("%s: %s", kind, sql)


def _url_setting_rejected(e: DatabaseError, opts: Opts) -> DatabaseError:
    """Names the URL key when the server refused a setting sent at startup."""
    text = (e.message or "").lower()
    for key in opts._settings:
        if f'"{key.lower()}"' in text:
            e.message = f"{e.message} (from the connection URL parameter {key!r})"
            e.args = (e.message,)
            break
    return e


class _Turn:
    """Serialises the calls on one connection across threads (a call's result is read
    from the connection's buffer after the foreign call returns): a queue holding one
    token, taken by ``take()`` and given back by ``give(None)``. Cheaper than
    ``threading.Lock`` on the hot path (CPython 3.11 parses acquire()'s arguments the slow
    way); ``with`` is for the calls off it.

    Python code the connection runs while it holds the turn (a registered type's
    ``loads``, a JSON ``loads``) could call the connection again; that call would wait
    forever for the turn its own thread holds. ``watch_reentry()`` (once such callables
    exist) makes the turn remember its holder and refuse that call instead."""

    __slots__ = ("take", "give", "_token", "_holder")

    def __init__(self) -> None:
        token = queue.SimpleQueue()  # type: queue.SimpleQueue[None]
        token.put(None)
        self._token = token
        self._holder: int | None = None  # a thread ident once watching (0: nobody)
        self.take: Callable[[], None] = token.get
        self.give: Callable[[None], None] = token.put

    def watch_reentry(self) -> None:
        if self._holder is not None:
            return
        self._holder = 0
        get_nowait, get, put = self._token.get_nowait, self._token.get, self._token.put

        def take() -> None:
            me = _get_ident()
            try:
                get_nowait()
            except queue.Empty:
                if self._holder == me:
                    raise IncorrectApiUsageError(
                        "the connection is in the middle of a call on this thread (a type's "
                        "loads or a JSON loads called it while it reads a result); use "
                        "another connection there"
                    ) from None
                get()
            self._holder = me

        def give(_: None) -> None:
            self._holder = 0
            put(None)

        self.take = take
        self.give = give

    # hand_back/take_back: a holder lends the turn out while it runs callbacks. They use
    # the token itself, not take/give: the holder's give may date from before a
    # watch_reentry(), and no holder may be left recorded while the turn is lent.

    def hand_back(self) -> None:
        if self._holder is not None:
            self._holder = 0
        self._token.put(None)

    def take_back(self) -> None:
        """Waits for the turn again; a signal handler's exception raised meanwhile comes
        after the turn is held (the caller gives it back as usual)."""
        interrupted: BaseException | None = None
        while True:
            try:
                self._token.get()
                break
            except BaseException as e:
                interrupted = e
        if interrupted is not None:
            raise interrupted

    def __enter__(self) -> None:
        self.take()

    def __exit__(self, *exc: object) -> None:
        self.give(None)


class Conn:
    """A connection. ``Conn(url_or_opts)`` connects at once; use it as a context manager
    or call ``close()``; an unreferenced connection is closed by its finalizer."""

    __slots__ = (
        "_handle", "_h", "_out", "_buf", "_lib", "_exec_c", "_query_c", "_lock", "_take", "_give", "_finalizer",
        "_info", "_tx", "_notice_handler", "_log_params", "_dumpers", "_user_types",
        "__weakref__",
    )

    def __init__(self, url_or_opts: str | Opts) -> None:
        if isinstance(url_or_opts, str):
            opts = Opts(url_or_opts)
        elif isinstance(url_or_opts, Opts):
            opts = url_or_opts
        else:
            raise IncorrectApiUsageError("Conn() takes a connection URL string or an Opts object")
        opts._to_ffi()  # refuses bad options before a handle exists
        handle = _ffi.Handle()
        raw, self._dumpers = opts._connect_args(handle)
        self._user_types: set[int] = set()
        self._handle = handle
        self._lib = handle.lib
        self._h = handle.h
        self._out = handle.out
        self._buf = handle.buf
        self._exec_c = handle.lib.conn_exec
        global _exec_call_c
        _exec_call_c = handle.lib.conn_exec_call
        self._query_c = handle.lib.conn_query
        self._lock = _Turn()
        self._take = self._lock.take
        self._give = self._lock.give
        if _registry.has_callables(handle.registry_key):
            self._watch_reentry()
        self._info: dict[str, Any] | None = None
        self._tx: Transaction | None = None
        self._notice_handler: Callable[[dict[str, str]], object] | None = None
        self._log_params = opts._log_parameters
        self._finalizer = weakref.finalize(self, handle.free)
        status = handle.lib.conn_connect(handle.h, raw, len(raw))
        if status != _OK:
            if status == _OK_WITH_NOTICES:
                _log_notices(self)
            else:
                try:
                    _ffi.raise_status(status, handle.out)
                except DatabaseError as e:
                    self._finalizer()
                    raise _url_setting_rejected(e, opts) from None
                except BaseException:
                    self._finalizer()
                    raise
        if _debug(logging.DEBUG) or _rust_debug(logging.DEBUG):
            info = self._session_info()
            for line in info.get("connect_log", ()):
                _rust_log.debug("%s", line)
            _log.debug(
                "connected to %s (server %s, pid %s, %s)",
                info.get("endpoint"),
                info.get("parameters", {}).get("server_version"),
                info.get("pid"),
                "unix socket" if info.get("unix_socket") else "TCP",
            )

    def set_notice_handler(self, handler: Callable[[dict[str, str]], object] | None) -> None:
        """Calls ``handler(fields)`` for each NOTICE/WARNING the server sends on this
        connection, instead of logging it on the ``pyro_postgres`` logger. ``fields`` maps
        names (``severity``, ``sqlstate``, ``message``, ``detail``, ``hint``, ...) to text.
        ``None`` restores logging."""
        if handler is not None and not callable(handler):
            raise TypeError("the notice handler must be callable or None")
        self._notice_handler = handler

    # -- plumbing -------------------------------------------------------------------

    def _fail(self, status: int) -> Any:
        """Everything but the one-shot success: chunked rows, signals, large results,
        notices, errors."""
        out = self._out
        resume = self._lib.conn_resume
        rows: Any = None
        while True:
            if status == _OK_PARTIAL:
                # One chunk of a large result; the server keeps sending the rest while
                # these become Python objects.
                part = _read_out(out)
                if rows is None:
                    rows = part
                else:
                    rows += part
            elif status != _INTERRUPTED:
                break
            # A signal arrived while the library waited for the server. Python runs
            # its handler at the next bytecode boundary; if it raises (Ctrl-C), the
            # caller cancels the query (see _abandon). If it does not, wait on.
            status = resume(self._h)
        if status in (_OK, _OK_MARSHAL, _OK_LARGE, _OK_WITH_NOTICES):
            result = _read_out(out) if out.has_data else out.value
            if status == _OK_WITH_NOTICES:
                self._notices_without_turn()
            if rows is not None:
                rows += result
                return rows
            return result
        _ffi.raise_status(status, out)

    def _watch_reentry(self) -> None:
        """The connection now runs Python callables while reading results: see _Turn."""
        self._lock.watch_reentry()
        self._take = self._lock.take
        self._give = self._lock.give

    def _notices_without_turn(self) -> None:
        """Delivers the notices of a finished call with the connection's turn given back
        (every caller of _fail holds it), so a notice handler may run queries on this
        connection instead of waiting forever for the turn; takes the turn again after."""
        notices = _take_notices(self)
        self._lock.hand_back()
        try:
            _deliver_notices(self, notices)
        finally:
            self._lock.take_back()

    def _call(self, fn: Any, *args: Any) -> None:
        """Calls ``fn(handle, *args)`` (with the lock held) for its side effect, or raises.
        An exception from a signal handler cancels the query."""
        try:
            status = fn(self._h, *args)
            if status != _OK:
                self._fail(status)
        except BaseException as e:
            self._abandon(e)
            raise

    def _call_rows(self, fn: Any, mode: int, *args: Any) -> Any:
        """Calls ``fn(handle, *args)`` (with the lock held) and returns its rows, its count
        (``mode`` DROP), or raises. An exception from a signal handler cancels the query."""
        try:
            status = fn(self._h, *args)
            if status == _OK_MARSHAL:
                return _mloads(self._buf)
            if status == _OK:
                return _loads(self._buf) if mode != _DROP else self._out.value
            return self._fail(status)
        except BaseException as e:
            self._abandon(e)
            raise

    def _bind(self, fn: Any, sid: int, sql: bytes, p: bytes, redump: Callable[[Any], bytes]) -> int:
        """Calls ``fn(handle, sid, sql, p)`` (a call that binds parameters to a statement)
        and returns the out value. When the library sent nothing because it first needs the
        statement's types looked up, or parameters dumped by Python (``redump(needs)`` gives
        the new buffer), that is done and the call made again; each happens at most once."""
        for _ in range(2):
            try:
                with self._lock:
                    self._call(fn, sid, sql, len(sql), p, len(p))
                    return self._out.value
            except _NeedsTypes as e:
                self._introspect(e.oids)
            except _NeedsDump as e:
                p = redump(e.needs)
        with self._lock:
            self._call(fn, sid, sql, len(sql), p, len(p))
            return self._out.value

    def _abandon(self, exc: BaseException) -> None:
        """After an exception from a signal handler: cancel the query the interrupted call
        left running, so the server stops and the connection stays in step."""
        if not isinstance(exc, Error):
            self._lib.conn_abandon(self._h)

    def _session_info(self) -> dict[str, Any]:
        with self._lock:
            status = self._lib.conn_info(self._h)
            if status != _OK:
                _ffi.raise_status(status, self._out)
            return _read_out(self._out)  # type: ignore[no-any-return]

    def _statement(self, stmt: StatementLike) -> tuple[int, bytes]:
        return statement_args(stmt, self._handle)

    # -- simple query ---------------------------------------------------------------

    def query(self, sql: str, *, as_dict: bool = False) -> list[Any]:
        """Runs ``sql`` (one or more statements, no parameters) and returns all rows of all
        result sets, as tuples or, with ``as_dict``, dicts."""
        return _run_query(self, sql, _ROWS_DICTS if as_dict else _ROWS_TUPLES)  # type: ignore[no-any-return]

    def query_first(self, sql: str, *, as_dict: bool = False) -> Any:
        """The first row of ``sql``, or None; later rows are discarded unread."""
        return _run_query(self, sql, _FIRST_DICT if as_dict else _FIRST_TUPLE)

    def query_drop(self, sql: str) -> int:
        """Runs ``sql`` and returns the affected-row count of its last statement."""
        return _run_query(self, sql, _DROP)  # type: ignore[no-any-return]

    # -- extended query -------------------------------------------------------------

    def prepare(self, sql: str) -> PreparedStatement:
        """Prepares ``sql`` on the server (one round trip)."""
        return self.prepare_batch([sql])[0]

    def prepare_batch(self, sqls: Sequence[str]) -> list[PreparedStatement]:
        """Prepares several statements in one round trip."""
        if isinstance(sqls, str):
            raise IncorrectApiUsageError("prepare_batch() takes a list of SQL strings, not one str")
        texts = list(sqls)
        for s in texts:
            if not isinstance(s, str):
                raise IncorrectApiUsageError(f"prepare_batch() takes SQL strings, not {type(s).__name__}")
        if not texts:
            return []
        for s in texts:
            if "\0" in s:
                raise IncorrectApiUsageError("the SQL text must not contain a NUL character")
        raw = "\0".join(texts).encode()
        with self._lock:
            status = self._lib.conn_prepare(self._h, raw, len(raw), len(texts))
            ids = _loads(self._buf) if status == _OK else self._fail(status)
        return [PreparedStatement._new(i, s, self._handle, self._lib) for i, s in zip(ids, texts)]

    # exec, exec_first and exec_drop open with the same hot path, written out in each (one
    # Python frame per call is measurably cheaper than two): a statement prepared on this
    # connection, a params tuple, tuple rows, statement logging off. Everything else, and
    # the retries after a type lookup or a Python dumper, goes through _exec_general.

    def exec(self, stmt: StatementLike, params: Params = (), *, as_dict: bool = False) -> list[Any]:
        """Executes a statement with parameters; returns all rows (binary transfer)."""
        if (
            stmt.__class__ is PreparedStatement and stmt._owner is self._handle  # type: ignore[union-attr]
            and params.__class__ is tuple and not as_dict and _statement_logging(_DEBUG) is False
        ):
            try:
                p = stmt._call_rows + _dumps(params, 2)  # type: ignore[union-attr]
            except ValueError:
                p = stmt._call_rows + _encode_params(params)  # type: ignore[union-attr]
            give = self._give
            take = self._take
            take()
            try:
                status = _exec_call_c(p, len(p))
                if status == _OK_MARSHAL:
                    return _mloads(self._buf)  # type: ignore[no-any-return]
                if status == _OK:
                    return _loads(self._buf)  # type: ignore[no-any-return]
                return self._fail(status)  # type: ignore[no-any-return]
            except _RETRIED:
                pass
            except BaseException as e:
                self._abandon(e)
                raise
            finally:
                give(None)
        return self._exec_general(stmt, params, _ROWS_DICTS if as_dict else _ROWS_TUPLES)  # type: ignore[no-any-return]

    def exec_first(self, stmt: StatementLike, params: Params = (), *, as_dict: bool = False) -> Any:
        """The first row, or None. The server stops after one row."""
        if (
            stmt.__class__ is PreparedStatement and stmt._owner is self._handle  # type: ignore[union-attr]
            and params.__class__ is tuple and not as_dict and _statement_logging(_DEBUG) is False
        ):
            try:
                p = stmt._call_first + _dumps(params, 2)  # type: ignore[union-attr]
            except ValueError:
                p = stmt._call_first + _encode_params(params)  # type: ignore[union-attr]
            give = self._give
            take = self._take
            take()
            try:
                status = _exec_call_c(p, len(p))
                if status == _OK_MARSHAL:
                    return _mloads(self._buf)
                if status == _OK:
                    return _loads(self._buf)
                return self._fail(status)
            except _RETRIED:
                pass
            except BaseException as e:
                self._abandon(e)
                raise
            finally:
                give(None)
        return self._exec_general(stmt, params, _FIRST_DICT if as_dict else _FIRST_TUPLE)

    def exec_drop(self, stmt: StatementLike, params: Params = ()) -> int:
        """Executes and returns the affected-row count (rows returned, for a SELECT)."""
        if (
            stmt.__class__ is PreparedStatement and stmt._owner is self._handle  # type: ignore[union-attr]
            and params.__class__ is tuple and _statement_logging(_DEBUG) is False
        ):
            try:
                p = stmt._call_drop + _dumps(params, 2)  # type: ignore[union-attr]
            except ValueError:
                p = stmt._call_drop + _encode_params(params)  # type: ignore[union-attr]
            give = self._give
            take = self._take
            take()
            try:
                status = _exec_call_c(p, len(p))
                if status < 0:  # success: -1 - the affected-row count
                    return -1 - status  # type: ignore[no-any-return]
                return self._fail(status)  # type: ignore[no-any-return]
            except _RETRIED:
                pass
            except BaseException as e:
                self._abandon(e)
                raise
            finally:
                give(None)
        return self._exec_general(stmt, params, _DROP)  # type: ignore[no-any-return]

    def _exec_general(self, stmt: StatementLike, params: Params, mode: int) -> Any:
        """exec/exec_first/exec_drop for any statement and parameters: logs the statement
        when asked to, and retries once after a type lookup or a Python dumper (nothing was
        sent the first time)."""
        try:
            return _run_exec(self, stmt, params, mode)
        except _NeedsTypes as e:
            self._introspect(e.oids)
            return self._exec_general(stmt, _params_again(params), mode)
        except _NeedsDump as e:
            return _run_exec(self, stmt, _dump_params(params, e.needs, self._dumpers), mode)

    def exec_batch(self, stmt: StatementLike, params_list: Iterable[Sequence[Any]] = ()) -> None:
        """Executes ``stmt`` once per parameter set, pipelined: chunks of 1000 sets travel
        with one Sync each, so 10,000 rows cost ten round trips. Parameters are typed by
        the statement's parameter types (not by the first row), so ``None`` may appear in
        any row. Every row is encoded before anything is sent: a bad value raises with
        nothing executed. A server error stops the batch; outside a transaction the
        chunks before the failing one stay committed."""
        if self._dumpers and type(params_list) is not list:
            params_list = list(params_list)  # read again if a dumper must run
        raw, count = _encode_batch(params_list)
        if count == 0:
            return
        sid, sql = self._statement(stmt)
        self._bind(
            self._lib.conn_exec_batch, sid, sql, raw,
            lambda needs: _encode_batch(_dump_batch(list(params_list), needs, self._dumpers))[0],
        )

    def exec_iter(self, stmt: StatementLike, params: Params, callback: Callable[[UnnamedPortal], T]) -> T:
        """Binds ``stmt`` to a portal and calls ``callback(portal)``; the callback reads the
        rows a slice at a time with ``portal.fetch(n)``, so results larger than memory
        can be processed. Returns what the callback returns; an exception from the
        callback propagates unchanged. The portal is closed when the callback returns
        and may not be used afterwards. The connection refuses other statements while
        the callback runs."""
        sid, sql = self._statement(stmt)
        self._bind(
            self._lib.conn_portal_open, sid, sql, _encode_params(params),
            lambda needs: _encode_params(_dump_params(params, needs, self._dumpers)),
        )
        portal = UnnamedPortal._new(self)
        try:
            return callback(portal)
        finally:
            portal._conn = None
            with self._lock:
                status = self._lib.conn_portal_close(self._h)
                if status != _OK and sys.exc_info()[0] is None:
                    self._fail(status)

    def pipeline(self) -> Pipeline:
        """A pipeline, to be used as ``with conn.pipeline() as p:``."""
        return Pipeline(self)

    # -- types ----------------------------------------------------------------------

    def register_type(
        self,
        name_or_oid: str | int,
        *,
        loads: Callable[[str], Any] | None = None,
        dumps: Callable[[Any], str] | None = None,
        factory: Callable[..., Any] | None = None,
    ) -> None:
        """Registers a PostgreSQL type on this connection only (by name, resolved on the
        server, e.g. ``"mood"``, ``"public.point3"``, or by OID), for results in both
        formats and for parameters; arrays of the type follow.

        * ``loads(text)``: results of the type become ``loads`` of their text (the type is
          then requested in text format); without it, enums and other types stay ``str``
          (their arrays become lists of ``str``), composites become tuples of their fields
          decoded by type (or ``factory(*fields)``, e.g. a namedtuple class), and
          ``hstore`` becomes ``dict[str, str | None]``.
        * ``dumps(value) -> str``: parameters of the type (elements, for its array type)
          are sent as that text for the server to parse; ``None`` and ``str`` values are
          sent as they are. Without it, composites take a tuple or list of fields and
          ``hstore`` a dict.

        Registering again replaces the earlier registration. An unknown type raises
        ``ProgrammingError``."""
        sql, params = _typereg.lookup(name_or_oid)
        plan = _typereg.plan(name_or_oid, self.exec_first(sql, params), loads, dumps, factory)
        if plan.result_callable is not None:
            _registry.put(self._handle.registry_key, plan.oid, plan.result_callable)
        with self._lock:
            if plan.result_callable is not None:
                self._watch_reentry()  # with the turn held: no call is between take and give
            self._call(self._lib.conn_register_type, plan.spec, len(plan.spec))
        self._user_types.add(plan.oid)
        if plan.dumps is not None:
            self._dumpers[plan.oid] = plan.dumps
        else:
            self._dumpers.pop(plan.oid, None)

    def _introspect(self, oids: list[int]) -> None:
        """After ``NeedsTypes`` (the connection is idle, nothing was sent): looks the types
        up in one catalog query, registers the composites, enums, domains and hstore among
        them (and what they are made of) unless the user registered them, and marks every
        reported OID as looked up, found or not, so it is never reported again. A failing
        lookup (an aborted transaction) registers nothing: the retry then reports the
        real error."""
        try:
            rows = self.exec(_typereg.INTROSPECT, (oids,))
        except Error:
            rows = []
        specs = _typereg.automatic_specs(rows, self._user_types)
        done = _dumps(oids, 2)
        with self._lock:
            for spec in specs:
                self._call(self._lib.conn_register_type, spec, len(spec))
            self._call(self._lib.conn_types_introspected, done, len(done))

    # -- transactions ---------------------------------------------------------------

    def tx(self, isolation_level: IsolationLevel | None = None, readonly: bool | None = None) -> Transaction:
        """A transaction, to be used as ``with conn.tx():``."""
        return Transaction(self, isolation_level, readonly)

    # -- session --------------------------------------------------------------------

    def ping(self) -> None:
        """One round trip to check the session is alive."""
        with self._lock:
            status = self._lib.conn_ping(self._h)
            if status != _OK:
                self._fail(status)

    def id(self) -> int:
        """The server process id of this session."""
        return self._cached_info()["pid"]  # type: ignore[no-any-return]

    def server_version(self) -> str:
        """The server's version, e.g. ``"18.1"``."""
        return self._cached_info()["parameters"].get("server_version", "")  # type: ignore[no-any-return]

    def _cached_info(self) -> dict[str, Any]:
        if self._info is None:
            info = self._session_info()
            if "closed" in info:
                raise ConnectionClosedError(info["closed"])
            self._info = info
        return self._info

    def _transaction_status(self) -> str:
        """'I' idle, 'T' in a transaction, 'E' in a failed transaction."""
        with self._lock:
            code = self._lib.conn_transaction_status(self._h)
        return chr(code) if code > 0 else "?"

    def is_closed(self) -> bool:
        """True after ``close()`` or once the connection broke."""
        return self._lib.conn_is_open(self._h) != 1

    def close(self) -> None:
        """Sends Terminate and closes the socket. Idempotent."""
        with self._lock:
            if self._h:
                self._lib.conn_close(self._h)

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.is_closed() else "open"
        return f"<pyro_postgres.sync.Conn {state}>"


# The two functions below are the hot path: one foreign call, then one pickle.loads
# straight from the result buffer. They are module functions (no bound-method lookup)
# and deliberately repetitive; keep them lean.


def _run_query(conn: Conn, sql: str, mode: int) -> Any:
    if type(sql) is not str:
        if not isinstance(sql, str):
            raise IncorrectApiUsageError(f"the SQL must be a str, not {type(sql).__name__}")
        sql = str(sql)
    raw = sql.encode()
    if _debug(_DEBUG):
        _log_statement(conn, "query", sql, None)
    conn._take()
    try:
        status = conn._query_c(conn._h, raw, len(raw), mode)
        if status == _OK_MARSHAL:
            return _mloads(conn._buf)
        if status == _OK:
            return _loads(conn._buf) if mode != _DROP else conn._out.value
        return conn._fail(status)
    except BaseException as e:
        conn._abandon(e)
        raise
    finally:
        conn._give(None)


def _run_exec(conn: Conn, stmt: StatementLike, params: Params, mode: int) -> Any:
    if _debug(_DEBUG):
        _log_statement(conn, "exec", stmt, params)
    if type(params) is tuple:
        try:
            p = _dumps(params, 2)  # _params.MARSHAL_VERSION
        except ValueError:
            p = _encode_params(params)
    else:
        p = _encode_params(params)
    if type(stmt) is PreparedStatement and stmt._owner is conn._handle:
        conn._take()
        try:
            call = _call_head(conn._h, stmt._id + mode) + p
            status = _exec_call_c(call, len(call))
            if status < 0:  # exec_drop's success: -1 - the affected-row count
                return -1 - status
            if status == _OK_MARSHAL:
                return _mloads(conn._buf)
            if status == _OK:
                return _loads(conn._buf) if mode != _DROP else conn._out.value
            return conn._fail(status)
        except BaseException as e:
            conn._abandon(e)
            raise
        finally:
            conn._give(None)
    if type(stmt) is str:
        sql = stmt.encode()
        sid = 0
    else:
        sid, sql = conn._statement(stmt)
    conn._take()
    try:
        status = conn._exec_c(conn._h, sid, sql, len(sql), p, len(p), mode)
        if status == _OK_MARSHAL:
            return _mloads(conn._buf)
        if status == _OK:
            return _loads(conn._buf) if mode != _DROP else conn._out.value
        return conn._fail(status)
    except BaseException as e:
        conn._abandon(e)
        raise
    finally:
        conn._give(None)


class UnnamedPortal:
    """The open portal an ``exec_iter`` callback reads from."""

    __slots__ = ("_conn",)

    def __init__(self) -> None:
        raise TypeError("UnnamedPortal objects are passed to exec_iter callbacks")

    @classmethod
    def _new(cls, conn: Conn) -> UnnamedPortal:
        self = object.__new__(cls)
        self._conn: Conn | None = conn
        return self

    def fetch(self, max_rows: int, *, as_dict: bool = False) -> tuple[list[Any], bool]:
        """Up to ``max_rows`` more rows (0: all that are left) and whether more remain."""
        conn = self._conn
        if conn is None:
            raise IncorrectApiUsageError("this portal is closed: use it only inside its exec_iter callback")
        _check_rows_arg(max_rows)
        mode = _ROWS_DICTS if as_dict else _ROWS_TUPLES
        conn._take()  # per call: the turn without the with-statement's Python frames
        try:
            rows = conn._call_rows(conn._lib.conn_portal_fetch, mode, max_rows, mode)
            return rows, conn._out.value == 1
        finally:
            conn._give(None)


class Pipeline:
    """``with conn.pipeline() as p:`` — requests are buffered by ``exec`` (alias
    ``execute``), which returns a ``Ticket``; nothing is sent until ``sync()``, ``flush()``
    or a claim of a ticket still buffered (which sends it with a Sync). Replies are
    claimed in the order the tickets were issued. An error fails its Sync segment: later
    claims in that segment raise ``PipelineAbortedError``; later segments run. Leaving the
    block sends what is buffered and reads every unclaimed reply. While the pipeline is
    open the connection refuses other statements (from any thread) with a clear error.

    A prepared statement, or an SQL string already used by ``exec``, is sent with binary
    parameters typed by the statement; an SQL string not seen before is sent with text
    parameters that the server types (and its rows in text, decoding to the same values),
    so the pipeline needs no round trip to prepare it.
    """

    __slots__ = ("_conn", "_state")

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._state = "new"

    def __enter__(self) -> Pipeline:
        if self._state == "open":
            raise IncorrectApiUsageError("this pipeline is already open")
        conn = self._conn
        with conn._lock:
            status = conn._lib.conn_pipeline_begin(conn._h)
            if status != _OK:
                conn._fail(status)
        self._state = "open"
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._state != "open":
            return
        self._state = "closed"
        conn = self._conn
        with conn._lock:
            status = conn._lib.conn_pipeline_end(conn._h)
            if status != _OK and exc_type is None:
                conn._fail(status)

    def _open_conn(self) -> Conn:
        if self._state != "open":
            raise IncorrectApiUsageError("the pipeline is not open: use it inside `with conn.pipeline() as p:`")
        return self._conn

    def exec(self, stmt: StatementLike, params: Params = ()) -> Ticket:
        """Buffers a request (nothing is sent) and returns its ticket."""
        conn = self._open_conn()
        sid, sql = conn._statement(stmt)
        p = _encode_params(params)
        for attempt in (0, 1):
            conn._take()  # per call: the turn without the with-statement's Python frames
            try:
                status = conn._lib.conn_pipeline_exec(conn._h, sid, sql, len(sql), p, len(p))
                try:
                    if status != _OK:
                        conn._fail(status)
                except _NeedsDump as e:
                    if attempt:
                        raise
                    p = _encode_params(_dump_params(params, e.needs, conn._dumpers))
                    continue
                seq = conn._out.value
                break
            finally:
                conn._give(None)
        ticket = object.__new__(Ticket)
        ticket._seq = seq
        ticket._pipeline = self
        return ticket

    execute = exec

    def _send(self, with_sync: int) -> None:
        conn = self._open_conn()
        conn._take()
        try:
            status = conn._lib.conn_pipeline_send(conn._h, with_sync)
            if status != _OK:
                conn._fail(status)
        finally:
            conn._give(None)

    def sync(self) -> None:
        """Sends the buffered requests followed by Sync (the end of a segment)."""
        self._send(1)

    def flush(self) -> None:
        """Sends the buffered requests followed by Flush (the segment goes on)."""
        self._send(0)

    def _claim(self, ticket: Ticket, mode: int) -> Any:
        conn = self._open_conn()
        if not isinstance(ticket, Ticket) or ticket._pipeline is not self:
            raise IncorrectApiUsageError("this ticket was not issued by this pipeline")
        conn._take()
        try:
            return conn._call_rows(conn._lib.conn_pipeline_claim, mode, ticket._seq, mode)
        finally:
            conn._give(None)

    def claim(self, ticket: Ticket, *, as_dict: bool = False) -> list[Any]:
        """All rows of the ticket's request."""
        return self._claim(ticket, _ROWS_DICTS if as_dict else _ROWS_TUPLES)  # type: ignore[no-any-return]

    claim_collect = claim

    def claim_one(self, ticket: Ticket, *, as_dict: bool = False) -> Any:
        """The first row of the ticket's request, or None."""
        return self._claim(ticket, _FIRST_DICT if as_dict else _FIRST_TUPLE)

    def claim_drop(self, ticket: Ticket) -> None:
        """Reads the ticket's reply and drops its rows."""
        self._claim(ticket, _DROP)

    def pending_count(self) -> int:
        """Tickets issued and not yet claimed."""
        conn = self._conn
        if self._state != "open":
            return 0
        return max(0, conn._lib.conn_pipeline_status(conn._h)) // 2

    def is_aborted(self) -> bool:
        """True after a failed request, until its Sync segment has been read past."""
        conn = self._conn
        if self._state != "open":
            return False
        return conn._lib.conn_pipeline_status(conn._h) % 2 == 1


class NamedPortal:
    """A portal made by ``Transaction.exec_portal``: it reads its rows a slice at a time
    and lives until it is closed or its transaction ends. Several may be read in turn."""

    __slots__ = ("_conn", "_id", "_complete")

    def __init__(self) -> None:
        raise TypeError("NamedPortal objects are created by Transaction.exec_portal()")

    @classmethod
    def _new(cls, conn: Conn, portal_id: int) -> NamedPortal:
        self = object.__new__(cls)
        self._conn: Conn | None = conn
        self._id = portal_id
        self._complete = False
        return self

    def exec_collect(self, max_rows: int, *, as_dict: bool = False) -> list[Any]:
        """Up to ``max_rows`` more rows (0: all that are left); ``is_complete()`` tells
        whether any remain."""
        conn = self._conn
        if conn is None:
            raise IncorrectApiUsageError("this portal is closed")
        _check_rows_arg(max_rows)
        mode = _ROWS_DICTS if as_dict else _ROWS_TUPLES
        conn._take()
        try:
            rows = conn._call_rows(conn._lib.conn_named_portal_fetch, mode, self._id, max_rows, mode)
            self._complete = conn._out.value != 1
        finally:
            conn._give(None)
        return rows  # type: ignore[no-any-return]

    def is_complete(self) -> bool:
        """True once a call has read the portal's last row."""
        return self._complete

    def close(self) -> None:
        """Closes the portal on the server; later calls raise. Idempotent."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with conn._lock:
            status = conn._lib.conn_named_portal_close(conn._h, self._id)
            if status != _OK:
                conn._fail(status)


class Transaction(TransactionRules):
    """``with conn.tx() as tx:`` — BEGIN on entry; COMMIT on a clean exit, ROLLBACK when an
    exception leaves the block. ``commit()``/``rollback()`` end it early; after that the
    object is closed. A failed COMMIT raises (the work was rolled back by the server).
    Only one transaction may be open on a connection: a nested ``conn.tx()`` raises
    ``IncorrectApiUsageError`` instead of committing the outer work early.
    """

    __slots__ = ()

    def __enter__(self) -> Transaction:
        self._conn.query_drop(self._begin())
        self._opened()
        return self

    def commit(self) -> None:
        """Commits. Raises if the server refuses (the transaction is then rolled back) —
        including when an earlier statement failed, where the server silently turns
        COMMIT into ROLLBACK."""
        failed = self._ending()
        self._conn.query_drop("COMMIT")
        if failed:
            raise self._commit_failed()

    def rollback(self) -> None:
        self._ending()
        self._conn.query_drop("ROLLBACK")

    def exec_portal(self, query: StatementLike, params: Params = ()) -> NamedPortal:
        """A named portal over ``query`` inside this transaction; read it with
        ``exec_collect(n)``. Parameters are typed like ``exec``."""
        self._check_open()
        conn = self._conn
        sid, sql = conn._statement(query)
        portal_id = conn._bind(
            conn._lib.conn_named_portal_open, sid, sql, _encode_params(params),
            lambda needs: _encode_params(_dump_params(params, needs, conn._dumpers)),
        )
        return NamedPortal._new(conn, portal_id)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._state != "open":
            return
        if exc_type is None:
            self.commit()
        else:
            try:
                self.rollback()
            except Exception as rollback_error:  # the original exception matters more
                _log.warning("ROLLBACK after an exception failed: %s", rollback_error)
