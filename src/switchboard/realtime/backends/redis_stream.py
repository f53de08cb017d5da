"""The event log's Redis Streams, as every writer and reader sees them.

One stream per namespace, `sb:log:{namespace}`; each entry has one field,
`d`, holding `LogRecord.to_json()`. Every append trims entries older than
the retention window, and a stream nobody appends to expires after twice the
window. `RedisLog` (every node) and `switchboard.publisher` (any process, no
Socket.IO server) both append through `StreamAppender`, so what a worker
writes is delivered, numbered and replayed exactly like a node's own emits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from switchboard.realtime.event_log import LogRecord, Pos, parse_pos

FIELD = "d"
# With recovery off the stream only carries delivery: keep a minute for readers that lag.
MIN_RETENTION_SECONDS = 60.0


def stream_key(namespace: str) -> str:
    return f"sb:log:{namespace}"


def retention_for(recovery_seconds: float) -> float:
    """How long entries stay: the recovery window, and never less than a minute."""
    return max(recovery_seconds, MIN_RETENTION_SECONDS)


def stream_pos(raw: object) -> Pos:
    pos = parse_pos(raw)
    if pos is None:  # Redis always answers "ms-seq"
        raise ValueError(f"not a stream id: {raw!r}")
    return pos


def record_of(fields: Mapping[str, Any]) -> LogRecord:
    """The record of one entry; KeyError, ValueError or TypeError when it is not one."""
    return LogRecord.from_json(fields[FIELD])


class StreamAppender:
    """Appends records to the per-namespace streams of one Redis client (decoded responses)."""

    def __init__(self, redis: aioredis.Redis, retention: float) -> None:
        self._redis = redis
        self.retention = retention
        self._expire_at: dict[str, float] = {}

    async def append(self, namespace: str, record: LogRecord) -> Pos:
        """XADD the record (trimming the window); its position in the log."""
        key = stream_key(namespace)
        now = time.time()
        min_id = f"{int((now - self.retention) * 1000)}-0"
        entry_id = await self._redis.xadd(
            key, {FIELD: record.to_json()}, minid=min_id, approximate=True
        )
        # The key outlives an idle namespace by at most twice the retention.
        if self._expire_at.get(namespace, 0.0) <= now:
            self._expire_at[namespace] = now + 1.0
            await self._redis.expire(key, int(self.retention * 2) + 1)
        return stream_pos(entry_id)
