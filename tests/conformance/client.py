"""The reference server as a process, and the small clients the conformance tests speak with."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import websockets
from websockets.asyncio.client import ClientConnection, connect

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = {
    # WebSocket upgrades on the fast path (fastws.py), polling through EngineAsgi
    "fast": REPO / "tests" / "conformance" / "reference_server.py",
    # the same app with every WebSocket through EngineAsgi (uvicorn's own WebSocket)
    "portable": REPO / "tests" / "conformance" / "portable_reference_server.py",
}

PING_INTERVAL = 0.3  # what reference_server.py configures
PING_TIMEOUT = 0.2
MAX_PAYLOAD = 1_000_000
RECV_TIMEOUT = 5.0  # a liveness bound: no answer in this long means no answer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ReferenceServer:
    """`reference_server.py --suite <suite>` on a free port, stopped by its PID."""

    def __init__(self, suite: str, log_dir: Path, kind: str = "fast") -> None:
        self.suite = suite
        self.kind = kind
        self.port = free_port()
        self.log_path = log_dir / f"reference-{kind}-{suite}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ReferenceServer:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO)])
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    str(SCRIPTS[self.kind]),
                    "--suite",
                    self.suite,
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"reference server exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                # Any answer will do: the root is not served (404), and opens no session.
                httpx.get(self.http + "/", timeout=1.0)
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"reference server did not answer in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except OSError:
            return ""

    def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


# -- long-polling ----------------------------------------------------------------------------------


def open_packet(text: str) -> dict:
    assert text.startswith("0"), text
    return json.loads(text[1:])


async def polling_handshake(http: httpx.AsyncClient, path: str) -> str:
    r = await http.get(f"{path}?EIO=4&transport=polling")
    assert r.status_code == 200, r.text
    return str(open_packet(r.text)["sid"])


def polling_url(path: str, sid: str) -> str:
    return f"{path}?EIO=4&transport=polling&sid={sid}"


# -- WebSocket -------------------------------------------------------------------------------------


def ws_connect(url: str) -> connect:
    # No library keepalive: the tests speak Engine.IO's heartbeat themselves.
    return connect(url, ping_interval=None, open_timeout=RECV_TIMEOUT, close_timeout=1)


async def recv_raw(ws: ClientConnection, timeout: float = RECV_TIMEOUT) -> str | bytes:
    return await asyncio.wait_for(ws.recv(), timeout)


async def recv(ws: ClientConnection, timeout: float = RECV_TIMEOUT) -> str | bytes:
    """The next message that is not an Engine.IO ping (pings are answered, as a client does)."""
    while True:
        message = await recv_raw(ws, timeout)
        if message == "2":
            await ws.send("3")
            continue
        return message


async def wait_closed(
    ws: ClientConnection, *, answer_pings: bool = True, timeout: float = RECV_TIMEOUT
) -> tuple[websockets.ConnectionClosed, list]:
    """Read until the server closes; returns the closing exception and what came before."""
    seen: list = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            got = [m[:60] for m in seen]
            raise AssertionError(f"the server did not close the connection; got {got}")
        try:
            message = await asyncio.wait_for(ws.recv(), left)
        except websockets.ConnectionClosed as exc:
            return exc, seen
        except TimeoutError:
            continue
        seen.append(message)
        if message == "2" and answer_pings:
            await ws.send("3")


async def refused_or_closed(url: str) -> None:
    """A WebSocket the server will not serve: refused at the handshake, or closed at once."""
    status = None
    try:
        async with ws_connect(url) as ws:
            await wait_closed(ws)
    except websockets.InvalidStatus as exc:
        status = exc.response.status_code
    assert status is None or 400 <= status < 500


# -- a raw WebSocket client, for what a well-behaved library will not send -------------------------

SAMPLE_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3
SAMPLE_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def upgrade_request(port: int, path: str, headers: dict[str, str | None] | None = None) -> bytes:
    fields = {
        "Host": f"127.0.0.1:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": SAMPLE_KEY,
        "Sec-WebSocket-Version": "13",
    }
    for name, value in (headers or {}).items():
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    head = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return (head + "\r\n").encode("ascii")


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    n = len(payload)
    first = (0x80 if fin else 0) | opcode
    bit = 0x80 if masked else 0
    if n < 126:
        head = bytes((first, bit | n))
    elif n < 65536:
        head = bytes((first, bit | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((first, bit | 127)) + n.to_bytes(8, "big")
    if not masked:
        return head + payload
    mask = b"\x5a\xa5\x0f\xf0"
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each whole server frame in `data` (server frames are unmasked)."""
    frames = []
    pos = 0
    while len(data) - pos >= 2:
        opcode, n, head = data[pos] & 0x0F, data[pos + 1] & 0x7F, 2
        assert data[pos + 1] & 0x80 == 0, "a server frame is masked"
        if n == 126:
            n, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        if len(data) - pos < head + n:
            break
        frames.append((opcode, data[pos + head : pos + head + n]))
        pos += head + n
    return frames


def read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The HTTP answer's head, and whatever came after it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest
