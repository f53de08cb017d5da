"""GroupCommit's batching: a burst that reaches the queue over a few loop turns is one batch.

The settle step (storage/group_commit.py) is what makes a burst of sends share
one transaction and one socket write per recipient; without it the first send
of a burst is committed alone and the rest follow in a second batch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from switchboard.storage import group_commit
from switchboard.storage.group_commit import GroupCommit


@dataclass
class Item:
    name: str
    done: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Recorder:
    """A `commit` that records each batch's names and answers every item."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    async def commit(self, batch: list[Item]) -> None:
        self.batches.append([item.name for item in batch])
        for item in batch:
            item.done.set_result(None)


def _fail(item: Item, exc: BaseException) -> None:
    item.done.set_exception(exc)


async def test_a_burst_spread_over_loop_turns_is_one_batch() -> None:
    recorder = Recorder()
    group: GroupCommit[Item] = GroupCommit(recorder.commit, _fail, max_weight=100)
    loop = asyncio.get_running_loop()
    items = [Item(name) for name in "abc"]

    def submit_from(k: int) -> None:
        # Each item arrives one turn after the one before, as a read and then
        # its handler task would hand them in.
        group.submit(items[k])
        if k + 1 < len(items):
            loop.call_soon(submit_from, k + 1)

    submit_from(0)
    await asyncio.gather(*(item.done for item in items))
    assert recorder.batches == [["a", "b", "c"]]


async def test_a_steady_stream_does_not_hold_a_commit_back() -> None:
    recorder = Recorder()
    group: GroupCommit[Item] = GroupCommit(recorder.commit, _fail, max_weight=1000)
    loop = asyncio.get_running_loop()
    submitted: list[Item] = []
    stop = False

    def submit_every_turn() -> None:
        if stop:
            return
        item = Item(str(len(submitted)))
        submitted.append(item)
        group.submit(item)
        loop.call_soon(submit_every_turn)

    submit_every_turn()
    await submitted[0].done
    stop = True
    await asyncio.gather(*(item.done for item in submitted))
    # The first batch is taken after a bounded number of turns, not when the stream ends.
    assert 1 < len(recorder.batches[0]) <= group_commit._MAX_SETTLE_TURNS + 1
    assert [name for batch in recorder.batches for name in batch] == [
        item.name for item in submitted
    ]


async def test_an_idle_writer_commits_a_lone_item() -> None:
    recorder = Recorder()
    group: GroupCommit[Item] = GroupCommit(recorder.commit, _fail, max_weight=100)
    item = Item("only")
    group.submit(item)
    await asyncio.wait_for(item.done, timeout=5)
    assert recorder.batches == [["only"]]
