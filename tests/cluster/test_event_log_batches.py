"""A batch appended in one round trip reaches every node whole and in order (real redis-server)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest

from switchboard.realtime.backends.redis_log import RedisLog
from switchboard.realtime.event_log import Entry, LogRecord, Pos
from switchboard.types import CHAT
from tests.support.redis import RedisProcess

pytestmark = pytest.mark.cluster


def _recorder(got: list[tuple[Pos, str]]) -> Callable[[str, Sequence[Entry]], None]:
    def deliver(_namespace: str, entries: Sequence[Entry]) -> None:
        got.extend((pos, str(record.args[0])) for pos, record in entries)

    return deliver


async def test_batches_and_single_emits_arrive_in_publish_order_on_every_node(
    redis_server: RedisProcess,
) -> None:
    nodes = [RedisLog(redis_server.url, 60.0) for _ in range(2)]
    seen: list[list[tuple[Pos, str]]] = [[], []]
    for node, got in zip(nodes, seen, strict=True):
        node.bind(_recorder(got))
        await node.start([CHAT])
    try:
        expected: list[str] = []
        for batch in range(20):
            bodies = [f"b{batch}-{i}" for i in range(25)]
            await nodes[batch % 2].publish_many(
                CHAT,
                [LogRecord.broadcast("message:new", b, f"conversation:{batch}") for b in bodies],
            )
            single = f"single-{batch}"
            await nodes[(batch + 1) % 2].publish(
                CHAT, LogRecord.broadcast("message:new", single, None)
            )
            expected += [*bodies, single]
        async with asyncio.timeout(10):
            while any(len(got) < len(expected) for got in seen):
                await asyncio.sleep(0.02)
        for got in seen:
            assert [body for _pos, body in got] == expected
            positions = [pos for pos, _body in got]
            assert positions == sorted(positions)
            assert len(set(positions)) == len(positions)
        assert nodes[0].processed(CHAT) == nodes[1].processed(CHAT) == seen[0][-1][0]
    finally:
        for node in nodes:
            await node.close()
