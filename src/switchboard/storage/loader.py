"""`BatchLoader`: lookups of many keys that arrive together share one query.

A connect storm asks the same questions for hundreds of users at once (the
conversations whose rooms a socket joins, a user's unread count). Each
`load(key)` waits for the next query, which takes every key asked for while
the previous query ran: one query per batch instead of one per socket, and
one per user however many tabs connect. Nothing is cached between batches, so
an answer is never older than the question.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

log = logging.getLogger("switchboard.storage")

# The most keys one query takes (bounds an IN list).
MAX_KEYS = 1000


class BatchLoader(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: V) -> None:
        self._fetch = fetch
        self._default = default
        # Per key, one future per caller: a caller that gives up cancels only its own.
        self._waiting: dict[K, list[asyncio.Future[V]]] = {}
        self._running = False
        self._task: asyncio.Task[None] | None = None

    async def load(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V] = loop.create_future()
        waiters = self._waiting.get(key)
        if waiters is None:
            self._waiting[key] = [future]
        else:
            waiters.append(future)
        if not self._running:
            self._running = True
            self._task = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                keys = list(self._waiting)[:MAX_KEYS]
                batch = {k: self._waiting.pop(k) for k in keys}
                try:
                    found = await self._fetch(keys)
                except Exception as exc:
                    for waiters in batch.values():
                        for future in waiters:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for key, waiters in batch.items():
                    value = found.get(key, self._default)
                    for future in waiters:
                        if not future.done():
                            future.set_result(value)
        finally:
            self._running = False
