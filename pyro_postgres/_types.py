"""Small public value types: IsolationLevel, PreparedStatement, Ticket, Json, Jsonb, Range."""

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

    __slots__ = ("_id", "_sql", "_owner", "_lib", "_call_rows", "_call_first", "_call_drop", "__weakref__")
    _id: int
    _sql: str
    _owner: Any
    _lib: Any
    # The start of the conn_exec_call buffer for each row mode (handle, statement id +
    # mode), so a call adds only its marshalled params.
    _call_rows: bytes
    _call_first: bytes
    _call_drop: bytes

    def __init__(self) -> None:
        raise TypeError("PreparedStatement objects are created by Conn.prepare()")

    @classmethod
    def _new(cls, statement_id: int, sql: str, owner: Any, lib: Any) -> PreparedStatement:
        self = object.__new__(cls)
        self._id = statement_id
        self._sql = sql
        self._owner = owner  # the connection's Handle
        self._lib = lib
        from ._ffi import DROP, FIRST_TUPLE, ROWS_TUPLES
        from ._params import call_head

        self._call_rows = call_head(owner.h, statement_id + ROWS_TUPLES)
        self._call_first = call_head(owner.h, statement_id + FIRST_TUPLE)
        self._call_drop = call_head(owner.h, statement_id + DROP)
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


# Range flags as the wire format spells them (PostgreSQL's rangetypes.h); results and
# parameters both carry only these three, infinite sides being a None bound.
_RANGE_EMPTY = 0x01
_RANGE_LB_INC = 0x02
_RANGE_UB_INC = 0x04
_BOUNDS_OF_FLAGS: tuple[str | None, ...] = ("()", None, "[)", None, "(]", None, "[]", None)
_FLAGS_OF_BOUNDS = {"()": 0, "[)": _RANGE_LB_INC, "(]": _RANGE_UB_INC, "[]": _RANGE_LB_INC | _RANGE_UB_INC}


class Range:
    """A PostgreSQL range value (``int4range``, ``tstzrange``, …); multiranges are lists of
    these.

    ``Range(1, 5)`` is ``[1,5)``; ``bounds`` is one of ``"[)"``, ``"[]"``, ``"(]"``,
    ``"()"``; a ``None`` bound is unbounded on that side (and never inclusive, as in
    PostgreSQL, so ``Range(None, 5, "[]")`` is ``Range(None, 5, "(]")``).
    ``Range(empty=True)`` is the empty range, whose ``bounds`` is ``None``.
    Immutable and hashable; equality compares the fields, so ``Range(1, 5, "[]")`` and
    ``Range(1, 6)`` differ until the server has made them canonical.
    """

    __slots__ = ("_lower", "_upper", "_bounds")
    _lower: Any
    _upper: Any
    # None for the empty range.
    _bounds: str | None

    def __init__(self, lower: Any = None, upper: Any = None, bounds: str = "[)", *, empty: bool = False) -> None:
        if type(bounds) is not str:
            raise TypeError(f"Range bounds must be a str such as '[)', not {type(bounds).__name__}")
        if bounds not in _FLAGS_OF_BOUNDS:
            raise ValueError(f"Range bounds must be one of '[)', '[]', '(]', '()', not {bounds!r}")
        if empty:
            if lower is not None or upper is not None or bounds != "[)":
                raise ValueError("an empty Range has no bounds: use Range(empty=True) alone")
            self._lower = self._upper = self._bounds = None
            return
        if lower is None and bounds[0] == "[":
            bounds = "(" + bounds[1]
        if upper is None and bounds[1] == "]":
            bounds = bounds[0] + ")"
        self._lower = lower
        self._upper = upper
        self._bounds = bounds

    @property
    def lower(self) -> Any:
        """The lower bound, ``None`` when unbounded below (or empty)."""
        return self._lower

    @property
    def upper(self) -> Any:
        """The upper bound, ``None`` when unbounded above (or empty)."""
        return self._upper

    @property
    def bounds(self) -> str | None:
        """``"[)"``, ``"[]"``, ``"(]"`` or ``"()"``; ``None`` for the empty range."""
        return self._bounds

    @property
    def isempty(self) -> bool:
        return self._bounds is None

    @property
    def lower_inc(self) -> bool:
        return self._bounds is not None and self._bounds[0] == "["

    @property
    def upper_inc(self) -> bool:
        return self._bounds is not None and self._bounds[1] == "]"

    @property
    def lower_inf(self) -> bool:
        return self._lower is None and self._bounds is not None

    @property
    def upper_inf(self) -> bool:
        return self._upper is None and self._bounds is not None

    def __contains__(self, value: Any) -> bool:
        bounds = self._bounds
        if bounds is None:
            return False
        lower, upper = self._lower, self._upper
        if lower is not None and not (lower <= value if bounds[0] == "[" else lower < value):
            return False
        if upper is not None and not (value <= upper if bounds[1] == "]" else value < upper):
            return False
        return True

    def __bool__(self) -> bool:
        return self._bounds is not None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Range):
            return (
                self._bounds == other._bounds and self._lower == other._lower and self._upper == other._upper
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self._lower, self._upper, self._bounds))

    def __repr__(self) -> str:
        if self._bounds is None:
            return "Range(empty=True)"
        return f"Range({self._lower!r}, {self._upper!r}, {self._bounds!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_make_range, (self._lower, self._upper, self._wire_flags()))

    def _wire_flags(self) -> int:
        bounds = self._bounds
        return _RANGE_EMPTY if bounds is None else _FLAGS_OF_BOUNDS[bounds]


_new_object = object.__new__


def _make_range(lower: Any, upper: Any, flags: int) -> Range:
    """A Range from its wire flags, trusted to be consistent with the bounds. Results build
    every Range through this (one pickle REDUCE each), skipping ``__init__``'s checks:
    measured at about 60% of the cost of the alternatives (NEWOBJ + BUILD of the slots, or
    calling the class)."""
    r = _new_object(Range)
    r._lower = lower
    r._upper = upper
    r._bounds = _BOUNDS_OF_FLAGS[flags & 7]
    return r


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
