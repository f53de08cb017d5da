"""`POST /api/internal/notifications`: the key, validation, per-user results, batches."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from switchboard.api.deps import INTERNAL_API_DISABLED
from tests.conftest import ServerFactory
from tests.notifications.helpers import (
    NS,
    disconnect_all,
    first,
    listing,
    notify,
    start_server,
    tab,
)
from tests.support.clients import register
from tests.support.server import ServerProcess

URL = "/api/internal/notifications"
VALID = {"user_ids": [1], "type": "t", "title": "T"}


async def test_missing_wrong_or_malformed_key_is_401_and_stores_nothing(
    server: ServerProcess,
) -> None:
    alice = await register(server.url)
    body = {**VALID, "user_ids": [alice.id]}
    async with httpx.AsyncClient(base_url=server.url) as http:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-key"},
            {"Authorization": "Bearer test-api-key-and-more"},
            {"Authorization": "Basic test-api-key"},
            {"Authorization": "test-api-key"},
            {"Authorization": "Bearer"},
            # A user's own JWT is not the service key.
            alice.bearer,
        ):
            r = await http.post(URL, json=body, headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert "Traceback" not in r.text
    assert (await listing(server.url, alice))["notifications"] == []


async def test_disabled_without_a_configured_key(server_factory: ServerFactory) -> None:
    srv = start_server(server_factory, {"SWITCHBOARD_API_KEY": ""})
    alice = await register(srv.url)
    for key in ("test-api-key", "other", None):
        r = await notify(srv.url, [alice.id], key=key)
        assert r.status_code == 404, r.text
        # The body says why, so an operator does not hunt for a missing route.
        assert r.json() == {"detail": INTERNAL_API_DISABLED, "code": "not_found"}
    assert (await listing(srv.url, alice))["notifications"] == []


BAD_PAYLOADS: dict[str, Any] = {
    "no user_ids": {"type": "t", "title": "T"},
    "empty user_ids": {"user_ids": [], "type": "t", "title": "T"},
    "user_ids not a list": {"user_ids": 5, "type": "t", "title": "T"},
    "string user id": {"user_ids": ["5"], "type": "t", "title": "T"},
    "float user id": {"user_ids": [1.5], "type": "t", "title": "T"},
    "bool user id": {"user_ids": [True], "type": "t", "title": "T"},
    "zero user id": {"user_ids": [0], "type": "t", "title": "T"},
    "too many users": {"user_ids": list(range(1, 1002)), "type": "t", "title": "T"},
    "no title": {"user_ids": [1], "type": "t"},
    "blank title": {"user_ids": [1], "type": "t", "title": "   "},
    "title too long": {"user_ids": [1], "type": "t", "title": "x" * 301},
    "title not a string": {"user_ids": [1], "type": "t", "title": 7},
    "empty type": {"user_ids": [1], "type": "", "title": "T"},
    "type too long": {"user_ids": [1], "type": "x" * 101, "title": "T"},
    "body too long": {"user_ids": [1], "type": "t", "title": "T", "body": "x" * 10_001},
    "body not a string": {"user_ids": [1], "type": "t", "title": "T", "body": ["x"]},
    "data a list": {"user_ids": [1], "type": "t", "title": "T", "data": [1, 2]},
    "data a string": {"user_ids": [1], "type": "t", "title": "T", "data": "{}"},
    "data too large": {"user_ids": [1], "type": "t", "title": "T", "data": {"k": "x" * 17_000}},
    "naive deliver_at": {
        "user_ids": [1],
        "type": "t",
        "title": "T",
        "deliver_at": "2030-01-01T09:00:00",
    },
    "garbage deliver_at": {"user_ids": [1], "type": "t", "title": "T", "deliver_at": "tomorrow"},
    "unknown field": {"user_ids": [1], "type": "t", "title": "T", "priority": "high"},
    "not an object": [1, 2, 3],
}


@pytest.mark.parametrize("name", list(BAD_PAYLOADS))
async def test_bad_payloads_are_422(server: ServerProcess, name: str) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            URL, json=BAD_PAYLOADS[name], headers={"Authorization": "Bearer test-api-key"}
        )
    assert r.status_code == 422, r.text
    assert "Traceback" not in r.text


async def test_malformed_json_is_4xx(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        for content in (b"{not json", b"", b"\xff\xfe"):
            r = await http.post(
                URL,
                content=content,
                headers={
                    "Authorization": "Bearer test-api-key",
                    "content-type": "application/json",
                },
            )
            assert 400 <= r.status_code < 500, (content, r.status_code)


async def test_refusals_name_the_body_and_the_key_comes_first(server: ServerProcess) -> None:
    key = {"Authorization": "Bearer test-api-key", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(URL, json={"user_ids": [1], "type": "t"}, headers=key)
        assert r.status_code == 422
        assert [e["loc"] for e in r.json()["detail"]] == [["body", "title"]]
        r = await http.post(URL, content=b"{not json", headers=key)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"][0] == "body"
        # A caller without the key learns nothing about what its body would have done.
        r = await http.post(URL, content=b"{not json", headers={"Authorization": "Bearer no"})
        assert r.status_code == 401


async def test_the_openapi_schema_still_documents_the_internal_routes(
    server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        schema = (await http.get("/openapi.json")).json()
    operation = schema["paths"][URL]["post"]
    assert "202" in operation["responses"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/NotifyIn")
    assert "/api/internal/users" in schema["paths"]


async def test_unknown_users_get_a_per_user_error(server: ServerProcess) -> None:
    alice = await register(server.url)
    unknown = 10**12
    r = await notify(server.url, [unknown, alice.id])
    assert r.status_code == 202, r.text
    body = r.json()
    (nid,) = body["ids"]
    assert body["results"] == [
        {"user_id": unknown, "id": None, "error": "not_found"},
        {"user_id": alice.id, "id": nid, "error": None},
    ]

    r = await notify(server.url, [unknown, unknown + 1])
    assert r.status_code == 404
    assert r.json()["detail"] == "none of user_ids is a known user"


async def test_a_batch_reaches_each_user_once_in_order(server: ServerProcess) -> None:
    accounts = [await register(server.url) for _ in range(4)]
    tabs = [await tab(server.url, a) for a in accounts]
    try:
        user_ids = [a.id for a in accounts]
        r = await notify(
            server.url,
            [*user_ids, user_ids[0]],  # a repeated id is notified once
            type="release",
            title="v2 is out",
            body="see the changelog",
            data={"version": "2.0", "links": ["https://example.com"], "nested": {"a": None}},
        )
        assert r.status_code == 202, r.text
        body = r.json()
        assert len(body["ids"]) == 4
        assert len(set(body["ids"])) == 4
        assert [res["user_id"] for res in body["results"]] == user_ids
        assert [res["id"] for res in body["results"]] == body["ids"]

        for account, nid, (_client, rec) in zip(accounts, body["ids"], tabs, strict=True):
            (pushed,) = await rec.wait_for(NS, "notification")
            pushed = first(pushed)
            assert pushed["id"] == nid
            assert pushed["data"] == {
                "version": "2.0",
                "links": ["https://example.com"],
                "nested": {"a": None},
            }
            counts = await rec.wait_for(NS, "notification:unread_count", 2)
            assert first(counts[-1]) == {"count": 1}
            page = await listing(server.url, account)
            assert [n["id"] for n in page["notifications"]] == [nid]
            assert page["unread_count"] == 1
    finally:
        await disconnect_all(*(c for c, _ in tabs))
