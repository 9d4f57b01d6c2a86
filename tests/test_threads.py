"""Threads: the GIL is released while waiting for the server, and a shared Conn
serialises concurrent calls."""

from __future__ import annotations

import threading
import time

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
