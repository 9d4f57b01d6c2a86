"""The blocking API."""

from typing import Any, Callable, Iterable, Sequence, TypeAlias, TypeVar

from . import IsolationLevel, Opts, PreparedStatement, Ticket

__all__ = ["Conn", "NamedPortal", "Pipeline", "Transaction", "UnnamedPortal"]

T = TypeVar("T")

Params: TypeAlias = Sequence[Any] | Iterable[Any] | None
StatementLike: TypeAlias = str | PreparedStatement

class Conn:
    """A connection; ``Conn(url_or_opts)`` connects at once. Calls from several threads
    are serialised; the GIL is released while waiting for the server."""

    def __init__(self, url_or_opts: str | Opts) -> None: ...
    def query(self, sql: str, *, as_dict: bool = False) -> list[Any]:
        """Simple query (no parameters, several statements allowed): rows of every result
        set, as tuples or dicts."""
    def query_first(self, sql: str, *, as_dict: bool = False) -> Any:
        """The first row, or None."""
    def query_drop(self, sql: str) -> int:
        """The affected-row count of the last statement."""
    def prepare(self, sql: str) -> PreparedStatement: ...
    def prepare_batch(self, sqls: Sequence[str]) -> list[PreparedStatement]:
        """Prepares several statements in one round trip."""
    def exec(self, stmt: StatementLike, params: Params = (), *, as_dict: bool = False) -> list[Any]:
        """Extended query with parameters typed by the server; binary results."""
    def exec_first(self, stmt: StatementLike, params: Params = (), *, as_dict: bool = False) -> Any:
        """The first row, or None; the server stops after one row."""
    def exec_drop(self, stmt: StatementLike, params: Params = ()) -> int:
        """The affected-row count (rows returned for a SELECT)."""
    def exec_batch(self, stmt: StatementLike, params_list: Iterable[Sequence[Any]] = ()) -> None:
        """Executes the statement once per parameter set, pipelined in chunks of 1000."""
    def exec_iter(self, stmt: StatementLike, params: Params, callback: Callable[[UnnamedPortal], T]) -> T:
        """Streams the rows through ``callback(portal)``; ``portal.fetch(n)`` reads a slice."""
    def tx(self, isolation_level: IsolationLevel | None = None, readonly: bool | None = None) -> Transaction: ...
    def pipeline(self) -> Pipeline: ...
    def register_type(
        self,
        name_or_oid: str | int,
        *,
        loads: Callable[[str], Any] | None = None,
        dumps: Callable[[Any], str] | None = None,
        factory: Callable[..., Any] | None = None,
    ) -> None:
        """Registers a type on this connection only (name resolved on the server, or an
        OID): ``loads(text)`` for its results (arrays follow), ``dumps(value) -> str`` for
        its parameters; without ``loads``, enums stay ``str`` (arrays: lists of str),
        composites become tuples (or ``factory(*fields)``), ``hstore`` a dict."""
    def ping(self) -> None: ...
    def set_notice_handler(self, handler: Callable[[dict[str, str]], object] | None) -> None:
        """Calls ``handler(fields)`` for each server NOTICE/WARNING instead of logging it."""
    def id(self) -> int:
        """The server process id of this session."""
    def server_version(self) -> str: ...
    def is_closed(self) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Conn: ...
    def __exit__(self, *exc: object) -> None: ...

class UnnamedPortal:
    """The open portal an ``exec_iter`` callback reads from."""

    def fetch(self, max_rows: int, *, as_dict: bool = False) -> tuple[list[Any], bool]:
        """Up to ``max_rows`` more rows (0: all that are left) and whether more remain."""

class Pipeline:
    """``with conn.pipeline() as p:``: requests buffered, replies claimed in order."""

    def __init__(self, conn: Conn) -> None: ...
    def __enter__(self) -> Pipeline: ...
    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...
    def exec(self, stmt: StatementLike, params: Params = ()) -> Ticket: ...
    def execute(self, stmt: StatementLike, params: Params = ()) -> Ticket: ...
    def sync(self) -> None: ...
    def flush(self) -> None: ...
    def claim(self, ticket: Ticket, *, as_dict: bool = False) -> list[Any]: ...
    def claim_collect(self, ticket: Ticket, *, as_dict: bool = False) -> list[Any]: ...
    def claim_one(self, ticket: Ticket, *, as_dict: bool = False) -> Any: ...
    def claim_drop(self, ticket: Ticket) -> None: ...
    def pending_count(self) -> int: ...
    def is_aborted(self) -> bool: ...

class NamedPortal:
    """A portal of ``Transaction.exec_portal``, read a slice at a time."""

    def exec_collect(self, max_rows: int, *, as_dict: bool = False) -> list[Any]:
        """Up to ``max_rows`` more rows (0: the rest)."""
    def is_complete(self) -> bool: ...
    def close(self) -> None: ...

class Transaction:
    """``with conn.tx():`` — commit on a clean exit, rollback on an exception."""

    def __init__(self, conn: Conn, isolation_level: IsolationLevel | None, readonly: bool | None) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def exec_portal(self, query: StatementLike, params: Params = ()) -> NamedPortal:
        """A named portal over ``query`` inside this transaction."""
    def __enter__(self) -> Transaction: ...
    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...
