"""The Python callables of each connection that its result streams call: a JSON ``loads``
(``Opts.json_loads``), the loaders and composite factories of ``register_type``.

A result stream is unpickled by one ``pickle.loads``; where a value needs one of these
callables, the stream fetches it once with ``callable(registry_key, key)`` (keys are type
OIDs) and then calls it from the pickle memo for every value. Each connection has its own
registry key, so what one connection registers never reaches another.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any, Callable

_by_connection: dict[int, dict[int, Callable[..., Any]]] = {}
_keys = itertools.count(1)
_lock = threading.Lock()


def new_key() -> int:
    """A registry key for a new connection (below 2**32, as the library takes it)."""
    with _lock:
        key = next(_keys) % (1 << 32) or next(_keys)
        _by_connection[key] = {}
        return key


def put(registry_key: int, key: int, fn: Callable[..., Any]) -> None:
    _by_connection[registry_key][key] = fn


def has_callables(registry_key: int) -> bool:
    return bool(_by_connection.get(registry_key))


def forget(registry_key: int) -> None:
    _by_connection.pop(registry_key, None)


def callable(registry_key: int, key: int) -> Callable[..., Any]:  # noqa: A001 (named in the library)
    """Called by result streams (see the module documentation)."""
    return _by_connection[registry_key][key]
