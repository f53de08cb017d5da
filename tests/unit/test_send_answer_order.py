"""A committed batch of sends answers its senders before it publishes the broadcasts.

An answer resolves a future, and each sender's handler writes its ack on the
next loop turn: after the publish has queued the batch's broadcasts and before
the flush that publish scheduled. So a sender's socket takes its broadcasts and
its ack in one write, not two (chat/writer.py). Publishing first put every
sender's acks in a second flush (docs/benchmarks.md: fan-out to 100 sockets
read 3.1-3.6 times a message at the client against 2.6-3.1 now).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from switchboard.chat.membership import MemberCache
from switchboard.chat.schemas import MessageOut
from switchboard.chat.writer import MessageWriter
from tests.support.inprocess import app_context, register


async def test_senders_are_answered_before_the_broadcasts_are_published(tmp_path: Path) -> None:
    async with app_context(tmp_path) as ctx:
        ada, bob = await register(ctx, "ada", "bob")
        conv = await ctx.chat.create_conversation(ada.id, [bob.id], None)
        sends: list[asyncio.Task[tuple[MessageOut, bool]]] = []
        answered_during_publish: list[bool] = []

        async def published(messages: list[MessageOut]) -> None:
            assert [m.body for m in messages] == ["m0", "m1", "m2"]
            # One loop turn inside the publish: answered senders finish in it.
            await asyncio.sleep(0)
            answered_during_publish.extend(send.done() for send in sends)

        writer = MessageWriter(ctx.db, published, MemberCache(lambda: False))
        sends.extend(
            asyncio.create_task(writer.write(sender.id, conv.id, f"m{n}", None))
            for n, sender in enumerate((ada, bob, ada))
        )
        results = await asyncio.gather(*sends)
        assert [message.body for message, created in results if created] == ["m0", "m1", "m2"]
        assert answered_during_publish == [True, True, True]
