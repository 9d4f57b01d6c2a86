"""One connection of either API flavour with every call made synchronous, for test bodies
shared by the sync and async APIs (test_parity and the type option and registry tests)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable

from pyro_postgres import Opts, async_, sync


class Api:
    def __init__(self, flavour: str, target: str | Opts) -> None:
        self.flavour = flavour
        if flavour == "sync":
            self.loop: asyncio.AbstractEventLoop | None = None
            self.conn: Any = sync.Conn(target)
        else:
            self.loop = asyncio.new_event_loop()
            self.conn = self.loop.run_until_complete(async_.Conn.new(target))

    def run(self, value: Any) -> Any:
        if inspect.isawaitable(value):
            assert self.loop is not None
            return self.loop.run_until_complete(value)
        return value

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.conn, name)
        return lambda *a, **kw: self.run(method(*a, **kw))

    def pipeline_rows(self, requests: list[tuple[str, tuple[Any, ...]]]) -> list[list[Any]]:
        """Each request through one pipeline; the rows of each."""
        if self.flavour == "sync":
            with self.conn.pipeline() as p:
                tickets = [p.exec(sql, params) for sql, params in requests]
                return [p.claim(t) for t in tickets]

        async def run() -> list[list[Any]]:
            async with self.conn.pipeline() as p:
                tickets = [p.exec(sql, params) for sql, params in requests]
                return [await p.claim(t) for t in tickets]

        return self.run(run())  # type: ignore[no-any-return]

    def iter_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """The rows of ``sql`` read through exec_iter, two at a time."""

        def read(portal: Any) -> Any:
            rows: list[Any] = []
            more = True
            while more:
                chunk, more = self.run(portal.fetch(2))
                rows += chunk
            return rows

        if self.flavour == "sync":
            return self.conn.exec_iter(sql, params, read)  # type: ignore[no-any-return]

        async def aread(portal: Any) -> Any:
            rows: list[Any] = []
            more = True
            while more:
                chunk, more = await portal.fetch(2)
                rows += chunk
            return rows

        return self.run(self.conn.exec_iter(sql, params, aread))  # type: ignore[no-any-return]

    def portal_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """The rows of ``sql`` read through a named portal in a transaction."""
        if self.flavour == "sync":
            with self.conn.tx() as tx:
                return tx.exec_portal(sql, params).exec_collect(0)  # type: ignore[no-any-return]

        async def run() -> list[Any]:
            async with self.conn.tx() as tx:
                portal = await tx.exec_portal(sql, params)
                return await portal.exec_collect(0)  # type: ignore[no-any-return]

        return self.run(run())  # type: ignore[no-any-return]

    def tx(self, statements: list[str], raise_inside: BaseException | None = None) -> None:
        """Runs `statements` in a transaction of the connection's flavour, then raises
        `raise_inside` inside the block if given."""
        if self.flavour == "sync":
            with self.conn.tx():
                for sql in statements:
                    self.conn.query_drop(sql)
                if raise_inside is not None:
                    raise raise_inside
        else:
            async def run() -> None:
                async with self.conn.tx():
                    for sql in statements:
                        await self.conn.query_drop(sql)
                    if raise_inside is not None:
                        raise raise_inside
            self.run(run())

    def close(self) -> None:
        self.run(self.conn.close())
        if self.loop is not None:
            self.loop.close()


FLAVOURS = ["sync", "async"]
