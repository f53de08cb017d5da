"""Engine.IO v4 conformance against the reference server (`--suite engine.io`, echo on every message).

Written from the Engine.IO v4 protocol document: what the official test suite checks, in
our words, plus a few limits of our own (413 at once, 1009 over maxPayload).
"""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
import websockets

from tests.conformance.client import (
    MAX_PAYLOAD,
    PING_INTERVAL,
    PING_TIMEOUT,
    RECV_TIMEOUT,
    SAMPLE_ACCEPT,
    client_frame,
    open_packet,
    polling_handshake,
    polling_url,
    read_head,
    read_until_closed,
    recv,
    recv_raw,
    refused_or_closed,
    server_frames,
    upgrade_request,
    wait_closed,
    ws_connect,
)

# Heartbeats of 300/200 ms: run alone, after the parallel part of `make test`.
pytestmark = pytest.mark.serial

PATH = "/engine.io/"


@pytest.fixture
async def http(engineio_server):
    async with httpx.AsyncClient(base_url=engineio_server.http, timeout=RECV_TIMEOUT) as client:
        yield client


@pytest.fixture
async def any_http(engineio_any):
    """Polling to the server of `engineio_any` (either WebSocket path)."""
    async with httpx.AsyncClient(base_url=engineio_any.http, timeout=RECV_TIMEOUT) as client:
        yield client


@pytest.fixture
def ws_url(engineio_any):
    """A new session over WebSocket, on the fast path and on the portable (EngineAsgi) one."""
    return engineio_any.ws + PATH + "?EIO=4&transport=websocket"


async def poll(http: httpx.AsyncClient, sid: str) -> httpx.Response:
    return await http.get(polling_url(PATH, sid))


async def push(http: httpx.AsyncClient, sid: str, body: str | bytes) -> httpx.Response:
    return await http.post(polling_url(PATH, sid), content=body)


# -- handshake ------------------------------------------------------------------------------------


async def test_polling_handshake(http):
    r = await http.get(PATH + "?EIO=4&transport=polling")
    assert r.status_code == 200
    opened = open_packet(r.text)
    assert set(opened) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert isinstance(opened["sid"], str)
    assert opened["sid"]
    assert opened["upgrades"] == ["websocket"]
    assert opened["pingInterval"] == 300
    assert opened["pingTimeout"] == 200
    assert opened["maxPayload"] == 1_000_000


async def test_each_handshake_has_its_own_sid(http):
    sids = {await polling_handshake(http, PATH) for _ in range(5)}
    assert len(sids) == 5


async def test_websocket_handshake(ws_url):
    async with ws_connect(ws_url) as ws:
        first = await recv_raw(ws)
        assert isinstance(first, str)
        opened = open_packet(first)
        assert set(opened) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert isinstance(opened["sid"], str)
        assert opened["upgrades"] == []
        assert (opened["pingInterval"], opened["pingTimeout"], opened["maxPayload"]) == (
            300,
            200,
            1_000_000,
        )


@pytest.mark.parametrize(
    "query",
    [
        "transport=polling",  # no EIO
        "EIO=abc&transport=polling",
        "EIO=3&transport=polling",
        "EIO=5&transport=polling",
        "EIO=4",  # no transport
        "EIO=4&transport=abc",
        "EIO=4&transport=",
    ],
)
async def test_polling_request_with_a_bad_query_is_400(http, query):
    assert (await http.get(PATH + "?" + query)).status_code == 400


@pytest.mark.parametrize("query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4"])
async def test_websocket_request_with_a_bad_query_is_refused(engineio_any, query):
    with pytest.raises(websockets.InvalidStatus) as info:
        async with ws_connect(engineio_any.ws + PATH + "?" + query):
            pytest.fail("the handshake should have been refused")
    # The fast path answers 400 as polling does; through ASGI a refused WebSocket is a 403.
    assert info.value.response.status_code == (400 if engineio_any.kind == "fast" else 403)


@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_post_or_put_without_sid_is_400(http, method):
    r = await http.request(method, PATH + "?EIO=4&transport=polling", content="4hello")
    assert r.status_code == 400


async def test_unknown_sid_is_400(http):
    assert (await poll(http, "unknown")).status_code == 400
    assert (await push(http, "unknown", "4hello")).status_code == 400


async def test_websocket_with_an_unknown_sid_is_refused(engineio_any):
    with pytest.raises(websockets.InvalidStatus) as info:
        async with ws_connect(engineio_any.ws + PATH + "?EIO=4&transport=websocket&sid=nope"):
            pytest.fail("the handshake should have been refused")
    assert info.value.response.status_code == (400 if engineio_any.kind == "fast" else 403)


# -- messages ----------------------------------------------------------------------------------------


async def test_polling_text_message(http):
    sid = await polling_handshake(http, PATH)
    r = await push(http, sid, "4hello")
    assert (r.status_code, r.text) == (200, "ok")
    r = await poll(http, sid)
    assert (r.status_code, r.text) == (200, "4hello")


async def test_polling_utf8_message(http):
    sid = await polling_handshake(http, PATH)
    assert (await push(http, sid, "4€ é 😀".encode())).status_code == 200
    r = await poll(http, sid)
    assert r.content.decode("utf-8") == "4€ é 😀"


async def test_polling_binary_message(http):
    sid = await polling_handshake(http, PATH)
    assert (await push(http, sid, "bAQIDBA==")).status_code == 200
    assert (await poll(http, sid)).text == "bAQIDBA=="


async def test_polling_several_packets_each_way(http):
    sid = await polling_handshake(http, PATH)
    body = "4hello\x1ebAQIDBA==\x1e4world"
    assert (await push(http, sid, body)).status_code == 200
    assert (await poll(http, sid)).text == body


async def test_polling_get_waits_for_output(http):
    sid = await polling_handshake(http, PATH)
    pending = asyncio.ensure_future(poll(http, sid))
    await asyncio.sleep(0.05)
    assert not pending.done()
    assert (await push(http, sid, "4late")).status_code == 200
    assert (await asyncio.wait_for(pending, RECV_TIMEOUT)).text == "4late"


async def test_websocket_text_and_binary_messages(ws_url):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        await ws.send("4hello")
        assert await recv(ws) == "4hello"
        await ws.send("4€ é 😀")
        assert await recv(ws) == "4€ é 😀"
        await ws.send(b"\x01\x02\x03\x04")
        assert await recv(ws) == b"\x01\x02\x03\x04"
        await ws.send(bytes(70_000))
        assert await recv(ws) == bytes(70_000)


@pytest.mark.parametrize("body", ["abc", "4hello\x1e", "bnot base64!", "\x1e"])
async def test_invalid_polling_packet_closes_the_session(http, body):
    sid = await polling_handshake(http, PATH)
    assert (await push(http, sid, body)).status_code == 400
    assert (await poll(http, sid)).status_code == 400


async def test_invalid_websocket_packet_closes_the_session(ws_url):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        await ws.send("abc")
        await wait_closed(ws)


async def test_duplicate_polls_close_the_session(http):
    sid = await polling_handshake(http, PATH)
    answers = await asyncio.gather(poll(http, sid), poll(http, sid))
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 400]
    (ok,) = [r for r in answers if r.status_code == 200]
    assert ok.text == "1"  # the pending poll is told the session is over
    assert (await poll(http, sid)).status_code == 400


# -- heartbeat -------------------------------------------------------------------------------------


async def test_polling_ping_pong(http):
    sid = await polling_handshake(http, PATH)
    for _ in range(3):
        r = await poll(http, sid)
        assert (r.status_code, r.text) == (200, "2")
        r = await push(http, sid, "3")
        assert (r.status_code, r.text) == (200, "ok")
    assert (await push(http, sid, "4still here")).status_code == 200
    assert (await poll(http, sid)).text == "4still here"


async def test_websocket_ping_pong(ws_url):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        for _ in range(3):
            assert await recv_raw(ws) == "2"
            await ws.send("3")
        await ws.send("4still here")
        assert await recv(ws) == "4still here"


async def test_polling_ping_timeout_closes_the_session(http):
    sid = await polling_handshake(http, PATH)
    await asyncio.sleep(PING_INTERVAL + PING_TIMEOUT + 0.3)
    assert (await poll(http, sid)).status_code == 400


async def test_websocket_ping_timeout_closes_the_session(ws_url):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        _exc, seen = await wait_closed(ws, answer_pings=False)
        assert seen == ["2"]


async def test_websocket_level_ping_is_answered(ws_url):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        waiter = await ws.ping(b"are you there")
        await asyncio.wait_for(waiter, RECV_TIMEOUT)


# -- close ---------------------------------------------------------------------------------------------


async def test_polling_forced_close_answers_the_pending_poll_with_noop(http):
    sid = await polling_handshake(http, PATH)
    pending = asyncio.ensure_future(poll(http, sid))
    await asyncio.sleep(0.05)  # let the poll wait on the server
    r = await push(http, sid, "1")
    assert r.status_code == 200
    answered = await asyncio.wait_for(pending, RECV_TIMEOUT)
    assert (answered.status_code, answered.text) == (200, "6")
    assert (await poll(http, sid)).status_code == 400


async def test_websocket_forced_close(ws_url):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        await ws.send("1")
        await wait_closed(ws)


# -- upgrade -------------------------------------------------------------------------------------------


async def test_upgrade_from_polling_to_websocket(any_http, engineio_any):
    sid = await polling_handshake(any_http, PATH)
    url = engineio_any.ws + PATH + f"?EIO=4&transport=websocket&sid={sid}"
    pending = asyncio.ensure_future(poll(any_http, sid))
    await asyncio.sleep(0.05)
    async with ws_connect(url) as ws:
        await ws.send("2probe")
        assert await recv_raw(ws) == "3probe"
        answered = await asyncio.wait_for(pending, RECV_TIMEOUT)
        assert (answered.status_code, answered.text) == (200, "6")
        await ws.send("5")
        await ws.send("4over websocket")
        assert await recv(ws) == "4over websocket"
        await ws.send(b"\x00\xff")
        assert await recv(ws) == b"\x00\xff"
        # The session lives on the WebSocket now: polling for it is refused ...
        assert (await poll(any_http, sid)).status_code == 400
        assert (await push(any_http, sid, "4x")).status_code == 400
        # ... and a second WebSocket for the same sid is closed, leaving the first one be.
        await refused_or_closed(url)
        await ws.send("4still upgraded")
        assert await recv(ws) == "4still upgraded"


async def test_packets_waiting_for_a_poll_move_to_the_websocket(any_http, engineio_any):
    sid = await polling_handshake(any_http, PATH)
    url = engineio_any.ws + PATH + f"?EIO=4&transport=websocket&sid={sid}"
    async with ws_connect(url) as ws:
        await ws.send("2probe")
        assert await recv_raw(ws) == "3probe"
        # Sent over polling during the upgrade, echoed while no poll is waiting.
        assert (await push(any_http, sid, "4during upgrade")).status_code == 200
        await ws.send("5")
        assert await recv(ws) == "4during upgrade"


async def test_upgrade_without_probe_keeps_polling(any_http, engineio_any):
    """An upgrade not completed: the WebSocket goes, the polling session stays."""
    sid = await polling_handshake(any_http, PATH)
    url = engineio_any.ws + PATH + f"?EIO=4&transport=websocket&sid={sid}"
    async with ws_connect(url) as ws:
        await ws.send("2probe")
        assert await recv_raw(ws) == "3probe"
    assert (await push(any_http, sid, "4polling again")).status_code == 200
    texts = (await poll(any_http, sid)).text.split("\x1e")
    assert texts[-1] == "4polling again"


# -- payload limits ----------------------------------------------------------------------------------


async def test_polling_post_at_max_payload_is_accepted(http):
    sid = await polling_handshake(http, PATH)
    body = "4" + "a" * (MAX_PAYLOAD - 1)
    assert (await push(http, sid, body)).status_code == 200
    assert (await poll(http, sid)).text == body


async def test_polling_post_over_max_payload_is_413(http):
    sid = await polling_handshake(http, PATH)
    r = await push(http, sid, "4" + "a" * MAX_PAYLOAD)
    assert r.status_code == 413


async def test_polling_post_over_max_payload_is_answered_before_its_body(http, engineio_server):
    """A Content-Length over maxPayload is refused from the headers: no body is awaited."""
    sid = await polling_handshake(http, PATH)
    head = (
        f"POST {polling_url(PATH, sid)} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{engineio_server.port}\r\n"
        "Content-Type: text/plain;charset=UTF-8\r\n"
        f"Content-Length: {MAX_PAYLOAD + 1}\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", engineio_server.port)
    try:
        writer.write(head.encode("ascii") + b"4abc")  # a few body bytes, never the rest
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), RECV_TIMEOUT)
        assert status_line.split()[1] == b"413"
    finally:
        writer.close()


async def test_websocket_message_over_max_payload_is_closed_with_1009(ws_url, engineio_any):
    async with ws_connect(ws_url) as ws:
        await recv_raw(ws)
        await ws.send("4" + "a" * MAX_PAYLOAD)
        closed = None
        try:
            message = await recv(ws)
        except websockets.ConnectionClosed as exc:
            closed = exc
        else:
            pytest.fail(f"the server took a message over maxPayload ({len(message)} back)")
        assert closed.rcvd is not None
        assert closed.rcvd.code == 1009


WS_PATH = PATH + "?EIO=4&transport=websocket"


def _raw(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=RECV_TIMEOUT)


def _open_raw(port: int) -> tuple[socket.socket, bytes]:
    """A raw WebSocket session on the fast path: the socket, and what followed the 101 head."""
    sock = _raw(port)
    sock.sendall(upgrade_request(port, WS_PATH))
    head, rest = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101")
    assert f"Sec-WebSocket-Accept: {SAMPLE_ACCEPT}".encode() in head.split(b"\r\n")
    return sock, rest


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-WebSocket-Version": "8"},
        {"Sec-WebSocket-Version": None},
        {"Sec-WebSocket-Key": None},
        {"Sec-WebSocket-Key": "c2hvcnQ="},  # base64, but not 16 bytes
        {"Sec-WebSocket-Key": "not base64 at all!!!!!!!"},
    ],
)
def test_websocket_handshake_needs_version_13_and_a_16_byte_key(engineio_server, headers):
    with _raw(engineio_server.port) as sock:
        sock.sendall(upgrade_request(engineio_server.port, WS_PATH, headers))
        head, _rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 400")


def test_websocket_request_head_split_byte_by_byte(engineio_server):
    with _raw(engineio_server.port) as sock:
        for byte in upgrade_request(engineio_server.port, WS_PATH):
            sock.sendall(bytes([byte]))
        head, rest = read_head(sock)
        assert head.startswith(b"HTTP/1.1 101")
        while not server_frames(rest):
            rest += sock.recv(4096)
        opcode, payload = server_frames(rest)[0]
        assert opcode == 0x1
        assert open_packet(payload.decode())["upgrades"] == []


def test_fragmented_message_with_a_ping_between_fragments(engineio_server):
    sock, rest = _open_raw(engineio_server.port)
    whole = "4fragmented €!".encode()
    with sock:
        sock.sendall(client_frame(0x1, b"4frag", fin=False))
        sock.sendall(client_frame(0x9, b"between"))
        sock.sendall(client_frame(0x0, "mented €".encode(), fin=False))
        sock.sendall(client_frame(0x0, b"!"))
        # the echo must come before the close answer: wait for it
        while (0x1, whole) not in server_frames(rest):
            chunk = sock.recv(65536)
            assert chunk, "closed before the echo"
            rest += chunk
        sock.sendall(client_frame(0x8, (1000).to_bytes(2, "big")))
        frames = server_frames(rest + read_until_closed(sock))
    assert frames[0][0] == 0x1  # OPEN
    assert frames.index((0xA, b"between")) < frames.index((0x1, whole))  # ping answered first
    assert frames[-1] == (0x8, (1000).to_bytes(2, "big"))  # and the close is answered


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(0x1, b"4hello", masked=False), 1002),  # not masked
        (client_frame(0x3, b"x"), 1002),  # reserved opcode
        (client_frame(0x0, b"x"), 1002),  # continuation of nothing
        (client_frame(0x9, b"x" * 126), 1002),  # control frame over 125 bytes
        (client_frame(0x1, b"4\xff\xfe"), 1007),  # text that is not UTF-8
        (client_frame(0x8, b"\x03"), 1002),  # one-byte close payload
        (client_frame(0x1, b"abc"), 1002),  # a frame fine, its Engine.IO packet not
    ],
)
def test_websocket_violations_are_closed_with_their_code(engineio_server, frame, code):
    sock, rest = _open_raw(engineio_server.port)
    with sock:
        sock.sendall(frame)
        frames = server_frames(rest + read_until_closed(sock))
    assert frames[0][0] == 0x1  # OPEN
    assert frames[-1] == (0x8, code.to_bytes(2, "big"))


def test_oversized_frame_is_refused_from_its_header(engineio_server):
    """Only the header of a 2 GiB frame is sent: the server closes with 1009 without waiting."""
    sock, rest = _open_raw(engineio_server.port)
    with sock:
        sock.sendall(bytes((0x82, 0x80 | 127)) + (2**31).to_bytes(8, "big") + b"\x00" * 4)
        frames = server_frames(rest + read_until_closed(sock))
    assert frames[-1] == (0x8, (1009).to_bytes(2, "big"))


def test_message_before_a_violation_in_the_same_read_is_processed(engineio_server):
    sock, rest = _open_raw(engineio_server.port)
    with sock:
        # One write: a valid "4hello", then an unmasked frame (a violation).
        sock.sendall(client_frame(0x1, b"4hello") + client_frame(0x1, b"ab", masked=False))
        frames = server_frames(rest + read_until_closed(sock))
    assert frames[-1] == (0x8, (1002).to_bytes(2, "big"))
    assert (0x1, b"4hello") in frames


async def test_output_is_not_lost_to_an_abandoned_poll(http):
    sid = await polling_handshake(http, PATH)
    with pytest.raises(httpx.TimeoutException):
        await http.get(polling_url(PATH, sid), timeout=0.05)  # the client gives up on it
    await asyncio.sleep(0.02)  # well before the first ping (300 ms): ours is the next output
    assert (await push(http, sid, "4after the abandoned poll")).status_code == 200
    r = await poll(http, sid)
    # Either the packet is still delivered, or the session was closed (as it is when a
    # poll closes prematurely elsewhere): never a live session that silently lost it.
    assert r.status_code == 400 or "4after the abandoned poll" in r.text.split("\x1e")
