"""Abuse limits (issue 12, item 4) against a real server: login and register per
account and per address, and one chat message budget per user for sockets and HTTP."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.chat.helpers import Tab, create_conversation, http_send
from tests.conftest import ServerFactory
from tests.support.clients import register
from tests.support.server import ServerProcess

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 6
# Long windows: nothing refills while a test runs, so the counts are exact.
WINDOW = "600"
MESSAGE_RATE = 1.0  # per second; burst 2


def assert_rate_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json() == {"detail": r.json()["detail"], "code": "rate_limited"}
    assert isinstance(r.json()["detail"], str)
    assert int(r.headers["retry-after"]) >= 1


async def _login(
    http: httpx.AsyncClient, email: str, password: str, address: str = "10.0.0.1"
) -> httpx.Response:
    # The server trusts X-Forwarded-For from 127.0.0.1 (its default proxy).
    return await http.post(
        "/api/auth/login",
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


async def test_failed_logins_lock_the_account_even_for_the_right_password(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(
        {
            "SWITCHBOARD_LOGIN_ACCOUNT_LIMIT": str(ACCOUNT_LIMIT),
            "SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS": WINDOW,
        }
    )
    victim, bystander = await register(server.url), await register(server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for i in range(ACCOUNT_LIMIT):
            # From ever-new addresses: the per-account limit does not care.
            r = await _login(http, victim.email, "wrong-password", f"10.1.0.{i}")
            assert r.status_code == 401
        locked = await _login(http, victim.email.upper(), "wrong-password", "10.1.1.1")
        assert_rate_limited(locked)
        assert_rate_limited(await _login(http, victim.email, victim.password, "10.1.1.2"))
        # Other accounts are not affected.
        assert (await _login(http, bystander.email, bystander.password)).status_code == 200
        metrics = (await http.get("/metrics")).text
    assert 'switchboard_limit_refusals_total{limit="login-account"} 2.0' in metrics


async def test_a_successful_login_clears_the_failures(server_factory: ServerFactory) -> None:
    server = server_factory(
        {
            "SWITCHBOARD_LOGIN_ACCOUNT_LIMIT": str(ACCOUNT_LIMIT),
            "SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS": WINDOW,
        }
    )
    user = await register(server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(ACCOUNT_LIMIT - 1):
            assert (await _login(http, user.email, "wrong-password")).status_code == 401
        assert (await _login(http, user.email, user.password)).status_code == 200
        for _ in range(ACCOUNT_LIMIT):
            assert (await _login(http, user.email, "wrong-password")).status_code == 401
        assert_rate_limited(await _login(http, user.email, "wrong-password"))


async def test_login_and_register_are_limited_per_address(server_factory: ServerFactory) -> None:
    server = server_factory(
        {
            "SWITCHBOARD_AUTH_ADDRESS_LIMIT": str(ADDRESS_LIMIT),
            "SWITCHBOARD_AUTH_ADDRESS_WINDOW_SECONDS": WINDOW,
        }
    )
    user = await register(server.url)  # from 127.0.0.1 itself
    async with httpx.AsyncClient(base_url=server.url) as http:
        # A different e-mail every time: the per-address limit counts them all.
        for i in range(ADDRESS_LIMIT):
            r = await _login(http, f"spray-{i}@example.com", "wrong-password", "10.2.0.1")
            assert r.status_code == 401
        assert_rate_limited(await _login(http, user.email, user.password, "10.2.0.1"))
        # Another address still gets in.
        assert (await _login(http, user.email, user.password, "10.2.0.2")).status_code == 200

        async def signup(i: int, address: str) -> httpx.Response:
            return await http.post(
                "/api/auth/register",
                json={"email": f"new-{i}@example.com", "password": "password-123", "name": "N"},
                headers={"X-Forwarded-For": address},
            )

        for i in range(ADDRESS_LIMIT):
            assert (await signup(i, "10.3.0.1")).status_code == 201
        assert_rate_limited(await signup(ADDRESS_LIMIT, "10.3.0.1"))
        assert (await signup(ADDRESS_LIMIT + 1, "10.3.0.2")).status_code == 201


async def test_registration_attempts_per_email_are_limited(server_factory: ServerFactory) -> None:
    server = server_factory(
        {
            "SWITCHBOARD_LOGIN_ACCOUNT_LIMIT": str(ACCOUNT_LIMIT),
            "SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS": WINDOW,
        }
    )
    user = await register(server.url)
    async with httpx.AsyncClient(base_url=server.url) as http:
        answers = [
            await http.post(
                "/api/auth/register",
                json={"email": user.email, "password": "password-123", "name": "Again"},
                headers={"X-Forwarded-For": f"10.4.0.{i}"},
            )
            for i in range(ACCOUNT_LIMIT + 1)
        ]
    # The first registration counted too: 409s up to the limit, then refused.
    assert [r.status_code for r in answers] == [409] * (ACCOUNT_LIMIT - 1) + [429, 429]
    assert_rate_limited(answers[-1])


async def _send_everywhere(
    server: ServerProcess, tabs: list[Tab], user: Any, cid: int, rounds: int
) -> tuple[list[str], float]:
    """Send from every socket and over HTTP in turn; the outcome of each ('ok' or a code)."""
    outcomes: list[str] = []
    started = time.monotonic()
    for i in range(rounds):
        for n, tab in enumerate(tabs):
            ack = await tab.call("message:send", {"conversation_id": cid, "body": f"s{n}-{i}"})
            outcomes.append("ok" if ack["ok"] else ack["error"]["code"])
        r = await http_send(server.url, user, cid, f"h-{i}")
        if r.status_code == 429:
            assert_rate_limited(r)
            outcomes.append("rate_limited")
        else:
            assert r.status_code == 201, r.text
            outcomes.append("ok")
    return outcomes, time.monotonic() - started


async def test_message_budget_is_per_user_across_sockets_and_http(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(
        {"SWITCHBOARD_USER_MESSAGE_RATE": str(MESSAGE_RATE), "SWITCHBOARD_RATE_LIMIT": "0"}
    )
    user, other = await register(server.url), await register(server.url)
    cid = (await create_conversation(server.url, user, [other]))["id"]
    tabs = [await Tab.open(server.url, user) for _ in range(3)]
    try:
        outcomes, elapsed = await _send_everywhere(server, tabs, user, cid, rounds=8)
        sent = outcomes.count("ok")
        # Burst 2, then MESSAGE_RATE per second, shared by 3 sockets and HTTP
        # (+1: a token may refill between the clock reads).
        assert sent <= 2 + MESSAGE_RATE * elapsed + 1, (sent, elapsed)
        assert set(outcomes) == {"ok", "rate_limited"}
        # The other member's budget is their own.
        other_tab = await Tab.open(server.url, other)
        tabs.append(other_tab)
        ack = await other_tab.call("message:send", {"conversation_id": cid, "body": "mine"})
        assert ack["ok"] is True
    finally:
        for tab in tabs:
            await tab.close()


async def test_message_budget_refills(server_factory: ServerFactory) -> None:
    server = server_factory(
        {"SWITCHBOARD_USER_MESSAGE_RATE": str(MESSAGE_RATE), "SWITCHBOARD_RATE_LIMIT": "0"}
    )
    user, other = await register(server.url), await register(server.url)
    cid = (await create_conversation(server.url, user, [other]))["id"]
    statuses = [(await http_send(server.url, user, cid, f"m{i}")).status_code for i in range(6)]
    assert 429 in statuses
    await asyncio.sleep(2.5 / MESSAGE_RATE)
    assert (await http_send(server.url, user, cid, "later")).status_code == 201


async def test_concurrent_guesses_cannot_slip_past_the_account_limit(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(
        {
            "SWITCHBOARD_LOGIN_ACCOUNT_LIMIT": str(ACCOUNT_LIMIT),
            "SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS": WINDOW,
        }
    )
    user = await register(server.url)
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        answers = await asyncio.gather(
            *(_login(http, user.email, f"guess-{i}", f"10.5.0.{i}") for i in range(40))
        )
    codes = sorted(r.status_code for r in answers)
    assert codes.count(401) == ACCOUNT_LIMIT, codes
    assert codes.count(429) == 40 - ACCOUNT_LIMIT
