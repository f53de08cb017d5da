"""What one cluster node pays for broadcasts meant for other nodes' sockets, and what Redis pays.

    .venv/bin/python -m bench.cluster_read [--broadcasts 100000] [--concurrency 64]

With `SWITCHBOARD_REDIS_URL` set, every node reads every broadcast of a
namespace from its Redis stream and delivers it to the local sockets in its
room; a node with no such socket still reads, decodes and looks the room up.
That per-entry cost, times the cluster's broadcast rate, is the floor of every
node's CPU and what bounds the cluster (docs/capacity.md).

`--nodes` Switchboard nodes share one redis-server (all pinned to
`--server-core`), with no socket connected. `switchboard.Publisher` (pinned to
the other core) appends `--broadcasts` room broadcasts of a small chat-sized
payload to `/chat`, `--concurrency` at a time. Printed: the append rate Redis
sustained, then each node's and redis-server's CPU per entry (from /proc),
measured until every node has been idle for a second; the difference between
runs with 1 and several nodes is what one more reader costs Redis. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.servers import RunningServer, ServerKind, cpu_seconds, kinds
from switchboard.publisher import Publisher
from switchboard.types import CHAT

PAYLOAD = {
    "id": "0000000000001234",
    "conversation_id": 17,
    "sender_id": 42,
    "body": "a chat message of ordinary length, about sixty characters.",
    "created_at": "2026-12-01T03:00:00.000000Z",
    "client_msg_id": None,
}


class ReaderNode(RunningServer):
    """A further node on the first node's redis-server (it starts none of its own)."""

    def __init__(self, kind: ServerKind, data_dir: Path, core: int, redis_port: int) -> None:
        super().__init__(kind, data_dir, core)
        self.redis_port = redis_port

    def _start_redis(self, port: int) -> None:
        return None


async def publish(url: str, broadcasts: int, concurrency: int) -> float:
    """Append the broadcasts; the seconds it took."""
    async with Publisher.from_url(url) as pub:
        started = time.perf_counter()
        sent = 0

        async def worker() -> None:
            nonlocal sent
            while sent < broadcasts:
                sent += 1
                # Rooms no socket is in: the node reads each entry and delivers nothing.
                await pub.to_room(f"conv:{sent % 5000}", "message:new", PAYLOAD, namespace=CHAT)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


def wait_idle(pid: int, quiet: float = 1.0, timeout: float = 120.0) -> None:
    """Until `pid` used (almost) no CPU for `quiet` seconds: it has read the stream."""
    deadline = time.monotonic() + timeout
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = cpu_seconds(pid)
        if now - last < 0.02 * quiet:
            return
        last = now


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--broadcasts", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--nodes", type=int, default=1, help="nodes reading the stream")
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    args = p.parse_args()
    kind: ServerKind = kinds(Path("/nonexistent"), Path("/nonexistent"))["switchboard-redis"]
    os.sched_setaffinity(0, {args.generator_core})
    with tempfile.TemporaryDirectory() as tmp:
        first = RunningServer(kind, Path(tmp) / "node-0", args.server_core)
        nodes: list[RunningServer] = [first.start()]
        try:
            assert first.redis is not None
            assert first.redis_port is not None
            for i in range(1, args.nodes):
                reader = ReaderNode(
                    kind, Path(tmp) / f"node-{i}", args.server_core, first.redis_port
                )
                nodes.append(reader.start())
            url = f"redis://127.0.0.1:{first.redis_port}/0"
            for node in nodes:
                wait_idle(node.pid)
            before = [node.cpu_seconds() for node in nodes]
            redis0 = cpu_seconds(first.redis.pid)
            seconds = asyncio.run(publish(url, args.broadcasts, args.concurrency))
            for node in nodes:
                wait_idle(node.pid)
            per_node = [node.cpu_seconds() - b for node, b in zip(nodes, before, strict=True)]
            redis_cpu = cpu_seconds(first.redis.pid) - redis0
        finally:
            for node in reversed(nodes):
                node.stop()
    n = args.broadcasts
    print(f"appended {n:,} broadcasts in {seconds:.1f} s: {n / seconds:,.0f}/s from one publisher")
    costs = ", ".join(f"{cpu / n * 1e6:.1f}" for cpu in per_node)
    print(f"{len(nodes)} node(s) with no recipient: {costs} µs CPU per entry read")
    print(
        f"redis-server (XADD + {len(nodes)} XREAD reader(s)): {redis_cpu / n * 1e6:.1f} µs CPU"
        " per entry"
    )


if __name__ == "__main__":
    main()
