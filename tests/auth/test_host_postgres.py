"""Host users on PostgreSQL: two processes seeing a new host id at once create one row."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.conftest import ServerFactory
from tests.support.postgres import PostgresProcess

pytestmark = pytest.mark.cluster

HOST_SECRET = "host-shared-secret-" + "z" * 32


@pytest.fixture
def postgres() -> Iterator[PostgresProcess]:
    proc = PostgresProcess().start()
    yield proc
    proc.cleanup()


async def test_two_nodes_create_a_new_host_user_once(
    postgres: PostgresProcess, server_factory: ServerFactory
) -> None:
    env = {
        "SWITCHBOARD_DATABASE_URL": postgres.url,
        "SWITCHBOARD_JWT_ALGORITHMS": "HS256",
        "SWITCHBOARD_JWT_SECRET": HOST_SECRET,
    }
    nodes = [server_factory(env=env), server_factory(env=env)]
    sub = f"auth0|{uuid.uuid4().hex}"
    token = jwt.encode(
        {"sub": sub, "name": "Ada", "exp": int(time.time()) + 600}, HOST_SECRET, algorithm="HS256"
    )

    async def me(url: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url) as http:
            return await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})

    answers = await asyncio.gather(*(me(nodes[i % 2].url) for i in range(16)))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.json()["user"]["id"] for r in answers}) == 1
    assert answers[0].json()["user"]["external_id"] == sub
