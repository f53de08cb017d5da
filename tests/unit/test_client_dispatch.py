"""`EventDispatcher` in process: namespaces from the contract, models, order, failing handlers."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from switchboard.client import AuthExpired, TypingEvent
from switchboard.client.dispatch import EventDispatcher


async def until(predicate: Any) -> None:
    async def _wait() -> None:
        while not predicate():
            await asyncio.sleep(0)

    await asyncio.wait_for(_wait(), 5)


async def yielded() -> None:
    """Give a dispatch that should not happen every chance to (a few loop iterations)."""
    for _ in range(20):
        await asyncio.sleep(0)


def typing(n: int) -> dict[str, Any]:
    return {"conversation_id": n, "user_id": 2, "typing": True}


async def test_payloads_are_parsed_and_delivered_in_order() -> None:
    events = EventDispatcher()
    got: list[Any] = []

    async def slow(event: TypingEvent) -> None:
        await asyncio.sleep(0)  # an awaiting handler still sees events in order
        got.append(event.conversation_id)

    events.add("typing", slow)
    for n in range(5):
        events.push("/chat", "typing", [typing(n)])
    await until(lambda: len(got) == 5)
    assert got == [0, 1, 2, 3, 4]


async def test_a_malformed_payload_is_dropped_and_a_failing_handler_does_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = EventDispatcher()
    got: list[Any] = []

    def broken(_event: TypingEvent) -> None:
        raise RuntimeError("handler bug")

    events.add("typing", broken)
    events.add("typing", got.append)
    with caplog.at_level(logging.WARNING, logger="switchboard.client"):
        events.push("/chat", "typing", [{"conversation_id": "not a number"}])
        events.push("/chat", "typing", [typing(1)])
        await until(lambda: len(got) == 1)
    assert got == [TypingEvent(conversation_id=1, user_id=2, typing=True)]
    messages = [r.getMessage() for r in caplog.records]
    assert any("malformed" in m for m in messages)
    assert any("handler of 'typing' failed" in m for m in messages)


async def test_namespaces_come_from_the_contract_unless_given() -> None:
    events = EventDispatcher()
    chat: list[Any] = []
    custom: list[Any] = []
    expired: list[Any] = []
    events.add("typing", chat.append)
    events.add("custom", custom.append, namespace="/chat")
    events.add("auth:expired", expired.append)  # both namespaces
    with pytest.raises(ValueError, match="namespace"):
        events.add("custom", custom.append)

    events.push("/notifications", "typing", [typing(1)])  # not where `typing` lives
    events.push("/chat", "custom", [{"raw": True}])
    events.push("/notifications", "auth:expired", [{"code": "token_expired"}])
    events.push("/chat", "unheard", [{}])
    await until(lambda: len(expired) == 1)
    await yielded()
    assert chat == []
    assert custom == [{"raw": True}]  # outside the contract: the raw payload
    assert expired == [AuthExpired(code="token_expired")]
    assert events.expired.is_set()


async def test_close_drops_what_is_queued() -> None:
    events = EventDispatcher()
    got: list[Any] = []
    events.add("typing", got.append)
    events.push("/chat", "typing", [typing(1)])
    await events.close()
    await yielded()
    assert got == []
