"""Threads: the GIL is released while waiting for the server, and a shared Conn
serialises concurrent calls."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest

from pyro_postgres.error import DivisionByZero
from pyro_postgres.sync import Conn


def test_gil_is_released_during_network_waits(url: str) -> None:
    conn = Conn(url)
    count = 0
    stop = False

    def spin() -> None:
        nonlocal count
        while not stop:
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        start = count
        conn.query("SELECT pg_sleep(0.5)")
        during = count - start
        start = count
        time.sleep(0.5)
        idle = count - start
    finally:
        stop = True
        t.join()
        conn.close()
    # Holding the GIL through the wait would leave the spinning thread a few switch
    # intervals at most; released, it runs about as fast as when the main thread sleeps.
    assert during > idle * 0.3, (during, idle)


def test_shared_connection_serialises_threads(url: str) -> None:
    conn = Conn(url)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                assert conn.exec_first("SELECT $1::int * 2", (n * 1000 + i,)) == ((n * 1000 + i) * 2,)
                assert conn.query_first(f"SELECT {n}") == (n,)
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    conn.close()
    assert errors == []


def test_mixed_calls_from_many_threads_stay_in_step(url: str) -> None:
    """Prepared and text statements, pickle and marshal results, server errors and notices
    (delivered with the turn given back mid-call) from eight threads on one connection:
    every call gets its own answer and nothing hangs. (Pipelines are left out: while one is
    open, other threads' statements are refused by design — see test_pipeline.py.)"""
    conn = Conn(url)
    conn.set_notice_handler(lambda fields: None)
    twice = conn.prepare("SELECT $1::int * 2, $1::numeric / 4, now()::date")
    errors: list[BaseException] = []
    
    def work(n: int) -> None:
        try:
            for i in range(40):
                v = n * 1000 + i
                row = conn.exec_first(twice, (v,))
                assert row[0] == v * 2 and row[1] == Decimal(v) / 4, row
                assert conn.exec("SELECT $1::text", (str(v),)) == [(str(v),)]
                if i % 5 == 0:
                    with pytest.raises(DivisionByZero):
                        conn.exec_first("SELECT 1 / $1::int", (0,))
                if i % 7 == n % 7:
                    conn.query_drop(f"DO $$ BEGIN RAISE NOTICE 'n%', {v}; END $$")
                assert conn.query_first(f"SELECT {v}") == (v,)
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert errors == []
    assert conn.query_first("SELECT 'still in step'") == ("still in step",)
    conn.close()
