"""Presence: which users are online. A user is online while any socket of theirs is.

`PresenceStore` is the interface. The backend chosen by `SWITCHBOARD_REDIS_URL`
(`switchboard.realtime.backends`) supplies it: `LocalPresence` in this process,
or `ClusterPresence` in Redis with node heartbeats.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from switchboard.types import Sid, UserId


class PresenceStore(Protocol):
    async def add(self, user_id: UserId, sid: Sid) -> bool:
        """Record a socket; True when this made the user come online."""
        ...

    async def remove(self, user_id: UserId, sid: Sid) -> bool:
        """Forget a socket; True when this made the user go offline."""
        ...

    async def is_online(self, user_id: UserId) -> bool: ...

    async def online_user_ids(self) -> set[UserId]: ...

    async def online_status_bulk(self, user_ids: Iterable[UserId]) -> dict[UserId, bool]: ...

    async def close(self) -> None: ...
