"""Connection state recovery with the unmodified npm socket.io-client (drops via engine.close())."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.recovery.helpers import API_KEY, RECOVERY_ENV
from tests.support.clients import Account, register
from tests.support.node import run_node
from tests.support.server import ServerProcess

# `open(token)` connects to /notifications with reconnection on; `notify(token, user_id,
# ...titles)` pushes through the internal API; `titles(s)` is what listeners got, each
# with the type of its trailing offset argument; `drop(s)` loses the transport.
HELPERS = r"""
const URL = process.env.SB_URL;
const KEY = process.env.SB_KEY;
function open(token, extra = {}) {
  const s = io(URL + "/notifications", {
    transports: ["websocket"], reconnection: true, reconnectionDelay: 600,
    reconnectionDelayMax: 600, randomizationFactor: 0, forceNew: true, auth: { token }, ...extra,
  });
  s.got = [];
  s.on("notification", (n, offset) => s.got.push([n.title, typeof offset]));
  s.errors = [];
  s.on("connect_error", (e) => s.errors.push(e.message));
  return once(s, "connect").then(() => s);
}
async function notify(userId, ...titles) {
  for (const title of titles) {
    const r = await fetch(URL + "/api/internal/notifications", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + KEY },
      body: JSON.stringify({ user_ids: [userId], type: "test", title }),
    });
    if (r.status !== 202) throw new Error("notify failed " + r.status);
  }
}
async function until(pred, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) { if (Date.now() > end) throw new Error("timeout"); await sleep(20); }
  await sleep(200);  // a double would arrive now
}
function drop(s) { s.io.engine.close(); return sleep(150); }
const reconnected = (s) => once(s, "connect", 8000);
const titles = (s) => s.got.map((g) => g[0]);
const offsetsAreStrings = (s) => s.got.every((g) => g[1] === "string");
"""


@pytest.fixture(scope="module")
def rserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("recovery-node"), env=RECOVERY_ENV).start()
    yield proc
    proc.stop()


async def node(server: ServerProcess, body: str, *users: Account) -> Any:
    env = {"SB_URL": server.url, "SB_KEY": API_KEY}
    for i, u in enumerate(users):
        env[f"SB_TOKEN{i}"] = u.token
        env[f"SB_USER{i}"] = str(u.id)
    script = HELPERS + "\nconst T0 = process.env.SB_TOKEN0, U0 = +process.env.SB_USER0;\n"
    script += "const T1 = process.env.SB_TOKEN1, U1 = +process.env.SB_USER1;\n" + body
    return await run_node(script, timeout=40, env=env)


async def test_basic_recovery_same_id_missed_events_in_order(rserver: ServerProcess) -> None:
    alice = await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0);
        const first = { id: s.id, recovered: s.recovered };
        await notify(U0, "n1");
        await until(() => s.got.length === 1);
        await drop(s);
        await notify(U0, "n2", "n3");
        await reconnected(s);
        await until(() => s.got.length === 3);
        await notify(U0, "n4");
        await until(() => s.got.length === 4);
        done({ first, id: s.id, recovered: s.recovered, titles: titles(s),
               offsets: offsetsAreStrings(s) });
        """,
        alice,
    )
    assert result["first"]["recovered"] is False
    assert result["recovered"] is True
    assert result["id"] == result["first"]["id"]
    assert result["titles"] == ["n1", "n2", "n3", "n4"]
    assert result["offsets"] is True


async def test_drop_before_any_event(rserver: ServerProcess) -> None:
    alice = await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0);
        await drop(s);
        await notify(U0, "m1");
        await reconnected(s);
        await until(() => s.got.length === 1);
        done({ recovered: s.recovered, titles: titles(s) });
        """,
        alice,
    )
    assert result == {"recovered": True, "titles": ["m1"]}


async def test_quiet_connection_older_than_the_window(rserver: ServerProcess) -> None:
    alice, bob = await register(rserver.url), await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0);
        await notify(U0, "old");
        await until(() => s.got.length === 1);
        await notify(U1, "for-bob");
        await sleep(4000);
        await notify(U1, "prunes");
        await drop(s);
        await reconnected(s);
        const recovered = s.recovered;
        await notify(U0, "new");
        await until(() => s.got.length === 2);
        done({ recovered, titles: titles(s) });
        """,
        alice,
        bob,
    )
    assert result == {"recovered": True, "titles": ["old", "new"]}


async def test_several_recoveries_in_a_row(rserver: ServerProcess) -> None:
    alice = await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0);
        const id = s.id, recovered = [];
        for (let i = 0; i < 4; i++) {
          await drop(s);
          if (i % 2 === 0) await notify(U0, "r" + i);
          await reconnected(s);
          recovered.push(s.recovered && s.id === id);
        }
        await until(() => s.got.length >= 2);
        done({ recovered, titles: titles(s) });
        """,
        alice,
    )
    assert result == {"recovered": [True, True, True, True], "titles": ["r0", "r2"]}


async def test_events_during_the_restore_arrive_once_in_order(rserver: ServerProcess) -> None:
    alice = await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0);
        await notify(U0, "e0");
        await until(() => s.got.length === 1);
        await drop(s);
        const want = [];
        for (let i = 0; i < 40; i++) want.push("e" + i);
        const sending = notify(U0, ...want.slice(1));
        await reconnected(s);
        const recovered = s.recovered;
        await sending;
        await until(() => s.got.length >= 40);
        done({ recovered, ok: JSON.stringify(titles(s)) === JSON.stringify(want),
               titles: titles(s) });
        """,
        alice,
    )
    assert result["recovered"] is True
    assert result["ok"] is True, result["titles"]


async def test_after_the_window_a_new_session_not_an_error(rserver: ServerProcess) -> None:
    alice = await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0, { reconnectionDelay: 4000, reconnectionDelayMax: 4000 });
        const id = s.id;
        await drop(s);
        await reconnected(s);
        done({ recovered: s.recovered, sameId: s.id === id, errors: s.errors });
        """,
        alice,
    )
    assert result == {"recovered": False, "sameId": False, "errors": []}


async def test_forged_and_stolen_pids_get_new_sessions(rserver: ServerProcess) -> None:
    alice, mallory = await register(rserver.url), await register(rserver.url)
    result = await node(
        rserver,
        """
        const victim = await open(T0, { reconnectionDelay: 1500, reconnectionDelayMax: 1500 });
        const thief = await open(T1);
        const forger = await open(T1);
        thief._pid = victim._pid;
        forger._pid = "forged-pid-0123456789";
        forger._lastOffset = "99999999999999-1";
        await drop(victim);
        await notify(U0, "secret");
        await drop(thief);
        await drop(forger);
        await Promise.all([reconnected(thief), reconnected(forger)]);
        await sleep(300);
        const out = { thief: [thief.recovered, titles(thief), thief.errors],
                      forger: [forger.recovered, forger.errors] };
        await reconnected(victim);
        await until(() => victim.got.length === 1);
        done({ ...out, victim: [victim.recovered, titles(victim)] });
        """,
        alice,
        mallory,
    )
    assert result["thief"] == [False, [], []]
    assert result["forger"] == [False, []]
    assert result["victim"] == [True, ["secret"]]


async def test_reconnect_with_an_invalid_token_is_refused(rserver: ServerProcess) -> None:
    alice = await register(rserver.url)
    result = await node(
        rserver,
        """
        const s = await open(T0);
        s.auth = { token: "not-a-jwt" };
        await drop(s);
        const [err] = await once(s, "connect_error", 8000);
        s.close();
        done({ message: err.message, code: err.data && err.data.code });
        """,
        alice,
    )
    assert result == {"message": "unauthorized", "code": "invalid_token"}
