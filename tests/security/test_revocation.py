"""Revocable tokens (issue 12, item 3) against a real server: logout, logout-all,
refresh rotation, the absolute session lifetime, and tokens of users that do not exist."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.conftest import ServerFactory
from tests.security.helpers import (
    SECRET,
    all_accepted,
    all_refused,
    bearer,
    claims,
    delete_user,
    forged,
    socket_refusal,
    statuses,
)
from tests.support.clients import Account, register
from tests.support.server import ServerProcess

SESSION_MAX = 4


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Fast resync so that a user deleted behind the server's back is noticed in seconds."""
    proc = ServerProcess(
        tmp_path_factory.mktemp("revocation"),
        env={
            "SWITCHBOARD_RATE_LIMIT": "0",
            "SWITCHBOARD_AUTH_SYNC_SECONDS": "0.2",
            # Rotation refuses the old token at once here (the grace has its own test).
            "SWITCHBOARD_TOKEN_ROTATION_GRACE_SECONDS": "0",
        },
    ).start()
    yield proc
    proc.stop()


async def _login(server: ServerProcess, user: Account) -> str:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/auth/login", json={"email": user.email, "password": user.password}
        )
        r.raise_for_status()
        token: str = r.json()["token"]
        return token


async def _post(server: ServerProcess, path: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.post(path, headers=bearer(token))


async def _eventually(check: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await check():  # type: ignore[operator]
            return
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


async def test_every_token_has_a_jti_and_a_session_start(auth_server: ServerProcess) -> None:
    user = await register(auth_server.url)
    first, second = claims(user.token), claims(await _login(auth_server, user))
    assert isinstance(first["jti"], str)
    assert first["jti"]
    assert first["jti"] != second["jti"]
    assert isinstance(first["auth_time"], int | float)


async def test_logout_revokes_that_token_everywhere_and_only_that_one(
    auth_server: ServerProcess,
) -> None:
    user = await register(auth_server.url)
    other_session = await _login(auth_server, user)
    assert await all_accepted(auth_server, user.token)
    assert await socket_refusal(auth_server, user.token) is None

    r = await _post(auth_server, "/api/auth/logout", user.token)
    assert r.status_code == 204
    assert 'auth_token=""' in r.headers["set-cookie"]

    assert await all_refused(auth_server, user.token), await statuses(auth_server, user.token)
    assert await socket_refusal(auth_server, user.token, "/chat") == "invalid_token"
    assert await socket_refusal(auth_server, user.token, "/notifications") == "invalid_token"
    async with httpx.AsyncClient(base_url=auth_server.url) as http:
        # The cookie path is refused too, and refresh cannot revive the token.
        assert (
            await http.get("/api/auth/me", cookies={"auth_token": user.token})
        ).status_code == 401
        assert (await http.post("/api/auth/refresh", headers=bearer(user.token))).status_code == 401
    # The user's other session is untouched.
    assert await all_accepted(auth_server, other_session)


async def test_logout_without_a_valid_token_still_clears_the_cookie(
    auth_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=auth_server.url) as http:
        r = await http.post("/api/auth/logout", headers=bearer("not-a-jwt"))
    assert r.status_code == 204


async def test_refresh_rotates_the_token(auth_server: ServerProcess) -> None:
    user = await register(auth_server.url)
    r = await _post(auth_server, "/api/auth/refresh", user.token)
    assert r.status_code == 200
    fresh = r.json()["token"]
    assert claims(fresh)["jti"] != claims(user.token)["jti"]
    # Same session: the start is carried over, not reset.
    assert claims(fresh)["auth_time"] == claims(user.token)["auth_time"]
    assert await all_refused(auth_server, user.token)
    assert await socket_refusal(auth_server, user.token) == "invalid_token"
    # A replay of the old token (a stolen copy) gets nothing.
    assert (await _post(auth_server, "/api/auth/refresh", user.token)).status_code == 401
    assert await all_accepted(auth_server, fresh)
    assert await socket_refusal(auth_server, fresh) is None


async def test_concurrent_refreshes_of_one_token_yield_one_new_token(
    auth_server: ServerProcess,
) -> None:
    user = await register(auth_server.url)
    answers = await asyncio.gather(
        *(_post(auth_server, "/api/auth/refresh", user.token) for _ in range(5))
    )
    assert sorted(r.status_code for r in answers) == [200, 401, 401, 401, 401]


async def test_logout_all_revokes_every_token_of_the_user(auth_server: ServerProcess) -> None:
    user = await register(auth_server.url)
    bystander = await register(auth_server.url)
    tokens = [user.token, await _login(auth_server, user), await _login(auth_server, user)]
    for token in tokens:
        assert await all_accepted(auth_server, token)

    r = await _post(auth_server, "/api/auth/logout-all", tokens[1])
    assert r.status_code == 204
    for token in tokens:
        assert await all_refused(auth_server, token)
        assert await socket_refusal(auth_server, token) == "invalid_token"
        assert (await _post(auth_server, "/api/auth/refresh", token)).status_code == 401
    # Logging in again starts a new session that works; other users are untouched.
    again = await _login(auth_server, user)
    assert await all_accepted(auth_server, again)
    assert await all_accepted(auth_server, bystander.token)
    # logout-all needs a valid token.
    assert (await _post(auth_server, "/api/auth/logout-all", tokens[0])).status_code == 401


async def test_session_has_an_absolute_lifetime(server_factory: ServerFactory) -> None:
    server = server_factory({"SWITCHBOARD_SESSION_MAX_SECONDS": str(SESSION_MAX)})
    user = await register(server.url)
    start = claims(user.token)["auth_time"]
    assert isinstance(start, float)
    assert claims(user.token)["exp"] <= start + SESSION_MAX  # type: ignore[operator]

    r = await _post(server, "/api/auth/refresh", user.token)
    assert r.status_code == 200
    fresh = r.json()["token"]
    assert claims(fresh)["exp"] <= start + SESSION_MAX  # type: ignore[operator]

    # Wait out the session (a bound, not a timing assertion).
    await asyncio.sleep(max(0.0, start + SESSION_MAX - time.time()) + 1.1)
    assert (await _post(server, "/api/auth/refresh", fresh)).status_code == 401
    assert await all_refused(server, fresh, "token_expired")
    assert await socket_refusal(server, fresh) == "token_expired"
    # A new login is a new session.
    assert await all_accepted(server, await _login(server, user))


async def test_session_lifetime_is_enforced_even_when_exp_is_later(
    server_factory: ServerFactory,
) -> None:
    # A token minted with a long exp but an old session start (as one from
    # before a lower SWITCHBOARD_SESSION_MAX_SECONDS would be) is expired.
    server = server_factory({"SWITCHBOARD_SESSION_MAX_SECONDS": str(SESSION_MAX)})
    user = await register(server.url)
    old = forged(user.id, age=SESSION_MAX + 5, ttl=3600)
    assert await all_refused(server, old, "token_expired")
    assert await socket_refusal(server, old) == "token_expired"


async def test_token_of_a_user_that_never_existed_is_refused(auth_server: ServerProcess) -> None:
    token = forged(987_654_321)
    assert await all_refused(auth_server, token), await statuses(auth_server, token)
    assert await socket_refusal(auth_server, token, "/chat") == "invalid_token"
    assert await socket_refusal(auth_server, token, "/notifications") == "invalid_token"
    # Even with a session that claims to have just begun (looked up, then refused).
    young = forged(987_654_322, age=0)
    assert await all_refused(auth_server, young)


async def test_token_of_a_deleted_user_is_refused(auth_server: ServerProcess) -> None:
    user = await register(auth_server.url)
    assert await all_accepted(auth_server, user.token)
    delete_user(auth_server.workdir / "switchboard.db", user.id)

    async def refused() -> bool:
        return await all_refused(auth_server, user.token)

    await _eventually(refused)
    assert await socket_refusal(auth_server, user.token) == "invalid_token"


async def test_a_fresh_token_from_a_registration_works_at_once(auth_server: ServerProcess) -> None:
    # The new user is known before the answer leaves: no window where it is refused.
    for _ in range(5):
        user = await register(auth_server.url)
        assert await socket_refusal(auth_server, user.token) is None
        assert await all_accepted(auth_server, user.token)


async def test_logout_with_a_token_from_before_jti_ends_that_session(
    auth_server: ServerProcess,
) -> None:
    # Tokens issued before this version have no jti: logout ends their session
    # (and older ones), while sessions started later stay valid.
    user = await register(auth_server.url)
    now = time.time()
    legacy = jwt.encode(
        {"sub": str(user.id), "email": user.email, "iat": int(now) - 60, "exp": int(now) + 3600},
        SECRET,
        algorithm="HS256",
    )
    newer = await _login(auth_server, user)
    assert await all_accepted(auth_server, legacy)
    assert (await _post(auth_server, "/api/auth/logout", legacy)).status_code == 204
    assert await all_refused(auth_server, legacy)
    assert await all_accepted(auth_server, newer)


async def test_browser_tabs_survive_a_refresh_in_another_tab(auth_server: ServerProcess) -> None:
    # Two tabs share the cookie; each sends the token it last saw as a bearer.
    user = await register(auth_server.url)
    tab_a_token = user.token
    jar = {"auth_token": user.token}
    async with httpx.AsyncClient(base_url=auth_server.url) as http:
        # Tab B refreshes: the old token is revoked, the cookie now holds the new one.
        r = await http.post("/api/auth/refresh", cookies=jar)
        assert r.status_code == 200
        jar = {"auth_token": r.cookies["auth_token"]}
        assert jar["auth_token"] == r.json()["token"]
        http.cookies.clear()  # every request below says exactly what it carries
        # Tab A's stale bearer alone is refused...
        assert (await http.get("/api/auth/me", headers=bearer(tab_a_token))).status_code == 401
        # ...but with the shared cookie the request goes through.
        me = await http.get("/api/auth/me", headers=bearer(tab_a_token), cookies=jar)
        assert me.status_code == 200
        # A stale bearer with a cookie of another (revoked) token is still refused.
        stale = {"auth_token": tab_a_token}
        assert (
            await http.get("/api/auth/me", headers=bearer(tab_a_token), cookies=stale)
        ).status_code == 401
        # Logging out from tab A revokes the session's current token (the cookie's).
        out = await http.post("/api/auth/logout", headers=bearer(tab_a_token), cookies=jar)
        assert out.status_code == 204
        assert (await http.get("/api/auth/me", cookies=jar)).status_code == 401


async def test_a_rotated_token_keeps_working_for_a_grace_period_but_cannot_be_refreshed(
    server_factory,  # type: ignore[no-untyped-def]
) -> None:
    # Requests and socket handshakes already under way when another tab refreshed
    # (the browser's cookie changes under them) must not fail.
    srv = server_factory(env={"SWITCHBOARD_TOKEN_ROTATION_GRACE_SECONDS": "3"})
    user = await register(srv.url)
    r = await _post(srv, "/api/auth/refresh", user.token)
    assert r.status_code == 200
    assert await all_accepted(srv, user.token)
    assert await socket_refusal(srv, user.token) is None
    # A replay of the old token to refresh gets nothing, grace or not.
    assert (await _post(srv, "/api/auth/refresh", user.token)).status_code == 401
    await asyncio.sleep(3.2)
    assert await all_refused(srv, user.token)
    assert await socket_refusal(srv, user.token) == "invalid_token"
