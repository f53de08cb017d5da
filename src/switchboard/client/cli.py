"""`switchboard chat` and `switchboard tail-notifications`: the Python client for people.

    switchboard chat --url http://127.0.0.1:8000 --email ada@example.com --conversation 7
    switchboard tail-notifications --url http://127.0.0.1:8000 --email ada@example.com

The password comes from `--password`, else `SWITCHBOARD_PASSWORD`, else a
prompt (a password on the command line is visible to other local users).
`--token` replaces email and password. Status lines go to stderr, so stdout
holds only the conversation (chat) or one JSON object per line (tail).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from switchboard.client.models import Conversation, Message, TypingEvent
    from switchboard.client.sdk import SwitchboardClient

Command = Callable[[argparse.Namespace], int]


def _add_connection_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="server base URL")
    parser.add_argument("--email", help="log in with this email")
    parser.add_argument(
        "--password", help="password (default: $SWITCHBOARD_PASSWORD, else a prompt)"
    )
    parser.add_argument("--token", help="a JWT instead of email and password")


def add_chat_parser(sub: Any) -> tuple[str, Command]:
    """Register `switchboard chat` on the main parser's subparsers."""
    parser = sub.add_parser("chat", help="chat in one conversation from the terminal")
    _add_connection_args(parser)
    parser.add_argument("--conversation", type=int, required=True, help="conversation id")
    parser.add_argument("--history", type=int, default=50, help="messages shown on start")
    return "chat", _run_chat


def add_tail_parser(sub: Any) -> tuple[str, Command]:
    """Register `switchboard tail-notifications` on the main parser's subparsers."""
    parser = sub.add_parser("tail-notifications", help="print each notification as one JSON line")
    _add_connection_args(parser)
    return "tail-notifications", _run_tail


def _client(args: argparse.Namespace) -> SwitchboardClient:
    from switchboard.client.sdk import SwitchboardClient

    if args.token:
        return SwitchboardClient(args.url, token=args.token)
    if not args.email:
        raise SystemExit("switchboard: give --email (and a password) or --token")
    password = args.password or os.environ.get("SWITCHBOARD_PASSWORD")
    if not password:
        password = getpass.getpass(f"password for {args.email}: ")
    return SwitchboardClient(args.url, email=args.email, password=password)


def _status(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(main: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> int:
    from switchboard.client.errors import SwitchboardClientError

    try:
        result: int = asyncio.run(main(args))
        return result
    except SwitchboardClientError as exc:
        _status(f"switchboard: {exc}")
        return 1


@contextlib.asynccontextmanager
async def _stop_on_signals() -> AsyncIterator[asyncio.Event]:
    """An event set by SIGINT/SIGTERM, so both end the command cleanly (exit 0)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _print_state(state: str) -> None:
    _status(f"* {state}")


# -- tail-notifications -------------------------------------------------------------------


def _run_tail(args: argparse.Namespace) -> int:
    return _run(_tail, args)


async def _tail(args: argparse.Namespace) -> int:
    from switchboard.client.models import Notification, UnreadCount

    client = _client(args)

    def show(notification: Notification) -> None:
        print(json.dumps(notification.model_dump(mode="json")), flush=True)

    def count(unread: UnreadCount) -> None:
        _status(f"* unread: {unread.count}")

    client.on("notification", show)
    client.on("notification:unread_count", count)
    client.on_connection_state(_print_state)
    async with _stop_on_signals() as stop, client:
        assert client.user is not None
        _status(f"* listening for notifications of {client.user.email} (Ctrl-C to stop)")
        await stop.wait()
    return 0


# -- chat ---------------------------------------------------------------------------------


class _ChatPrinter:
    """Prints each message once (history and live can overlap) with the sender's name."""

    def __init__(self, me: int, names: dict[int, str], out: TextIO) -> None:
        self.me = me
        self.names = names
        self.out = out
        self.seen: set[str] = set()

    def name(self, user_id: int) -> str:
        return "you" if user_id == self.me else self.names.get(user_id, f"user {user_id}")

    def message(self, message: Message) -> None:
        if message.id in self.seen:
            return
        self.seen.add(message.id)
        when = message.created_at.astimezone().strftime("%H:%M")
        # One line per message: a body with newlines must not forge other lines.
        body = message.body.replace("\r", " ").replace("\n", " ")
        print(f"[{when}] {self.name(message.sender_id)}: {body}", file=self.out, flush=True)

    def typing(self, event: TypingEvent) -> None:
        if event.user_id != self.me:
            verb = "is typing…" if event.typing else "stopped typing"
            print(f"* {self.name(event.user_id)} {verb}", file=self.out, flush=True)


def _run_chat(args: argparse.Namespace) -> int:
    return _run(_chat, args)


async def _member_names(client: SwitchboardClient, member_ids: list[int]) -> dict[int, str]:
    from switchboard.client.errors import SwitchboardHTTPError

    try:
        users = await client.get_users(member_ids)
    except SwitchboardHTTPError:
        return {}
    return {u.id: u.name for u in users}


async def _chat(args: argparse.Namespace) -> int:
    from switchboard.client.errors import SwitchboardHTTPError

    cid: int = args.conversation
    client = _client(args)
    client.on_connection_state(_print_state)
    live: list[Message] = []
    printer: _ChatPrinter | None = None

    def on_message(message: Message) -> None:
        if message.conversation_id != cid:
            return
        if printer is None:  # still printing history: keep it for after
            live.append(message)
        else:
            printer.message(message)

    def on_typing(event: TypingEvent) -> None:
        if printer is not None and event.conversation_id == cid:
            printer.typing(event)

    client.on("message:new", on_message)
    client.on("typing", on_typing)
    async with _stop_on_signals() as stop, client:
        assert client.user is not None
        try:
            history = await client.history(cid, limit=args.history)
        except SwitchboardHTTPError as exc:
            if exc.status not in (403, 404):
                raise
            # Instead of a bare 403/404: which conversations would work.
            _status(_not_a_member(client.user.email, cid, await client.list_conversations()))
            return 1
        conversation = next((c for c in await client.list_conversations() if c.id == cid), None)
        members = conversation.member_ids if conversation else []
        printer = _ChatPrinter(client.user.id, await _member_names(client, members), sys.stdout)
        for message in [*history, *live]:
            printer.message(message)
        title = conversation.title if conversation and conversation.title else f"#{cid}"
        _status(f"* chatting in {title} as {client.user.name}; type a line and Enter to send")
        lines = asyncio.ensure_future(_send_lines(client, cid))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({lines, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (lines, stopped):
                task.cancel()
            await asyncio.gather(lines, stopped, return_exceptions=True)
        failure = lines.exception() if lines.done() and not lines.cancelled() else None
        if failure is not None:
            raise failure
    return 0


def _not_a_member(email: str, cid: int, conversations: list[Conversation]) -> str:
    """The refusal, naming the conversations the user is in."""
    if not conversations:
        return (
            f"switchboard: {email} is in no conversation yet, so not in #{cid}; "
            "create one first (POST /api/conversations, or in the web page)"
        )
    ids = ", ".join(f"#{c.id}" + (f" ({c.title})" if c.title else "") for c in conversations)
    return f"switchboard: {email} is not a member of conversation #{cid}; theirs: {ids}"


async def _send_lines(client: SwitchboardClient, cid: int) -> None:
    """Send each stdin line as a message until EOF (each one acked before the next)."""
    from switchboard.client.errors import NotConnectedError, SwitchboardAckError

    async for line in _stdin_lines():
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        try:
            await client.send_message(cid, text)
        except SwitchboardAckError as exc:
            if exc.code in {"forbidden", "not_found"}:
                raise
            _status(f"* not sent ({exc.code}): {exc.message}")
        except NotConnectedError:
            _status("* not sent: not connected (reconnecting); type it again")


def _pollable(fd: int) -> bool:
    """Whether the event loop can wait on `fd`: pipes, sockets and terminals.

    Regular files and /dev/null (which epoll refuses with EPERM) cannot block,
    so they are read as they are.
    """
    mode = os.fstat(fd).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


async def _stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    pipe = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    if not _pollable(pipe.fileno()):
        with pipe:
            for raw in pipe:
                yield raw.decode("utf-8", errors="replace")
        return
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    try:
        while raw := await reader.readline():
            yield raw.decode("utf-8", errors="replace")
    finally:
        transport.close()
