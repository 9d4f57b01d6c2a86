"""``register_type``: what the sync and async connections share (the catalog query, and
turning its answer into the library's specification, the result callable and the
parameter dumper)."""

from __future__ import annotations

import marshal
from typing import Any, Callable, NamedTuple

from .error import IncorrectApiUsageError, ProgrammingError

# One round trip: the type, its array type, and for a composite its fields (declared
# type, and the type to decode each as: a domain's base type).
_SELECT = """SELECT t.oid::int8, t.typarray::int8, t.typtype::text, t.typname::text,
    format_type(t.oid, NULL), t.typbasetype::int8,
    ARRAY(SELECT a.atttypid::int8 FROM pg_attribute a
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
    ARRAY(SELECT (CASE WHEN ft.typtype = 'd' THEN ft.typbasetype ELSE ft.oid END)::int8
          FROM pg_attribute a JOIN pg_type ft ON ft.oid = a.atttypid
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)
FROM pg_type t WHERE t.oid = """

BY_NAME = _SELECT + "to_regtype($1)"
BY_OID = _SELECT + "$1::oid"

_TYPTYPES = {"b": "base", "c": "composite", "d": "domain", "e": "enum", "p": "pseudo", "r": "range", "m": "multirange"}


def lookup(type_: object) -> tuple[str, tuple[Any, ...]]:
    """The catalog query for ``type_`` (a name or an OID) and its parameters."""
    if isinstance(type_, str):
        if not type_.strip() or "\0" in type_:
            raise IncorrectApiUsageError(f"register_type: {type_!r} is not a type name")
        return BY_NAME, (type_,)
    if isinstance(type_, int) and not isinstance(type_, bool):
        if not 0 < type_ < 2**32:
            raise IncorrectApiUsageError(f"register_type: {type_} is not a type OID")
        return BY_OID, (type_,)
    raise IncorrectApiUsageError(f"register_type takes a type name or OID, not {type(type_).__name__}")


class Plan(NamedTuple):
    oid: int
    spec: bytes
    # The callable result streams call for the type (a loader or a composite's factory).
    result_callable: Callable[..., Any] | None
    dumps: Callable[[Any], str] | None


def plan(
    type_: object,
    row: tuple[Any, ...] | None,
    loads: Callable[[str], Any] | None,
    dumps: Callable[[Any], str] | None,
    factory: Callable[..., Any] | None,
) -> Plan:
    for what, fn in (("loads", loads), ("dumps", dumps), ("factory", factory)):
        if fn is not None and not callable(fn):
            raise TypeError(f"register_type: {what} must be callable, not {type(fn).__name__}")
    if row is None or row[0] is None:
        shown = f"type {type_!r}" if isinstance(type_, str) else f"type OID {type_}"
        raise ProgrammingError(f"register_type: {shown} does not exist")
    oid, array_oid, typtype, typname, name, base, declared, decode_as = row
    fields: list[tuple[int, int]] = []
    if loads is not None:
        kind = "loader"
    elif typtype == "c":
        kind = "composite"
        fields = list(zip(declared, decode_as))
    elif typtype == "e":
        kind = "enum"
    elif typtype == "d":
        kind = "domain"
        fields = [(base, base)]
    elif typtype == "b" and typname == "hstore":
        kind = "hstore"
    elif typtype == "b":
        kind = "text"
    else:
        raise IncorrectApiUsageError(
            f"register_type: {name} is a {_TYPTYPES.get(typtype, typtype)} type; give loads= to decode it"
        )
    if factory is not None and kind != "composite":
        raise IncorrectApiUsageError(f"register_type: factory= is for composite types; {name} is not one")
    spec = marshal.dumps(
        (oid, array_oid, name, kind, dumps is not None, factory is not None, fields), 2
    )
    return Plan(oid, spec, loads if kind == "loader" else factory, dumps)


# Automatic introspection (see ``_ffi.NeedsTypes``): the reported types, an array type
# standing for its element type, and everything their values are made of (composite
# fields, domain bases), recursively, in one round trip. Types below 10000 are the built-in
# ones the library decodes itself.
INTROSPECT = (
    """WITH RECURSIVE wanted(oid) AS (
    SELECT CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
    FROM pg_type t WHERE t.oid = ANY($1::int8[]::oid[])
  UNION
    SELECT CASE WHEN e.typcategory = 'A' AND e.typelem <> 0 THEN e.typelem ELSE e.oid END
    FROM wanted w JOIN pg_type t ON t.oid = w.oid
    JOIN pg_type e ON e.oid = ANY (ARRAY(SELECT a.atttypid FROM pg_attribute a
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || t.typbasetype)
)
"""
    + _SELECT
    + "ANY(ARRAY(SELECT oid FROM wanted)) AND t.oid >= 10000"
)

# What introspection registers; other types (ranges, base types of extensions other than
# hstore, pseudo types) stay text.
_AUTOMATIC = frozenset(("composite", "enum", "domain", "hstore"))


def automatic_specs(rows: list[tuple[Any, ...]], skip: set[int] | dict[int, Any]) -> list[bytes]:
    """Registration specifications for the introspected ``rows`` (answers of
    ``INTROSPECT``), leaving out the types in ``skip`` (registered by the user)."""
    specs = []
    for row in rows:
        if row[0] in skip:
            continue
        try:
            p = plan(row[0], row, None, None, None)
        except (IncorrectApiUsageError, ProgrammingError):
            continue
        if marshal.loads(p.spec)[3] in _AUTOMATIC:
            specs.append(p.spec)
    return specs
