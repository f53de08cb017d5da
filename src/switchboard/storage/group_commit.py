"""`GroupCommit`: writes that arrive while a transaction runs share the next one.

A writer submits an item carrying its own future and awaits that future. One
drain task takes everything queued (up to a bound), hands the batch to
`commit` (one transaction, which answers each item after its commit), and
repeats while more arrived meanwhile: under load a commit is paid per batch,
not per item. A batch that fails as a whole is retried one item at a time, so
one bad item only fails itself. chat/writer.py (messages) and
notifications/writer.py use it.

Before taking a batch the drain lets the event loop settle: it yields turns
while the queue still grows (at most `_MAX_SETTLE_TURNS`). Sends of one burst
reach the queue over a few turns (a read, then the handler task), and a batch
that takes them all shares what each batch costs — the transaction (its
commit, and on PostgreSQL its round trips) and, above all, one socket write per
recipient of its broadcasts. An idle writer waits one turn, a few microseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

log = logging.getLogger("switchboard.storage")

# Why a bound: a steady stream keeps the queue growing every turn, and the
# commit (and with it every ack) must not wait on it for long. Fan-out to 100
# sockets measured 20 % less CPU per message with it (docs/benchmarks.md).
_MAX_SETTLE_TURNS = 8


class Pending(Protocol):
    """An item of a batch: `done` is resolved by `commit` (or failed here)."""

    @property
    def done(self) -> asyncio.Future[Any]: ...


T = TypeVar("T", bound=Pending)


class GroupCommit(Generic[T]):
    def __init__(
        self,
        commit: Callable[[list[T]], Awaitable[None]],
        fail: Callable[[T, BaseException], None],
        *,
        max_weight: int,
        weight: Callable[[T], int] | None = None,
        name: str = "batch",
    ) -> None:
        """`commit` stores a batch and resolves its futures; `fail` answers one that failed.

        A batch holds items up to `max_weight` in total (at least one item,
        whatever its weight), which bounds the statements `commit` builds.
        """
        self._commit = commit
        self._fail = fail
        self._max_weight = max_weight
        self._weight = weight
        self._name = name
        self._queue: list[T] = []
        self._running = False
        self._task: asyncio.Task[None] | None = None

    def submit(self, item: T) -> None:
        """Queue `item` for the next batch; the caller awaits `item.done`."""
        self._queue.append(item)
        if not self._running:
            self._running = True
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def _take(self) -> list[T]:
        if self._weight is None:
            batch, self._queue = self._queue[: self._max_weight], self._queue[self._max_weight :]
            return batch
        total = 0
        n = 0
        for item in self._queue:
            total += self._weight(item)
            if n and total > self._max_weight:
                break
            n += 1
        batch, self._queue = self._queue[:n], self._queue[n:]
        return batch

    async def _settle(self) -> None:
        """Yield loop turns until one adds nothing to the queue (or a batch is full)."""
        seen = -1
        for _ in range(_MAX_SETTLE_TURNS):
            queued = len(self._queue)
            if queued == seen or queued >= self._max_weight:
                return
            seen = queued
            await asyncio.sleep(0)

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._settle()
                batch = self._take()
                try:
                    await self._commit(batch)
                except Exception:
                    # Once more, one by one: a conflict with another writer may be
                    # resolved by then (the item finds what that writer stored).
                    log.info("a %s of %d failed; retrying one by one", self._name, len(batch))
                    for item in batch:
                        if item.done.done():
                            continue
                        try:
                            await self._commit([item])
                        except Exception as exc:
                            self._fail(item, exc)
        finally:
            self._running = False
            for item in self._queue:  # only when cancelled at shutdown
                if not item.done.done():
                    item.done.cancel()
