"""What a first user hit on the command line: each fixed, each held here.

`switchboard notify` finds the server's database the way `serve` does (the
environment, then `./.env`) and refuses a missing SQLite file instead of
creating one; `serve` starts with three clean lines; `chat` says which
conversations the user is in when the given one is not theirs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from switchboard.banner import startup_lines
from switchboard.config import Settings
from tests.conftest import ServerFactory
from tests.support.clients import Account, register
from tests.support.server import SRC, ServerProcess

TIMESTAMP_AND_LEVEL = r"^\S+Z \[info\s*\] "


def _plain_env(**extra: str) -> dict[str, str]:
    """This process's environment without any SWITCHBOARD_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env["PYTHONPATH"] = str(SRC)
    env.update(extra)
    return env


async def _switchboard(
    cwd: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "switchboard", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def _delivered(server: ServerProcess, account: Account) -> list[object]:
    """Ids of the account's notifications once the server's scheduler has delivered one.

    The CLI stores rows undelivered; listings show delivered ones only.
    """
    async with httpx.AsyncClient(base_url=server.url) as http:
        for _ in range(300):
            r = await http.get("/api/notifications", headers=account.bearer)
            r.raise_for_status()
            if found := [n["id"] for n in r.json()["notifications"]]:
                return found
            await asyncio.sleep(0.1)
    raise AssertionError("the running server never delivered the stored notification")


async def test_notify_uses_the_servers_dotenv_and_refuses_a_missing_database(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = server_factory()
    # The server's directory holds its settings the way an operator keeps them.
    (server.workdir / ".env").write_text(
        "SWITCHBOARD_DATABASE_URL=sqlite+aiosqlite:///./switchboard.db\n"
    )
    alice = await register(server.url)
    env = _plain_env()

    here = await _switchboard(
        server.workdir, env, "notify", "--user", str(alice.id), "--title", "from the shell"
    )
    assert here.returncode == 0, here.stderr
    (stored,) = json.loads(here.stdout)["ids"]
    assert await _delivered(server, alice) == [stored]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    there = await _switchboard(elsewhere, env, "notify", "--user", str(alice.id), "--title", "lost")
    assert there.returncode == 2
    assert there.stdout == ""
    (line,) = there.stderr.splitlines()
    assert line.startswith(f"switchboard: no database at {elsewhere / 'switchboard.db'} ")
    assert "SWITCHBOARD_DATABASE_URL" in line
    assert list(elsewhere.iterdir()) == [], "the refused command created files"


async def test_notify_with_an_explicit_url_works_from_any_directory(
    server_factory: ServerFactory, tmp_path: Path
) -> None:
    server = server_factory()
    alice = await register(server.url)
    env = _plain_env(SWITCHBOARD_DATABASE_URL=server.environment()["SWITCHBOARD_DATABASE_URL"])
    done = await _switchboard(tmp_path, env, "notify", "--user", str(alice.id), "--title", "hi")
    assert done.returncode == 0, done.stderr
    assert await _delivered(server, alice) == json.loads(done.stdout)["ids"]


def _lines(server: ServerProcess) -> list[str]:
    return [line for line in server.log().splitlines() if line.strip()]


def test_serve_starts_with_the_url_the_database_and_the_mode(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    lines = _lines(server)
    db = server.workdir / "switchboard.db"
    expected = [
        rf"Switchboard \S+ listening on http://127\.0\.0\.1:{server.port} \[switchboard\]$",
        rf"database: SQLite {db} \[switchboard\]$",
        r"mode: embedded: one node \(set SWITCHBOARD_REDIS_URL to run several\) \[switchboard\]$",
    ]
    assert len(lines) == len(expected), "\n".join(lines)
    for line, pattern in zip(lines, expected, strict=True):
        assert re.match(TIMESTAMP_AND_LEVEL + pattern, line), line
    assert "\x1b" not in server.log()


def test_serve_start_in_json_mode_has_no_uvicorn_colour_fields(
    server_factory: ServerFactory,
) -> None:
    server = server_factory({"SWITCHBOARD_LOG_JSON": "true"})
    records = [json.loads(line) for line in _lines(server)]
    assert [r["logger"] for r in records] == ["switchboard"] * 3
    assert records[0]["event"].startswith("Switchboard ")
    assert all("color_message" not in r for r in records)


async def test_chat_names_the_users_conversations_when_given_another(
    server: ServerProcess, tmp_path: Path
) -> None:
    ada, bob = await register(server.url, "Ada"), await register(server.url, "Bob")
    env = _plain_env()
    connect = ("chat", "--url", server.url, "--token", ada.token)

    none_yet = await _switchboard(tmp_path, env, *connect, "--conversation", "1")
    assert none_yet.returncode == 1
    assert f"{ada.email} is in no conversation yet, so not in #1" in none_yet.stderr

    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/conversations",
            json={"member_ids": [bob.id], "title": "Ada and Bob"},
            headers=ada.bearer,
        )
        r.raise_for_status()
        cid = r.json()["conversation"]["id"]

    wrong = await _switchboard(tmp_path, env, *connect, "--conversation", str(cid + 1000))
    assert wrong.returncode == 1
    assert (
        f"{ada.email} is not a member of conversation #{cid + 1000}; "
        f"theirs: #{cid} (Ada and Bob)" in wrong.stderr
    )


def test_the_start_up_lines_never_show_a_password(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql+asyncpg://switchboard:db-secret@db.internal:5432/switchboard",
        redis_url="redis://:redis-secret@cache.internal:6379/0",
        data_dir=tmp_path,
    )
    url, database, mode = startup_lines(settings, "0.0.0.0", 8000)
    assert url.endswith("listening on http://0.0.0.0:8000 (all interfaces)")
    assert database == "database: postgresql+asyncpg://switchboard:***@db.internal:5432/switchboard"
    assert mode == (
        "mode: cluster: nodes share events and presence through redis://:***@cache.internal:6379/0"
    )
    assert "secret" not in url + database + mode
