"""Bounded request bodies (issue 12, item 2) against a real server.

Raw sockets, because an HTTP client library would buffer or refuse what an
attacker sends: a huge declared length, or an endless chunked upload.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.server import ServerProcess

LIMIT = 64 * 1024
HUGE = 300 * 1024 * 1024
CHUNK = b"x" * (64 * 1024)
CHUNKED_JSON = "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
INTERNAL_KEY = "Authorization: Bearer test-api-key\r\n"
# Generous: the server's RSS may grow a little while it serves anything at all.
RSS_GROWTH_BOUND = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("body-limit"),
        env={"SWITCHBOARD_MAX_BODY_BYTES": str(LIMIT), "SWITCHBOARD_RATE_LIMIT": "0"},
    ).start()
    yield proc
    proc.stop()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        part = sock.recv(65536)
        if not part:
            break
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        part = sock.recv(65536)
        if not part:
            break
        body += part
    return status, headers, body


def _upload(
    server: ServerProcess, path: str, headers: str, chunked: bool, total: int
) -> tuple[int, dict[str, str], bytes, int]:
    """Send a request and stream up to `total` body bytes until the server answers.

    Returns the status, headers, body and how many body bytes went out before
    the server answered or cut the connection.
    """
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{headers}\r\n".encode()
        )
        try:
            while sent < total:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server answered before the body was done
                frame = (b"%x\r\n" % len(CHUNK)) + CHUNK + b"\r\n" if chunked else CHUNK
                sock.sendall(frame)
                sent += len(CHUNK)
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut off by the server: its answer (if any) is still to be read
        status, response_headers, body = _read_response(sock)
    return status, response_headers, body, sent


def test_declared_length_over_the_limit_is_413_before_the_body(limited: ServerProcess) -> None:
    # The body never follows: a server that waited to read it would time out the test.
    with socket.create_connection(("127.0.0.1", limited.port), timeout=30) as sock:
        sock.sendall(
            (
                "POST /api/auth/register HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{limited.port}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {HUGE}\r\n\r\n"
            ).encode()
        )
        status, headers, body = _read_response(sock)
    assert status == 413
    assert json.loads(body) == {"detail": "request body too large", "code": "too_large"}
    assert headers.get("connection") == "close"


def test_chunked_body_over_the_limit_is_cut_off_and_rss_stays_flat(
    limited: ServerProcess,
) -> None:
    proc = psutil.Process(limited.pid)
    before = proc.memory_info().rss
    status, _, body, sent = _upload(
        limited,
        "/api/auth/register",
        CHUNKED_JSON,
        chunked=True,
        total=HUGE,
    )
    after = proc.memory_info().rss
    assert status == 413
    assert json.loads(body)["code"] == "too_large"
    assert sent < HUGE, "the server read the whole 300 MB upload instead of stopping"
    assert after - before < RSS_GROWTH_BOUND, (before, after)
    # The server is still fine afterwards, and logged no traceback.
    assert httpx.get(limited.url + "/healthz").status_code == 200
    assert "Traceback" not in limited.log()


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/auth/login", ""),
        ("/api/conversations", ""),
        # With its key: the internal API reads a body only from an authenticated caller.
        ("/api/internal/notifications", INTERNAL_KEY),
        ("/api/conversations/1/messages", ""),
    ],
)
def test_every_route_refuses_an_oversized_chunked_body(
    limited: ServerProcess, path: str, headers: str
) -> None:
    status, _, _, _ = _upload(limited, path, CHUNKED_JSON + headers, chunked=True, total=4 * LIMIT)
    assert status == 413


def test_the_internal_api_refuses_a_keyless_caller_before_reading_the_body(
    limited: ServerProcess,
) -> None:
    status, _, body, sent = _upload(
        limited, "/api/internal/notifications", CHUNKED_JSON, chunked=True, total=HUGE
    )
    assert status == 401
    assert json.loads(body)["code"] == "invalid_api_key"
    assert sent < HUGE


def test_a_body_under_the_limit_still_works(limited: ServerProcess) -> None:
    r = httpx.post(
        limited.url + "/api/auth/login",
        json={"email": "nobody@example.com", "password": "p" * (LIMIT // 2)},
    )
    # Read whole and validated: 422 (password too long) or 401, never 413.
    assert r.status_code in (401, 422)


def _polling_sid(server: ServerProcess) -> str:
    r = httpx.get(server.url + "/socket.io/", params={"EIO": "4", "transport": "polling"})
    r.raise_for_status()
    opened = json.loads(r.text[1:])
    sid: str = opened["sid"]
    return sid


def test_polling_post_over_the_engineio_limit_is_413_at_once(
    limited: ServerProcess,
) -> None:
    sid = _polling_sid(limited)
    path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    status, _, _, sent = _upload(
        limited,
        path,
        "Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n",
        chunked=True,
        total=HUGE,
    )
    assert status == 413
    assert sent < HUGE
    with socket.create_connection(("127.0.0.1", limited.port), timeout=30) as sock:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{limited.port}\r\n"
                f"Content-Length: {HUGE}\r\n\r\n"
            ).encode()
        )
        assert _read_response(sock)[0] == 413
    # Refused cleanly: Engine.IO never sees a half-read request (no traceback).
    assert "Traceback" not in limited.log()


def test_engineio_limit_applies_below_the_http_limit(tmp_path: Path) -> None:
    # The polling endpoint takes the lower of the two limits.
    with ServerProcess(
        tmp_path,
        env={
            "SWITCHBOARD_MAX_BODY_BYTES": str(LIMIT * 4),
            "SWITCHBOARD_MAX_HTTP_BUFFER_SIZE": str(LIMIT),
        },
    ) as server:
        sid = _polling_sid(server)
        status, _, _, _ = _upload(
            server,
            f"/socket.io/?EIO=4&transport=polling&sid={sid}",
            f"Content-Type: text/plain\r\nContent-Length: {LIMIT * 2}\r\n",
            chunked=False,
            total=LIMIT * 2,
        )
        assert status == 413
        ok = httpx.post(
            server.url + "/api/auth/login",
            content=json.dumps({"email": "a@example.com", "password": "x" * (LIMIT * 2)}),
            headers={"Content-Type": "application/json"},
        )
        assert ok.status_code != 413


def test_an_upload_to_a_route_that_reads_no_body_is_not_drained(limited: ServerProcess) -> None:
    # /api/auth/refresh answers 401 without reading: the server must close the
    # connection rather than read and discard 300 MB.
    status, headers, _, sent = _upload(
        limited,
        "/api/auth/refresh",
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n",
        chunked=True,
        total=HUGE,
    )
    assert status == 401
    assert headers.get("connection") == "close"
    assert sent < HUGE
