"""Small public value types: IsolationLevel, PreparedStatement, Ticket, Json, Jsonb."""

from __future__ import annotations

import json
from typing import Any, ClassVar

_LEVELS = {
    "read uncommitted": "READ UNCOMMITTED",
    "read committed": "READ COMMITTED",
    "repeatable read": "REPEATABLE READ",
    "serializable": "SERIALIZABLE",
}
_NAMES = {
    "READ UNCOMMITTED": "ReadUncommitted",
    "READ COMMITTED": "ReadCommitted",
    "REPEATABLE READ": "RepeatableRead",
    "SERIALIZABLE": "Serializable",
}


def _normalise_level(text: str) -> str | None:
    key = " ".join(text.replace("_", " ").split()).lower()
    if key in _LEVELS:
        return _LEVELS[key]
    squashed = key.replace(" ", "")
    for k, v in _LEVELS.items():
        if k.replace(" ", "") == squashed:
            return v
    return None


class IsolationLevel:
    """A transaction isolation level: ``IsolationLevel.Serializable``, or parsed from text
    in any case, with spaces or underscores (``"repeatable_read"``, ``"READ COMMITTED"``)."""

    __slots__ = ("_sql",)
    _sql: str
    ReadUncommitted: ClassVar[IsolationLevel]
    ReadCommitted: ClassVar[IsolationLevel]
    RepeatableRead: ClassVar[IsolationLevel]
    Serializable: ClassVar[IsolationLevel]

    def __init__(self, level: str | IsolationLevel) -> None:
        if isinstance(level, IsolationLevel):
            self._sql = level._sql
            return
        if not isinstance(level, str):
            raise TypeError(f"IsolationLevel() takes a str, not {type(level).__name__}")
        sql = _normalise_level(level)
        if sql is None:
            raise ValueError(
                f"unknown isolation level {level!r}; use read uncommitted, read committed, "
                "repeatable read or serializable"
            )
        self._sql = sql

    def as_str(self) -> str:
        """The SQL spelling, e.g. ``"REPEATABLE READ"``."""
        return self._sql

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IsolationLevel):
            return self._sql == other._sql
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("IsolationLevel", self._sql))

    def __repr__(self) -> str:
        return f"IsolationLevel.{_NAMES[self._sql]}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (IsolationLevel, (self._sql,))


IsolationLevel.ReadUncommitted = IsolationLevel("read uncommitted")
IsolationLevel.ReadCommitted = IsolationLevel("read committed")
IsolationLevel.RepeatableRead = IsolationLevel("repeatable read")
IsolationLevel.Serializable = IsolationLevel("serializable")


class PreparedStatement:
    """A statement prepared on one connection by ``Conn.prepare``/``prepare_batch``.

    It is closed on the server when this object is garbage collected (the Close message
    travels with the connection's next request), so prepared statements never pile up.
    Using it on another connection raises ``IncorrectApiUsageError``.
    """

    __slots__ = ("_id", "_sql", "_owner", "_lib", "__weakref__")
    _id: int
    _sql: str
    _owner: Any
    _lib: Any

    def __init__(self) -> None:
        raise TypeError("PreparedStatement objects are created by Conn.prepare()")

    @classmethod
    def _new(cls, statement_id: int, sql: str, owner: Any, lib: Any) -> PreparedStatement:
        self = object.__new__(cls)
        self._id = statement_id
        self._sql = sql
        self._owner = owner  # the connection's Handle
        self._lib = lib
        return self

    @property
    def sql(self) -> str:
        return self._sql

    def __repr__(self) -> str:
        return f"PreparedStatement(sql={self._sql!r})"

    def __del__(self) -> None:
        owner = getattr(self, "_owner", None)
        if owner is not None and owner.h:
            try:
                self._lib.conn_release_statement(owner.h, self._id)
            except Exception:  # interpreter shutdown: the library may be gone already
                pass


Statement = PreparedStatement


class Ticket:
    """Identifies one request queued in a pipeline."""

    __slots__ = ("_seq", "_pipeline")
    _seq: int
    _pipeline: Any

    def __init__(self) -> None:
        raise TypeError("Ticket objects are created by Pipeline.exec()")

    def __repr__(self) -> str:
        return f"Ticket({self._seq})"


class Json:
    """A parameter sent as ``json``: any JSON-serialisable value, or a ``str`` that already
    holds JSON text (sent as is)."""

    __slots__ = ("text",)

    def __init__(self, data: Any) -> None:
        self.text = data if isinstance(data, str) else json.dumps(data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.text == self.text  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.text))


class Jsonb(Json):
    """A parameter sent as ``jsonb``."""

    __slots__ = ()


def statement_args(stmt: object, owner: Any) -> tuple[int, bytes]:
    """(prepared statement id, SQL bytes) for a call's statement argument: a str, or a
    PreparedStatement of the connection whose handle is ``owner``."""
    if type(stmt) is str:
        return 0, stmt.encode()
    if isinstance(stmt, PreparedStatement):
        if stmt._owner is not owner:
            from .error import IncorrectApiUsageError

            raise IncorrectApiUsageError("this prepared statement belongs to another connection")
        return stmt._id, b""
    if isinstance(stmt, str):
        return 0, str(stmt).encode()
    from .error import IncorrectApiUsageError

    raise IncorrectApiUsageError(f"a statement must be a str or a PreparedStatement, not {type(stmt).__name__}")


def begin_sql(isolation: IsolationLevel | None, readonly: bool | None) -> str:
    """The BEGIN statement of a transaction."""
    sql = "BEGIN"
    if isolation is not None:
        sql += " ISOLATION LEVEL " + isolation.as_str()
    if readonly is True:
        sql += " READ ONLY"
    elif readonly is False:
        sql += " READ WRITE"
    return sql
