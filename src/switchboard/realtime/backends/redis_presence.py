"""Cluster presence: who is online across every node, kept in Redis.

Layout (all keys under `switchboard:presence:`):

    node:{node}     hash  sid -> user id     the sockets this node holds
    user:{uid}      set   "{node}|{sid}"     every socket of a user, cluster-wide
    online          set   user ids           users with at least one socket
    nodes           set   node ids           nodes that have registered
    hb:{node}       string with a TTL        the node's heartbeat

Every change is one Lua script, so a user's online/offline transition is
decided atomically by Redis and reported by exactly one node: the one whose
`SADD`/`SREM` on `online` changed it.

A background loop beats every `ttl / 3` seconds. When it finds a node in
`nodes` whose heartbeat key has expired (it died without a word), it runs the
reap script for it: the script re-checks the heartbeat and deletes the dead
node's entries in one step, so when several survivors try at once only one
gets the list of users who went offline, and only that one announces them.

Each node also mirrors its own sockets in memory. While Redis is unreachable,
`add`/`remove` only touch the mirror; once Redis answers again (same data, a
restarted empty Redis, or this node having been reaped after a long stall)
the sync script makes Redis match the mirror and reports the transitions that
produced. A node starting with a fixed `SWITCHBOARD_NODE_ID` syncs an empty
mirror first, which clears what its previous life left behind (no ghosts).

Not compatible with Redis Cluster (the scripts touch keys they compute); use a
single Redis or Sentinel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from switchboard.metrics import Metrics
from switchboard.types import Sid, UserId

log = logging.getLogger("switchboard.presence")

PREFIX = "switchboard:presence:"
ChangeListener = Callable[[UserId, bool], Awaitable[None]]

_ADD = """
local p, node, sid, uid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HSET', p .. 'node:' .. node, sid, uid)
redis.call('SADD', p .. 'user:' .. uid, node .. '|' .. sid)
return redis.call('SADD', p .. 'online', uid)
"""

_REMOVE = """
local p, node, sid, uid = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('HDEL', p .. 'node:' .. node, sid)
local ukey = p .. 'user:' .. uid
redis.call('SREM', ukey, node .. '|' .. sid)
if redis.call('SCARD', ukey) == 0 then
  return redis.call('SREM', p .. 'online', uid)
end
return 0
"""

_HEARTBEAT = """
local p, node, ttl_ms = ARGV[1], ARGV[2], ARGV[3]
redis.call('SET', p .. 'hb:' .. node, '1', 'PX', ttl_ms)
return redis.call('SADD', p .. 'nodes', node)
"""

# Additions first: a user who keeps one socket while losing a stale one never
# passes through "offline".
_SYNC = """
local p, node = ARGV[1], ARGV[2]
local hkey = p .. 'node:' .. node
local want = {}
local went_on, went_off = {}, {}
for i = 3, #ARGV, 2 do
  local sid, uid = ARGV[i], ARGV[i + 1]
  want[sid] = uid
  redis.call('HSET', hkey, sid, uid)
  redis.call('SADD', p .. 'user:' .. uid, node .. '|' .. sid)
  if redis.call('SADD', p .. 'online', uid) == 1 then table.insert(went_on, uid) end
end
local have = redis.call('HGETALL', hkey)
for i = 1, #have, 2 do
  local sid, uid = have[i], have[i + 1]
  if want[sid] ~= uid then
    redis.call('HDEL', hkey, sid)
    local ukey = p .. 'user:' .. uid
    redis.call('SREM', ukey, node .. '|' .. sid)
    if redis.call('SCARD', ukey) == 0 and redis.call('SREM', p .. 'online', uid) == 1 then
      table.insert(went_off, uid)
    end
  end
end
return {went_on, went_off}
"""

# Runs only while the node's heartbeat is absent, so exactly one caller wins.
_REAP = """
local p, node = ARGV[1], ARGV[2]
if redis.call('EXISTS', p .. 'hb:' .. node) == 1 then return {} end
local hkey = p .. 'node:' .. node
local have = redis.call('HGETALL', hkey)
local went_off = {}
for i = 1, #have, 2 do
  local sid, uid = have[i], have[i + 1]
  local ukey = p .. 'user:' .. uid
  redis.call('SREM', ukey, node .. '|' .. sid)
  if redis.call('SCARD', ukey) == 0 and redis.call('SREM', p .. 'online', uid) == 1 then
    table.insert(went_off, uid)
  end
end
redis.call('DEL', hkey)
redis.call('SREM', p .. 'nodes', node)
return went_off
"""


# A queued presence change: its script, user, socket, and who waits for the result.
_Change = tuple[Any, UserId, Sid, "asyncio.Future[bool]"]


class ClusterPresence:
    """`PresenceStore` backed by Redis, shared by every node of a cluster."""

    def __init__(
        self,
        redis: Redis,
        node_id: str,
        *,
        ttl_seconds: float,
        metrics: Metrics | None = None,
    ) -> None:
        self.redis = redis
        self.node_id = node_id
        self.ttl_seconds = ttl_seconds
        self.metrics = metrics
        self.on_change: ChangeListener | None = None
        self._local: dict[Sid, UserId] = {}
        # True until Redis is known to match the mirror (at start, after an error).
        self._dirty = True
        self._lock = asyncio.Lock()
        self._queued: list[_Change] = []  # changes waiting for the next pipeline
        self._sender: asyncio.Task[None] | None = None  # sends the queue while it runs
        self._task: asyncio.Task[None] | None = None
        self._reap_after = 0.0
        self._add = redis.register_script(_ADD)
        self._remove = redis.register_script(_REMOVE)
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._sync = redis.register_script(_SYNC)
        self._reap = redis.register_script(_REAP)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Register this node (clearing its stale entries) and start the heartbeat loop."""
        await self.tick()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop beating and withdraw this node's sockets (a clean leave, not a death)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sender is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._sender  # changes already queued are sent, not dropped
        self._local.clear()
        with contextlib.suppress(RedisError, OSError):
            await self._sync_now()
            await self.redis.delete(PREFIX + "hb:" + self.node_id)
            await self.redis.srem(PREFIX + "nodes", self.node_id)
        await self.redis.aclose()

    @property
    def interval(self) -> float:
        return max(0.2, self.ttl_seconds / 3)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.tick()

    async def tick(self) -> None:
        """One heartbeat: beat, resync after trouble, reap dead nodes. Never raises."""
        try:
            await self._beat_and_reap()
        except (RedisError, OSError) as exc:
            if not self._dirty:
                log.warning("redis unreachable, presence kept locally: %s", exc)
            self._dirty = True
            self._set_redis_up(False)
        except Exception:
            log.exception("presence heartbeat failed")

    async def _beat_and_reap(self) -> None:
        registered = await self._heartbeat(
            args=[PREFIX, self.node_id, int(self.ttl_seconds * 1000)]
        )
        self._set_redis_up(True)
        if self._dirty:
            # Other nodes may have missed beats in the same outage (or while this
            # node was starting): give them one TTL to beat before reaping anyone.
            self._reap_after = time.monotonic() + self.ttl_seconds
        if registered or self._dirty:
            await self._sync_now()
            log.info("presence synced with redis", extra={"node": self.node_id})
        if time.monotonic() >= self._reap_after:
            await self._reap_dead_nodes()
        if self.metrics is not None:
            self.metrics.cluster_online_users.set(await self.redis.scard(PREFIX + "online"))

    async def _sync_now(self) -> None:
        async with self._lock:
            args: list[Any] = [PREFIX, self.node_id]
            for sid, uid in self._local.items():
                args += [sid, uid]
            went_on, went_off = await self._sync(args=args)
            self._dirty = False
        for uid in went_on:
            await self._notify(int(uid), True)
        for uid in went_off:
            await self._notify(int(uid), False)

    async def _reap_dead_nodes(self) -> None:
        nodes = await self.redis.smembers(PREFIX + "nodes")
        for raw in nodes:
            node = str(raw)
            if node == self.node_id or await self.redis.exists(PREFIX + "hb:" + node):
                continue
            went_off = await self._reap(args=[PREFIX, node])
            log.warning(
                "node stopped beating; its sockets are offline",
                extra={"dead_node": node, "users_offline": len(went_off)},
            )
            if self.metrics is not None:
                self.metrics.dead_nodes_reaped.inc()
            for uid in went_off:
                await self._notify(int(uid), False)

    async def _notify(self, user_id: UserId, online: bool) -> None:
        if self.on_change is not None:
            await self.on_change(user_id, online)

    def _set_redis_up(self, up: bool) -> None:
        if self.metrics is not None:
            self.metrics.redis_up.set(1 if up else 0)

    # -- PresenceStore ---------------------------------------------------------------

    async def add(self, user_id: UserId, sid: Sid) -> bool:
        self._local[sid] = user_id
        return await self._apply(self._add, user_id, sid)

    async def remove(self, user_id: UserId, sid: Sid) -> bool:
        if self._local.pop(sid, None) is None:
            return False
        return await self._apply(self._remove, user_id, sid)

    async def _apply(self, script: Any, user_id: UserId, sid: Sid) -> bool:
        """Queue one change; True when it made the user change state cluster-wide.

        A connect waits for its change before it is answered, so changes are not
        sent one round trip each: what queues while a batch is in flight leaves
        in the next one, as one pipeline, in order. A reconnect storm of
        thousands of sockets then costs a few round trips, not thousands.
        """
        # While Redis is down only the mirror changes; the next sync reports
        # the transitions, so connects never wait on a dead Redis.
        if self._dirty:
            return False
        done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queued.append((script, user_id, sid, done))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_queued())
        return await done

    async def _send_queued(self) -> None:
        batch: list[_Change] = []
        try:
            while self._queued:
                batch, self._queued = self._queued, []
                _answer(batch, await self._send(batch))
                batch = []
        except Exception:
            # Redis and the mirror may now differ: the next heartbeat resyncs.
            log.exception("writing presence changes failed")
            self._dirty = True
        finally:
            # No connect waits forever on its change: what is left reports no transition.
            left, self._queued = batch + self._queued, []
            _answer(left, [False] * len(left))

    async def _send(self, batch: list[_Change]) -> list[bool]:
        try:
            async with self._lock:
                if self._dirty:
                    return [False] * len(batch)
                pipe = self.redis.pipeline(transaction=False)
                for script, user_id, sid, _done in batch:
                    await script(args=[PREFIX, self.node_id, sid, user_id], client=pipe)
                return [bool(result) for result in await pipe.execute()]
        except (RedisError, OSError) as exc:
            log.warning("redis unreachable, presence kept locally: %s", exc)
            self._dirty = True
            self._set_redis_up(False)
            return [False] * len(batch)

    async def is_online(self, user_id: UserId) -> bool:
        return bool(await self.redis.sismember(PREFIX + "online", str(user_id)))

    async def online_user_ids(self) -> set[UserId]:
        return {int(uid) for uid in await self.redis.smembers(PREFIX + "online")}

    async def online_status_bulk(self, user_ids: Iterable[UserId]) -> dict[UserId, bool]:
        ids = list(dict.fromkeys(user_ids))
        if not ids:
            return {}
        flags = await self.redis.smismember(PREFIX + "online", [str(uid) for uid in ids])
        return {uid: bool(flag) for uid, flag in zip(ids, flags, strict=True)}

    def local_user_count(self) -> int:
        """Distinct users with a socket on this node (the per-node gauge)."""
        return len(set(self._local.values()))


def _answer(batch: list[_Change], results: list[bool]) -> None:
    for (_script, _user_id, _sid, done), result in zip(batch, results, strict=True):
        if not done.done():
            done.set_result(result)
