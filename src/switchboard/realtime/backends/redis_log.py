"""`RedisLog`: one Redis Stream per namespace as cross-node transport and replay log.

Every broadcast is an XADD to `sb:log:{namespace}`; every node (the sender
included) runs one XREAD BLOCK loop per namespace and delivers what it reads
locally, with the stream id as the Socket.IO offset. So all nodes deliver in
the same order, and the ids a client holds are positions in the very log that
recovery replays from. Sessions are JSON values with a TTL of the window.

Faults: the reader survives a Redis restart or outage by itself (backoff,
then XREAD again from the last id it delivered, so nothing still in the stream
is skipped); `redis_up` (and the log) show the outage. A publish during an
outage waits in a bounded local outbox, flushed in order when Redis is back,
so the caller's request (e.g. a chat message already stored) does not fail.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from switchboard.realtime.backends.redis_client import redis_client
from switchboard.realtime.backends.redis_stream import (
    StreamAppender,
    record_of,
    retention_for,
    stream_key,
    stream_pos,
)
from switchboard.realtime.event_log import (
    ZERO,
    Deliver,
    Entry,
    LogRecord,
    Pos,
    Session,
    format_pos,
    parse_pos,
)

log = logging.getLogger("switchboard.realtime.cluster")

_READ_BLOCK_MS = 2000
_READ_COUNT = 500
_OUTBOX_MAX = 10_000


def _session_key(namespace: str, pid: str) -> str:
    return f"sb:session:{namespace}:{pid}"


class RedisLog:
    def __init__(self, url: str, retention: float) -> None:
        self.retention = retention_for(retention)
        # A blocking pool: a burst of emits waits for a connection instead of failing.
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=32,
            timeout=5,
            decode_responses=True,
            socket_connect_timeout=2,
            socket_timeout=5,
        )
        self._redis: aioredis.Redis = aioredis.Redis(connection_pool=pool)
        self._stream = StreamAppender(self._redis, self.retention)
        # The blocking reader gets its own connection: XREAD BLOCK holds it. Its
        # retries are harmless (a read is idempotent); the publisher above has
        # none on purpose: a retried XADD whose first answer was lost would
        # append the event twice.
        self._reader: aioredis.Redis = redis_client(url, blocking=True, name="switchboard-log")
        self._deliver: Deliver = lambda _ns, _entries: None
        self._processed: dict[str, Pos] = {}
        self._advanced: dict[str, asyncio.Condition] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: deque[tuple[str, LogRecord]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self.redis_up = True
        self.outages = 0
        self.dropped = 0

    # -- reading -----------------------------------------------------------------------

    def bind(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def start(self, namespaces: list[str]) -> None:
        for ns in namespaces:
            self._processed[ns] = await self._head(ns)
            self._advanced[ns] = asyncio.Condition()
            self._tasks.append(asyncio.get_running_loop().create_task(self._read_loop(ns)))

    async def _head(self, namespace: str) -> Pos:
        """The stream's last id: a starting node delivers only what comes next."""
        try:
            last: Any = await self._redis.xrevrange(stream_key(namespace), count=1)
        except RedisError:
            log.warning("redis unreachable at start; reading %s from now", namespace)
            now_ms = int(time.time() * 1000)
            return (now_ms, 0)
        return stream_pos(last[0][0]) if last else ZERO

    async def _read_loop(self, namespace: str) -> None:
        key = stream_key(namespace)
        backoff = 0.1
        while True:
            try:
                last = format_pos(self._processed[namespace])
                batches: Any = await self._reader.xread(
                    {key: last}, count=_READ_COUNT, block=_READ_BLOCK_MS
                )
                if not self.redis_up:
                    log.warning("redis is back: delivery of %s resumes after %s", namespace, last)
                self.redis_up = True
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.redis_up:
                    self.outages += 1
                    log.error("redis outage, delivery of %s paused: %s", namespace, exc)
                self.redis_up = False
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            for _key_name, entries in batches or []:
                read: list[Entry] = []
                for entry_id, fields in entries:
                    pos = stream_pos(entry_id)
                    try:
                        read.append((pos, record_of(fields)))
                    except (KeyError, ValueError, TypeError):
                        log.error("skipping malformed log entry %s in %s", entry_id, namespace)
                    self._processed[namespace] = pos
                if read:
                    try:
                        self._deliver(namespace, read)
                    except Exception:
                        log.exception(
                            "local delivery failed for entries %s..%s of %s",
                            format_pos(read[0][0]),
                            format_pos(read[-1][0]),
                            namespace,
                        )
            cond = self._advanced[namespace]
            async with cond:
                cond.notify_all()

    def processed(self, namespace: str) -> Pos:
        return self._processed.get(namespace, ZERO)

    async def wait_processed(self, namespace: str, pos: Pos, within: float) -> bool:
        cond = self._advanced.get(namespace)
        if cond is None:
            return False
        try:
            async with asyncio.timeout(within):
                async with cond:
                    await cond.wait_for(lambda: self.processed(namespace) >= pos)
        except TimeoutError:
            return False
        return True

    # -- writing -----------------------------------------------------------------------

    async def publish(self, namespace: str, record: LogRecord) -> None:
        await self.publish_many(namespace, (record,))

    async def publish_many(self, namespace: str, records: Sequence[LogRecord]) -> None:
        if self._outbox:
            for record in records:
                self._enqueue(namespace, record)
            return
        try:
            await self._stream.append_many(namespace, records)
        except (RedisError, OSError) as exc:
            # As with one XADD whose reply was lost, some may be in the stream already.
            log.error("redis unreachable, %d emits to %s queued: %s", len(records), namespace, exc)
            for record in records:
                self._enqueue(namespace, record)

    def _enqueue(self, namespace: str, record: LogRecord) -> None:
        if len(self._outbox) >= _OUTBOX_MAX:
            self._outbox.popleft()
            self.dropped += 1
            log.error("redis outbox full: oldest queued emit dropped")
        self._outbox.append((namespace, record))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        backoff = 0.1
        while self._outbox:
            namespace, record = self._outbox[0]
            try:
                await self._stream.append(namespace, record)
            except (RedisError, OSError):
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            self._outbox.popleft()
            backoff = 0.1

    # -- replay ------------------------------------------------------------------------

    async def can_replay_after(self, namespace: str, pos: Pos) -> bool:
        try:
            info: dict[str, Any] = await self._redis.xinfo_stream(stream_key(namespace))
        except RedisError as exc:
            if "no such key" in str(exc).lower():
                # No stream: nothing was appended for twice the window.
                return True
            raise
        deleted = parse_pos(info.get("max-deleted-entry-id"))
        return deleted is None or deleted <= pos

    async def entries_after(self, namespace: str, pos: Pos) -> list[tuple[Pos, LogRecord]] | None:
        if not await self.can_replay_after(namespace, pos):
            return None
        out: list[tuple[Pos, LogRecord]] = []
        cursor = "(" + format_pos(pos)
        while True:
            rows: Any = await self._redis.xrange(stream_key(namespace), min=cursor, count=1000)
            for entry_id, fields in rows:
                try:
                    out.append((stream_pos(entry_id), record_of(fields)))
                except (KeyError, ValueError, TypeError):
                    continue
            if len(rows) < 1000:
                break
            cursor = "(" + rows[-1][0]
        # Trimming may have run between the check and the read.
        if not await self.can_replay_after(namespace, pos):
            return None
        return out

    # -- sessions ----------------------------------------------------------------------

    async def save_session(self, session: Session, ttl: float) -> None:
        await self._redis.set(
            _session_key(session.namespace, session.pid),
            session.to_json(),
            px=max(1, int(ttl * 1000)),
        )

    async def peek_session(self, namespace: str, pid: str) -> Session | None:
        raw = await self._redis.get(_session_key(namespace, pid))
        return Session.from_json(raw) if raw else None

    async def take_session(self, namespace: str, pid: str) -> Session | None:
        raw = await self._redis.getdel(_session_key(namespace, pid))
        return Session.from_json(raw) if raw else None

    async def close(self) -> None:
        if self._flusher is not None and self._outbox:
            try:
                async with asyncio.timeout(2):
                    await self._flusher
            except TimeoutError:
                log.error("redis outbox not flushed at shutdown: %d emits lost", len(self._outbox))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
        await self._reader.aclose()
        await self._redis.aclose()
