"""Presence: which users are online. A user is online while any socket of theirs is.

`PresenceStore` is the interface; `LocalPresence` keeps it in this process.
The cluster store (Redis, heartbeats) implements the same protocol.
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


class LocalPresence:
    """In-process presence: user id → set of socket ids."""

    def __init__(self) -> None:
        self._sockets: dict[UserId, set[Sid]] = {}

    async def add(self, user_id: UserId, sid: Sid) -> bool:
        sids = self._sockets.get(user_id)
        if sids is None:
            self._sockets[user_id] = {sid}
            return True
        sids.add(sid)
        return False

    async def remove(self, user_id: UserId, sid: Sid) -> bool:
        sids = self._sockets.get(user_id)
        if sids is None or sid not in sids:
            return False
        sids.discard(sid)
        if sids:
            return False
        del self._sockets[user_id]
        return True

    async def is_online(self, user_id: UserId) -> bool:
        return user_id in self._sockets

    async def online_user_ids(self) -> set[UserId]:
        return set(self._sockets)

    async def online_status_bulk(self, user_ids: Iterable[UserId]) -> dict[UserId, bool]:
        return {uid: uid in self._sockets for uid in user_ids}

    def socket_count(self, user_id: UserId) -> int:
        return len(self._sockets.get(user_id, ()))

    async def close(self) -> None:
        self._sockets.clear()
