"""Bad input on every /chat event: the contract's error ack, while other users keep chatting."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from tests.chat.helpers import Tab, close_all, create_conversation, open_tabs
from tests.support.clients import Account
from tests.support.node import run_node
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]

SHAPES: list[Any] = ["a string", 42, 4.5, True, [1, 2], [], None, {}]


def battery(cid: int) -> list[tuple[str, Any, str]]:
    """(event, payload, expected error code) for every event of /chat."""
    cases: list[tuple[str, Any, str]] = []
    for event in ["message:send", "typing", "message:read", "conversation:join", "presence:query"]:
        cases += [(event, shape, "invalid_payload") for shape in SHAPES]
    cases += [
        ("message:send", {"conversation_id": cid}, "invalid_payload"),
        ("message:send", {"body": "no conversation"}, "invalid_payload"),
        ("message:send", {"conversation_id": str(cid), "body": "x"}, "invalid_payload"),
        ("message:send", {"conversation_id": float(cid), "body": "x"}, "invalid_payload"),
        ("message:send", {"conversation_id": True, "body": "x"}, "invalid_payload"),
        ("message:send", {"conversation_id": 2**64, "body": "x"}, "invalid_payload"),
        ("message:send", {"conversation_id": -3, "body": "x"}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": 12}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": ["x"]}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": {"x": 1}}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": ""}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": " \n\t "}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": "a\x00b"}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": "\ud800"}, "invalid_payload"),
        ("message:send", {"conversation_id": cid, "body": "x" * 4001}, "too_large"),
        (
            "message:send",
            {"conversation_id": cid, "body": "x", "client_msg_id": 5},
            "invalid_payload",
        ),
        (
            "message:send",
            {"conversation_id": cid, "body": "x", "client_msg_id": ""},
            "invalid_payload",
        ),
        (
            "message:send",
            {"conversation_id": cid, "body": "x", "client_msg_id": "c" * 101},
            "invalid_payload",
        ),
        ("message:send", {"conversation_id": 2**40, "body": "x"}, "not_found"),
        ("typing", {"conversation_id": cid}, "invalid_payload"),
        ("typing", {"conversation_id": cid, "typing": "yes"}, "invalid_payload"),
        ("typing", {"conversation_id": cid, "typing": 1}, "invalid_payload"),
        ("typing", {"conversation_id": None, "typing": True}, "invalid_payload"),
        ("typing", {"conversation_id": 2**40, "typing": True}, "not_found"),
        ("message:read", {"conversation_id": cid}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": 1}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": "abc"}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": "-1"}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": "9" * 40}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": "9" * 20}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": "0" * 16}, "invalid_payload"),
        ("message:read", {"conversation_id": cid, "message_id": "0" * 15 + "1"}, "not_found"),
        ("conversation:join", {"conversation_id": "1"}, "invalid_payload"),
        ("conversation:join", {"conversation_id": 0}, "invalid_payload"),
        ("conversation:join", {"conversation_id": 2**40}, "not_found"),
        ("presence:query", {"user_ids": "1,2"}, "invalid_payload"),
        ("presence:query", {"user_ids": ["1"]}, "invalid_payload"),
        ("presence:query", {"user_ids": list(range(501))}, "invalid_payload"),
        ("no:such:event", {"conversation_id": cid}, "invalid_payload"),
    ]
    return cases


async def _chatter(tabs: list[Tab], cid: int, rounds: int) -> list[str]:
    """Two other users keep talking; returns the ids they sent."""
    ids = []
    for i in range(rounds):
        ack = await tabs[i % len(tabs)].call(
            "message:send", {"conversation_id": cid, "body": f"still chatting {i}"}
        )
        assert ack["ok"] is True, ack
        ids.append(ack["message"]["id"])
    return ids


async def test_bad_payloads_python_client_while_others_chat(
    server: ServerProcess, users: Users
) -> None:
    attacker, alice, bob = await users(), await users(), await users()
    own = (await create_conversation(server.url, attacker, [alice]))["id"]
    other = (await create_conversation(server.url, alice, [bob]))["id"]
    bad = await Tab.open(server.url, attacker)
    talkers = await open_tabs(server.url, alice, bob, per_user=1)
    try:
        chatter = asyncio.create_task(_chatter(talkers, other, 30))
        for event, payload, code in battery(own):
            ack = await bad.call(event, payload)
            assert ack["ok"] is False, (event, payload, ack)
            assert ack["error"]["code"] == code, (event, payload, ack)
            assert isinstance(ack["error"]["message"], str)
            assert "Traceback" not in ack["error"]["message"]
        sent = await chatter
        for tab in talkers:
            assert [m["id"] for m in await tab.wait("message:new", len(sent))] == sent
        # The attacker's socket is still fine, and nothing bad was stored.
        ok = await bad.call("message:send", {"conversation_id": own, "body": "fine now"})
        assert ok["ok"] is True
        got = await bad.wait("message:new", 1)
        assert [m["body"] for m in got] == ["fine now"]
    finally:
        await close_all([bad, *talkers])


async def test_two_megabyte_frame_drops_only_that_connection(
    server: ServerProcess, users: Users
) -> None:
    attacker, alice, bob = await users(), await users(), await users()
    own = (await create_conversation(server.url, attacker, [alice]))["id"]
    other = (await create_conversation(server.url, alice, [bob]))["id"]
    bad = await Tab.open(server.url, attacker)
    talkers = await open_tabs(server.url, alice, bob, per_user=1)
    try:
        dropped = asyncio.Event()
        bad.client.on("disconnect", lambda *_: dropped.set(), namespace="/chat")
        await bad.client.emit(
            "message:send", {"conversation_id": own, "body": "x" * 2_000_000}, namespace="/chat"
        )
        await asyncio.wait_for(dropped.wait(), 15)
        sent = await _chatter(talkers, other, 5)
        for tab in talkers:
            assert [m["id"] for m in await tab.wait("message:new", 5)] == sent
        # Alice never got the huge message in the attacker's conversation either.
        assert all(m["conversation_id"] == other for m in talkers[0].got("message:new"))
    finally:
        await close_all([bad, *talkers])


async def test_rate_limit_answers_rate_limited_and_spares_others(
    server_factory: Callable[..., ServerProcess],
) -> None:
    from tests.support.clients import register

    srv = server_factory(env={"SWITCHBOARD_RATE_LIMIT": "5"})
    noisy, calm = await register(srv.url), await register(srv.url)
    cid = (await create_conversation(srv.url, noisy, [calm]))["id"]
    n1, c1 = await open_tabs(srv.url, noisy, calm, per_user=1)
    try:
        acks = await asyncio.gather(
            *(n1.call("typing", {"conversation_id": cid, "typing": True}) for _ in range(40))
        )
        codes = [a["error"]["code"] for a in acks if not a["ok"]]
        assert codes
        assert set(codes) == {"rate_limited"}
        assert sum(1 for a in acks if a["ok"]) >= 10  # the 2x burst got through
        ack = await c1.call("message:send", {"conversation_id": cid, "body": "calm"})
        assert ack["ok"] is True
        assert [m["body"] for m in await n1.wait("message:new", 1)] == ["calm"]
    finally:
        await close_all([n1, c1])


async def test_bad_payloads_npm_client(server: ServerProcess, users: Users) -> None:
    attacker, alice = await users(), await users()
    own = (await create_conversation(server.url, attacker, [alice]))["id"]
    result = await run_node(
        f"""
        const s = await connect("{server.url}", "/chat", {{ auth: {{ token: "{attacker.token}" }} }});
        const cases = [
          ["message:send", undefined], ["message:send", "str"], ["message:send", 7], ["message:send", null],
          ["message:send", [1]], ["message:send", {{}}],
          ["message:send", {{ conversation_id: {own}, body: "x".repeat(4001) }}],
          ["message:send", {{ conversation_id: "{own}", body: "x" }}],
          ["typing", {{ conversation_id: {own}, typing: "true" }}], ["typing", null],
          ["message:read", {{ conversation_id: {own}, message_id: 3 }}],
          ["conversation:join", {{ conversation_id: 99999999999 }}],
          ["presence:query", {{ user_ids: "all" }}],
        ];
        const out = [];
        for (const [event, payload] of cases) {{
          const res = payload === undefined
            ? await s.timeout(5000).emitWithAck(event)
            : await ack(s, event, payload);
          out.push(res.ok ? "ok" : res.error.code);
        }}
        const good = await ack(s, "message:send", {{ conversation_id: {own}, body: "after all that" }});
        out.push(good.ok && good.message.body);
        s.close();
        done(out);
        """
    )
    assert result == [
        *["invalid_payload"] * 6,
        "too_large",
        "invalid_payload",
        "invalid_payload",
        "invalid_payload",
        "invalid_payload",
        "not_found",
        "invalid_payload",
        "after all that",
    ]
