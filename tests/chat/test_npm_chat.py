"""/chat with the real npm socket.io-client: two users, two tabs each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.chat.helpers import MESSAGE_KEYS, create_conversation
from tests.support.clients import Account
from tests.support.node import run_node
from tests.support.server import ServerProcess

Users = Callable[[], Awaitable[Account]]


async def test_two_users_two_tabs_npm(server: ServerProcess, users: Users) -> None:
    alice, bob, carol = await users(), await users(), await users()
    cid = (await create_conversation(server.url, alice, [bob, carol]))["id"]
    result = await run_node(
        f"""
        const url = "{server.url}";
        const cid = {cid};
        const tokens = {{ alice: "{alice.token}", bob: "{bob.token}" }};
        const tabs = [];
        for (const who of ["alice", "alice", "bob", "bob"]) {{
          // Tabs authenticate with the cookie, as a browser would.
          const s = await connect(url, "/chat", {{ extraHeaders: {{ cookie: "auth_token=" + tokens[who] }} }});
          const got = {{ "message:new": [], typing: [], "message:read": [], presence: [] }};
          for (const ev of Object.keys(got)) s.on(ev, (payload) => got[ev].push(payload));
          tabs.push({{ who, s, got }});
        }}
        const waitFor = async (tab, ev, n) => {{
          for (let i = 0; i < 500 && tab.got[ev].length < n; i++) await sleep(10);
          return tab.got[ev];
        }};
        // Every tab sends 5 messages concurrently with the others.
        const acks = (await Promise.all(tabs.map(async (tab, t) => {{
          const mine = [];
          for (let i = 0; i < 5; i++) mine.push(await ack(tab.s, "message:send", {{ conversation_id: cid, body: tab.who + " " + t + " " + i }}));
          return mine;
        }}))).flat();
        const received = [];
        for (const tab of tabs) received.push((await waitFor(tab, "message:new", 20)).map((m) => m.id));
        // A retry with the same client_msg_id.
        const first = await ack(tabs[0].s, "message:send", {{ conversation_id: cid, body: "once", client_msg_id: "n-1" }});
        const retry = await ack(tabs[1].s, "message:send", {{ conversation_id: cid, body: "once", client_msg_id: "n-1" }});
        // Typing from tab 0 reaches the three others only.
        await ack(tabs[0].s, "typing", {{ conversation_id: cid, typing: true }});
        for (const tab of tabs.slice(1)) await waitFor(tab, "typing", 1);
        // A read receipt from bob reaches every tab.
        const read = await ack(tabs[2].s, "message:read", {{ conversation_id: cid, message_id: first.message.id }});
        for (const tab of tabs) await waitFor(tab, "message:read", 1);
        // Marker: the last message, after which nothing else may have arrived.
        const marker = await ack(tabs[3].s, "message:send", {{ conversation_id: cid, body: "marker" }});
        for (const tab of tabs) await waitFor(tab, "message:new", 22);
        const out = {{
          ackKeys: Object.keys(acks[0]).sort(), messageKeys: Object.keys(acks[0].message).sort(),
          allOk: acks.every((a) => a.ok), acked: acks.map((a) => a.message.id).sort(),
          received, first, retry, read, marker: marker.message.id,
          final: tabs.map((t) => t.got["message:new"].map((m) => m.id)),
          typing: tabs.map((t) => t.got.typing), receipts: tabs.map((t) => t.got["message:read"]),
        }};
        for (const tab of tabs) tab.s.close();
        done(out);
        """
    )
    assert result["allOk"] is True
    assert result["ackKeys"] == ["message", "ok"]
    assert result["messageKeys"] == sorted(MESSAGE_KEYS)
    acked = result["acked"]
    assert len(set(acked)) == 20
    for ids in result["received"]:
        assert ids == acked  # each message exactly once, in id order, on all four tabs
    assert result["first"]["ok"] is True
    assert result["retry"] == result["first"]
    once = result["first"]["message"]["id"]
    for ids in result["final"]:
        assert ids == [*acked, once, result["marker"]]
    typing = {"conversation_id": cid, "user_id": alice.id, "typing": True}
    assert result["typing"] == [[], [typing], [typing], [typing]]
    assert result["read"] == {"ok": True}
    receipt = {"conversation_id": cid, "user_id": bob.id, "message_id": once}
    assert result["receipts"] == [[receipt]] * 4


async def test_presence_once_per_user_npm(server: ServerProcess, users: Users) -> None:
    watcher, dave = await users(), await users()
    await create_conversation(server.url, watcher, [dave])
    result = await run_node(
        f"""
        const url = "{server.url}";
        const w = await connect(url, "/chat", {{ auth: {{ token: "{watcher.token}" }} }});
        const seen = [];
        w.on("presence", (p) => {{ if (p.user_id === {dave.id}) seen.push(p.online); }});
        const waitLen = async (n) => {{ for (let i = 0; i < 500 && seen.length < n; i++) await sleep(10); }};
        const t1 = await connect(url, "/chat", {{ auth: {{ token: "{dave.token}" }} }});
        await waitLen(1);
        const t2 = await connect(url, "/notifications", {{ auth: {{ token: "{dave.token}" }} }});
        const q1 = await ack(w, "presence:query", {{ user_ids: [{dave.id}] }});
        t1.close();
        // dave is still online through his /notifications socket: no event. The
        // watcher's own round trip orders this check after t1's close was sent.
        const q2 = await ack(w, "presence:query", {{ user_ids: [{dave.id}] }});
        const afterFirstClose = seen.slice();
        t2.close();
        await waitLen(2);
        // Coming back is one more event: anything spurious in between would show here.
        const t3 = await connect(url, "/chat", {{ auth: {{ token: "{dave.token}" }} }});
        await waitLen(3);
        t3.close();
        w.close();
        done({{ seen, afterFirstClose, q1, q2 }});
        """
    )
    assert result["q1"] == {"ok": True, "online": {str(dave.id): True}}
    assert result["q2"] == {"ok": True, "online": {str(dave.id): True}}
    assert result["afterFirstClose"] == [True]
    assert result["seen"] == [True, False, True]
