"""The event log's Redis Streams, as every writer and reader sees them.

One stream per namespace, `sb:log:{namespace}`; each entry has one field,
`d`, holding `LogRecord.to_json()`. Every append trims entries older than
the retention window, and a stream nobody appends to expires after twice the
window. `RedisLog` (every node) and `switchboard.publisher` (any process, no
Socket.IO server) both append what `append_of` builds, so what a worker
writes is delivered, numbered and replayed exactly like a node's own emits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis import Redis as SyncRedis

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


@dataclass(frozen=True, slots=True)
class Append:
    """One append, as both the asyncio and the blocking writers send it."""

    key: str
    data: str  # the entry's one field, FIELD
    min_id: str  # entries older than the window go (XADD MINID ~)
    expire_seconds: int  # the key outlives an idle namespace by at most twice the window


def append_of(namespace: str, record: LogRecord, retention: float, now: float) -> Append:
    return Append(
        key=stream_key(namespace),
        data=record.to_json(),
        min_id=f"{int((now - retention) * 1000)}-0",
        expire_seconds=int(retention * 2) + 1,
    )


class _ExpiryClock:
    """Refresh a stream's expiry at most once a second per namespace (it is one more command)."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def due(self, namespace: str, now: float) -> bool:
        if self._next.get(namespace, 0.0) > now:
            return False
        self._next[namespace] = now + 1.0
        return True


# A batch's XADDs in one command. Through a pipeline each XADD was a command for
# redis-py to pack and a reply to parse: about a quarter of a node's CPU on the
# notifications path (20 broadcasts a request). Run by EVALSHA; one key, so the
# script goes where the stream lives. KEYS[1]: the stream; ARGV[1]: the MINID
# trim point; ARGV[2]: seconds to EXPIRE the key in, "0" for no EXPIRE; ARGV[3..]:
# each entry's FIELD. Returns the entry ids in order.
_APPEND_SCRIPT = f"""
local ids = {{}}
for i = 3, #ARGV do
  ids[i - 2] = redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[1], '*', '{FIELD}', ARGV[i])
end
if ARGV[2] ~= '0' then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return ids
"""
# Entries per script call: Redis runs a script to its end before anything else,
# so a very large batch (a notification to thousands) is cut into calls.
_APPEND_CHUNK = 256


class StreamAppender:
    """Appends records to the per-namespace streams (an asyncio client, decoded responses)."""

    def __init__(self, redis: aioredis.Redis, retention: float) -> None:
        self._redis = redis
        self.retention = retention
        self._expiry = _ExpiryClock()
        self._script = redis.register_script(_APPEND_SCRIPT)

    async def append(self, namespace: str, record: LogRecord) -> Pos:
        """XADD the record (trimming the window); its position in the log."""
        return (await self.append_many(namespace, (record,)))[0]

    async def append_many(self, namespace: str, records: Sequence[LogRecord]) -> list[Pos]:
        """XADD the records in order, one command per chunk (`_APPEND_SCRIPT`).

        A committed batch of chat messages or notifications is published at
        once; one XADD awaited after another made the Redis round trip the
        limit of a node's send rate.
        """
        positions: list[Pos] = []
        now = time.time()
        for start in range(0, len(records), _APPEND_CHUNK):
            chunk = records[start : start + _APPEND_CHUNK]
            cmds = [append_of(namespace, record, self.retention, now) for record in chunk]
            first = cmds[0]
            expire = first.expire_seconds if self._expiry.due(namespace, now) else 0
            ids: list[Any] = await self._script(
                keys=[first.key], args=[first.min_id, expire, *(cmd.data for cmd in cmds)]
            )
            positions.extend(stream_pos(entry_id) for entry_id in ids)
        return positions


class BlockingStreamAppender:
    """The same appends through a blocking client, for code that runs no event loop."""

    def __init__(self, redis: SyncRedis, retention: float) -> None:
        self._redis = redis
        self.retention = retention
        self._expiry = _ExpiryClock()

    def append(self, namespace: str, record: LogRecord) -> Pos:
        now = time.time()
        cmd = append_of(namespace, record, self.retention, now)
        entry_id = self._redis.xadd(cmd.key, {FIELD: cmd.data}, minid=cmd.min_id, approximate=True)
        if self._expiry.due(namespace, now):
            self._redis.expire(cmd.key, cmd.expire_seconds)
        return stream_pos(entry_id)
