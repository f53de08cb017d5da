"""`ExpiringMap`: what a node remembers of the database, for a while and up to a size.

The memories that let hot paths skip a query (chat/membership.py,
cached_loader.py) are corrected by the cluster log; this bounds what a missed
correction can cost: a value is trusted for `ttl` seconds from when it was
read (changes applied to it since do not extend that), and at most `max_keys`
keys are held, the least recently used going first.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringMap(Generic[K, V]):
    def __init__(self, ttl: float, max_keys: int) -> None:
        self._ttl = ttl
        self._max_keys = max_keys
        # key -> (read at, value); least recently used first.
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value if it is still trusted (and now the most recently used), else None."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self._ttl:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V) -> None:
        """A value just read: trusted for `ttl` from now.

        Expired values at the least recently used end go too, so memory follows
        what was used lately rather than staying at `max_keys` once reached.
        """
        now = time.monotonic()
        entries = self._entries
        entries[key] = (now, value)
        entries.move_to_end(key)
        while len(entries) > self._max_keys:
            entries.popitem(last=False)
        while now - next(iter(entries.values()))[0] > self._ttl:
            entries.popitem(last=False)  # never the one just put: it is fresh

    def replace(self, key: K, value: V) -> None:
        """A held value changed (by a log entry): same age, new value. No-op if not held."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries[key] = (entry[0], value)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)
