"""The rules of a transaction object, shared by ``sync.Transaction`` and
``async_.Transaction``: which states allow which calls, what BEGIN says, and when COMMIT
must raise. The subclasses only send the statements."""

from __future__ import annotations

from typing import Any

from ._types import IsolationLevel, begin_sql
from .error import Error, IncorrectApiUsageError, TransactionClosedError
from .error import lookup as lookup_sqlstate


class TransactionRules:
    __slots__ = ("_conn", "_isolation", "_readonly", "_state")
    #: How to use it, for error messages.
    _HOW = "with conn.tx():"

    def __init__(self, conn: Any, isolation_level: IsolationLevel | str | None, readonly: bool | None) -> None:
        if isolation_level is not None and not isinstance(isolation_level, IsolationLevel):
            isolation_level = IsolationLevel(isolation_level)
        self._conn = conn
        self._isolation = isolation_level
        self._readonly = readonly
        self._state = "new"

    def _begin(self) -> str:
        """The BEGIN statement to send, after checking this may begin."""
        if self._state != "new":
            if self._state == "open":
                raise IncorrectApiUsageError("this transaction is already open")
            raise TransactionClosedError("this transaction has already ended")
        if self._conn._tx is not None:
            raise IncorrectApiUsageError(
                "a transaction is already open on this connection; nested conn.tx() is not supported"
            )
        return begin_sql(self._isolation, self._readonly)

    def _opened(self) -> None:
        self._conn._tx = self
        self._state = "open"

    def _check_open(self) -> None:
        if self._state == "new":
            raise IncorrectApiUsageError(f"the transaction has not started; use it as `{self._HOW}`")
        if self._state != "open":
            raise TransactionClosedError("this transaction has already ended")

    def _ending(self) -> bool:
        """Closes this object before COMMIT/ROLLBACK is sent; True when the transaction
        already failed on the server (which then turns COMMIT into ROLLBACK silently)."""
        self._check_open()
        failed = self._conn._transaction_status() == "E"
        self._state = "ended"
        self._conn._tx = None
        return failed

    @staticmethod
    def _commit_failed() -> Error:
        return lookup_sqlstate("25P02")(
            "COMMIT failed: an earlier statement failed, so the server rolled the transaction back"
        )
