"""Helpers for the security tests: raw handshakes and authenticated calls."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import jwt

from tests.support.server import ServerProcess

SECRET = "test-secret-" + "x" * 32
# One route per area that must refuse a bad token: auth, chat, notifications, presence.
PROTECTED = [
    ("GET", "/api/auth/me"),
    ("GET", "/api/conversations"),
    ("GET", "/api/notifications"),
    ("GET", "/api/presence?user_ids=1"),
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def forged(user_id: int, *, age: float = 3600, ttl: int = 3600) -> str:
    """A correctly signed token for `user_id`, whose session began `age` seconds ago."""
    now = time.time()
    return jwt.encode(
        {
            "sub": str(user_id),
            "email": "forged@example.com",
            "iat": int(now - age),
            "auth_time": now - age,
            "exp": int(now + ttl),
            "jti": f"forged-{time.monotonic_ns()}",
        },
        SECRET,
        algorithm="HS256",
    )


def claims(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


async def statuses(server: ServerProcess, token: str) -> dict[str, tuple[int, object]]:
    """Status and `detail` of every PROTECTED route called with `token`."""
    out: dict[str, tuple[int, object]] = {}
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        for method, path in PROTECTED:
            r = await http.request(method, path, headers=bearer(token))
            out[path] = (r.status_code, r.json().get("detail"))
    return out


async def all_refused(server: ServerProcess, token: str, code: str = "invalid_token") -> bool:
    return all(v == (401, code) for v in (await statuses(server, token)).values())


async def all_accepted(server: ServerProcess, token: str) -> bool:
    return all(status == 200 for status, _ in (await statuses(server, token)).values())


async def socket_refusal(server: ServerProcess, token: str, namespace: str = "/chat") -> str | None:
    """Open a raw Engine.IO polling session and CONNECT to `namespace` with `token`.

    Returns None when the namespace accepted the socket, else the `code` of
    the connect_error.
    """
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        r = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        r.raise_for_status()
        sid = json.loads(r.text[1:])["sid"]
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        connect = f"40{namespace}," + json.dumps({"token": token})
        (await http.post("/socket.io/", params=params, content=connect)).raise_for_status()
        for _ in range(5):
            r = await http.get("/socket.io/", params=params)
            for packet in r.text.split("\x1e"):
                if packet.startswith(f"40{namespace},"):
                    await http.post("/socket.io/", params=params, content="1")
                    return None
                if packet.startswith(f"44{namespace},"):
                    data = json.loads(packet[len(f"44{namespace},") :])
                    code: str = data["data"]["code"]
                    return code
    raise AssertionError("no CONNECT answer")


def delete_user(db_path: Path, user_id: int) -> None:
    """Delete a user behind the server's back, as an operator or host application may."""
    with sqlite3.connect(db_path, timeout=10) as conn:
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
