"""Parameters to one buffer: ``marshal.dumps`` (format version 2) of the params, which the Rust side parses
and encodes by the server's parameter types.

Values ``marshal`` handles natively (exact ``int``, ``float``, ``str``, ``bytes``,
``bool``, ``None``, lists, tuples, dicts) cost one C call for the whole tuple. Anything
else is first rewritten into a tagged tuple ``(..., "tag", fields...)`` that the Rust
side recognises by its leading ``Ellipsis``.
"""

from __future__ import annotations

import datetime as _dt
import enum
import ipaddress
import json
import marshal
import uuid
from decimal import Decimal
from typing import Any, Callable

from ._types import Json, Range
from .error import EncodeError, IncorrectApiUsageError, LibraryBugError

_dumps = marshal.dumps
# Format version 2: version 3 added back-references, which cost marshal a hash table per
# call and buy nothing for a handful of parameters. The Rust parser reads every version.
MARSHAL_VERSION = 2
_MICRO = _dt.timedelta(microseconds=1)
_NATIVE = (int, float, str, bytes, bool, type(None))


def encode(params: Any) -> bytes:
    """The params buffer for one statement execution."""
    t = type(params)
    if t is tuple or t is list:
        try:
            return _dumps(params, MARSHAL_VERSION)
        except ValueError:
            return _dumps_adapted(_adapt_all(params))
    if params is None:
        return _EMPTY
    if isinstance(params, (str, bytes, bytearray, dict)):
        raise IncorrectApiUsageError(
            f"params must be a tuple or list of values, not {type(params).__name__}; "
            "for one parameter write (value,)"
        )
    if isinstance(params, (tuple, list)):
        return encode(list(params))
    try:
        items = list(params)
    except TypeError:
        raise IncorrectApiUsageError(
            f"params must be a tuple or list of values, not {type(params).__name__}"
        ) from None
    return encode(items)


_EMPTY = _dumps((), MARSHAL_VERSION)
_CALL_HEAD = b"(\x03\x00\x00\x00"  # a marshal tuple of three items (version 2)


def call_head(handle: int, statement: int) -> bytes:
    """The start of the library's conn_exec_call buffer, ``marshal.dumps((handle,
    statement, params), 2)``: all but the params, which :func:`encode` gives."""
    return _CALL_HEAD + _dumps(handle, MARSHAL_VERSION) + _dumps(statement, MARSHAL_VERSION)


_TOO_DEEP = "parameters are nested too deeply to send"


def _adapt_all(values: Any) -> list[Any]:
    # adapt() recurses into lists: a very deep (or self-containing) list ends in
    # RecursionError, which is the caller's bad input, not a driver failure.
    try:
        return [adapt(v) for v in values]
    except RecursionError:
        raise EncodeError(_TOO_DEEP) from None


def _dumps_adapted(adapted: Any) -> bytes:
    try:
        return _dumps(adapted, MARSHAL_VERSION)
    except ValueError as e:  # after adapt() only nesting deeper than marshal allows is left
        raise EncodeError(f"{_TOO_DEEP}: {e}") from None


def encode_batch(params_list: Any) -> tuple[bytes, int]:
    """The buffer for ``exec_batch``: a marshalled list of parameter sets, and their count."""
    if isinstance(params_list, (str, bytes, bytearray, dict)):
        raise IncorrectApiUsageError(
            f"params_list must be a list of parameter tuples, not {type(params_list).__name__}"
        )
    rows = params_list if type(params_list) is list else list(params_list)
    try:
        return _dumps(rows, MARSHAL_VERSION), len(rows)
    except ValueError:
        pass
    adapted = []
    for i, row in enumerate(rows):
        if not isinstance(row, (tuple, list)):
            raise IncorrectApiUsageError(
                f"exec_batch: parameter set {i + 1} is a {type(row).__name__}, not a tuple or list"
            )
        try:
            adapted.append(_adapt_all(row))
        except EncodeError as e:
            raise EncodeError(f"exec_batch: parameter set {i + 1}: {e}") from None
    return _dumps_adapted(adapted), len(adapted)


def adapt(v: Any) -> Any:
    """One value in a form ``marshal`` accepts and the Rust encoder understands."""
    t = type(v)
    if t in _NATIVE:
        return v
    if isinstance(v, Decimal):
        text = str(v) if t is Decimal else Decimal.__str__(v)
        # PostgreSQL reads only "NaN": '-NaN' and 'NaN123' would fail wherever the value is
        # sent as text (array literals, unknown types). sNaN stays, to be refused.
        if "N" in text and not v.is_snan():
            text = "NaN"
        return (..., "dec", text)
    if isinstance(v, _dt.datetime):
        off = v.utcoffset()
        return (
            ...,
            "dt",
            v.year,
            v.month,
            v.day,
            v.hour,
            v.minute,
            v.second,
            v.microsecond,
            None if off is None else off // _MICRO,
        )
    if isinstance(v, _dt.date):
        return (..., "date", v.year, v.month, v.day)
    if isinstance(v, _dt.time):
        off = v.utcoffset()
        return (..., "time", v.hour, v.minute, v.second, v.microsecond, None if off is None else off // _MICRO)
    if isinstance(v, _dt.timedelta):
        return (..., "td", v.days, v.seconds, v.microseconds)
    if isinstance(v, uuid.UUID):
        return (..., "uuid", v.bytes)
    if isinstance(v, Json):
        # str.__str__: Json(text) keeps a str subclass as given, which marshal refuses.
        return (..., "json", str.__str__(v.text))
    if isinstance(v, Range):
        return (..., "range", adapt(v._lower), adapt(v._upper), v._wire_flags())
    if isinstance(v, enum.Enum):
        return adapt(v.value)
    if isinstance(v, bool):
        return bool(v)
    # Subclasses: the value the object holds, called through the base type's own method
    # so that an overridden __str__/__int__/__float__/__bytes__ cannot replace it.
    if isinstance(v, int):
        return int.__int__(v)
    if isinstance(v, float):
        return float.__float__(v)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(memoryview(v))
    if t is tuple and len(v) == 3 and v[0] is ... and v[1] == "text":
        return v  # a dumper's text (see dump)
    if isinstance(v, (list, tuple)):
        return [adapt(x) for x in v]
    if isinstance(v, dict):
        if t is dict:
            # Kept a dict when marshal can carry it: the library encodes it for the
            # parameter's type (JSON, or an hstore registered on the connection).
            try:
                _dumps(v, MARSHAL_VERSION)
                return v
            except ValueError:
                pass
        try:
            return (..., "json", json.dumps(v))
        except (TypeError, ValueError) as e:
            raise EncodeError(f"cannot send this dict as JSON: {e}") from None
    if isinstance(v, (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
                      ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return (..., "text", str(v))
    raise EncodeError(f"cannot send a value of type {type(v).__name__} as a query parameter")


def check_max_rows(max_rows: object) -> None:
    if isinstance(max_rows, bool) or not isinstance(max_rows, int):
        raise TypeError(f"max_rows must be an int, not {type(max_rows).__name__}")
    if not 0 <= max_rows < 2**32:
        raise ValueError(f"max_rows must be between 0 and 2**32 - 1, not {max_rows}")


def again(params: Any) -> Any:
    """The parameters for a second attempt of a call that sent nothing (the library first
    had to look up the statement's types): the same object, unless it is an iterator,
    which the first attempt used up."""
    if params is None or isinstance(params, (tuple, list)):
        return params
    try:
        consumed = iter(params) is params
    except TypeError:
        return params  # the first attempt already reported what is wrong with it
    if consumed:
        raise IncorrectApiUsageError(
            "this statement's types had to be looked up first, which used up the parameter "
            "iterator: pass the parameters as a tuple or list"
        )
    return params


def dump(params: Any, needs: list[tuple[int, int, int]], dumpers: dict[int, Callable[[Any], str]]) -> list[Any]:
    """``params`` with the parameters named by the library (``(index, type, element
    type)``, see ``_ffi.NeedsDump``) turned into text by the connection's dumpers: the
    value itself, or each element of an array. ``None``, ``str`` and ``Json`` values are
    already what the server reads and stay as they are."""
    if not isinstance(params, (tuple, list)):
        # An iterator was consumed by the first attempt.
        raise IncorrectApiUsageError(
            "parameters bound to types with a Python dumper must be given as a tuple or list"
        )
    values = list(params)
    for index, type_oid, element_oid in needs:
        fn = dumpers.get(element_oid)
        if fn is None or index >= len(values):
            raise LibraryBugError(f"no dumper for parameter ${index + 1} (type OID {type_oid})")
        if type_oid == element_oid:
            values[index] = _dump_one(values[index], fn, index)
        else:
            values[index] = _dump_elements(values[index], fn, index)
    return values


def dump_batch(rows: list[Any], needs: list[tuple[int, int, int]], dumpers: dict[int, Callable[[Any], str]]) -> list[Any]:
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, (tuple, list)):
            raise IncorrectApiUsageError(f"exec_batch: parameter set {i + 1} is a {type(row).__name__}, not a tuple or list")
        try:
            out.append(dump(row, needs, dumpers))
        except EncodeError as e:
            raise EncodeError(f"exec_batch: parameter set {i + 1}: {e}") from None
    return out


def _dump_one(v: Any, fn: Callable[[Any], str], index: int) -> Any:
    if v is None or isinstance(v, (str, Json)) or (type(v) is tuple and len(v) == 3 and v[0] is ...):
        return v
    try:
        text = fn(v)
    except Exception as e:
        raise EncodeError(f"parameter ${index + 1}: the dumper raised {type(e).__name__}: {e}") from e
    if not isinstance(text, str):
        raise EncodeError(f"parameter ${index + 1}: the dumper returned {type(text).__name__}, not str")
    return (..., "text", str(text))


def _dump_elements(v: Any, fn: Callable[[Any], str], index: int) -> Any:
    # Lists are the array's dimensions; a tuple is an element (a composite value, say).
    if isinstance(v, list):
        return [_dump_elements(x, fn, index) for x in v]
    return _dump_one(v, fn, index)
