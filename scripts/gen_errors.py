#!/usr/bin/env python3
"""Generate pyro_postgres/error.py and pyro_postgres/error.pyi.

The SQLSTATE part of the exception hierarchy comes from PostgreSQL's own
errcodes.txt (scripts/data/errcodes.txt, PostgreSQL licence), so that a new
PostgreSQL release is picked up by replacing that file and re-running this
script. The hand-written part of both files (base classes, the factory) lives
in the templates below, so the generated files are complete and never edited.

    python scripts/gen_errors.py          rewrite both files
    python scripts/gen_errors.py --check  exit 1 if either file is stale
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ERRCODES = ROOT / "scripts" / "data" / "errcodes.txt"
PY_OUT = ROOT / "pyro_postgres" / "error.py"
PYI_OUT = ROOT / "pyro_postgres" / "error.pyi"

# PEP 249 parent for every SQLSTATE class that contains errors. It follows the
# table psycopg uses so code moving from psycopg sees the same DB-API classes;
# the classes psycopg leaves at DatabaseError got the closest fit instead.
# A class missing here stops the generator: a new PostgreSQL class needs a
# deliberate choice, not a silent default.
CLASS_BASES: dict[str, str] = {
    "03": "ProgrammingError",  # SQL Statement Not Yet Complete
    "08": "OperationalError",  # Connection Exception
    "09": "OperationalError",  # Triggered Action Exception (like 38/39)
    "0A": "NotSupportedError",  # Feature Not Supported
    "0B": "InternalError",  # Invalid Transaction Initiation (like 25/2D)
    "0F": "ProgrammingError",  # Locator Exception
    "0L": "ProgrammingError",  # Invalid Grantor (like 42501)
    "0P": "ProgrammingError",  # Invalid Role Specification
    "0Z": "ProgrammingError",  # Diagnostics Exception
    "10": "DataError",  # XQuery Error (bad argument value)
    "20": "ProgrammingError",  # Case Not Found
    "21": "ProgrammingError",  # Cardinality Violation
    "22": "DataError",  # Data Exception
    "23": "IntegrityError",  # Integrity Constraint Violation
    "24": "InternalError",  # Invalid Cursor State
    "25": "InternalError",  # Invalid Transaction State
    "26": "ProgrammingError",  # Invalid SQL Statement Name
    "27": "OperationalError",  # Triggered Data Change Violation
    # Server-side and client-side authentication failures are caught together.
    "28": "AuthenticationError",  # Invalid Authorization Specification
    "2B": "InternalError",  # Dependent Privilege Descriptors Still Exist
    "2D": "InternalError",  # Invalid Transaction Termination
    "2F": "OperationalError",  # SQL Routine Exception
    "34": "ProgrammingError",  # Invalid Cursor Name
    "38": "OperationalError",  # External Routine Exception
    "39": "OperationalError",  # External Routine Invocation Exception
    "3B": "OperationalError",  # Savepoint Exception
    "3D": "ProgrammingError",  # Invalid Catalog Name
    "3F": "ProgrammingError",  # Invalid Schema Name
    "40": "OperationalError",  # Transaction Rollback
    "42": "ProgrammingError",  # Syntax Error or Access Rule Violation
    "44": "ProgrammingError",  # WITH CHECK OPTION Violation
    "53": "OperationalError",  # Insufficient Resources
    "54": "OperationalError",  # Program Limit Exceeded
    "55": "OperationalError",  # Object Not In Prerequisite State
    "57": "OperationalError",  # Operator Intervention
    "58": "OperationalError",  # System Error
    "F0": "OperationalError",  # Configuration File Error
    "HV": "OperationalError",  # Foreign Data Wrapper Error
    "P0": "ProgrammingError",  # PL/pgSQL Error
    "XX": "InternalError",  # Internal Error
}

# errcodes.txt reuses a few condition names in two classes. The later ones get
# psycopg's "Ext" names so that both stay reachable and familiar.
DUPLICATE_RENAMES: dict[str, str] = {
    "38002": "ModifyingSqlDataNotPermittedExt",
    "38003": "ProhibitedSqlStatementAttemptedExt",
    "38004": "ReadingSqlDataNotPermittedExt",
    "39004": "NullValueNotAllowedExt",
}

# Capitalised builtins, fixed here rather than read from the running
# interpreter so the output is identical on every Python version.
BUILTIN_NAMES = frozenset(
    """
    ArithmeticError AssertionError AttributeError BaseException
    BaseExceptionGroup BlockingIOError BrokenPipeError BufferError BytesWarning
    ChildProcessError ConnectionAbortedError ConnectionError
    ConnectionRefusedError ConnectionResetError DeprecationWarning EOFError
    Ellipsis EncodingWarning EnvironmentError Exception ExceptionGroup False
    FileExistsError FileNotFoundError FloatingPointError FutureWarning
    GeneratorExit IOError ImportError ImportWarning IndentationError IndexError
    InterruptedError IsADirectoryError KeyError KeyboardInterrupt LookupError
    MemoryError ModuleNotFoundError NameError None NotADirectoryError
    NotImplemented NotImplementedError OSError OverflowError
    PendingDeprecationWarning PermissionError ProcessLookupError
    PythonFinalizationError RecursionError ReferenceError ResourceWarning
    RuntimeError RuntimeWarning StopAsyncIteration StopIteration SyntaxError
    SyntaxWarning SystemError SystemExit TabError TimeoutError True TypeError
    UnboundLocalError UnicodeDecodeError UnicodeEncodeError UnicodeError
    UnicodeTranslateError UnicodeWarning UserWarning ValueError Warning
    ZeroDivisionError
    """.split()
)

HEADER = (
    "# generated by scripts/gen_errors.py from scripts/data/errcodes.txt; do not edit.\n"
    "# errcodes.txt is PostgreSQL's list of SQLSTATE codes (PostgreSQL licence).\n"
)

PY_HEAD = r'''"""Exceptions raised by pyro_postgres.

Hierarchy (PEP 249 names, the names of the earlier pyro-postgres release, and
one class per SQLSTATE from PostgreSQL's errcodes.txt)::

    Exception
    +-- Warning
    +-- Error                          (alias: PostgresError)
        +-- InterfaceError
        |   +-- IncorrectApiUsageError
        |       +-- UrlError           (also ValueError)
        |       +-- TransactionClosedError
        +-- DatabaseError
            +-- DataError
            |   +-- EncodeError        (also TypeError)
            |   +-- DecodeError
            |   +-- PythonObjectCreationError
            |   +-- DataException, XqueryError           (SQLSTATE 22, 10)
            +-- OperationalError
            |   +-- TransportError, ConnectionClosedError, ProtocolError
            |   +-- AuthenticationError
            |   |   +-- InvalidAuthorizationSpecification (SQLSTATE 28)
            |   +-- ConnectionException, TransactionRollback,
            |       OperatorIntervention, InsufficientResources, ...
            +-- IntegrityError
            |   +-- IntegrityConstraintViolation          (SQLSTATE 23)
            +-- InternalError
            |   +-- LibraryBugError, PoisonError
            |   +-- InternalError_, InvalidTransactionState, ...
            +-- ProgrammingError
            |   +-- SyntaxErrorOrAccessRuleViolation, ... (SQLSTATE 42, ...)
            +-- NotSupportedError
                +-- FeatureNotSupported                   (SQLSTATE 0A)

Each SQLSTATE class (``IntegrityConstraintViolation`` for class 23) has one
subclass per SQLSTATE in it (``UniqueViolation`` for 23505). A name that would
shadow a builtin or a PEP 249 class ends in ``_``: ``InternalError_`` (XX000),
``SystemError_`` (58000), ``SyntaxError_`` (42601).

An exception built from a server ErrorResponse carries every field as an
attribute (None when the server did not send it); ``str()`` of it reads like
psql's report::

    ERROR:  duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505)
    DETAIL:  Key (id)=(1) already exists.
"""

from __future__ import annotations

from collections.abc import Mapping


class Warning(Exception):  # noqa: A001 -- PEP 249 mandates the name
    """PEP 249 ``Warning``; deliberately outside the ``Error`` hierarchy."""


class Error(Exception):
    """Base class of every exception pyro_postgres raises (PEP 249 ``Error``).

    The attributes hold the fields of the server's ErrorResponse; any field
    the server did not send reads as None. ``position`` and
    ``internal_position`` are 1-based character offsets converted to int.
    """

    # Class-level defaults make absent fields read as None without storing
    # them per instance; generated classes override ``sqlstate`` with their
    # own code so that hand-raised instances report it too.
    severity: str | None = None
    severity_nonlocalized: str | None = None
    sqlstate: str | None = None
    message: str | None = None
    detail: str | None = None
    hint: str | None = None
    position: int | None = None
    internal_position: int | None = None
    internal_query: str | None = None
    where: str | None = None
    schema_name: str | None = None
    table_name: str | None = None
    column_name: str | None = None
    datatype_name: str | None = None
    constraint_name: str | None = None
    file: str | None = None
    line: str | None = None
    routine: str | None = None

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        if args and isinstance(args[0], str):
            self.message = args[0]

    def __str__(self) -> str:
        severity = self.severity or self.severity_nonlocalized
        if severity is None:
            # Not a server report: the message alone says everything.
            return super().__str__()
        first = f"{severity}:  {self.message or ''}"
        if self.sqlstate:
            first += f" (SQLSTATE {self.sqlstate})"
        lines = [first]
        for label, value in (
            ("DETAIL", self.detail),
            ("HINT", self.hint),
            ("CONTEXT", self.where),
        ):
            if value:
                lines.append(f"{label}:  {value}")
        return "\n".join(lines)

    @property
    def schema(self) -> str | None:
        """Alias of ``schema_name``."""
        return self.schema_name

    @property
    def table(self) -> str | None:
        """Alias of ``table_name``."""
        return self.table_name

    @property
    def column(self) -> str | None:
        """Alias of ``column_name``."""
        return self.column_name

    @property
    def datatype(self) -> str | None:
        """Alias of ``datatype_name``."""
        return self.datatype_name

    @property
    def constraint(self) -> str | None:
        """Alias of ``constraint_name``."""
        return self.constraint_name

    def _apply_fields(self, fields: Mapping[str, str]) -> None:
        for code, value in fields.items():
            attr = _FIELD_ATTRS.get(code)
            if attr is None:
                # The protocol tells clients to ignore field types they do
                # not know, so a newer server cannot break error reporting.
                continue
            if code in _INT_FIELDS:
                try:
                    setattr(self, attr, int(value))
                except (TypeError, ValueError):
                    # A garbled offset must not hide the real error.
                    pass
            else:
                setattr(self, attr, value)


# The earlier release raised PostgresError for nearly everything; as an alias
# of the base, ``except PostgresError`` keeps catching all of it.
PostgresError = Error


class InterfaceError(Error):
    """An error in how the driver is used rather than in the database."""


class DatabaseError(Error):
    """An error reported by, or about, the database and the connection to it.

    Server errors whose SQLSTATE is unknown to this version land here directly.
    """


class DataError(DatabaseError):
    """A problem with the data processed (PEP 249)."""


class OperationalError(DatabaseError):
    """An error in the database's operation, often outside the caller's control."""


class IntegrityError(DatabaseError):
    """The relational integrity of the database would be affected."""


class InternalError(DatabaseError):
    """The database or the driver met an internal inconsistency."""


class ProgrammingError(DatabaseError):
    """An error in the SQL or in its use (bad statement, missing table, ...)."""


class NotSupportedError(DatabaseError):
    """A feature is not supported by the server or by pyro_postgres."""


class IncorrectApiUsageError(InterfaceError):
    """The API was misused: wrong argument, wrong state, wrong call order."""


class UrlError(IncorrectApiUsageError, ValueError):
    """The connection URL or an option value is malformed.

    Also a ``ValueError`` because the caller passed a bad value.
    """


class TransactionClosedError(IncorrectApiUsageError):
    """A finished (committed or rolled back) transaction was used again."""


class ConnectionClosedError(OperationalError):
    """The connection was closed by the caller, or broken, and cannot be used.

    An ``OperationalError`` so that reconnect-and-retry handlers catch it.
    """


class TransportError(OperationalError):
    """An I/O failure on the connection: TCP, unix socket or TLS."""


class ProtocolError(OperationalError):
    """The server sent something the protocol does not allow at that point."""


class PipelineAbortedError(OperationalError):
    """A pipeline request the server skipped: an earlier request in the same Sync
    segment failed (the server then ignores everything up to the next Sync)."""


class AuthenticationError(OperationalError):
    """Authentication failed.

    Raised directly for client-side failures (for example the server asked for
    a password and none was given); the server's own SQLSTATE class 28
    (``InvalidAuthorizationSpecification``, ``InvalidPassword``) derives from
    it, so one ``except AuthenticationError`` catches both.
    """


class EncodeError(DataError, TypeError):
    """A Python value could not be encoded for a query parameter.

    Also a ``TypeError``: the value does not fit the parameter's server type,
    and the earlier release raised ``TypeError`` for such values.
    """


class DecodeError(DataError):
    """A value received from the server could not be decoded."""


class PythonObjectCreationError(DataError):
    """A decoded server value could not be turned into a Python object."""


class LibraryBugError(InternalError):
    """pyro_postgres reached a state that should be impossible; please report it."""


class PoisonError(InternalError):
    """An object is unusable because an earlier internal failure left it poisoned."""
'''

PY_TAIL = r'''

_FIELD_ATTRS: dict[str, str] = {
    "S": "severity",
    "V": "severity_nonlocalized",
    "C": "sqlstate",
    "M": "message",
    "D": "detail",
    "H": "hint",
    "P": "position",
    "p": "internal_position",
    "q": "internal_query",
    "W": "where",
    "s": "schema_name",
    "t": "table_name",
    "c": "column_name",
    "d": "datatype_name",
    "n": "constraint_name",
    "F": "file",
    "L": "line",
    "R": "routine",
}
_INT_FIELDS = frozenset({"P", "p"})

_KINDS: dict[str, type[Error]] = {
    "io": TransportError,
    "closed": ConnectionClosedError,
    "protocol": ProtocolError,
    "pipeline_aborted": PipelineAbortedError,
    "usage": IncorrectApiUsageError,
    "url": UrlError,
    "encode": EncodeError,
    "decode": DecodeError,
    "auth": AuthenticationError,
    "tx_closed": TransactionClosedError,
    "bug": LibraryBugError,
    "unsupported": NotSupportedError,
    "poison": PoisonError,
    "python_object": PythonObjectCreationError,
}


def lookup(sqlstate: str) -> type[DatabaseError]:
    """Return the exception class for a SQLSTATE.

    An exact code wins; a code this version does not know falls back to its
    two-character class, and an unknown class to ``DatabaseError``.
    """
    code = sqlstate.upper()
    cls = _BY_SQLSTATE.get(code)
    if cls is None:
        cls = _BY_CLASS.get(code[:2], DatabaseError)
    return cls


def _make_error(kind: str, message: str, fields: dict[str, str] | None = None) -> Error:
    """Build (not raise) the exception for an error that crossed the FFI.

    ``kind`` names the error's origin; "server" means ``fields`` holds an
    ErrorResponse keyed by its one-letter protocol codes. Never raises, so a
    failure while reporting an error cannot replace the error itself.
    """
    cls: type[Error]
    if kind == "server":
        sqlstate = fields.get("C") if fields else None
        cls = lookup(sqlstate) if sqlstate else DatabaseError
        if fields and fields.get("M"):
            message = fields["M"]
    else:
        cls = _KINDS.get(kind, Error)
    exc = cls(message)
    if fields:
        exc._apply_fields(fields)
    return exc
'''

PYI_HEAD = r"""from collections.abc import Mapping

class Warning(Exception): ...  # noqa: A001 -- PEP 249 mandates the name

class Error(Exception):
    severity: str | None
    severity_nonlocalized: str | None
    sqlstate: str | None
    message: str | None
    detail: str | None
    hint: str | None
    position: int | None
    internal_position: int | None
    internal_query: str | None
    where: str | None
    schema_name: str | None
    table_name: str | None
    column_name: str | None
    datatype_name: str | None
    constraint_name: str | None
    file: str | None
    line: str | None
    routine: str | None
    def __init__(self, *args: object) -> None: ...
    @property
    def schema(self) -> str | None: ...
    @property
    def table(self) -> str | None: ...
    @property
    def column(self) -> str | None: ...
    @property
    def datatype(self) -> str | None: ...
    @property
    def constraint(self) -> str | None: ...
    def _apply_fields(self, fields: Mapping[str, str]) -> None: ...

PostgresError = Error

class InterfaceError(Error): ...
class DatabaseError(Error): ...
class DataError(DatabaseError): ...
class OperationalError(DatabaseError): ...
class IntegrityError(DatabaseError): ...
class InternalError(DatabaseError): ...
class ProgrammingError(DatabaseError): ...
class NotSupportedError(DatabaseError): ...
class IncorrectApiUsageError(InterfaceError): ...
class UrlError(IncorrectApiUsageError, ValueError): ...
class TransactionClosedError(IncorrectApiUsageError): ...
class ConnectionClosedError(OperationalError): ...
class TransportError(OperationalError): ...
class ProtocolError(OperationalError): ...
class PipelineAbortedError(OperationalError): ...
class AuthenticationError(OperationalError): ...
class EncodeError(DataError, TypeError): ...
class DecodeError(DataError): ...
class PythonObjectCreationError(DataError): ...
class LibraryBugError(InternalError): ...
class PoisonError(InternalError): ...
"""

PYI_TAIL = r"""
def lookup(sqlstate: str) -> type[DatabaseError]: ...
def _make_error(kind: str, message: str, fields: dict[str, str] | None = None) -> Error: ...
"""

_CLASS_RE = re.compile(r"^class (\w+)", re.MULTILINE)
_ALIAS_RE = re.compile(r"^(\w+) = \w+$", re.MULTILINE)
HANDWRITTEN_NAMES = tuple(_CLASS_RE.findall(PY_HEAD)) + tuple(_ALIAS_RE.findall(PY_HEAD))

_SECTION_RE = re.compile(r"^Section: Class (?P<cls>[0-9A-Z]{2}) - (?P<title>.+?)\s*$")
_CODE_RE = re.compile(
    r"^(?P<state>[0-9A-Z]{5})\s+(?P<kind>[EWS])\s+(?P<macro>ERRCODE_\w+)"
    r"(?:\s+(?P<spec>[a-z0-9_]+))?\s*$"
)


class GenError(Exception):
    """errcodes.txt holds something the tables above do not cover."""


@dataclass
class Code:
    sqlstate: str
    condition: str  # the spec name, e.g. unique_violation
    name: str = ""


@dataclass
class SqlClass:
    cls: str
    title: str
    base: str
    name: str = ""
    codes: list[Code] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)

    @property
    def sqlstate(self) -> str:
        return self.cls + "000"


def camel(words: list[str]) -> str:
    return "".join(w.capitalize() for w in words if w)


def section_name(title: str) -> str:
    # "System Error (errors external to PostgreSQL itself)" -> "System Error";
    # "PL/pgSQL Error" -> "PlpgsqlError", matching its P0000 condition name.
    title = re.sub(r"\s*\(.*\)\s*$", "", title)
    return camel([re.sub(r"[^0-9A-Za-z]", "", w).lower() for w in title.split()])


def safe_name(name: str) -> str:
    # A generated class must not shadow a builtin (star imports) or one of the
    # hand-written classes.
    reserved = BUILTIN_NAMES | set(HANDWRITTEN_NAMES)
    if name in reserved and not name.endswith("Error"):
        name += "Error"
    while name in reserved:
        name += "_"
    return name


def parse(text: str) -> list[SqlClass]:
    titles: dict[str, str] = {}
    # sqlstate -> (kind, condition); codes listed only under an alternate
    # macro name (no condition) fall back to that macro.
    conditions: dict[str, tuple[str, str]] = {}
    fallback: dict[str, tuple[str, str]] = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SECTION_RE.match(line)
        if m:
            titles[m["cls"]] = m["title"]
            continue
        m = _CODE_RE.match(line)
        if not m:
            raise GenError(f"errcodes.txt:{lineno}: unrecognised line: {raw!r}")
        state, kind, spec = m["state"], m["kind"], m["spec"]
        if spec is None:
            fallback.setdefault(state, (kind, m["macro"][len("ERRCODE_") :].lower()))
            continue
        if state in conditions and conditions[state][1] != spec:
            raise GenError(f"errcodes.txt:{lineno}: {state} has two condition names")
        conditions.setdefault(state, (kind, spec))
    for state, value in fallback.items():
        conditions.setdefault(state, value)

    classes: dict[str, SqlClass] = {}
    for state, (kind, spec) in conditions.items():
        if kind != "E":
            # Success, warning and no-data codes never arrive as errors.
            continue
        cls = state[:2]
        if cls not in titles:
            raise GenError(f"SQLSTATE {state} belongs to class {cls}, which has no Section line")
        if cls not in CLASS_BASES:
            raise GenError(
                f"no DB-API base chosen for SQLSTATE class {cls} ({titles[cls]}); "
                "add it to CLASS_BASES in scripts/gen_errors.py"
            )
        if cls not in classes:
            classes[cls] = SqlClass(cls, titles[cls], CLASS_BASES[cls])
        classes[cls].codes.append(Code(state, spec))
    stale = sorted(set(CLASS_BASES) - set(classes))
    if stale:
        raise GenError(f"CLASS_BASES lists classes errcodes.txt no longer has: {stale}")
    stale = sorted(set(DUPLICATE_RENAMES) - set(conditions))
    if stale:
        raise GenError(f"DUPLICATE_RENAMES lists codes errcodes.txt no longer has: {stale}")

    # Section order keeps the generated file in the same order as the source.
    ordered = sorted(classes.values(), key=lambda c: list(titles).index(c.cls))
    used: dict[str, str] = {n: "hand-written" for n in HANDWRITTEN_NAMES}

    def claim(name: str, owner: str) -> None:
        if name in used:
            raise GenError(
                f"name {name} wanted by {owner} is taken by {used[name]}; "
                "add a rename to DUPLICATE_RENAMES in scripts/gen_errors.py"
            )
        used[name] = owner

    for sc in ordered:
        sc.name = safe_name(section_name(sc.title))
        claim(sc.name, f"class {sc.cls}")
    for sc in ordered:
        for code in sc.codes:
            wanted = safe_name(camel(code.condition.split("_")))
            if code.sqlstate == sc.sqlstate:
                # The generic xx000 code *is* the class; its condition name
                # (psycopg's name for it) survives as an alias.
                code.name = sc.name
                if wanted != sc.name:
                    claim(wanted, code.sqlstate)
                    sc.aliases.append(wanted)
                continue
            code.name = DUPLICATE_RENAMES.get(code.sqlstate, wanted)
            claim(code.name, code.sqlstate)
    return ordered


def all_names(classes: list[SqlClass]) -> list[str]:
    names = set(HANDWRITTEN_NAMES) | {"lookup"}
    for sc in classes:
        names.add(sc.name)
        names.update(sc.aliases)
        names.update(c.name for c in sc.codes)
    return sorted(names)


def render_all(classes: list[SqlClass]) -> str:
    body = "".join(f'    "{n}",\n' for n in all_names(classes))
    return f"__all__ = [\n{body}]\n"


def render_py(classes: list[SqlClass]) -> str:
    out = [HEADER, PY_HEAD]
    for sc in classes:
        out.append(f"\n\n# Class {sc.cls} - {sc.title}\n")
        out.append(
            f"\n\nclass {sc.name}({sc.base}):\n"
            f'    """SQLSTATE class {sc.cls}: {sc.title}."""\n\n'
            f'    sqlstate = "{sc.sqlstate}"\n'
        )
        for code in sc.codes:
            if code.name == sc.name:
                continue
            out.append(
                f"\n\nclass {code.name}({sc.name}):\n"
                f'    """SQLSTATE {code.sqlstate}: {code.condition}."""\n\n'
                f'    sqlstate = "{code.sqlstate}"\n'
            )
    out.append("\n\n# Condition names of generic xx000 codes that differ from the class name.\n")
    for sc in classes:
        for alias in sc.aliases:
            out.append(f"{alias} = {sc.name}\n")
    out.append("\n_BY_SQLSTATE: dict[str, type[DatabaseError]] = {\n")
    for sc in classes:
        for code in sc.codes:
            out.append(f'    "{code.sqlstate}": {code.name},\n')
    out.append("}\n\n_BY_CLASS: dict[str, type[DatabaseError]] = {\n")
    for sc in classes:
        out.append(f'    "{sc.cls}": {sc.name},\n')
    out.append("}\n")
    out.append(PY_TAIL)
    out.append("\n\n" + render_all(classes))
    return "".join(out)


def render_pyi(classes: list[SqlClass]) -> str:
    out = [HEADER, "\n", PYI_HEAD, "\n"]
    for sc in classes:
        out.append(f"# Class {sc.cls} - {sc.title}\n")
        out.append(f"class {sc.name}({sc.base}): ...\n")
        for code in sc.codes:
            if code.name != sc.name:
                out.append(f"class {code.name}({sc.name}): ...\n")
        out.append("\n")
    out.append("# Condition names of generic xx000 codes that differ from the class name.\n")
    for sc in classes:
        out.extend(f"{alias} = {sc.name}\n" for alias in sc.aliases)
    out.append(PYI_TAIL)
    out.append("\n" + render_all(classes))
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if a generated file differs from what would be written",
    )
    args = parser.parse_args(argv)
    try:
        classes = parse(ERRCODES.read_text(encoding="utf-8"))
    except GenError as exc:
        print(f"gen_errors: {exc}", file=sys.stderr)
        return 2
    outputs = {PY_OUT: render_py(classes), PYI_OUT: render_pyi(classes)}

    stale = []
    for path, wanted in outputs.items():
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            current = None
        if current == wanted:
            continue
        rel = path.relative_to(ROOT)
        if args.check:
            stale.append(rel)
            diff = difflib.unified_diff(
                (current or "").splitlines(keepends=True),
                wanted.splitlines(keepends=True),
                f"{rel} (on disk)",
                f"{rel} (generated)",
            )
            sys.stderr.writelines(list(diff)[:40])
        else:
            path.write_text(wanted, encoding="utf-8", newline="\n")
            print(f"wrote {rel}")
    if stale:
        names = ", ".join(str(p) for p in stale)
        print(
            f"\ngen_errors: {names} out of date with scripts/data/errcodes.txt or "
            "scripts/gen_errors.py; run `python scripts/gen_errors.py` to regenerate",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
