"""`CachedLoader`: a `BatchLoader` whose answers are kept, and corrected by the log.

A user's tabs connect one after another: each asks again for the user's
conversations and unread count. Only the first tab's answer needs the
database if what changes those answers is known. It is: every change of
membership is a `join`/`leave` entry of the cluster log, and every change of
an unread count is a `notification:unread_count` entry, applied by every node
in log order. The domain services turn those entries into `update` or
`invalidate` calls here.

- An answer read while an entry about its key was applied is not kept: the
  query may have run on either side of the change (the entry's counter is
  bumped for loads in flight; see `load`).
- An answer is trusted for `ttl` seconds at most, so a node that missed log
  entries (Redis down for a while, a change made by a process without a
  server) is wrong for that long at most; at most `max_keys` keys are held
  (`ExpiringMap`).
- Only while `live()` (the realtime server runs, so entries arrive);
  otherwise every load asks the database, as `BatchLoader` alone does.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from switchboard.storage.expiring_map import ExpiringMap
from switchboard.storage.loader import BatchLoader

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

TTL_SECONDS = 30.0
MAX_KEYS = 100_000


class CachedLoader(Generic[K, V]):
    def __init__(
        self,
        loader: BatchLoader[K, V],
        live: Callable[[], bool],
        *,
        ttl: float = TTL_SECONDS,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._loader = loader
        self._live = live
        self._kept: ExpiringMap[K, tuple[V]] = ExpiringMap(ttl, max_keys)
        # key -> [loads in flight, changes applied since the oldest began]
        self._in_flight: dict[K, list[int]] = {}

    def __len__(self) -> int:
        return len(self._kept)

    async def load(self, key: K) -> V:
        """The kept answer, or the database's (kept when nothing changed meanwhile)."""
        live = self._live()
        if live:
            kept = self._kept.get(key)  # a 1-tuple: a kept None or 0 is still an answer
            if kept is not None:
                return kept[0]
        flight = self._in_flight.get(key)
        if flight is None:
            flight = self._in_flight[key] = [0, 0]
        flight[0] += 1
        changes = flight[1]
        try:
            value = await self._loader.load(key)
        finally:
            flight[0] -= 1
            if not flight[0]:
                del self._in_flight[key]
        if live and flight[1] == changes and self._live():
            self._kept.put(key, (value,))
        return value

    def update(self, key: K, change: Callable[[V], V]) -> None:
        """A log entry changed `key`'s answer: apply it to the kept one (if any).

        The kept answer keeps its age: `ttl` bounds how long one lives on entries alone.
        """
        self._changed(key)
        kept = self._kept.get(key)
        if kept is not None:
            self._kept.replace(key, (change(kept[0]),))

    def invalidate(self, key: K) -> None:
        """A log entry changed `key`'s answer in a way only the database knows: drop it."""
        self._changed(key)
        self._kept.pop(key)

    def _changed(self, key: K) -> None:
        flight = self._in_flight.get(key)
        if flight is not None:
            flight[1] += 1
