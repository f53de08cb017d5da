"""Deadlines for every connection from one event-loop timer.

Each kind of deadline (next ping, pong due, connect timeout) has a fixed
delay, so a queue of them is ordered by construction: appending `now + delay`
never goes before an earlier entry. That makes each queue a plain deque with
O(1) work per connection, and one `loop.call_at` at the earliest head fires
them all, to the millisecond, whatever the number of connections. An entry
carries the generation it was scheduled for; rescheduling a connection bumps
its generation and the old entry is skipped when it comes up.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class DeadlineQueue(Generic[T]):
    __slots__ = ("delay", "entries", "fire")

    def __init__(self, delay: float, fire: Callable[[T, int], None]) -> None:
        self.delay = delay
        self.fire = fire  # (item, generation) when its deadline passes
        self.entries: deque[tuple[float, T, int]] = deque()


class Timers(Generic[T]):
    """Owns the queues and the one timer that serves them."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._queues: list[DeadlineQueue[T]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._armed_at = float("inf")
        self._clock = clock

    def queue(self, delay: float, fire: Callable[[T, int], None]) -> DeadlineQueue[T]:
        q: DeadlineQueue[T] = DeadlineQueue(delay, fire)
        self._queues.append(q)
        return q

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def add(self, q: DeadlineQueue[T], item: T, generation: int) -> None:
        when = self.now() + q.delay
        q.entries.append((when, item, generation))
        if when < self._armed_at:
            self._arm(when)

    def _arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._armed_at = when
        self._handle = asyncio.get_running_loop().call_at(when, self._run)

    def _run(self) -> None:
        self._handle = None
        self._armed_at = float("inf")
        now = self.now()
        due: list[tuple[float, int, DeadlineQueue[T], T, int]] = []
        for q in self._queues:
            entries = q.entries
            while entries and entries[0][0] <= now:
                when, item, generation = entries.popleft()
                due.append((when, len(due), q, item, generation))
        # Across queues in deadline order too (a late run can find several due).
        due.sort(key=lambda entry: (entry[0], entry[1]))
        for _when, _n, q, item, generation in due:
            q.fire(item, generation)
        heads = [q.entries[0][0] for q in self._queues if q.entries]
        if heads:
            self._arm(min(heads))

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_at = float("inf")
        for q in self._queues:
            q.entries.clear()
