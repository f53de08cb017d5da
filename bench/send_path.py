"""The cost of one chat send inside the process, without sockets or a load generator.

    .venv/bin/python -m bench.send_path [--messages 3000] [--pairs 200] [--database-url URL]
                                        [--client-ids] [--history 100000] [--receipts]

Builds the app on a fresh SQLite file (or the URL given), creates `pairs`
one-to-one conversations, then sends through `ChatService.send_message`
(validation, membership, group commit, the broadcast into the event log):
first one message at a time (the latency floor: every send waits for its own
commit), then as many at once as there are pairs (group commit shares the
commits). Prints wall time and process CPU time (all threads) per message.

`--receipts` has the recipient mark every message read once it is acked (a
read receipt per message, as an open chat screen sends). `--client-ids` gives
every send a `client_msg_id`, as the Python and browser clients do (each is
looked up as a possible retry); `--history N` stores N earlier messages, with
client ids, spread over the conversations first, so the cost of a send in a
conversation with a long past shows.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert

from switchboard.app import create_app
from switchboard.config import Settings
from switchboard.storage.models import Message


async def measure(args: argparse.Namespace, data_dir: Path) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'send.db'}"
    settings = Settings(
        database_url=url,
        data_dir=data_dir,
        jwt_secret="bench-" + "s" * 40,
        user_message_rate=0,
        log_level="WARNING",
    )
    app = create_app(settings)
    async with app.http.router.lifespan_context(app.http):
        ctx = app.ctx
        stamp = time.time_ns()
        users = [
            await ctx.users.register(f"sp{stamp}-{i}@example.com", "password-123", f"U{i}")
            for i in range(2 * args.pairs)
        ]
        conversations = [
            await ctx.chat.create_conversation(users[2 * i].id, [users[2 * i + 1].id], None)
            for i in range(args.pairs)
        ]

        if args.history:
            now = datetime.now(UTC)
            past = [
                {
                    "conversation_id": conversations[k % args.pairs].id,
                    "sender_id": users[2 * (k % args.pairs)].id,
                    "body": f"earlier {k}",
                    "client_msg_id": f"earlier-{stamp}-{k}",
                    "created_at": now,
                }
                for k in range(args.history)
            ]
            await ctx.db.run_write(lambda conn: conn.execute(insert(Message), past))

        latencies: list[float] = []

        async def send(k: int) -> None:
            conv = conversations[k % len(conversations)]
            sender = users[2 * (k % len(conversations))].id
            client_id = f"{stamp}-{k}" if args.client_ids else None
            started = time.perf_counter()
            message = await ctx.chat.send_message(sender, conv.id, f"message {k}", client_id)
            latencies.append(time.perf_counter() - started)
            if args.receipts:  # the recipient shows it, and says so
                await ctx.chat.mark_read(
                    users[2 * (k % len(conversations)) + 1].id, conv.id, message.id
                )

        for k in range(50):  # warm up statement caches and the pool
            await send(k)

        n = args.messages
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(n):
            await send(k)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"one at a time : {wall / n * 1e6:8.0f} µs wall, "
            f"{cpu / n * 1e6:8.0f} µs CPU per message"
        )

        rounds = max(1, n // args.pairs)
        latencies.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for r in range(rounds):
            await asyncio.gather(*(send(r * args.pairs + k) for k in range(args.pairs)))
        sent = rounds * args.pairs
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{args.pairs} at once   : {wall / sent * 1e6:8.0f} µs wall, "
            f"{cpu / sent * 1e6:8.0f} µs CPU per message ({sent / wall:,.0f} msg/s)"
        )
        latencies.sort()
        print(
            f"{'':15} send to ack: p50 {latencies[len(latencies) // 2] * 1e3:.1f} ms, "
            f"p99 {latencies[len(latencies) * 99 // 100] * 1e3:.1f} ms, "
            f"max {latencies[-1] * 1e3:.1f} ms"
        )


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.send_path", description=__doc__)
    p.add_argument("--messages", type=int, default=3000)
    p.add_argument("--pairs", type=int, default=200)
    p.add_argument("--database-url", default=None)
    p.add_argument("--client-ids", action="store_true", help="every send carries a client_msg_id")
    p.add_argument("--history", type=int, default=0, help="earlier messages stored first")
    p.add_argument("--receipts", action="store_true", help="the recipient marks each message read")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="sb-send-") as tmp:
        asyncio.run(measure(args, Path(tmp)))


if __name__ == "__main__":
    main()
