"""HTTP auth routes against a real server: register, login, logout, me, refresh, search."""

from __future__ import annotations

import time

import httpx
import jwt

from tests.support.clients import register
from tests.support.server import ServerProcess


def _email(tag: str) -> str:
    return f"{tag}-{time.monotonic_ns()}@example.com"


async def test_register_sets_http_only_cookie_and_returns_token(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/auth/register",
            json={"email": _email("Ada").upper(), "password": "password-123", "name": "Ada"},
        )
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"user", "token"}
    assert set(body["user"]) == {"id", "email", "name", "external_id"}
    assert body["user"]["external_id"] is None  # a user of Switchboard's own, not a host's
    assert body["user"]["email"] == body["user"]["email"].lower()
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"auth_token={body['token']};")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == str(body["user"]["id"])
    assert set(claims) >= {"sub", "email", "iat", "exp"}


async def test_duplicate_email_is_409_case_insensitively(server: ServerProcess) -> None:
    email = _email("dup")
    async with httpx.AsyncClient(base_url=server.url) as http:
        first = await http.post(
            "/api/auth/register", json={"email": email, "password": "password-123", "name": "D"}
        )
        again = await http.post(
            "/api/auth/register",
            json={"email": email.upper(), "password": "password-123", "name": "D"},
        )
    assert first.status_code == 201
    assert again.status_code == 409
    assert "detail" in again.json()


async def test_invalid_registration_is_422(server: ServerProcess) -> None:
    bad = [
        {"email": "not-an-email", "password": "password-123", "name": "X"},
        {"email": _email("short"), "password": "short", "name": "X"},
        {"email": _email("noname"), "password": "password-123", "name": ""},
        {"email": _email("missing")},
        ["not", "an", "object"],
    ]
    async with httpx.AsyncClient(base_url=server.url) as http:
        for body in bad:
            r = await http.post("/api/auth/register", json=body)
            assert r.status_code == 422, body
            assert "detail" in r.json()


async def test_login_me_refresh_logout(server: ServerProcess) -> None:
    user = await register(server.url, "Grace")
    async with httpx.AsyncClient(base_url=server.url) as http:
        wrong = await http.post(
            "/api/auth/login", json={"email": user.email, "password": "nope-nope"}
        )
        assert wrong.status_code == 401
        unknown = await http.post(
            "/api/auth/login", json={"email": _email("ghost"), "password": "password-123"}
        )
        assert unknown.status_code == 401

        r = await http.post(
            "/api/auth/login", json={"email": user.email.upper(), "password": user.password}
        )
        assert r.status_code == 200
        assert r.json()["user"]["id"] == user.id
        # The client now holds the cookie: /me works without a header.
        me = await http.get("/api/auth/me")
        assert me.status_code == 200
        assert me.json() == {
            "user": {"id": user.id, "email": user.email, "name": "Grace", "external_id": None}
        }

        refreshed = await http.post("/api/auth/refresh")
        assert refreshed.status_code == 200
        assert refreshed.json()["user"]["id"] == user.id
        assert "auth_token=" in refreshed.headers["set-cookie"]

        out = await http.post("/api/auth/logout")
        assert out.status_code == 204
        assert (
            'auth_token=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
        )
        assert (await http.get("/api/auth/me")).status_code == 401


async def test_bearer_header_and_bad_tokens(server: ServerProcess) -> None:
    user = await register(server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/api/auth/me", headers=user.bearer)).status_code == 200
        for headers in ({}, {"Authorization": "Bearer garbage"}, {"Cookie": "auth_token=garbage"}):
            r = await http.get("/api/auth/me", headers=headers)
            assert r.status_code == 401
        assert (
            await http.post("/api/auth/refresh", headers={"Authorization": "Bearer x.y.z"})
        ).status_code == 401
        expired = jwt.encode(
            {"sub": str(user.id), "exp": int(time.time()) - 5},
            "test-secret-" + "x" * 32,
            algorithm="HS256",
        )
        r = await http.get("/api/auth/me", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401
        assert r.json()["detail"] == "token_expired"


async def test_user_search_needs_auth_and_escapes_wildcards(server: ServerProcess) -> None:
    alice = await register(server.url, "Alicia")
    await register(server.url, "Bob")
    async with httpx.AsyncClient(base_url=server.url, headers=alice.bearer) as http:
        found = (await http.get("/api/users", params={"q": "alic"})).json()["users"]
        assert any(u["id"] == alice.id for u in found)
        assert all("alic" in (u["name"] + u["email"]).lower() for u in found)
        assert all(set(u) == {"id", "email", "name", "external_id"} for u in found)
        assert (await http.get("/api/users", params={"q": "%"})).json()["users"] == []
    async with httpx.AsyncClient(base_url=server.url) as anon:
        assert (await anon.get("/api/users", params={"q": "a"})).status_code == 401


async def test_healthz_and_metrics(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        health = await http.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        metrics = await http.get("/metrics")
        assert metrics.status_code == 200
        assert "switchboard_connected_sockets" in metrics.text


async def test_users_by_id(server: ServerProcess) -> None:
    a = await register(server.url, "Ida")
    b = await register(server.url, "Jon")
    async with httpx.AsyncClient(base_url=server.url, headers=a.bearer) as http:
        r = await http.get("/api/users", params={"ids": f"{b.id},{a.id},999999"})
        assert r.status_code == 200
        assert [u["id"] for u in r.json()["users"]] == sorted([a.id, b.id])
        assert (await http.get("/api/users", params={"ids": "1,x"})).status_code == 422
