"""Connection options: the ``Opts`` builder and URL parsing."""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qsl, unquote, urlsplit

from . import _registry
from .error import IncorrectApiUsageError, UrlError

_SCHEMES = ("pg", "postgres", "postgresql")
_SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_TEMPORAL_POLICIES = ("default", "str")
# json, jsonb
_JSON_OIDS = (114, 3802)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _parse_bool(key: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise UrlError(f"URL parameter {key}={value!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def _parse_int(key: str, value: str, low: int, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise UrlError(f"URL parameter {key}={value!r} is not a whole number") from None
    if not low <= n <= high:
        raise UrlError(f"URL parameter {key}={value!r} is out of range ({low}..{high})")
    return n


class Opts:
    """Connection options. ``Opts(url)`` starts from a URL; every builder method sets one
    option in place and returns the same object, so calls chain.

    URL: ``pg://user:password@host:port/database?key=value&...`` (schemes ``pg``,
    ``postgres``, ``postgresql``; user, password and database are percent-decoded).
    Recognised query keys: ``sslmode``, ``application_name``, ``socket`` (path of the
    server's socket file), ``upgrade_to_unix_socket``, ``options``,
    ``statement_cache_size``, ``connect_timeout`` (seconds), ``log_parameters``, ``pool_max_idle_conn``,
    ``pool_max_concurrency``, ``json_as_str``, ``temporal_out_of_range``. Any other key is sent to the server as a setting at
    startup (``?statement_timeout=5000``).
    """

    __slots__ = (
        "_host",
        "_port",
        "_socket",
        "_user",
        "_password",
        "_db",
        "_application_name",
        "_ssl_mode",
        "_upgrade_to_unix_socket",
        "_options",
        "_settings",
        "_statement_cache_size",
        "_connect_timeout",
        "_pool_max_idle_conn",
        "_pool_max_concurrency",
        "_log_parameters",
        "_json_as_str",
        "_json_loads",
        "_json_dumps",
        "_temporal_out_of_range",
    )

    def __init__(self, url: str | None = None) -> None:
        self._host = "localhost"
        self._port = 5432
        self._socket: str | None = None
        self._user = ""
        self._password: str | None = None
        self._db: str | None = None
        self._application_name: str | None = None
        self._ssl_mode = "prefer"
        self._upgrade_to_unix_socket = True
        self._options: str | None = None
        self._settings: dict[str, str] = {}
        self._statement_cache_size = 256
        self._connect_timeout: float | None = None
        self._pool_max_idle_conn = 100
        self._pool_max_concurrency: int | None = None
        self._log_parameters = False
        self._json_as_str = False
        self._json_loads: Callable[[str], Any] | None = None
        self._json_dumps: Callable[[Any], str] | None = None
        self._temporal_out_of_range = "default"
        if url is not None:
            if not isinstance(url, str):
                raise IncorrectApiUsageError(f"Opts() takes a URL string, not {type(url).__name__}")
            self._apply_url(url)

    def _apply_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
        except ValueError as e:
            raise UrlError(f"invalid connection URL: {e}") from None
        if parts.scheme not in _SCHEMES:
            shown = f"{parts.scheme}://" if parts.scheme else url.split(":", 1)[0] or url
            raise UrlError(f"invalid URL scheme {shown!r}: expected 'pg://', 'postgres://' or 'postgresql://'")
        netloc = parts.netloc
        userinfo, _, hostport = netloc.rpartition("@")
        if userinfo:
            user, sep, password = userinfo.partition(":")
            self._user = unquote(user)
            if sep:
                self._password = unquote(password)
        if hostport.startswith("["):
            end = hostport.find("]")
            if end < 0:
                raise UrlError(f"invalid IPv6 address in URL: {hostport!r}")
            host, rest = hostport[1:end], hostport[end + 1 :]
            port = rest[1:] if rest.startswith(":") else ""
            if rest and not rest.startswith(":"):
                raise UrlError(f"invalid host in URL: {hostport!r}")
        else:
            host, _, port = hostport.partition(":")
        if host:
            self._host = unquote(host)
        if port:
            self._port = _parse_int("port", port, 1, 65535)
        path = parts.path.lstrip("/")
        if path:
            self._db = unquote(path)
        try:
            query = parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False)
        except ValueError as e:
            raise UrlError(f"invalid URL query: {e}") from None
        for key, value in query:
            self._apply_url_param(key, value)

    def _apply_url_param(self, key: str, value: str) -> None:
        if key == "sslmode":
            self.ssl_mode(value)
        elif key == "application_name":
            self._application_name = value
        elif key == "socket":
            self._socket = value or None
        elif key == "upgrade_to_unix_socket":
            self._upgrade_to_unix_socket = _parse_bool(key, value)
        elif key == "options":
            self._options = value
        elif key == "statement_cache_size":
            self._statement_cache_size = _parse_int(key, value, 0, 1_000_000)
        elif key == "connect_timeout":
            try:
                t = float(value)
            except ValueError:
                raise UrlError(f"URL parameter connect_timeout={value!r} is not a number of seconds") from None
            self._connect_timeout = t if t > 0 else None
        elif key == "log_parameters":
            self._log_parameters = _parse_bool(key, value)
        elif key == "json_as_str":
            self._json_as_str = _parse_bool(key, value)
        elif key == "temporal_out_of_range":
            if value not in _TEMPORAL_POLICIES:
                raise UrlError(
                    f"URL parameter temporal_out_of_range={value!r} is not one of: {', '.join(_TEMPORAL_POLICIES)}"
                )
            self._temporal_out_of_range = value
        elif key == "pool_max_idle_conn":
            self._pool_max_idle_conn = _parse_int(key, value, 0, 1 << 31)
        elif key == "pool_max_concurrency":
            self._pool_max_concurrency = _parse_int(key, value, 0, 1 << 31)
        elif key in ("user", "password", "host", "port", "dbname", "database"):
            raise UrlError(f"put {key} in the URL itself (pg://user:password@host:port/database), not in its query")
        else:
            if not key or "\0" in key or "\0" in value:
                raise UrlError(f"invalid URL parameter {key!r}")
            self._settings[key] = value

    # Builder methods (the seed's and the existing release's names).
    def host(self, hostname: str) -> Opts:
        self._host = str(hostname)
        return self

    def port(self, port: int) -> Opts:
        if isinstance(port, bool) or not isinstance(port, int):
            raise TypeError(f"port must be an int, not {type(port).__name__}")
        if not 0 < port < 65536:
            raise OverflowError(f"port {port} is out of range (1..65535)")
        self._port = port
        return self

    def socket(self, path: str | None) -> Opts:
        self._socket = None if path is None else str(path)
        return self

    def user(self, username: str) -> Opts:
        self._user = str(username)
        return self

    def password(self, password: str | None) -> Opts:
        self._password = password
        return self

    def db(self, database: str | None) -> Opts:
        self._db = database
        return self

    def application_name(self, name: str | None) -> Opts:
        self._application_name = name
        return self

    def ssl_mode(self, mode: str) -> Opts:
        if mode not in _SSL_MODES:
            raise IncorrectApiUsageError(f"invalid sslmode {mode!r}; use one of: {', '.join(_SSL_MODES)}")
        self._ssl_mode = mode
        return self

    def upgrade_to_unix_socket(self, enable: bool) -> Opts:
        self._upgrade_to_unix_socket = bool(enable)
        return self

    def options(self, options: str | None) -> Opts:
        """The startup ``options`` string (e.g. ``-c search_path=app``)."""
        self._options = options
        return self

    def setting(self, name: str, value: str) -> Opts:
        """A server setting sent at startup, like an unknown URL query key."""
        self._settings[str(name)] = str(value)
        return self

    def statement_cache_size(self, size: int) -> Opts:
        """How many ``exec(str)`` statements stay prepared per connection (0 disables)."""
        if size < 0:
            raise ValueError("statement_cache_size must be >= 0")
        self._statement_cache_size = int(size)
        return self

    def connect_timeout(self, seconds: float | None) -> Opts:
        self._connect_timeout = None if seconds is None or seconds <= 0 else float(seconds)
        return self

    def log_parameters(self, enable: bool) -> Opts:
        """Include statement parameters in the DEBUG records of the ``pyro_postgres``
        logger (off by default: parameters may hold secrets)."""
        self._log_parameters = bool(enable)
        return self

    def json_as_str(self, enable: bool = True) -> Opts:
        """Return json/jsonb values as their text (``str``), unparsed. Takes precedence
        over ``json_loads``."""
        self._json_as_str = bool(enable)
        return self

    def json_loads(self, loads: Callable[[str], Any] | None) -> Opts:
        """Parse json/jsonb results with ``loads(text)`` (e.g. ``orjson.loads``) instead of
        the built-in parser; ``None`` restores the built-in one."""
        if loads is not None and not callable(loads):
            raise TypeError(f"json_loads takes a callable or None, not {type(loads).__name__}")
        self._json_loads = loads
        return self

    def json_dumps(self, dumps: Callable[[Any], str] | None) -> Opts:
        """Serialise parameters bound to json/jsonb (and json[]/jsonb[] elements) with
        ``dumps(value)``, which must return a ``str``; ``str`` values and ``Json``
        wrappers are sent as they are. ``None`` restores the built-in serialiser."""
        if dumps is not None and not callable(dumps):
            raise TypeError(f"json_dumps takes a callable or None, not {type(dumps).__name__}")
        self._json_dumps = dumps
        return self

    def temporal_out_of_range(self, policy: str) -> Opts:
        """What dates and timestamps that Python cannot hold become: ``"default"``
        (±infinity → ``date.max``/``date.min``, ``datetime.max``/``datetime.min``; BC or
        after-9999 values raise ``DecodeError``) or ``"str"`` (those values, and only
        those, come back as the server's ISO text, ``"infinity"``, ``"0044-03-15 BC"``;
        timestamptz in UTC)."""
        if policy not in _TEMPORAL_POLICIES:
            raise IncorrectApiUsageError(
                f"temporal_out_of_range takes one of: {', '.join(_TEMPORAL_POLICIES)}; not {policy!r}"
            )
        self._temporal_out_of_range = policy
        return self

    def pool_max_idle_conn(self, count: int) -> Opts:
        """Accepted for compatibility with the earlier release; there is no pool yet."""
        if count < 0:
            raise OverflowError("pool_max_idle_conn must be >= 0")
        self._pool_max_idle_conn = int(count)
        return self

    def pool_max_concurrency(self, count: int | None) -> Opts:
        """Accepted for compatibility with the earlier release; there is no pool yet."""
        self._pool_max_concurrency = None if count is None else int(count)
        return self

    def _copy(self) -> Opts:
        other = Opts()
        for name in Opts.__slots__:
            setattr(other, name, getattr(self, name))
        other._settings = dict(self._settings)
        return other

    def _to_ffi(self) -> bytes:
        pairs: list[tuple[str, str]] = [
            ("host", self._host),
            ("port", str(self._port)),
            ("user", self._user),
            ("sslmode", self._ssl_mode),
            ("upgrade_to_unix_socket", "1" if self._upgrade_to_unix_socket else "0"),
            ("statement_cache_size", str(self._statement_cache_size)),
        ]
        for key, value in (
            ("socket", self._socket),
            ("password", self._password),
            ("database", self._db),
            ("application_name", self._application_name),
            ("options", self._options),
        ):
            if value is not None:
                pairs.append((key, value))
        if self._connect_timeout:
            pairs.append(("connect_timeout_ms", str(max(1, int(self._connect_timeout * 1000)))))
        if self._json_as_str:
            pairs.append(("json", "str"))
        elif self._json_loads is not None:
            pairs.append(("json", "loads"))
        if self._json_dumps is not None:
            pairs.append(("json_dumps", "python"))
        if self._temporal_out_of_range != "default":
            pairs.append(("temporal_out_of_range", self._temporal_out_of_range))
        for key, value in self._settings.items():
            pairs.append(("param:" + key, value))
        for key, value in pairs:
            if "\0" in key or "\0" in value:
                raise IncorrectApiUsageError(f"connection option {key.removeprefix('param:')} contains a NUL character")
        return "".join(f"{k}\0{v}\0" for k, v in pairs).encode()

    def _connect_args(self, handle: Any) -> tuple[bytes, dict[int, Callable[[Any], str]]]:
        """What a new connection on ``handle`` needs: the options for the library (with
        the handle's registry key) and its parameter dumpers by type OID. The result
        streams' callables (a JSON ``loads``) go into the handle's registry here."""
        raw = self._to_ffi() + f"registry_key\0{handle.registry_key}\0".encode()
        if self._json_loads is not None and not self._json_as_str:
            for oid in _JSON_OIDS:
                _registry.put(handle.registry_key, oid, self._json_loads)
        dumpers: dict[int, Callable[[Any], str]] = {}
        if self._json_dumps is not None:
            for oid in _JSON_OIDS:
                dumpers[oid] = self._json_dumps
        return raw, dumpers

    def __repr__(self) -> str:
        fields: list[tuple[str, Any]] = [
            ("host", self._host),
            ("port", self._port),
            ("socket", self._socket),
            ("user", self._user),
            ("password", None if self._password is None else "***"),
            ("db", self._db),
            ("application_name", self._application_name),
            ("ssl_mode", self._ssl_mode),
            ("upgrade_to_unix_socket", self._upgrade_to_unix_socket),
        ]
        if self._settings:
            fields.append(("settings", self._settings))
        inner = ", ".join(f"{k}={v!r}" for k, v in fields if v is not None)
        return f"Opts({inner})"
