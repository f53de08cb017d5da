"""`switchboard chat` and `switchboard tail-notifications` as real subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable

from switchboard.client import Message
from tests.client.conftest import ClientFactory, Inbox, send_notification
from tests.support.clients import Account
from tests.support.server import SRC, ServerProcess

Users = Callable[[], Awaitable[Account]]


class Cli:
    """A running `switchboard …` command whose stdout and stderr lines are collected."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        self._changed = asyncio.Event()
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._readers = [
            asyncio.ensure_future(self._collect(proc.stdout, self.out)),
            asyncio.ensure_future(self._collect(proc.stderr, self.err)),
        ]

    @classmethod
    async def start(cls, *args: str, password: str) -> Cli:
        env = {**os.environ, "PYTHONPATH": str(SRC), "SWITCHBOARD_PASSWORD": password}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "switchboard",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(proc)

    async def _collect(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode().rstrip("\n"))
            self._changed.set()

    async def wait_line(self, where: list[str], pattern: str, timeout: float = 60.0) -> str:
        """The first line of `where` matching `pattern`, waiting for it to be printed.

        The timeout is generous: on a loaded machine the command's start (it
        imports the switchboard package) alone can take many seconds.
        """

        async def _wait() -> str:
            while True:
                for line in where:
                    if re.search(pattern, line):
                        return line
                self._changed.clear()
                if self.proc.returncode is not None and all(r.done() for r in self._readers):
                    raise AssertionError(f"exited without {pattern!r}: {self.out} {self.err}")
                await self._changed.wait()

        try:
            return await asyncio.wait_for(_wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {pattern!r} in {where}; stderr: {self.err}") from None

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def finish(self, timeout: float = 60.0) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def test_chat_prints_history_and_live_messages_and_sends_stdin_lines(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    alice_acct, bob_acct = await users(), await users()
    bob = await sdk(server, bob_acct)
    conv = await bob.create_conversation([alice_acct.id])
    earlier = await bob.send_message(conv.id, "earlier, before the terminal opened")
    received = Inbox()
    bob.on("message:new", received)

    cli = await Cli.start(
        "chat",
        "--url",
        server.url,
        "--email",
        alice_acct.email,
        "--conversation",
        str(conv.id),
        password=alice_acct.password,
    )
    try:
        await cli.wait_line(cli.err, r"^\* chatting in ")
        # history first, with the sender's name
        assert re.fullmatch(rf"\[\d\d:\d\d\] {bob_acct.name}: {earlier.body}", cli.out[0])

        await bob.send_message(conv.id, "live from bob")
        await cli.wait_line(cli.out, rf"\] {bob_acct.name}: live from bob$")
        await bob.typing(conv.id)
        await cli.wait_line(cli.out, rf"^\* {bob_acct.name} is typing")

        await cli.send("hello from the terminal")
        await cli.send("<b>not html</b>\tand a tab")
        await received.wait(3)
        mine = [m for m in received.items if m.sender_id == alice_acct.id]
        assert all(isinstance(m, Message) for m in mine)
        assert [m.body for m in mine] == ["hello from the terminal", "<b>not html</b>\tand a tab"]
        await cli.wait_line(cli.out, r"\] you: <b>not html</b>")

        assert cli.proc.stdin is not None
        cli.proc.stdin.close()  # EOF ends the chat cleanly
        assert await cli.finish() == 0
    finally:
        await cli.kill()
    bodies = [line.split(": ", 1)[1] for line in cli.out if line.startswith("[")]
    assert bodies == [
        earlier.body,
        "live from bob",
        "hello from the terminal",
        "<b>not html</b>\tand a tab",
    ]  # each message printed once
    assert [m.body for m in await bob.history(conv.id)][-2:] == bodies[-2:]


async def test_chat_in_someone_elses_conversation_fails_cleanly(
    server: ServerProcess, users: Users, sdk: ClientFactory
) -> None:
    owner_acct, other_acct, outsider = await users(), await users(), await users()
    owner = await sdk(server, owner_acct)
    conv = await owner.create_conversation([other_acct.id])
    cli = await Cli.start(
        "chat",
        "--url",
        server.url,
        "--email",
        outsider.email,
        "--conversation",
        str(conv.id),
        password=outsider.password,
    )
    try:
        assert await cli.finish() == 1
    finally:
        await cli.kill()
    assert cli.out == []
    expected = f"switchboard: {outsider.email} is in no conversation yet, so not in #{conv.id}"
    assert any(line.startswith(expected) for line in cli.err), cli.err
    assert not any("Traceback" in line for line in cli.err)


async def test_chat_with_a_wrong_password_fails_cleanly(
    server: ServerProcess, user: Account
) -> None:
    cli = await Cli.start(
        "chat",
        "--url",
        server.url,
        "--email",
        user.email,
        "--conversation",
        "1",
        password="not-the-password",
    )
    try:
        assert await cli.finish() == 1
    finally:
        await cli.kill()
    assert any("401" in line for line in cli.err), cli.err
    assert not any("Traceback" in line for line in cli.err)


async def test_tail_notifications_prints_one_json_line_each(
    server: ServerProcess, user: Account
) -> None:
    cli = await Cli.start(
        "tail-notifications",
        "--url",
        server.url,
        "--email",
        user.email,
        password=user.password,
    )
    try:
        await cli.wait_line(cli.err, r"^\* listening for notifications of ")
        ids = await send_notification(server, [user.id], "deploy done", body="v2", data={"n": 1})
        ids += await send_notification(server, [user.id], "second")
        await cli.wait_line(cli.out, r'"second"')
        cli.proc.send_signal(signal.SIGTERM)
        assert await cli.finish() == 0
    finally:
        await cli.kill()
    printed = [json.loads(line) for line in cli.out]
    assert [n["id"] for n in printed] == ids
    assert printed[0]["title"] == "deploy done"
    assert printed[0]["body"] == "v2"
    assert printed[0]["data"] == {"n": 1}
    assert printed[0]["read_at"] is None
