"""Server notices: to the ``pyro_postgres`` logger, or to a connection's handler.
Shared by the sync and async connections."""

from __future__ import annotations

import logging
from typing import Any

from . import _ffi

_log = logging.getLogger("pyro_postgres")

_SEVERITY_LEVELS = {
    "DEBUG": logging.DEBUG,
    "LOG": logging.INFO,
    "INFO": logging.INFO,
    "NOTICE": logging.INFO,
    "WARNING": logging.WARNING,
}


# ErrorResponse/NoticeResponse field codes -> the names notice handlers receive.
_NOTICE_FIELDS = {
    "S": "severity", "V": "severity_nonlocalized", "C": "sqlstate", "M": "message", "D": "detail",
    "H": "hint", "P": "position", "p": "internal_position", "q": "internal_query", "W": "where",
    "s": "schema_name", "t": "table_name", "c": "column_name", "d": "datatype_name",
    "n": "constraint_name", "F": "file", "L": "line", "R": "routine",
}


def log_notices(conn: Any) -> None:
    """Hands the server's notices to the connection's handler, or logs them on the
    ``pyro_postgres`` logger at a level matching their severity."""
    deliver_notices(conn, take_notices(conn))


def take_notices(conn: Any) -> list[dict[str, str]]:
    """The notices the library collected for the connection (called with its turn held)."""
    handle = conn._handle
    if handle.lib.conn_take_notices(handle.h) != _ffi.OK:
        return []
    return _ffi.read_out(handle.out)  # type: ignore[no-any-return]


def deliver_notices(conn: Any, notices: list[dict[str, str]]) -> None:
    """Runs the handler or logs each notice. The sync connection calls this without its
    turn, so a handler (or a logging handler) may use the connection itself."""
    handler = conn._notice_handler
    for fields in notices:
        if handler is not None:
            handler({_NOTICE_FIELDS.get(k, k): v for k, v in fields.items()})
            continue
        severity = fields.get("V") or fields.get("S") or "NOTICE"
        _log.log(
            _SEVERITY_LEVELS.get(severity, logging.WARNING),
            "server %s: %s",
            severity,
            fields.get("M", ""),
            extra={"pg_fields": fields},
        )
