"""Socket.IO v5 conformance against the reference server (`--suite socket.io`).

The reference application (tests/conformance/reference_server.py) serves `/` and `/custom`,
sends each new socket an `auth` event with its CONNECT payload, answers `message` with
`message-back` and acks `message-with-ack` with its arguments (on `/` only). Written from the
Socket.IO v5 protocol document: what the official test suite checks, in our words.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conformance.client import (
    PING_INTERVAL,
    RECV_TIMEOUT,
    open_packet,
    polling_handshake,
    polling_url,
    recv,
    recv_raw,
    wait_closed,
    ws_connect,
)

# Heartbeats of 300/200 ms: run alone, after the parallel part of `make test`.
pytestmark = pytest.mark.serial

PATH = "/socket.io/"
PH0 = '{"_placeholder":true,"num":0}'
PH1 = '{"_placeholder":true,"num":1}'


@pytest.fixture
def ws_url(socketio_any):
    """A new session over WebSocket, on the fast path and on the portable (EngineAsgi) one."""
    return socketio_any.ws + PATH + "?EIO=4&transport=websocket"


async def opened(ws) -> dict:
    return open_packet(await recv_raw(ws))


def connect_answer(text: str, prefix: str) -> dict:
    assert text.startswith(prefix), text
    return json.loads(text[len(prefix) :])


async def joined(ws, namespace: str = "/") -> str:
    """CONNECT to `namespace`, check the answer and the `auth` event; returns the socket id."""
    await opened(ws)
    await ws.send("40" if namespace == "/" else f"40{namespace},")
    prefix = "40" if namespace == "/" else f"40{namespace},"
    answer = connect_answer(await recv(ws), prefix)
    auth = await recv(ws)
    assert auth == ("42" if namespace == "/" else f"42{namespace},") + '["auth",{}]'
    return str(answer["sid"])


# -- connect ----------------------------------------------------------------------------------------


async def test_connect_to_the_main_namespace(ws_url):
    async with ws_connect(ws_url) as ws:
        eio_sid = (await opened(ws))["sid"]
        await ws.send("40")
        answer = connect_answer(await recv(ws), "40")
        assert set(answer) == {"sid"}  # the answer holds the socket id only
        assert isinstance(answer["sid"], str)
        assert answer["sid"] != eio_sid
        assert await recv(ws) == '42["auth",{}]'


async def test_connect_to_the_main_namespace_with_a_payload(ws_url):
    async with ws_connect(ws_url) as ws:
        await opened(ws)
        await ws.send('40{"token":"123"}')
        assert set(connect_answer(await recv(ws), "40")) == {"sid"}
        assert await recv(ws) == '42["auth",{"token":"123"}]'


@pytest.mark.parametrize("packet", ["40/custom,", "40/custom"])
async def test_connect_to_a_custom_namespace(ws_url, packet):
    async with ws_connect(ws_url) as ws:
        await opened(ws)
        await ws.send(packet)
        answer = connect_answer(await recv(ws), "40/custom,")
        assert set(answer) == {"sid"}
        assert await recv(ws) == '42/custom,["auth",{}]'


async def test_connect_to_a_custom_namespace_with_a_payload(ws_url):
    async with ws_connect(ws_url) as ws:
        await opened(ws)
        await ws.send('40/custom,{"token":"abc","n":[1,2]}')
        assert set(connect_answer(await recv(ws), "40/custom,")) == {"sid"}
        assert await recv(ws) == '42/custom,["auth",{"token":"abc","n":[1,2]}]'


async def test_connect_to_two_namespaces_on_one_connection(ws_url):
    async with ws_connect(ws_url) as ws:
        main = await joined(ws)
        await ws.send("40/custom,")
        custom = connect_answer(await recv(ws), "40/custom,")["sid"]
        assert await recv(ws) == '42/custom,["auth",{}]'
        assert custom != main


async def test_connect_to_an_unknown_namespace(ws_url):
    async with ws_connect(ws_url) as ws:
        await opened(ws)
        await ws.send("40/random")
        assert await recv(ws) == '44/random,{"message":"Invalid namespace"}'


@pytest.mark.parametrize("packet", ["4abc", '40"not an object"', "40[1]", "4", '4{"sid":1'])
async def test_invalid_handshake_closes_the_connection(ws_url, packet):
    async with ws_connect(ws_url) as ws:
        await opened(ws)
        await ws.send(packet)
        await wait_closed(ws)


async def test_no_connect_in_time_closes_the_connection(ws_url):
    async with ws_connect(ws_url) as ws:
        await opened(ws)
        _exc, seen = await wait_closed(ws, timeout=RECV_TIMEOUT)
        # Pings were answered, so only the connect timeout (1 s) can have closed it.
        assert seen.count("2") >= 2


async def test_connect_over_polling(socketio_server):
    async with httpx.AsyncClient(base_url=socketio_server.http, timeout=RECV_TIMEOUT) as http:
        sid = await polling_handshake(http, PATH)
        url = polling_url(PATH, sid)
        assert (await http.post(url, content='40{"token":"p"}')).text == "ok"
        got: list[str] = []
        while '42["auth",{"token":"p"}]' not in got:
            got += (await http.get(url)).text.split("\x1e")
            assert len(got) < 10
        assert set(connect_answer(got[0], "40")) == {"sid"}
        assert (await http.post(url, content='42["message","over polling"]')).text == "ok"
        r = await http.get(url)
        assert r.text == '42["message-back","over polling"]'


# -- disconnect ------------------------------------------------------------------------------------


async def test_disconnect_from_the_main_namespace_keeps_the_connection(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send("41")
        # Nothing is said back; the Engine.IO session goes on (its next packet is a ping).
        assert await recv_raw(ws, timeout=PING_INTERVAL + RECV_TIMEOUT) == "2"
        await ws.send("3")
        await ws.send('42["message","after leaving"]')  # no socket on "/": not echoed
        await ws.send("40")
        connect_answer(await recv(ws), "40")


async def test_connect_then_disconnect_from_a_custom_namespace(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send("40/custom")
        connect_answer(await recv(ws), "40/custom,")
        assert await recv(ws) == '42/custom,["auth",{}]'
        await ws.send("41/custom,")
        await ws.send('42["message","to the main namespace"]')
        assert await recv(ws) == '42["message-back","to the main namespace"]'


# -- events and acks --------------------------------------------------------------------------------


async def test_plain_event(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send('42["message",1,"2",{"3":[true]}]')
        assert await recv(ws) == '42["message-back",1,"2",{"3":[true]}]'


async def test_event_with_binary_attachments(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send(f'452-["message",{PH0},{PH1}]')
        await ws.send(b"\x01\x02\x03")
        await ws.send(b"\x04\x05\x06")
        assert await recv(ws) == f'452-["message-back",{PH0},{PH1}]'
        assert await recv(ws) == b"\x01\x02\x03"
        assert await recv(ws) == b"\x04\x05\x06"


async def test_event_with_an_ack(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert await recv(ws) == '43456[1,"2",{"3":[false]}]'


async def test_binary_event_with_an_ack(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send(f'452-789["message-with-ack",{PH0},{PH1}]')
        await ws.send(b"\x01\x02\x03")
        await ws.send(b"\x04\x05\x06")
        assert await recv(ws) == f"462-789[{PH0},{PH1}]"
        assert await recv(ws) == b"\x01\x02\x03"
        assert await recv(ws) == b"\x04\x05\x06"


async def test_event_whose_name_is_not_a_string_keeps_the_connection(ws_url):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        await ws.send("42[1,2]")
        await ws.send('42["message","still open"]')
        assert await recv(ws) == '42["message-back","still open"]'


@pytest.mark.parametrize(
    "messages",
    [
        ["4abc"],  # unknown packet type
        ["42{}"],  # payload not an array
        ['42abc["message-with-ack",1,"2",{"3":[false]}]'],  # invalid ack id
        ["42[]"],
        ['42["message"'],  # invalid JSON
        ['452-["message",{"_placeholder":true,"num":0}]', '42["text while binary is due"]'],
        [b"\x01\x02"],  # binary with no packet announcing it
        ["abc"],  # not even Engine.IO
    ],
)
async def test_invalid_format_closes_the_connection(ws_url, messages):
    async with ws_connect(ws_url) as ws:
        await joined(ws)
        for message in messages:
            await ws.send(message)
        await wait_closed(ws)
