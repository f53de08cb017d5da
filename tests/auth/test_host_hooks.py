"""The host's hooks: `authenticate` (a session cookie, no JWT) and its `UserDirectory`.

The app is built in this process with the hooks and served by a real uvicorn;
clients are real HTTP and Socket.IO clients.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx

from switchboard import create_app, load_settings
from switchboard.auth.directory import DirectoryUser
from tests.support.clients import Recorder
from tests.support.inprocess import serving
from tests.support.recovering import RecoveringClient

# The host app's users and its session store (what Django keeps in its tables).
HOST_USERS = {"u-ada": "Ada", "u-bob": "Bob", "u-eve": "Eve"}
SESSIONS = {
    "s-ada": "u-ada",
    "s-bob": "u-bob",
    "s-eve": "u-eve",
    "s-ghost": "u-ghost",
    "s-crash": "u-crash",
}


class HostDirectory:
    """Eve has blocked everyone: nobody may start a conversation with her.

    `u-crash`, the query "boom" and anything Eve starts make the host's code fail.
    """

    def __init__(self) -> None:
        self.lookups: list[str] = []

    async def lookup(self, external_id: str) -> DirectoryUser | None:
        self.lookups.append(external_id)
        if external_id == "u-crash":
            raise RuntimeError("the user service is down")
        name = HOST_USERS.get(external_id)
        return DirectoryUser(external_id, name) if name else None

    async def search(self, query: str, limit: int) -> list[DirectoryUser]:
        if query == "boom":
            raise RuntimeError("the search index is down")
        hits = [DirectoryUser(i, n) for i, n in HOST_USERS.items() if query.lower() in n.lower()]
        return hits[:limit]

    async def may_message(self, sender: str, recipient: str) -> bool:
        if sender == "u-eve":
            raise RuntimeError("the block list is down")
        return recipient != "u-eve"


async def session_hook(headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    session = cookies.get("sessionid")
    if session == "s-boom":
        raise RuntimeError("the session store is down")
    return SESSIONS.get(session or "")


@contextlib.asynccontextmanager
async def _host_app(tmp_path: Path) -> AsyncIterator[tuple[str, HostDirectory]]:
    settings = load_settings(
        env="test",
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'app.db'}",
        rate_limit=0,
    )
    directory = HostDirectory()
    app = create_app(settings, users=directory, authenticate=session_hook)
    async with serving(app) as url:
        yield url, directory


def _session(name: str) -> dict[str, str]:
    return {"Cookie": f"csrftoken=abc; sessionid={name}"}


async def test_the_hook_authenticates_http_and_the_directory_names_new_users(
    tmp_path: Path,
) -> None:
    async with _host_app(tmp_path) as (url, directory), httpx.AsyncClient(base_url=url) as http:
        r = await http.get("/api/auth/me", headers=_session("s-ada"))
        assert r.status_code == 200, r.text
        ada = r.json()["user"]
        assert (ada["external_id"], ada["name"], ada["email"]) == ("u-ada", "Ada", "")
        again = await http.get("/api/auth/me", headers=_session("s-ada"))
        assert again.json()["user"] == ada
        assert directory.lookups == ["u-ada"]  # asked once, when the user was new

        refusals = {
            "no cookie": ({}, "missing_token"),
            "unknown session": (_session("s-nobody"), "invalid_token"),
            "user the directory does not know": (_session("s-ghost"), "invalid_token"),
            "hook raises": (_session("s-boom"), "invalid_token"),
            "directory lookup raises": (_session("s-crash"), "invalid_token"),
        }
        for case, (headers, code) in refusals.items():
            refused = await http.get("/api/auth/me", headers=headers)
            assert (refused.status_code, refused.json()["detail"]) == (401, code), case

        for path in ("/api/auth/login", "/api/auth/register", "/api/auth/refresh"):
            assert (await http.post(path, json={})).status_code == 404, path


async def test_the_directory_answers_searches_and_may_message(tmp_path: Path) -> None:
    async with _host_app(tmp_path) as (url, _), httpx.AsyncClient(base_url=url) as http:
        found = await http.get("/api/users", params={"q": "b"}, headers=_session("s-ada"))
        assert found.status_code == 200
        (bob,) = found.json()["users"]
        assert (bob["external_id"], bob["name"]) == ("u-bob", "Bob")
        eve = (await http.get("/api/auth/me", headers=_session("s-eve"))).json()["user"]

        blocked = await http.post(
            "/api/conversations", json={"member_ids": [eve["id"]]}, headers=_session("s-ada")
        )
        assert blocked.status_code == 403
        assert blocked.json()["code"] == "forbidden"
        allowed = await http.post(
            "/api/conversations", json={"member_ids": [bob["id"]]}, headers=_session("s-ada")
        )
        assert allowed.status_code == 201

        # The host's code failing is never a 500: no users found, the conversation refused.
        broken = await http.get("/api/users", params={"q": "boom"}, headers=_session("s-ada"))
        assert (broken.status_code, broken.json()) == (200, {"users": []})
        unsure = await http.post(
            "/api/conversations", json={"member_ids": [bob["id"]]}, headers=_session("s-eve")
        )
        assert unsure.status_code == 403


async def test_the_hook_authenticates_socket_handshakes_from_their_cookies(
    tmp_path: Path,
) -> None:
    async with _host_app(tmp_path) as (url, _):
        client = RecoveringClient(reconnection=False)
        rec = Recorder()
        client.on("connect_error", rec.handler("/chat", "connect_error"), namespace="/chat")
        await client.connect(
            url,
            namespaces=["/chat", "/notifications"],
            headers=_session("s-bob"),
            transports=["polling"],
            wait_timeout=5,
        )
        try:
            assert set(client.namespaces) == {"/chat", "/notifications"}
            ack = await client.call("presence:query", {"user_ids": [1]}, namespace="/chat")
            assert ack["ok"] is True
        finally:
            await client.disconnect()
