"""Token revocation across nodes: a logout on one node refuses the token on the others.

The nodes resync from the database only every 30 s (the default), so a refusal
within the few seconds allowed here comes from the Redis channel.
"""

from __future__ import annotations

import httpx
import pytest

from tests.cluster.conftest import Nodes, eventually
from tests.security.helpers import all_accepted, all_refused, bearer, socket_refusal
from tests.support.clients import register
from tests.support.postgres import PostgresProcess
from tests.support.server import ServerProcess

pytestmark = pytest.mark.cluster

# Well under SWITCHBOARD_AUTH_SYNC_SECONDS (30 s): only the Redis message can make it.
PROPAGATION_BOUND = 5.0


async def _login(url: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=url) as http:
        r = await http.post("/api/auth/login", json={"email": email, "password": password})
        r.raise_for_status()
        token: str = r.json()["token"]
        return token


async def test_revocations_take_effect_on_every_node(nodes: Nodes) -> None:
    a, b = nodes(
        2, SWITCHBOARD_AUTH_SYNC_SECONDS="30", SWITCHBOARD_TOKEN_ROTATION_GRACE_SECONDS="0"
    )
    await _revocations_reach_the_other_node(a, b)


async def test_revocations_on_postgres(nodes: Nodes, postgres: PostgresProcess) -> None:
    # The same on PostgreSQL: migration 0002 and the revocation tables there.
    a, b = nodes(
        2,
        database_url=postgres.url,
        SWITCHBOARD_AUTH_SYNC_SECONDS="30",
        SWITCHBOARD_TOKEN_ROTATION_GRACE_SECONDS="0",
    )
    await _revocations_reach_the_other_node(a, b)
    tables = postgres.psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'", "switchboard"
    )
    assert "revoked_tokens" in tables
    assert "token_cutoffs" in tables


async def _revocations_reach_the_other_node(a: ServerProcess, b: ServerProcess) -> None:
    user = await register(a.url)
    # Registered on A, known on B at once (sockets and HTTP).
    assert await socket_refusal(b, user.token) is None
    assert await all_accepted(b, user.token)
    spare = await _login(b.url, user.email, user.password)

    async with httpx.AsyncClient(base_url=a.url) as http:
        assert (await http.post("/api/auth/logout", headers=bearer(user.token))).status_code == 204

    async def refused_on_b() -> bool:
        return await all_refused(b, user.token)

    await eventually(refused_on_b, timeout=PROPAGATION_BOUND)
    assert await socket_refusal(b, user.token) == "invalid_token"
    assert await all_accepted(b, spare)

    # Refresh on B rotates: the old token dies on A as well.
    async with httpx.AsyncClient(base_url=b.url) as http:
        r = await http.post("/api/auth/refresh", headers=bearer(spare))
        assert r.status_code == 200
        rotated = r.json()["token"]

    async def old_refused_on_a() -> bool:
        return await all_refused(a, spare)

    await eventually(old_refused_on_a, timeout=PROPAGATION_BOUND)
    assert await all_accepted(a, rotated)

    # Log out everywhere on A: B refuses every token of the user.
    async with httpx.AsyncClient(base_url=a.url) as http:
        assert (await http.post("/api/auth/logout-all", headers=bearer(rotated))).status_code == 204

    async def all_gone_on_b() -> bool:
        return await all_refused(b, rotated)

    await eventually(all_gone_on_b, timeout=PROPAGATION_BOUND)
    assert await socket_refusal(b, rotated) == "invalid_token"
