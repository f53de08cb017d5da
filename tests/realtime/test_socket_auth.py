"""Socket authentication: every refusal code, both clients, cookie and auth.token."""

from __future__ import annotations

import time

import jwt
import pytest
import socketio

from tests.support.clients import Account, connect, register
from tests.support.node import run_node
from tests.support.server import ServerProcess

SECRET = "test-secret-" + "x" * 32
# Tokens are built at collection time; the suite may run for many minutes after.
LONG = 365 * 86400


def _token(**claims: object) -> str:
    base: dict[str, object] = {
        "sub": "1",
        "email": "x@example.com",
        "iat": int(time.time()),
        "exp": int(time.time()) + LONG,
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def _none_alg_token() -> str:
    return jwt.encode({"sub": "1", "exp": int(time.time()) + LONG}, None, algorithm="none")  # type: ignore[arg-type]


BAD_TOKENS = {
    "garbage": ("not-a-jwt", "invalid_token"),
    "expired": (_token(exp=int(time.time()) - 10), "token_expired"),
    "alg_none": (_none_alg_token(), "invalid_token"),
    "wrong_key": (
        jwt.encode(
            {"sub": "1", "exp": int(time.time()) + LONG},
            "another-key-" + "y" * 32,
            algorithm="HS256",
        ),
        "invalid_token",
    ),
    "non_numeric_sub": (_token(sub="alice"), "invalid_token"),
    "no_exp": (_token(exp=None), "invalid_token"),
}


async def test_python_client_connects_to_both_namespaces_with_cookie(server: ServerProcess) -> None:
    user = await register(server.url)
    client, _ = await connect(server.url, user)
    try:
        assert set(client.namespaces) == {"/chat", "/notifications"}
    finally:
        await client.disconnect()


async def test_python_client_connects_with_auth_token_without_cookie(server: ServerProcess) -> None:
    user = await register(server.url)
    client, _ = await connect(server.url, user, use_cookie=False)
    try:
        assert set(client.namespaces) == {"/chat", "/notifications"}
    finally:
        await client.disconnect()


async def test_npm_client_connects_with_login_cookie_on_both_transports(
    server: ServerProcess,
) -> None:
    user = await register(server.url)
    result = await run_node(
        f"""
        const res = await fetch("{server.url}/api/auth/login", {{method: "POST", headers: {{"content-type": "application/json"}}, body: JSON.stringify({{email: "{user.email}", password: "{user.password}"}})}});
        const cookie = res.headers.get("set-cookie").split(";")[0];
        const out = {{}};
        for (const transports of [["websocket"], ["polling"]]) {{
          for (const ns of ["/chat", "/notifications"]) {{
            const r = await connectResult("{server.url}", ns, {{ transports, extraHeaders: {{ cookie }} }});
            out[transports[0] + ns] = r.ok;
            if (r.ok) r.socket.close();
          }}
        }}
        done(out);
        """
    )
    assert result == {
        "websocket/chat": True,
        "websocket/notifications": True,
        "polling/chat": True,
        "polling/notifications": True,
    }


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_refusal_codes_npm_client(server: ServerProcess, case: str) -> None:
    token, code = BAD_TOKENS[case]
    result = await run_node(
        f"""
        const a = await connectResult("{server.url}", "/chat", {{ extraHeaders: {{ cookie: "auth_token={token}" }} }});
        const b = await connectResult("{server.url}", "/notifications", {{ auth: {{ token: "{token}" }} }});
        done([a, b]);
        """
    )
    for r in result:
        assert r["ok"] is False
        assert r["message"] == "unauthorized"
        assert r["data"] == {"code": code}


async def test_missing_token_refused(server: ServerProcess) -> None:
    result = await run_node(f"""const r = await connectResult("{server.url}", "/chat"); done(r);""")
    assert result == {
        "ok": False,
        "message": "unauthorized",
        "data": {"code": "missing_token"},
        "description": "",
    }


async def test_python_client_refused_with_bad_token(server: ServerProcess) -> None:
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            server.url,
            namespaces=["/chat"],
            auth={"token": "garbage"},
            transports=["websocket"],
            wait_timeout=5,
        )


async def test_root_and_unknown_namespaces_refused_with_message_object(
    server: ServerProcess, user: Account
) -> None:
    result = await run_node(
        f"""
        const root = await connectResult("{server.url}", "/", {{ auth: {{ token: "{user.token}" }} }});
        const other = await connectResult("{server.url}", "/admin", {{ auth: {{ token: "{user.token}" }} }});
        done([root, other]);
        """
    )
    for r in result:
        assert r["ok"] is False
        assert isinstance(r["message"], str)
        assert r["message"]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_foreign_origin_gets_403_and_no_session(
    server: ServerProcess, user: Account, transport: str
) -> None:
    import httpx

    if transport == "polling":
        r = httpx.get(
            f"{server.url}/socket.io/?EIO=4&transport=polling",
            headers={"Origin": "https://evil.example", **user.cookie},
        )
        assert r.status_code == 403
        assert "sid" not in r.text
        ok = httpx.get(
            f"{server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": server.url}
        )
        assert ok.status_code == 200
        assert '"sid"' in ok.text
    else:
        result = await run_node(
            f"""
            const r = await connectResult("{server.url}", "/chat", {{ extraHeaders: {{ origin: "https://evil.example", cookie: "auth_token={user.token}" }} }});
            const same = await connectResult("{server.url}", "/chat", {{ extraHeaders: {{ origin: "{server.url}", cookie: "auth_token={user.token}" }} }});
            if (same.ok) same.socket.close();
            done({{ foreign: r.ok, description: r.description, same: same.ok }});
            """
        )
        assert result["foreign"] is False
        assert "403" in result["description"]
        assert result["same"] is True


async def test_configured_cors_origin_is_allowed(server_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    srv = server_factory(
        env={"SWITCHBOARD_CORS_ORIGINS": "https://app.example, https://other.example"}
    )
    r = httpx.get(
        f"{srv.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": "https://app.example"}
    )
    assert r.status_code == 200
    assert r.headers.get("access-control-allow-origin") == "https://app.example"
    assert (
        httpx.get(
            f"{srv.url}/socket.io/?EIO=4&transport=polling",
            headers={"Origin": "https://evil.example"},
        ).status_code
        == 403
    )
