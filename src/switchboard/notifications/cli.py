"""`switchboard notify`: an operator notifies users from the command line.

It stores the notification through the same `NotificationService` the server
uses, straight into the configured database. This process runs no Socket.IO
server, so the row is stored due (or at `--at`) and undelivered; the scheduler
of a running server claims it on its next tick (within
SWITCHBOARD_SCHEDULER_INTERVAL_SECONDS) and pushes it, exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from pydantic import ValidationError

from switchboard.config import Settings, load_settings
from switchboard.notifications.schemas import NotifyIn, NotifyOut, NotifyResult
from switchboard.notifications.service import NotificationService
from switchboard.realtime.facade import Realtime
from switchboard.storage.database import Database
from switchboard.storage.locate import require_existing_database
from switchboard.storage.migrate import upgrade_database

Command = Any  # switchboard.cli.Command; not imported to keep cli.py free of cycles


def add_parser(sub: Any) -> tuple[str, Command]:
    """Register `notify` on the `switchboard` subcommand parser."""
    p: argparse.ArgumentParser = sub.add_parser(
        "notify",
        help="store a notification for users (a running server delivers it)",
        description=(
            "Store a notification for one or more users. A running server's scheduler "
            "delivers it within about a second (or at --at)."
        ),
    )
    p.add_argument(
        "--user",
        dest="users",
        type=int,
        action="append",
        required=True,
        metavar="ID",
        help="user id (repeat for several users)",
    )
    p.add_argument("--title", required=True)
    p.add_argument("--body", default="")
    p.add_argument("--type", default="general")
    p.add_argument("--data", default=None, metavar="JSON", help="a JSON object")
    p.add_argument(
        "--at",
        default=None,
        metavar="ISO8601",
        help="deliver at this time, with a timezone (e.g. 2030-01-01T09:00:00+01:00)",
    )
    return "notify", _notify


def _request(args: argparse.Namespace) -> NotifyIn:
    fields: dict[str, Any] = {
        "user_ids": args.users,
        "type": args.type,
        "title": args.title,
        "body": args.body,
    }
    if args.data is not None:
        fields["data"] = json.loads(args.data)
    if args.at is not None:
        fields["deliver_at"] = args.at
    # JSON mode: the time string is parsed as the HTTP API would parse it.
    return NotifyIn.model_validate_json(json.dumps(fields))


async def _store(settings: Settings, request: NotifyIn) -> list[NotifyResult]:
    db = Database(settings)
    try:
        await upgrade_database(db)
        return await NotificationService(db, Realtime()).notify(request)
    finally:
        await db.dispose()


def _notify(args: argparse.Namespace) -> int:
    try:
        request = _request(args)
    except json.JSONDecodeError as exc:
        print(f"switchboard notify: --data is not JSON: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "input"
            print(f"switchboard notify: {where}: {err['msg']}", file=sys.stderr)
        return 2
    # The same settings as `serve` (environment, then ./.env); refused before
    # anything is opened when they name a SQLite file that is not there.
    settings = load_settings()
    require_existing_database(settings)
    results = asyncio.run(_store(settings, request))
    out = NotifyOut(ids=[r.id for r in results if r.id], results=results)
    print(out.model_dump_json())
    missing = [r.user_id for r in results if r.id is None]
    if missing:
        print(f"switchboard notify: unknown user(s): {missing}", file=sys.stderr)
    return 0 if out.ids else 1
