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
    handle = conn._handle
    if handle.lib.conn_take_notices(handle.h) != _ffi.OK:
        return
    handler = conn._notice_handler
    for fields in _ffi.read_out(handle.out):
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


