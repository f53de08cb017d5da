"""`CachedLoader`: which answers are kept, and when the database is asked again."""

from __future__ import annotations

import asyncio

import pytest

from switchboard.storage import expiring_map
from switchboard.storage.cached_loader import CachedLoader
from switchboard.storage.expiring_map import ExpiringMap
from switchboard.storage.loader import BatchLoader


class Table:
    """A fake database table: values by key, and every batch of keys it was asked for."""

    def __init__(self) -> None:
        self.values: dict[int, int] = {}
        self.asked: list[list[int]] = []
        self.gate: asyncio.Event | None = None  # set: queries wait for it
        self.fail = False

    async def fetch(self, keys: list[int]) -> dict[int, int]:
        self.asked.append(keys)
        snapshot = {k: self.values[k] for k in keys if k in self.values}
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("database down")
        return snapshot


def _cached(
    table: Table, live: bool = True, ttl: float = 30.0, max_keys: int = 100
) -> CachedLoader[int, int]:
    return CachedLoader(BatchLoader(table.fetch, 0), lambda: live, ttl=ttl, max_keys=max_keys)


async def test_a_second_load_is_answered_from_memory() -> None:
    table = Table()
    table.values[1] = 7
    cache = _cached(table)
    assert await cache.load(1) == 7
    table.values[1] = 8  # nobody told the cache: it still answers what it read
    assert await cache.load(1) == 7
    assert table.asked == [[1]]
    assert await cache.load(2) == 0  # absent keys get the default, and are kept too
    assert await cache.load(2) == 0
    assert table.asked == [[1], [2]]


async def test_an_invalidated_key_is_asked_again() -> None:
    table = Table()
    table.values[1] = 7
    cache = _cached(table)
    await cache.load(1)
    table.values[1] = 8
    cache.invalidate(1)
    assert await cache.load(1) == 8
    assert table.asked == [[1], [1]]


async def test_an_update_changes_the_kept_answer_and_only_a_kept_one() -> None:
    table = Table()
    table.values[1] = 7
    cache = _cached(table)
    await cache.load(1)
    cache.update(1, lambda v: v + 1)
    cache.update(2, lambda v: v + 1)  # not kept: nothing to change, nothing invented
    assert await cache.load(1) == 8
    assert len(cache) == 1
    assert table.asked == [[1]]


@pytest.mark.parametrize("change", ["invalidate", "update"])
async def test_an_answer_read_while_its_key_changed_is_not_kept(change: str) -> None:
    table = Table()
    table.values[1] = 7
    table.gate = asyncio.Event()
    cache = _cached(table)
    loading = asyncio.create_task(cache.load(1))
    while not table.asked:  # the query has read 7 and waits
        await asyncio.sleep(0)
    table.values[1] = 8
    if change == "invalidate":
        cache.invalidate(1)
    else:
        cache.update(1, lambda v: v + 1)
    table.gate.set()
    assert await loading == 7  # the caller gets what was read...
    table.gate = None
    assert await cache.load(1) == 8  # ...but the next one asks again
    assert table.asked == [[1], [1]]
    assert await cache.load(1) == 8
    assert len(table.asked) == 2


async def test_a_change_to_another_key_does_not_stop_keeping() -> None:
    table = Table()
    table.values[1] = 7
    table.gate = asyncio.Event()
    cache = _cached(table)
    loading = asyncio.create_task(cache.load(1))
    while not table.asked:
        await asyncio.sleep(0)
    cache.invalidate(2)
    table.gate.set()
    assert await loading == 7
    assert await cache.load(1) == 7
    assert table.asked == [[1]]


async def test_answers_expire_after_the_ttl() -> None:
    table = Table()
    table.values[1] = 7
    cache = _cached(table, ttl=0.05)
    await cache.load(1)
    await cache.load(1)
    assert len(table.asked) == 1
    await asyncio.sleep(0.08)
    table.values[1] = 9
    assert await cache.load(1) == 9
    assert len(table.asked) == 2


async def test_the_least_recently_used_keys_go_first() -> None:
    table = Table()
    cache = _cached(table, max_keys=2)
    await cache.load(1)
    await cache.load(2)
    await cache.load(1)  # 1 is used again: 2 is now the oldest
    await cache.load(3)
    assert len(cache) == 2
    table.asked.clear()
    await cache.load(1)
    await cache.load(3)
    assert table.asked == []
    await cache.load(2)
    assert table.asked == [[2]]


async def test_nothing_is_kept_while_the_log_does_not_flow() -> None:
    table = Table()
    table.values[1] = 7
    cache = _cached(table, live=False)
    await cache.load(1)
    await cache.load(1)
    assert table.asked == [[1], [1]]
    assert len(cache) == 0


async def test_a_failed_query_keeps_nothing_and_leaves_no_trace() -> None:
    table = Table()
    table.values[1] = 7
    table.fail = True
    cache = _cached(table)
    with pytest.raises(RuntimeError):
        await cache.load(1)
    table.fail = False
    assert await cache.load(1) == 7
    assert await cache.load(1) == 7
    assert table.asked == [[1], [1]]


def test_expired_answers_leave_memory_as_new_ones_come(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(expiring_map.time, "monotonic", lambda: clock[0])
    kept: ExpiringMap[int, str] = ExpiringMap(ttl=30.0, max_keys=100)
    for key in range(10):
        kept.put(key, "old")
    assert kept.get(3) == "old"  # 3 is used again: now the most recently used
    clock[0] += 31
    kept.put(99, "new")  # every expired one at the least recently used end goes
    assert len(kept) == 1
    assert kept.get(3) is None
    assert kept.get(99) == "new"
