"""What Switchboard keeps per connected socket: as little as possible."""

from __future__ import annotations

import asyncio

from switchboard.realtime.ratelimit import TokenBucket
from switchboard.types import UserId


class SocketState:
    __slots__ = (
        "bucket",
        "counted",
        "expires_at",
        "expiry",
        "jti",
        "namespace",
        "session_start",
        "user_id",
    )

    def __init__(
        self, user_id: UserId, namespace: str, expires_at: float, bucket: TokenBucket | None
    ) -> None:
        self.user_id = user_id
        self.namespace = namespace
        self.expires_at = expires_at
        self.bucket = bucket
        self.expiry: asyncio.TimerHandle | None = None
        # Which token (and session) the socket runs on: a revocation ends it.
        self.jti: str | None = None
        self.session_start: float | None = None
        # In presence and the socket gauges (set before the CONNECT answer leaves).
        self.counted = False
