"""Host mode with RS256 and a PEM public key: a real server trusting a stand-in host's tokens."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest
import socketio

from switchboard.client import SwitchboardClient
from tests.auth.hostkeys import AUDIENCE, ISSUER, KeyPair
from tests.support.clients import Recorder
from tests.support.recovering import RecoveringClient
from tests.support.server import ServerProcess

HOST = KeyPair.rsa()


@pytest.fixture(scope="module")
def host_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    workdir = tmp_path_factory.mktemp("host-rs256")
    key_file = workdir / "host-public.pem"
    key_file.write_text(HOST.public_pem)
    proc = ServerProcess(
        workdir,
        env={
            "SWITCHBOARD_JWT_ALGORITHMS": "RS256",
            # A file path: the PEM-or-path form most deployments use.
            "SWITCHBOARD_JWT_PUBLIC_KEY": str(key_file),
            "SWITCHBOARD_JWT_ISSUER": ISSUER,
            "SWITCHBOARD_JWT_AUDIENCE": AUDIENCE,
            "SWITCHBOARD_RATE_LIMIT": "0",
        },
    ).start()
    yield proc
    proc.stop()


async def _me(url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})


async def _socket(url: str, token: str, *events: str) -> tuple[socketio.AsyncClient, Recorder]:
    client = RecoveringClient(reconnection=False)
    rec = Recorder()
    for name in events:
        client.on(name, rec.handler("/chat", name), namespace="/chat")
    await client.connect(
        url, namespaces=["/chat"], auth={"token": token}, transports=["websocket"], wait_timeout=5
    )
    return client, rec


async def _refusal(url: str, token: str) -> object:
    """The `connect_error` data a /chat CONNECT with `token` gets."""
    client = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    client.on("connect_error", errors.append, namespace="/chat")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(
            url,
            namespaces=["/chat"],
            auth={"token": token},
            transports=["websocket"],
            wait_timeout=5,
        )
    await client.disconnect()
    return errors[0] if errors else None


async def test_a_host_token_creates_its_user_once_named_from_the_claims(
    host_server: ServerProcess,
) -> None:
    sub = f"auth0|{uuid.uuid4().hex}"
    first = await _me(host_server.url, HOST.token(sub, name="Ada Lovelace"))
    assert first.status_code == 200, first.text
    user = first.json()["user"]
    assert user["external_id"] == sub
    assert user["name"] == "Ada Lovelace"
    assert user["email"] == ""
    assert isinstance(user["id"], int)
    # Another token of the same host user (a later login) is the same Switchboard user;
    # a new name in it renames the user (the host is where names change)...
    again = await _me(host_server.url, HOST.token(sub, name="Ada King", iat=int(time.time())))
    assert again.json()["user"] == {**user, "name": "Ada King"}
    # ...and a token naming nobody keeps the name.
    bare = await _me(host_server.url, HOST.token(sub, iat=int(time.time()) - 1))
    assert bare.json()["user"] == {**user, "name": "Ada King"}


async def test_a_new_host_user_seen_by_many_requests_at_once_gets_one_row(
    host_server: ServerProcess,
) -> None:
    sub = str(uuid.uuid4())
    token = HOST.token(sub, preferred_username="grace")
    answers = await asyncio.gather(*(_me(host_server.url, token) for _ in range(12)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["user"]["id"] for r in answers}) == 1
    assert answers[0].json()["user"]["name"] == "grace"  # the second name claim


async def test_the_name_claims_fall_back_to_the_id_and_are_bounded(
    host_server: ServerProcess,
) -> None:
    bare = f"bare-{uuid.uuid4().hex}"
    r = await _me(host_server.url, HOST.token(bare))
    assert r.json()["user"]["name"] == bare
    long_name = await _me(host_server.url, HOST.token(f"long-{uuid.uuid4().hex}", name="N" * 500))
    assert long_name.json()["user"]["name"] == "N" * 100


def _hs256_with_the_public_key() -> str:
    # Algorithm confusion: an attacker signs HS256 with the (public) PEM as the secret.
    # PyJWT refuses to encode that itself, so the token is assembled by hand.
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    now = int(time.time())
    payload = b64(
        json.dumps(
            {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 600}
        ).encode()
    )
    signature = hmac.new(
        HOST.public_pem.encode(), f"{header}.{payload}".encode(), hashlib.sha256
    ).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _refused_tokens() -> dict[str, tuple[str, str]]:
    now = int(time.time())
    other = KeyPair.rsa(kid=HOST.kid)
    unsigned = jwt.encode(
        {"sub": "mallory", "iss": ISSUER, "aud": AUDIENCE, "exp": now + 600},
        None,  # type: ignore[arg-type]
        algorithm="none",
    )
    return {
        "expired": (HOST.token(exp=now - 10), "token_expired"),
        "wrong_issuer": (HOST.token(iss="https://evil.example/"), "invalid_token"),
        "wrong_audience": (HOST.token(aud="another-app"), "invalid_token"),
        "no_audience": (HOST.token(aud=None), "invalid_token"),
        "no_exp": (HOST.token(exp=None), "invalid_token"),
        "no_sub": (HOST.token(sub=None), "invalid_token"),
        "sub_not_a_string": (HOST.token(sub=["a", "b"]), "invalid_token"),
        "sub_too_long": (HOST.token(sub="x" * 256), "invalid_token"),
        "other_key": (other.token(), "invalid_token"),
        "alg_none": (unsigned, "invalid_token"),
        "hs256_with_public_key": (_hs256_with_the_public_key(), "invalid_token"),
        "garbage": ("not-a-jwt", "invalid_token"),
    }


@pytest.mark.parametrize("case", sorted(_refused_tokens()))
async def test_refused_host_tokens_get_their_code_over_http_and_sockets(
    host_server: ServerProcess, case: str
) -> None:
    token, code = _refused_tokens()[case]
    r = await _me(host_server.url, token)
    assert r.status_code == 401
    assert r.json()["detail"] == code
    assert await _refusal(host_server.url, token) == {
        "message": "unauthorized",
        "data": {"code": code},
    }


async def test_a_digit_sub_is_a_host_id_not_a_switchboard_id(host_server: ServerProcess) -> None:
    # "1" is the host's user 1: it gets its own Switchboard user, whatever id that has.
    digits = str(uuid.uuid4().int)[:12]
    r = await _me(host_server.url, HOST.token(sub=digits))
    assert r.status_code == 200
    assert r.json()["user"]["external_id"] == digits
    assert str(r.json()["user"]["id"]) != digits


async def test_switchboards_own_session_routes_are_absent(host_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=host_server.url) as http:
        for path in (
            "/api/auth/register",
            "/api/auth/login",
            "/api/auth/logout",
            "/api/auth/logout-all",
            "/api/auth/refresh",
        ):
            assert (await http.post(path, json={})).status_code == 404, path


async def test_the_cookie_carries_a_host_token_too(host_server: ServerProcess) -> None:
    token = HOST.token(f"cookie-{uuid.uuid4().hex}")
    async with httpx.AsyncClient(base_url=host_server.url) as http:
        r = await http.get("/api/auth/me", headers={"Cookie": f"auth_token={token}"})
    assert r.status_code == 200


async def test_two_string_id_users_chat_over_sockets(host_server: ServerProcess) -> None:
    ada_token = HOST.token(f"auth0|{uuid.uuid4().hex}", name="Ada")
    bob_token = HOST.token(str(uuid.uuid4()), name="Bob")
    bob_id = (await _me(host_server.url, bob_token)).json()["user"]["id"]
    async with httpx.AsyncClient(
        base_url=host_server.url, headers={"Authorization": f"Bearer {ada_token}"}
    ) as http:
        created = await http.post("/api/conversations", json={"member_ids": [bob_id]})
        assert created.status_code == 201, created.text
        conversation_id = created.json()["conversation"]["id"]
        found = await http.get("/api/users", params={"q": "Bob"})
        assert bob_id in [u["id"] for u in found.json()["users"]]
    ada, _ = await _socket(host_server.url, ada_token)
    bob, bob_rec = await _socket(host_server.url, bob_token, "message:new")
    try:
        ack = await ada.call(
            "message:send",
            {"conversation_id": conversation_id, "body": "hello from a host user"},
            namespace="/chat",
            timeout=5,
        )
        assert ack["ok"] is True, ack
        (message,) = await bob_rec.wait_for("/chat", "message:new")
        assert message["body"] == "hello from a host user"
        assert message["sender_id"] != bob_id
    finally:
        await ada.disconnect()
        await bob.disconnect()


async def test_auth_refresh_on_a_live_socket_takes_a_new_host_token(
    host_server: ServerProcess,
) -> None:
    sub = f"refresh-{uuid.uuid4().hex}"
    client, _ = await _socket(host_server.url, HOST.token(sub))
    try:
        later = HOST.token(sub, exp=int(time.time()) + 7200)
        ack = await client.call("auth:refresh", {"token": later}, namespace="/chat", timeout=5)
        assert ack["ok"] is True, ack
        stranger = HOST.token(f"other-{uuid.uuid4().hex}")
        ack = await client.call("auth:refresh", {"token": stranger}, namespace="/chat", timeout=5)
        assert ack["ok"] is False
        assert ack["error"]["code"] == "forbidden"
    finally:
        await client.disconnect()


async def test_the_python_client_works_with_a_host_token(host_server: ServerProcess) -> None:
    sub = f"sdk-{uuid.uuid4().hex}"
    async with SwitchboardClient(host_server.url, token=HOST.token(sub, name="Sdk")) as sb:
        me = await sb.me()
        assert me.name == "Sdk"
        conversation = await sb.create_conversation([], title="notes")
        await sb.send_message(conversation.id, "from the SDK")


async def test_a_host_backend_maps_its_ids_through_the_internal_api(
    host_server: ServerProcess, server: ServerProcess
) -> None:
    new, seen = f"backend-{uuid.uuid4().hex}", f"seen-{uuid.uuid4().hex}"
    seen_id = (await _me(host_server.url, HOST.token(seen, name="Seen"))).json()["user"]["id"]
    key = {"Authorization": "Bearer test-api-key"}
    async with httpx.AsyncClient(base_url=host_server.url, headers=key) as http:
        r = await http.post("/api/internal/users", json={"external_ids": [new, seen, new]})
        assert r.status_code == 200, r.text
        users = r.json()["users"]
        assert [(u["external_id"], u["name"]) for u in users] == [(new, new), (seen, "Seen")]
        assert users[1]["id"] == seen_id
        # The backend can now notify the user it only knew by its own id.
        notified = await http.post(
            "/api/internal/notifications", json={"user_ids": [users[0]["id"]], "title": "Hi"}
        )
        assert notified.status_code == 202
        bad = await http.post("/api/internal/users", json={"external_ids": ["tab\there"]})
        assert bad.status_code == 422
        wrong_key = await http.post(
            "/api/internal/users",
            json={"external_ids": [new]},
            headers={"Authorization": "Bearer nope"},
        )
        assert wrong_key.status_code == 401
    # Its first token names it and finds the same user.
    me = (await _me(host_server.url, HOST.token(new, name="Named Later"))).json()["user"]
    assert (me["id"], me["name"]) == (users[0]["id"], "Named Later")
    async with httpx.AsyncClient(base_url=server.url, headers=key) as http:
        # A server of Switchboard's own users has no host ids.
        embedded = await http.post("/api/internal/users", json={"external_ids": [new]})
        assert embedded.status_code == 404
