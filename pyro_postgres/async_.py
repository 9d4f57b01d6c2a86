"""The asyncio API: ``await Conn.new(url_or_opts)``.

The event loop owns the socket; the Rust library is the same sans-I/O engine the sync API
drives, fed the bytes the loop reads: every call returns at once with the bytes to send
and whether it needs input, so no thread is involved and nothing blocks the loop.
Requests are built and results interpreted exactly as in ``pyro_postgres.sync``.

Calls on one connection are queued in order (an ``asyncio.Lock``): ``asyncio.gather`` of
several queries on one connection runs them one after another, never interleaved.
Cancelling a call half-way (``task.cancel()``, ``asyncio.wait_for``, a call's ``timeout=``)
sends the server a CancelRequest and reads the rest of the statement's replies, so the
connection stays in step and usable; if that fails within ten seconds it is closed.
"""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import marshal
import pickle
import socket
import sys
from asyncio import get_running_loop as _running_loop
from collections import deque
import weakref
from typing import Any, Callable, Sequence, Union

from . import _ffi, _registry, _typereg
from ._logging import log_notices
from ._opts import Opts
from ._params import encode as _encode_params
from ._params import check_max_rows
from ._params import encode_batch as _encode_batch
from ._params import again as _params_again
from ._params import dump as _dump_params
from ._params import dump_batch as _dump_batch
from ._types import IsolationLevel, PreparedStatement, Ticket
from ._transaction import TransactionRules
from ._types import statement_args
from .error import (
    ConnectionClosedError,
    Error,
    IncorrectApiUsageError,
)

__all__ = ["Conn", "NamedPortal", "Opts", "Pipeline", "Transaction", "UnnamedPortal"]


async def _exit_guard(wire: _Wire) -> Any:
    """Closes the transport when the event loop shuts down (``asyncio.run`` closes every
    live async generator first), so a connection left open at exit leaves no unclosed
    transport behind."""
    try:
        yield
    finally:
        transport = wire.transport
        if transport is not None and not transport.is_closing():
            transport.close()


class _Wire(asyncio.Protocol):
    """The socket's end in the event loop: every chunk that arrives goes straight to the
    engine in one call, the bytes it answers with go straight out, and the call waiting
    for the reply is woken only when the engine needs no more input."""

    __slots__ = ("conn", "transport", "waiter", "lost", "status")

    def __init__(self) -> None:
        self.conn: Conn | None = None
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.lost: BaseException | None = None
        # The engine's answer to the last chunk fed, kept for a call whose waiter was
        # cancelled in the meantime.
        self.status = _NEED_IO

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        conn = self.conn
        if conn is None:
            return
        status = conn._lib.conn_feed(conn._h, data, len(data))
        self.status = status
        conn._flush_send()
        waiter = self.waiter
        if status != _NEED_IO and waiter is not None and not waiter.done():
            waiter.set_result(status)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc or ConnectionClosedError("the server closed the connection")
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionClosedError(f"the connection was lost: {self.lost}"))

Params = Union[Sequence[Any], None]
StatementLike = Union[str, PreparedStatement]

_read_out = _ffi.read_out
_NeedsDump = _ffi.NeedsDump
_NeedsTypes = _ffi.NeedsTypes
_string_at = _ffi._string_at
_loads = pickle.loads
_mloads = marshal.loads
_OK = _ffi.OK
_OK_MARSHAL = _ffi.OK_MARSHAL
_OK_PARTIAL = _ffi.OK_PARTIAL
_OK_LARGE = _ffi.OK_LARGE
_OK_WITH_NOTICES = _ffi.OK_WITH_NOTICES
_NEED_IO = _ffi.NEED_IO
_DROP = _ffi.DROP
_ROWS_TUPLES = _ffi.ROWS_TUPLES
_FIRST_TUPLE = _ffi.FIRST_TUPLE
_dumps = marshal.dumps
# Nothing was sent: the general path looks the types up or runs the dumpers, then retries.
_RETRIED = (_NeedsTypes, _NeedsDump)


class Conn:
    """An asyncio connection. Create it with ``await Conn.new(url_or_opts)``."""

    __slots__ = ("_handle", "_h", "_out", "_buf", "_lib", "_busy", "_waiters", "_wire", "_finalizer",
                 "_info", "_tx", "_loop", "_owner", "_guard", "_cancel_target", "_dumpers", "_user_types",
                 "__weakref__")
    _handle: _ffi.Handle
    _h: int
    _out: _ffi.PyroOut
    _buf: bytearray
    _lib: Any
    _busy: bool
    _waiters: deque[asyncio.Future[None]]
    _wire: _Wire
    _finalizer: weakref.finalize
    _info: dict[str, Any] | None
    _tx: Transaction | None
    _loop: asyncio.AbstractEventLoop
    _owner: asyncio.Task[Any] | None
    _guard: Any
    _cancel_target: tuple[str, Any, Any]
    _dumpers: dict[int, Callable[[Any], str]]
    _user_types: set[int]

    def __init__(self) -> None:
        raise IncorrectApiUsageError("use `await Conn.new(url)` instead of `Conn()`")

    @classmethod
    async def new(cls, url_or_opts: str | Opts) -> Conn:
        """Connects (TCP or the unix socket given by ``socket``) and logs in."""
        if isinstance(url_or_opts, str):
            opts = Opts(url_or_opts)
        elif isinstance(url_or_opts, Opts):
            opts = url_or_opts
        else:
            raise IncorrectApiUsageError("Conn.new() takes a connection URL string or an Opts object")
        if opts._ssl_mode in ("require", "verify-ca", "verify-full"):
            from .error import NotSupportedError

            raise NotSupportedError(
                f"sslmode={opts._ssl_mode} needs TLS, which this build of pyro_postgres does not support yet"
            )
        opts._to_ffi()  # refuses bad options before a handle exists
        self = object.__new__(cls)
        self._loop = asyncio.get_running_loop()
        handle = _ffi.Handle()
        raw, self._dumpers = opts._connect_args(handle)
        self._user_types = set()
        self._handle = handle
        self._lib = handle.lib
        self._h = handle.h
        self._out = handle.out
        self._buf = handle.buf
        self._busy = False
        self._waiters = deque()
        self._info = None
        self._tx = None
        self._owner = None
        self._finalizer = weakref.finalize(self, handle.free)
        loop = self._loop
        try:
            timeout = opts._connect_timeout
            if opts._socket:
                opening = loop.create_unix_connection(_Wire, opts._socket)
            else:
                opening = loop.create_connection(_Wire, opts._host, opts._port)
            transport, wire = await asyncio.wait_for(opening, timeout)
        except (OSError, asyncio.TimeoutError) as e:
            self._finalizer()
            from .error import TransportError

            where = opts._socket or f"{opts._host}:{opts._port}"
            raise TransportError(f"cannot connect to {where}: {e}") from None
        self._wire = wire
        self._cancel_target = ("unix", opts._socket, None) if opts._socket else ("tcp", opts._host, opts._port)
        self._guard = _exit_guard(wire)
        await self._guard.__anext__()
        if opts._socket:
            endpoint, tcp = opts._socket, 0
        else:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer = transport.get_extra_info("peername")
            host = f"[{peer[0]}]" if ":" in peer[0] else peer[0]
            endpoint, tcp = f"{host}:{peer[1]}", 1
        ep = endpoint.encode()
        try:
            status = self._lib.conn_connect_fed(self._h, raw, len(raw), ep, len(ep), tcp)
            wire.conn = self
            await self._complete(status, _DROP)
        except BaseException:
            transport.close()
            self._finalizer()
            raise
        if tcp and opts._upgrade_to_unix_socket and ipaddress.ip_address(peer[0].split("%")[0]).is_loopback:
            return await self._upgraded(opts, peer[1])
        return self

    async def _upgraded(self, opts: Opts, port: int) -> Conn:
        """The unix-socket upgrade (see the README): ask the server where its socket is and
        log in there; on any failure keep this TCP session, which stays in step."""
        try:
            dirs = (await self.query_first("SHOW unix_socket_directories"))[0]
            directory = next(d.strip() for d in dirs.split(",") if d.strip() and not d.strip().startswith("@"))
            unix_opts = opts._copy()
            unix_opts._socket = f"{directory.rstrip('/')}/.s.PGSQL.{port}"
            unix_opts._upgrade_to_unix_socket = False
            other = await Conn.new(unix_opts)
        except (Exception, StopIteration):
            return self
        await self.close()
        return other

    # -- plumbing -------------------------------------------------------------------

    def _flush_send(self) -> None:
        """Writes what the engine asked to send, once (the out area is marked sent)."""
        out = self._out
        n = out.send_len
        if n:
            out.send_len = 0
            transport = self._wire.transport
            if transport is not None:
                transport.write(_string_at(out.send_data, n))

    async def _drive(self, status: int) -> int:
        """Sends what a started call asks for and waits until the engine, fed by the
        protocol, needs no more input."""
        self._flush_send()
        wire = self._wire
        while status == _NEED_IO:
            if wire.lost is not None:
                self._break()
                raise ConnectionClosedError(f"the connection was lost: {wire.lost}")
            waiter = self._loop.create_future()
            wire.waiter = waiter
            wire.status = _NEED_IO
            try:
                status = await waiter
            except asyncio.CancelledError:
                wire.waiter = None
                await self._cancel_and_drain()
                raise
            except ConnectionClosedError:
                self._break()
                raise
            finally:
                wire.waiter = None
        return status

    async def _cancel_and_drain(self) -> None:
        """The waiting call was cancelled: ask the server to cancel the statement (a
        CancelRequest over a connection of its own), then read the rest of the replies
        and drop them, so the connection stays in step and usable. If that fails or takes
        over ten seconds, the connection is closed instead."""
        try:
            await asyncio.wait_for(self._cancel_then_read_to_end(), 10)
        except BaseException:
            self._break()

    async def _cancel_then_read_to_end(self) -> None:
        wire = self._wire
        status = wire.status
        if status == _NEED_IO:
            if self._lib.conn_cancel_message(self._h) != _OK:
                raise ConnectionClosedError("no cancel key")
            message = _string_at(self._out.data, self._out.len)
            kind, where, port = self._cancel_target
            if kind == "unix":
                reader, writer = await asyncio.open_unix_connection(where)
            else:
                reader, writer = await asyncio.open_connection(where, port)
            writer.write(message)
            await writer.drain()
            await reader.read()  # the server closes it once the request is handled
            writer.close()
            # Replies may have arrived meanwhile, with no call waiting for them.
            status = wire.status
        while True:
            while status == _NEED_IO:
                if wire.lost is not None:
                    raise ConnectionClosedError("the connection was lost")
                waiter = self._loop.create_future()
                wire.waiter = waiter
                try:
                    status = await waiter
                finally:
                    wire.waiter = None
            if status != _OK_PARTIAL:
                return
            status = self._lib.conn_resume(self._h)
            self._flush_send()

    def _break(self) -> None:
        """The replies can no longer be matched: close the session."""
        self._lib.conn_close(self._h)
        transport = self._wire.transport
        if transport is not None:
            transport.close()

    async def _complete(self, status: int, mode: int) -> Any:
        """The result of a started call: rows, a count, or an exception."""
        out = self._out
        rows: Any = None
        while True:
            if status == _NEED_IO:
                status = await self._drive(status)
            else:
                self._flush_send()
            if status != _OK_PARTIAL:
                break
            try:
                part = _read_out(out)
            except BaseException:
                # A callable of the connection (a JSON loads, a type loader) raised.
                await self._drop_rest()
                raise
            if rows is None:
                rows = part
            else:
                rows += part
            status = self._lib.conn_resume(self._h)
        if status == _OK_MARSHAL:
            result = _mloads(self._buf)
        elif status == _OK:
            result = (_loads(self._buf) if out.has_data else out.value) if mode != _DROP else out.value
        elif status in (_OK_LARGE, _OK_WITH_NOTICES):
            result = _read_out(out) if out.has_data else out.value
            if status == _OK_WITH_NOTICES:
                log_notices(self)
        else:
            _ffi.raise_status(status, out)
        if rows is not None:
            rows += result
            return rows
        return result

    async def _drop_rest(self) -> None:
        """After a chunk of rows could not be read: reads the rest of the operation's
        replies and drops them, so the connection stays in step."""
        status = _OK_PARTIAL
        while status == _OK_PARTIAL:
            status = self._lib.conn_resume(self._h)
            if status == _NEED_IO:
                status = await self._drive(status)
            else:
                self._flush_send()

    def _check_loop(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise IncorrectApiUsageError("this connection belongs to another event loop")

    # One call at a time per connection. A call takes the connection's turn (at once when
    # it is free, else in arrival order) and gives it to the next waiting call when done.
    # This is asyncio.Lock's job, done without its per-call coroutines; `_owner` is the
    # task inside an exec_iter callback, whose own calls would otherwise wait on itself.

    async def _call(self, mode: int, fn: Any, *args: Any, timeout: float | None = None) -> Any:
        if timeout is not None:
            return await asyncio.wait_for(self._call(mode, fn, *args), timeout)
        if _running_loop() is not self._loop:
            raise IncorrectApiUsageError("this connection belongs to another event loop")
        if self._busy:
            await self._take_turn()
        else:
            self._busy = True
        try:
            # The common case inline (each extra coroutine layer costs on every resume);
            # chunked results, notices, large results and errors go to _complete.
            status = fn(self._h, *args)
            out = self._out
            if status == _NEED_IO:
                status = await self._drive(status)
            elif out.send_len:
                self._flush_send()
            if status == _OK_MARSHAL:
                return _mloads(self._buf)
            if status == _OK:
                return _loads(self._buf) if mode != _DROP else out.value
            return await self._complete(status, mode)
        finally:
            self._give_turn()

    async def _exec_call(self, mode: int, call: bytes) -> Any:
        """``_call`` for the library's conn_exec_call (a prepared statement, everything in
        ``call``): the same steps, without the star-call (measurably cheaper per call)."""
        if _running_loop() is not self._loop:
            raise IncorrectApiUsageError("this connection belongs to another event loop")
        if self._busy:
            await self._take_turn()
        else:
            self._busy = True
        try:
            status = self._lib.conn_exec_call(call, len(call))
            if status < 0:  # exec_drop's success: -1 - the affected-row count
                return -1 - status
            out = self._out
            if status == _NEED_IO:
                status = await self._drive(status)
            elif out.send_len:
                self._flush_send()
            if status == _OK_MARSHAL:
                return _mloads(self._buf)
            if status == _OK:
                return _loads(self._buf) if mode != _DROP else out.value
            return await self._complete(status, mode)
        finally:
            self._give_turn()

    async def _take_turn(self) -> None:
        if self._owner is not None and self._owner is asyncio.current_task():
            raise IncorrectApiUsageError(
                "this connection is busy in an exec_iter callback of this task: use the portal, "
                "or another connection"
            )
        waiter = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._give_turn()  # handed the turn while being cancelled: pass it on
            else:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
            raise

    def _give_turn(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the turn passes on; the connection stays busy
                return
        self._busy = False

    def _exclusive(self) -> _Turn:
        """The connection's turn, as an ``async with`` block."""
        self._check_loop()
        return _Turn(self)

    def _statement(self, stmt: StatementLike) -> tuple[int, bytes]:
        return statement_args(stmt, self._handle)

    # Notice handling shared with the sync API expects these two attributes.
    @property
    def _notice_handler(self) -> None:
        return None

    # -- queries --------------------------------------------------------------------

    # Every call takes ``timeout=`` (seconds): when it expires the statement is cancelled
    # on the server, the connection stays usable, and asyncio.TimeoutError is raised;
    # cancelling the calling task does the same.

    async def _query(self, sql: str, mode: int, timeout: float | None) -> Any:
        if not isinstance(sql, str):
            raise IncorrectApiUsageError(f"the SQL must be a str, not {type(sql).__name__}")
        raw = sql.encode()
        return await self._call(mode, self._lib.conn_query, raw, len(raw), mode, timeout=timeout)

    async def query(self, sql: str, *, as_dict: bool = False, timeout: float | None = None) -> list[Any]:
        """Simple query: rows of every result set (see ``sync.Conn.query``)."""
        return await self._query(sql, _ffi.ROWS_DICTS if as_dict else _ffi.ROWS_TUPLES, timeout)  # type: ignore[no-any-return]

    async def query_first(self, sql: str, *, as_dict: bool = False, timeout: float | None = None) -> Any:
        return await self._query(sql, _ffi.FIRST_DICT if as_dict else _ffi.FIRST_TUPLE, timeout)

    async def query_drop(self, sql: str, *, timeout: float | None = None) -> int:
        return await self._query(sql, _DROP, timeout)  # type: ignore[no-any-return]

    async def exec(
        self, stmt: StatementLike, params: Params = (), *, as_dict: bool = False, timeout: float | None = None
    ) -> list[Any]:
        """Extended query with parameters typed by the server (see ``sync.Conn.exec``)."""
        if (
            stmt.__class__ is PreparedStatement and stmt._owner is self._handle  # type: ignore[union-attr]
            and params.__class__ is tuple and not as_dict and timeout is None
        ):
            try:
                call = stmt._call_rows + _dumps(params, 2)  # type: ignore[union-attr]
            except ValueError:
                call = stmt._call_rows + _encode_params(params)  # type: ignore[union-attr]
            try:
                return await self._exec_call(_ROWS_TUPLES, call)  # type: ignore[no-any-return]
            except _RETRIED:
                pass  # the general path below looks the types up / runs the dumpers
        sid, sql = self._statement(stmt)
        p = _encode_params(params)
        mode = _ffi.ROWS_DICTS if as_dict else _ffi.ROWS_TUPLES
        try:
            return await self._call(mode, self._lib.conn_exec, sid, sql, len(sql), p, len(p), mode, timeout=timeout)  # type: ignore[no-any-return]
        except _NeedsTypes as e:
            await self._introspect(e.oids)
            return await self.exec(stmt, _params_again(params), as_dict=as_dict, timeout=timeout)
        except _NeedsDump as e:
            p = _encode_params(_dump_params(params, e.needs, self._dumpers))
            return await self._call(mode, self._lib.conn_exec, sid, sql, len(sql), p, len(p), mode, timeout=timeout)  # type: ignore[no-any-return]

    async def exec_first(
        self, stmt: StatementLike, params: Params = (), *, as_dict: bool = False, timeout: float | None = None
    ) -> Any:
        if (
            stmt.__class__ is PreparedStatement and stmt._owner is self._handle  # type: ignore[union-attr]
            and params.__class__ is tuple and not as_dict and timeout is None
        ):
            try:
                call = stmt._call_first + _dumps(params, 2)  # type: ignore[union-attr]
            except ValueError:
                call = stmt._call_first + _encode_params(params)  # type: ignore[union-attr]
            try:
                return await self._exec_call(_FIRST_TUPLE, call)
            except _RETRIED:
                pass
        sid, sql = self._statement(stmt)
        p = _encode_params(params)
        mode = _ffi.FIRST_DICT if as_dict else _ffi.FIRST_TUPLE
        try:
            return await self._call(mode, self._lib.conn_exec, sid, sql, len(sql), p, len(p), mode, timeout=timeout)
        except _NeedsTypes as e:
            await self._introspect(e.oids)
            return await self.exec_first(stmt, _params_again(params), as_dict=as_dict, timeout=timeout)
        except _NeedsDump as e:
            p = _encode_params(_dump_params(params, e.needs, self._dumpers))
            return await self._call(mode, self._lib.conn_exec, sid, sql, len(sql), p, len(p), mode, timeout=timeout)

    async def exec_drop(self, stmt: StatementLike, params: Params = (), *, timeout: float | None = None) -> int:
        if (
            stmt.__class__ is PreparedStatement and stmt._owner is self._handle  # type: ignore[union-attr]
            and params.__class__ is tuple and timeout is None
        ):
            try:
                call = stmt._call_drop + _dumps(params, 2)  # type: ignore[union-attr]
            except ValueError:
                call = stmt._call_drop + _encode_params(params)  # type: ignore[union-attr]
            try:
                return await self._exec_call(_DROP, call)  # type: ignore[no-any-return]
            except _RETRIED:
                pass
        sid, sql = self._statement(stmt)
        p = _encode_params(params)
        try:
            return await self._call(_DROP, self._lib.conn_exec, sid, sql, len(sql), p, len(p), _DROP, timeout=timeout)  # type: ignore[no-any-return]
        except _NeedsTypes as e:
            await self._introspect(e.oids)
            return await self.exec_drop(stmt, _params_again(params), timeout=timeout)
        except _NeedsDump as e:
            p = _encode_params(_dump_params(params, e.needs, self._dumpers))
            return await self._call(_DROP, self._lib.conn_exec, sid, sql, len(sql), p, len(p), _DROP, timeout=timeout)  # type: ignore[no-any-return]

    async def exec_batch(
        self, stmt: StatementLike, params_list: Sequence[Sequence[Any]] = (), *, timeout: float | None = None
    ) -> None:
        """Many parameter sets, pipelined (see ``sync.Conn.exec_batch``)."""
        if self._dumpers and type(params_list) is not list:
            params_list = list(params_list)  # read again if a dumper must run
        raw, count = _encode_batch(params_list)
        if count == 0:
            return
        sid, sql = self._statement(stmt)
        try:
            try:
                await self._call(_DROP, self._lib.conn_exec_batch, sid, sql, len(sql), raw, len(raw), timeout=timeout)
            except _NeedsTypes as e:
                await self._introspect(e.oids)
                await self._call(_DROP, self._lib.conn_exec_batch, sid, sql, len(sql), raw, len(raw), timeout=timeout)
        except _NeedsDump as e:
            raw, count = _encode_batch(_dump_batch(list(params_list), e.needs, self._dumpers))
            await self._call(_DROP, self._lib.conn_exec_batch, sid, sql, len(sql), raw, len(raw), timeout=timeout)

    async def prepare(self, sql: str, *, timeout: float | None = None) -> PreparedStatement:
        return (await self.prepare_batch([sql], timeout=timeout))[0]

    async def prepare_batch(self, sqls: Sequence[str], *, timeout: float | None = None) -> list[PreparedStatement]:
        if isinstance(sqls, str):
            raise IncorrectApiUsageError("prepare_batch() takes a list of SQL strings, not one str")
        texts = list(sqls)
        for s in texts:
            if not isinstance(s, str):
                raise IncorrectApiUsageError(f"prepare_batch() takes SQL strings, not {type(s).__name__}")
            if "\0" in s:
                raise IncorrectApiUsageError("the SQL text must not contain a NUL character")
        if not texts:
            return []
        raw = "\0".join(texts).encode()
        ids = await self._call(_ffi.ROWS_TUPLES, self._lib.conn_prepare, raw, len(raw), len(texts), timeout=timeout)
        return [PreparedStatement._new(i, s, self._handle, self._lib) for i, s in zip(ids, texts)]

    async def exec_iter(self, stmt: StatementLike, params: Params, callback: Callable[[UnnamedPortal], Any]) -> Any:
        """Binds ``stmt`` to a portal and calls ``callback(portal)``; the callback reads rows
        with ``await portal.fetch(n)``. An awaitable returned by the callback (an ``async
        def`` callback) is awaited. Other tasks' calls on this connection wait until it
        returns; the callback's own calls on it raise ``IncorrectApiUsageError``."""
        sid, sql = self._statement(stmt)
        p = _encode_params(params)
        async with self._exclusive():
            await self._bind_holding_turn(
                self._lib.conn_portal_open, sid, sql, p,
                lambda needs: _encode_params(_dump_params(params, needs, self._dumpers)),
            )
            portal = UnnamedPortal._new(self)
            self._owner = asyncio.current_task()
            try:
                result = callback(portal)
                if inspect.isawaitable(result):
                    result = await result
                return result
            finally:
                self._owner = None
                portal._conn = None
                if not self.is_closed():
                    status = self._lib.conn_portal_close(self._h)
                    try:
                        await self._complete(status, _DROP)
                    except Exception:
                        if sys.exc_info()[0] is None:
                            raise

    async def _introspect(self, oids: list[int]) -> None:
        """After ``NeedsTypes``: see ``sync.Conn._introspect``."""
        async with self._exclusive():
            await self._introspect_holding_turn(oids)

    async def _bind_holding_turn(
        self, fn: Any, sid: int, sql: bytes, p: bytes, redump: Callable[[Any], bytes]
    ) -> int:
        """``sync.Conn._bind`` for a caller that holds the connection's turn."""
        for _ in range(2):
            try:
                await self._complete(fn(self._h, sid, sql, len(sql), p, len(p)), _DROP)
                return self._out.value
            except _NeedsTypes as e:
                await self._introspect_holding_turn(e.oids)
            except _NeedsDump as e:
                p = redump(e.needs)
        await self._complete(fn(self._h, sid, sql, len(sql), p, len(p)), _DROP)
        return self._out.value

    async def _introspect_holding_turn(self, oids: list[int]) -> None:
        """``_introspect`` for a caller that already holds the connection's turn (the
        connection is idle: the reporting call sent nothing)."""
        lib, h = self._lib, self._h
        sql = _typereg.INTROSPECT.encode()
        p = _encode_params((oids,))
        try:
            rows = await self._complete(lib.conn_exec(h, 0, sql, len(sql), p, len(p), _ffi.ROWS_TUPLES), _ffi.ROWS_TUPLES)
        except Error:
            rows = []  # an aborted transaction: the retry reports the real error
        for spec in _typereg.automatic_specs(rows, self._user_types):
            await self._complete(lib.conn_register_type(h, spec, len(spec)), _DROP)
        done = marshal.dumps(oids, 2)
        await self._complete(lib.conn_types_introspected(h, done, len(done)), _DROP)

    async def register_type(
        self,
        name_or_oid: str | int,
        *,
        loads: Callable[[str], Any] | None = None,
        dumps: Callable[[Any], str] | None = None,
        factory: Callable[..., Any] | None = None,
    ) -> None:
        """Registers a PostgreSQL type on this connection only (see ``sync.Conn.register_type``)."""
        sql, params = _typereg.lookup(name_or_oid)
        plan = _typereg.plan(name_or_oid, await self.exec_first(sql, params), loads, dumps, factory)
        if plan.result_callable is not None:
            _registry.put(self._handle.registry_key, plan.oid, plan.result_callable)
        await self._call(_DROP, self._lib.conn_register_type, plan.spec, len(plan.spec))
        self._user_types.add(plan.oid)
        if plan.dumps is not None:
            self._dumpers[plan.oid] = plan.dumps
        else:
            self._dumpers.pop(plan.oid, None)

    def pipeline(self) -> Pipeline:
        """A pipeline, to be used as ``async with conn.pipeline() as p:``."""
        return Pipeline(self)

    def tx(self, isolation_level: IsolationLevel | None = None, readonly: bool | None = None) -> Transaction:
        """A transaction, to be used as ``async with conn.tx():``."""
        return Transaction(self, isolation_level, readonly)

    # -- session --------------------------------------------------------------------

    async def ping(self, *, timeout: float | None = None) -> None:
        await self._call(_DROP, self._lib.conn_ping, timeout=timeout)

    def _session_info(self) -> dict[str, Any]:
        status = self._lib.conn_info(self._h)
        if status != _OK:
            _ffi.raise_status(status, self._out)
        return _read_out(self._out)  # type: ignore[no-any-return]

    def _cached_info(self) -> dict[str, Any]:
        if self._info is None:
            info = self._session_info()
            if "closed" in info:
                raise ConnectionClosedError(info["closed"])
            self._info = info
        return self._info

    async def id(self) -> int:
        """The server process id of this session."""
        return self._cached_info()["pid"]  # type: ignore[no-any-return]

    async def server_version(self) -> str:
        return self._cached_info()["parameters"].get("server_version", "")  # type: ignore[no-any-return]

    def _transaction_status(self) -> str:
        code = self._lib.conn_transaction_status(self._h)
        return chr(code) if code > 0 else "?"

    def is_closed(self) -> bool:
        return self._lib.conn_is_open(self._h) != 1

    async def close(self) -> None:
        """Sends Terminate and closes the socket. Idempotent."""
        transport = self._wire.transport
        if self._lib.conn_is_open(self._h) == 1 and transport is not None:
            transport.write(b"X\x00\x00\x00\x04")
        self._lib.conn_close(self._h)
        self._wire.conn = None
        if transport is not None:
            transport.close()

    async def __aenter__(self) -> Conn:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Turn:
    __slots__ = ("_conn",)

    def __init__(self, conn: Conn) -> None:
        self._conn = conn

    async def __aenter__(self) -> None:
        conn = self._conn
        if conn._busy:
            await conn._take_turn()
        else:
            conn._busy = True

    async def __aexit__(self, *exc: object) -> None:
        self._conn._give_turn()


class UnnamedPortal:
    """The open portal an ``exec_iter`` callback reads from; ``fetch`` is a coroutine."""

    __slots__ = ("_conn",)
    _conn: Conn | None

    def __init__(self) -> None:
        raise TypeError("UnnamedPortal objects are passed to exec_iter callbacks")

    @classmethod
    def _new(cls, conn: Conn) -> UnnamedPortal:
        self = object.__new__(cls)
        self._conn = conn
        return self

    async def fetch(self, max_rows: int, *, as_dict: bool = False) -> tuple[list[Any], bool]:
        """Up to ``max_rows`` more rows (0: all that are left) and whether more remain."""
        conn = self._conn
        if conn is None:
            raise IncorrectApiUsageError("this portal is closed: use it only inside its exec_iter callback")
        check_max_rows(max_rows)
        mode = _ffi.ROWS_DICTS if as_dict else _ffi.ROWS_TUPLES
        rows = await conn._complete(conn._lib.conn_portal_fetch(conn._h, max_rows, mode), mode)
        return rows, conn._out.value == 1


class NamedPortal:
    """A portal of ``Transaction.exec_portal`` (see ``sync.NamedPortal``); ``exec_collect``
    and ``close`` are coroutines."""

    __slots__ = ("_conn", "_id", "_complete")
    _conn: Conn | None
    _id: int
    _complete: bool

    def __init__(self) -> None:
        raise TypeError("NamedPortal objects are created by Transaction.exec_portal()")

    @classmethod
    def _new(cls, conn: Conn, portal_id: int) -> NamedPortal:
        self = object.__new__(cls)
        self._conn = conn
        self._id = portal_id
        self._complete = False
        return self

    async def exec_collect(self, max_rows: int, *, as_dict: bool = False, timeout: float | None = None) -> list[Any]:
        """Up to ``max_rows`` more rows (0: the rest)."""
        if timeout is not None:
            return await asyncio.wait_for(self.exec_collect(max_rows, as_dict=as_dict), timeout)
        conn = self._conn
        if conn is None:
            raise IncorrectApiUsageError("this portal is closed")
        check_max_rows(max_rows)
        mode = _ffi.ROWS_DICTS if as_dict else _ffi.ROWS_TUPLES
        async with conn._exclusive():
            rows = await conn._complete(conn._lib.conn_named_portal_fetch(conn._h, self._id, max_rows, mode), mode)
            self._complete = conn._out.value != 1
        return rows  # type: ignore[no-any-return]

    def is_complete(self) -> bool:
        return self._complete

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn._call(_DROP, conn._lib.conn_named_portal_close, self._id)


class Pipeline:
    """``async with conn.pipeline() as p:`` (see ``sync.Pipeline``). ``exec``/``execute``
    buffer and return a ``Ticket`` at once; ``sync``, ``flush`` and the claims are
    coroutines."""

    __slots__ = ("_conn", "_state")

    def __init__(self, conn: Conn) -> None:
        self._conn = conn
        self._state = "new"

    async def __aenter__(self) -> Pipeline:
        if self._state == "open":
            raise IncorrectApiUsageError("this pipeline is already open")
        await self._conn._call(_DROP, self._conn._lib.conn_pipeline_begin)
        self._state = "open"
        return self

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._state != "open":
            return
        self._state = "closed"
        conn = self._conn
        try:
            await conn._call(_DROP, conn._lib.conn_pipeline_end)
        except Exception:
            if exc_type is None:
                raise

    def _open_conn(self) -> Conn:
        if self._state != "open":
            raise IncorrectApiUsageError("the pipeline is not open: use it inside `async with conn.pipeline() as p:`")
        return self._conn

    def exec(self, stmt: StatementLike, params: Params = ()) -> Ticket:
        """Buffers a request (nothing is sent) and returns its ticket."""
        conn = self._open_conn()
        sid, sql = conn._statement(stmt)
        p = _encode_params(params)
        status = conn._lib.conn_pipeline_exec(conn._h, sid, sql, len(sql), p, len(p))
        if status != _OK:
            try:
                _ffi.raise_status(status, conn._out)
            except _NeedsDump as e:
                p = _encode_params(_dump_params(params, e.needs, conn._dumpers))
                status = conn._lib.conn_pipeline_exec(conn._h, sid, sql, len(sql), p, len(p))
                if status != _OK:
                    _ffi.raise_status(status, conn._out)
        ticket = object.__new__(Ticket)
        ticket._seq = conn._out.value
        ticket._pipeline = self
        return ticket

    execute = exec

    async def sync(self, *, timeout: float | None = None) -> None:
        conn = self._open_conn()
        await conn._call(_DROP, conn._lib.conn_pipeline_send, 1, timeout=timeout)

    async def flush(self, *, timeout: float | None = None) -> None:
        conn = self._open_conn()
        await conn._call(_DROP, conn._lib.conn_pipeline_send, 0, timeout=timeout)

    async def _claim(self, ticket: Ticket, mode: int, timeout: float | None) -> Any:
        conn = self._open_conn()
        if not isinstance(ticket, Ticket) or ticket._pipeline is not self:
            raise IncorrectApiUsageError("this ticket was not issued by this pipeline")
        return await conn._call(mode, conn._lib.conn_pipeline_claim, ticket._seq, mode, timeout=timeout)

    async def claim(self, ticket: Ticket, *, as_dict: bool = False, timeout: float | None = None) -> list[Any]:
        return await self._claim(ticket, _ffi.ROWS_DICTS if as_dict else _ffi.ROWS_TUPLES, timeout)  # type: ignore[no-any-return]

    claim_collect = claim

    async def claim_one(self, ticket: Ticket, *, as_dict: bool = False, timeout: float | None = None) -> Any:
        return await self._claim(ticket, _ffi.FIRST_DICT if as_dict else _ffi.FIRST_TUPLE, timeout)

    async def claim_drop(self, ticket: Ticket, *, timeout: float | None = None) -> None:
        await self._claim(ticket, _DROP, timeout)

    def pending_count(self) -> int:
        if self._state != "open":
            return 0
        return max(0, self._conn._lib.conn_pipeline_status(self._conn._h)) // 2

    def is_aborted(self) -> bool:
        if self._state != "open":
            return False
        return self._conn._lib.conn_pipeline_status(self._conn._h) % 2 == 1


class Transaction(TransactionRules):
    """``async with conn.tx() as tx:`` — the same rules as ``sync.Transaction``."""

    __slots__ = ()
    _HOW = "async with conn.tx():"

    async def __aenter__(self) -> Transaction:
        await self._conn.query_drop(self._begin())
        self._opened()
        return self

    async def commit(self) -> None:
        failed = self._ending()
        await self._conn.query_drop("COMMIT")
        if failed:
            raise self._commit_failed()

    async def rollback(self) -> None:
        self._ending()
        await self._conn.query_drop("ROLLBACK")

    async def exec_portal(self, query: StatementLike, params: Params = ()) -> NamedPortal:
        """A named portal over ``query`` inside this transaction."""
        self._check_open()
        conn = self._conn
        sid, sql = conn._statement(query)
        p = _encode_params(params)
        async with conn._exclusive():
            portal_id = await conn._bind_holding_turn(
                conn._lib.conn_named_portal_open, sid, sql, p,
                lambda needs: _encode_params(_dump_params(params, needs, conn._dumpers)),
            )
        return NamedPortal._new(conn, portal_id)

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self._state != "open":
            return
        if exc_type is None:
            await self.commit()
        else:
            try:
                await self.rollback()
            except Exception:  # the original exception matters more
                pass
