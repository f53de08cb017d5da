"""The cluster backend: state shared by every node in one Redis (`SWITCHBOARD_REDIS_URL`).

Imported only when that URL is set (see `open_backend`). It opens one client
per job (log reader, presence, limits, channel, health) through
`redis_client`, so all of them behave alike during an outage, and turns
redis-py's errors into `BackendUnavailable` where callers degrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

from redis.exceptions import RedisError

from switchboard.metrics import Metrics
from switchboard.realtime.backends import (
    BackendUnavailable,
    Channel,
    HealthCheck,
    PresenceListener,
    SharedBuckets,
)
from switchboard.realtime.backends.redis_client import RECONNECT_DELAY, redis_client, redis_ping
from switchboard.realtime.backends.redis_log import RedisLog
from switchboard.realtime.backends.redis_presence import ClusterPresence
from switchboard.realtime.event_log import EventLog
from switchboard.realtime.presence import PresenceStore

log = logging.getLogger("switchboard.cluster")

_LIMIT_PREFIX = "switchboard:limit:"
REVOCATION_CHANNEL = "switchboard:auth"

# KEYS[1] bucket; ARGV: interval ms, capacity ms (limit * interval), consume (1/0).
# Returns {allowed (1/0), ms until the next hit would be allowed}. Redis's own
# clock, so nodes with skewed clocks still share one bucket correctly.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > capacity then
  return {0, new_tat - now - capacity}
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now))
end
return {1, 0}
"""


class RedisBuckets:
    """GCRA buckets as one Redis key each, expiring by themselves."""

    def __init__(self, url: str) -> None:
        self._redis = redis_client(url, name="switchboard-limits")
        self._gcra = self._redis.register_script(_GCRA)

    async def hit(self, key: str, interval: float, capacity: float, consume: bool) -> float | None:
        try:
            allowed, wait_ms = await self._gcra(
                keys=[_LIMIT_PREFIX + key],
                args=[
                    max(1, round(interval * 1000)),
                    max(1, round(capacity * 1000)),
                    "1" if consume else "0",
                ],
            )
        except RedisError as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc
        return None if int(allowed) else int(wait_ms) / 1000

    async def reset(self, key: str) -> None:
        try:
            await self._redis.delete(_LIMIT_PREFIX + key)
        except RedisError as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def close(self) -> None:
        await self._redis.aclose()


class RedisChannel:
    """A Redis pub/sub channel: publish on one client, listen on a blocking one."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self._redis = redis_client(url, name=f"switchboard-pub-{name}")

    async def publish(self, message: str) -> None:
        try:
            await self._redis.publish(self.name, message)
        except RedisError as exc:
            raise BackendUnavailable(f"redis: {exc}") from exc

    async def listen(
        self,
        on_message: Callable[[str], Awaitable[None]],
        on_subscribed: Callable[[], Awaitable[None]],
    ) -> None:
        client = redis_client(self.url, blocking=True, name=f"switchboard-sub-{self.name}")
        lost = False  # one line per outage, not one per retry
        try:
            while True:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                try:
                    await pubsub.subscribe(self.name)
                    await on_subscribed()
                    if lost:
                        log.info("channel %s back", self.name)
                        lost = False
                    async for message in pubsub.listen():
                        data = message.get("data")
                        if message.get("type") == "message" and isinstance(data, str):
                            await on_message(data)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if not lost:
                        log.warning("channel %s lost, resubscribing: %s", self.name, exc)
                        lost = True
                    await asyncio.sleep(RECONNECT_DELAY)
                finally:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()  # type: ignore[no-untyped-call]
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()

    async def close(self) -> None:
        await self._redis.aclose()


class RedisBackend:
    name = "redis"

    def __init__(self, url: str, *, node_id: str, node_ttl: float, metrics: Metrics) -> None:
        self.url = url
        self.node_id = node_id
        self.node_ttl = node_ttl
        self.metrics = metrics
        self._buckets = RedisBuckets(url)
        self._channel = RedisChannel(url, REVOCATION_CHANNEL)
        self.shared_buckets: SharedBuckets | None = self._buckets
        self.revocations: Channel | None = self._channel
        self._health = redis_client(url, name=f"switchboard-health-{node_id}")
        self._presence: ClusterPresence | None = None
        health = self._health

        async def ping() -> bool:
            return await redis_ping(health)

        self.health_checks: Mapping[str, HealthCheck] = {"redis": ping}

    def event_log(self, window: float) -> EventLog:
        return RedisLog(self.url, window)

    def presence(self, on_remote_change: PresenceListener) -> PresenceStore:
        presence = ClusterPresence(
            redis_client(self.url, name=f"switchboard-presence-{self.node_id}"),
            self.node_id,
            ttl_seconds=self.node_ttl,
            metrics=self.metrics,
        )
        # A dead node's users are announced by the survivor that reaps it.
        presence.on_change = on_remote_change
        # Transitions are counted cluster-wide; this node's gauge counts its own sockets.
        self.metrics.count_online_users(presence.local_user_count)
        self._presence = presence
        return presence

    async def start(self) -> None:
        if self._presence is not None:
            await self._presence.start()

    async def close(self) -> None:
        # The presence store is closed by the realtime server (it withdraws its sockets).
        await self._buckets.close()
        await self._channel.close()
        await self._health.aclose()
