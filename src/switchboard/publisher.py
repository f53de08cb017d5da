"""`Publisher`: emit to Switchboard's sockets from a process that runs no Socket.IO server.

For workers, cron jobs and services on other machines (what Socket.IO's Redis
emitter is for Node): a publisher appends to the same Redis Streams the nodes
read (`realtime/backends/redis_stream.py`), so every node delivers the event
to its sockets, in log order, with an offset, and a client that reconnects
within the recovery window gets it replayed. It needs only the cluster's
`SWITCHBOARD_REDIS_URL`: no database, no server, no HTTP.

`Publisher` is for asyncio code, `SyncPublisher` for code that runs no event
loop (a Celery task, a Django management command, a cron script); both write
the same entries.

Live events only: nothing is stored. A notification that must be stored
(listed, counted, delivered to a user who is offline now) goes through the
server, with `switchboard.notifier.Notifier` (the internal HTTP API).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

import redis
import redis.asyncio as aioredis
import redis.asyncio.retry
import redis.retry
from redis.backoff import NoBackoff

from switchboard.closing import AsyncClosing
from switchboard.realtime.backends.redis_stream import (
    BlockingStreamAppender,
    StreamAppender,
    retention_for,
)
from switchboard.realtime.event_log import LogRecord, format_pos
from switchboard.types import CHAT, NAMESPACES, NOTIFICATIONS, Room, UserId, user_room

# The server's default SWITCHBOARD_RECOVERY_SECONDS (config.Settings.recovery_seconds).
DEFAULT_RECOVERY_SECONDS = 120.0
_CONNECT_TIMEOUT = 2.0
_COMMAND_TIMEOUT = 5.0
_CLIENT_NAME = "switchboard-publisher"


def checked(namespace: str, record: LogRecord) -> LogRecord:
    if namespace not in NAMESPACES:
        # The nodes read only their own namespaces' streams: it would be lost.
        raise ValueError(f"no such namespace {namespace!r} (one of {', '.join(NAMESPACES)})")
    if not record.event:
        raise ValueError("an event name is required")
    return record


class Publisher(AsyncClosing):
    """Emits into a running Switchboard cluster through its Redis (asyncio).

        async with Publisher.from_url("redis://127.0.0.1:6379/0") as sb:
            await sb.to_user(42, "report:ready", {"url": "/reports/7"})

    Each call returns the event's log offset. Set `recovery_seconds` to the
    nodes' SWITCHBOARD_RECOVERY_SECONDS: every append trims the stream to that
    window, and a shorter one would cut what reconnecting clients replay.
    """

    def __init__(
        self, redis: aioredis.Redis, *, recovery_seconds: float = DEFAULT_RECOVERY_SECONDS
    ) -> None:
        self._redis = redis
        self._stream = StreamAppender(redis, retention_for(recovery_seconds))

    @classmethod
    def from_url(cls, url: str, *, recovery_seconds: float = DEFAULT_RECOVERY_SECONDS) -> Publisher:
        # No command retries, as on the nodes: a retried XADD whose answer was
        # lost would deliver the event twice. A failed call raises instead.
        client = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=_CONNECT_TIMEOUT,
            socket_timeout=_COMMAND_TIMEOUT,
            retry=redis.asyncio.retry.Retry(NoBackoff(), 0),
            client_name=_CLIENT_NAME,
        )
        return cls(client, recovery_seconds=recovery_seconds)

    async def to_user(
        self, user_id: UserId, event: str, data: Any = None, *, namespace: str = NOTIFICATIONS
    ) -> str:
        """Every socket of `user_id` in `namespace` (room `user:{id}`), on every node."""
        return await self._emit(namespace, LogRecord.broadcast(event, data, user_room(user_id)))

    async def to_room(
        self, room: Room | Sequence[Room], event: str, data: Any = None, *, namespace: str = CHAT
    ) -> str:
        """Every socket in `room` (once each, for several rooms), on every node."""
        return await self._emit(namespace, LogRecord.broadcast(event, data, room))

    async def to_namespace(self, event: str, data: Any = None, *, namespace: str) -> str:
        """Every socket connected to `namespace`, on every node."""
        return await self._emit(namespace, LogRecord.broadcast(event, data, None))

    async def _emit(self, namespace: str, record: LogRecord) -> str:
        return format_pos(await self._stream.append(namespace, checked(namespace, record)))

    async def aclose(self) -> None:
        await self._redis.aclose()


class SyncPublisher:
    """`Publisher` for code without an event loop: the same calls, blocking.

    with SyncPublisher.from_url(os.environ["SWITCHBOARD_REDIS_URL"]) as sb:
        sb.to_user(42, "report:ready", {"url": "/reports/7"})
    """

    def __init__(
        self, client: redis.Redis, *, recovery_seconds: float = DEFAULT_RECOVERY_SECONDS
    ) -> None:
        self._redis = client
        self._stream = BlockingStreamAppender(client, retention_for(recovery_seconds))

    @classmethod
    def from_url(
        cls, url: str, *, recovery_seconds: float = DEFAULT_RECOVERY_SECONDS
    ) -> SyncPublisher:
        client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=_CONNECT_TIMEOUT,
            socket_timeout=_COMMAND_TIMEOUT,
            retry=redis.retry.Retry(NoBackoff(), 0),  # as in Publisher: no double appends
            client_name=_CLIENT_NAME,
        )
        return cls(client, recovery_seconds=recovery_seconds)

    def to_user(
        self, user_id: UserId, event: str, data: Any = None, *, namespace: str = NOTIFICATIONS
    ) -> str:
        return self._emit(namespace, LogRecord.broadcast(event, data, user_room(user_id)))

    def to_room(
        self, room: Room | Sequence[Room], event: str, data: Any = None, *, namespace: str = CHAT
    ) -> str:
        return self._emit(namespace, LogRecord.broadcast(event, data, room))

    def to_namespace(self, event: str, data: Any = None, *, namespace: str) -> str:
        return self._emit(namespace, LogRecord.broadcast(event, data, None))

    def _emit(self, namespace: str, record: LogRecord) -> str:
        return format_pos(self._stream.append(namespace, checked(namespace, record)))

    def close(self) -> None:
        self._redis.close()

    def __enter__(self) -> SyncPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
