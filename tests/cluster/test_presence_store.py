"""ClusterPresence against a real redis-server: transitions exactly once under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from switchboard.realtime.backends.redis_client import redis_client
from switchboard.realtime.backends.redis_presence import ClusterPresence
from switchboard.types import Sid
from tests.support.redis import RedisProcess

pytestmark = pytest.mark.cluster


class Node:
    """One store plus the transitions it announced."""

    def __init__(self, redis: RedisProcess, node_id: str, ttl: float = 30.0) -> None:
        self.store = ClusterPresence(redis_client(redis.url), node_id, ttl_seconds=ttl)
        self.announced: list[tuple[int, bool]] = []

        async def record(user_id: int, online: bool) -> None:
            self.announced.append((user_id, online))

        self.store.on_change = record


async def test_concurrent_connects_and_disconnects_report_each_transition_once(
    redis_server: RedisProcess,
) -> None:
    a, b = Node(redis_server, "a"), Node(redis_server, "b")
    await a.store.start()
    await b.store.start()
    users = range(1, 41)
    try:
        # Every user opens two sockets on each node at the same time.
        adds = [
            node.store.add(uid, Sid(f"{node.store.node_id}-{uid}-{k}"))
            for uid in users
            for node in (a, b)
            for k in range(2)
        ]
        came_online = await asyncio.gather(*adds)
        assert sum(came_online) == len(users)
        assert await a.store.online_user_ids() == set(users)
        status = await b.store.online_status_bulk([1, 2, 999])
        assert status == {1: True, 2: True, 999: False}

        removes = [
            node.store.remove(uid, Sid(f"{node.store.node_id}-{uid}-{k}"))
            for uid in users
            for node in (a, b)
            for k in range(2)
        ]
        went_offline = await asyncio.gather(*removes)
        assert sum(went_offline) == len(users)
        assert await b.store.online_user_ids() == set()
        # Removing an unknown socket changes nothing.
        assert await a.store.remove(1, Sid("never-added")) is False
    finally:
        await a.store.close()
        await b.store.close()


async def test_a_connect_storm_is_written_in_a_few_round_trips(
    redis_server: RedisProcess,
) -> None:
    """Changes that queue while one is in flight share the next pipeline, in order."""
    node = Node(redis_server, "storm")
    await node.store.start()
    pipelines = 0
    make_pipeline = node.store.redis.pipeline

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal pipelines
        pipelines += 1
        return make_pipeline(*args, **kwargs)

    node.store.redis.pipeline = counted  # type: ignore[method-assign]
    users = range(1, 101)
    try:
        came_online = await asyncio.gather(
            *(node.store.add(uid, Sid(f"s{uid}-{k}")) for uid in users for k in range(2))
        )
        assert sum(came_online) == len(users)
        assert 1 <= pipelines <= 3  # 200 changes; one round trip each before
        assert await node.store.online_user_ids() == set(users)
        # An add and a remove of the same socket in one batch apply in order.
        added, removed = await asyncio.gather(
            node.store.add(500, Sid("brief")), node.store.remove(500, Sid("brief"))
        )
        assert (added, removed) == (True, True)
        assert not await node.store.is_online(500)
    finally:
        await node.store.close()


async def test_a_failed_presence_write_answers_and_is_resynced(
    redis_server: RedisProcess,
) -> None:
    """A batch that fails in an unexpected way answers its connects (no transition)
    and leaves the store to the next heartbeat's resync, which reports the change."""
    node = Node(redis_server, "broken")
    await node.store.start()
    make_pipeline = node.store.redis.pipeline

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("not a Redis error")

    node.store.redis.pipeline = broken  # type: ignore[method-assign]
    try:
        assert await asyncio.wait_for(node.store.add(7, Sid("s7")), 5) is False
        assert not await node.store.is_online(7)
        node.store.redis.pipeline = make_pipeline  # type: ignore[method-assign]
        await node.store.tick()
        assert await node.store.is_online(7)
        assert (7, True) in node.announced
    finally:
        await node.store.close()


async def test_two_survivors_reap_a_dead_node_once(redis_server: RedisProcess) -> None:
    dead = Node(redis_server, "dead", ttl=0.5)
    s1, s2 = Node(redis_server, "s1"), Node(redis_server, "s2")
    for node in (dead, s1, s2):
        await node.store.tick()  # register without background loops
    await dead.store.add(7, Sid("d-7"))
    await dead.store.add(8, Sid("d-8"))
    await s1.store.add(8, Sid("s1-8"))  # user 8 stays online through s1
    await asyncio.sleep(0.8)  # the dead node's heartbeat key expires
    s1.store._reap_after = s2.store._reap_after = 0.0
    await asyncio.gather(s1.store.tick(), s2.store.tick())
    announced = s1.announced + s2.announced
    assert announced == [(7, False)]
    assert await s1.store.online_user_ids() == {8}
    for node in (s1, s2):
        node.store._local.clear()
        await node.store.close()
    await dead.store.redis.aclose()


async def test_node_rewrites_its_sockets_into_a_restarted_redis(redis_server: RedisProcess) -> None:
    node = Node(redis_server, "n")
    await node.store.tick()
    await node.store.add(5, Sid("n-5"))
    redis_server.kill()
    await node.store.tick()  # notices the outage
    # Connects during the outage are kept locally, not lost.
    assert await node.store.add(6, Sid("n-6")) is False
    redis_server.start()
    await node.store.tick()
    assert await node.store.online_user_ids() == {5, 6}
    # The empty Redis made both users come online again: announced once each.
    assert sorted(node.announced) == [(5, True), (6, True)]
    await node.store.close()


async def test_restarted_node_with_the_same_id_clears_its_ghosts(
    redis_server: RedisProcess,
) -> None:
    first = Node(redis_server, "fixed", ttl=30)
    await first.store.tick()
    await first.store.add(3, Sid("old-3"))
    # The process dies: no close(), its heartbeat would last another 30 s.
    await first.store.redis.aclose()
    again = Node(redis_server, "fixed", ttl=30)
    await again.store.start()
    try:
        assert await again.store.is_online(3) is False
        assert again.announced == [(3, False)]
    finally:
        await again.store.close()
