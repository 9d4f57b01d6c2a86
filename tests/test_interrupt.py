"""Signals during a query: Ctrl-C cancels the query on the server and leaves the
connection usable; a handler that does not raise lets the query finish."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from pyro_postgres.sync import Conn

pytestmark = pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")


def _signal_later(sig: int, delay: float) -> threading.Timer:
    # Aimed at the main thread: a process-wide signal may land on the timer's thread,
    # which would not interrupt the main thread's wait.
    main = threading.main_thread().ident
    assert main is not None
    t = threading.Timer(delay, signal.pthread_kill, (main, sig))
    t.start()
    return t


def test_keyboard_interrupt_cancels_the_query(url: str) -> None:
    conn = Conn(url)
    _signal_later(signal.SIGINT, 0.3)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.query("SELECT pg_sleep(30)")
    assert time.monotonic() - start < 10
    # The server stopped the query and the session is in step.
    assert conn.query_first("SELECT 1") == (1,)
    assert conn.exec_first("SELECT $1::int", (5,)) == (5,)
    conn.close()


def test_keyboard_interrupt_during_exec(url: str) -> None:
    conn = Conn(url)
    _signal_later(signal.SIGINT, 0.3)
    with pytest.raises(KeyboardInterrupt):
        conn.exec("SELECT pg_sleep($1)", (30,))
    assert conn.exec("SELECT 2") == [(2,)]
    conn.close()


def test_signal_handler_that_does_not_raise_lets_the_query_finish(url: str) -> None:
    conn = Conn(url)
    seen: list[int] = []
    old = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:
        _signal_later(signal.SIGUSR1, 0.2)
        assert conn.query("SELECT 7 FROM pg_sleep(0.6)") == [(7,)]
    finally:
        signal.signal(signal.SIGUSR1, old)
    assert seen == [signal.SIGUSR1]
    conn.close()


def test_custom_exception_from_handler_cancels(url: str) -> None:
    class Timeout(Exception):
        pass

    def on_alarm(signum: int, frame: object) -> None:
        raise Timeout

    conn = Conn(url)
    old = signal.signal(signal.SIGALRM, on_alarm)
    try:
        _signal_later(signal.SIGALRM, 0.3)
        with pytest.raises(Timeout):
            conn.exec_drop("SELECT pg_sleep(30)")
    finally:
        signal.signal(signal.SIGALRM, old)
    assert conn.query_first("SELECT 3") == (3,)
    conn.close()


def test_keyboard_interrupt_while_rows_stream_in(url: str) -> None:
    # A big result arrives in chunks, so the interrupt may land in Python code between
    # two chunks rather than in the wait; either way the query is cancelled.
    conn = Conn(url)
    _signal_later(signal.SIGINT, 0.5)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        conn.exec("SELECT g, repeat('z', 200) FROM generate_series(1, 50000000) g")
    assert time.monotonic() - start < 20
    assert conn.exec_first("SELECT $1::text", ("ok",)) == ("ok",)
    conn.close()
