"""`Notifier`: stored notifications from another process, through a server's internal API.

It also maps host user ids to Switchboard's (`POST /api/internal/users`, host
mode), since notifications, `Publisher` and rooms name users by the latter.

A notification is a database row first (listed, counted, delivered to a user
who is offline now, scheduled), so a worker does not write it to Redis like
`switchboard.publisher` does: it asks a server, `POST
/api/internal/notifications` with the `SWITCHBOARD_API_KEY` bearer key, and
the server stores it and pushes it to every node at once (or at
`deliver_at`). The request is validated here, with the server's own model,
before it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx

from switchboard.auth.internal import ResolveIn
from switchboard.auth.schemas import UsersOut
from switchboard.closing import AsyncClosing
from switchboard.notifications.schemas import NotifyIn, NotifyOut
from switchboard.types import UserId

INTERNAL_NOTIFY_PATH = "api/internal/notifications"
INTERNAL_USERS_PATH = "api/internal/users"


class Notifier(AsyncClosing):
    """Calls one server's internal notification API (asyncio).

        async with Notifier("http://app:8000/switchboard", api_key) as notifier:
            out = await notifier.notify([42], "Report ready", data={"url": "/r/7"})

    `base_url` is where Switchboard's API lives: the server's address, plus
    the mount prefix when Switchboard is mounted on a host app. A refusal
    raises `httpx.HTTPStatusError`: 401 wrong key, 404 internal API disabled
    (no key configured) or none of the users known, 422 a bad request.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url,
            headers={"authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    async def notify(
        self,
        user_ids: Sequence[UserId],
        title: str,
        *,
        body: str = "",
        type: str = "general",
        data: dict[str, Any] | None = None,
        deliver_at: datetime | None = None,
    ) -> NotifyOut:
        """One notification per user, stored, then pushed now or at `deliver_at` (tz-aware)."""
        request = NotifyIn(
            user_ids=list(user_ids),
            title=title,
            body=body,
            type=type,
            data=data or {},
            deliver_at=deliver_at,
        )
        response = await self._http.post(
            INTERNAL_NOTIFY_PATH,
            content=request.model_dump_json(),
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        return NotifyOut.model_validate(response.json())

    async def resolve_users(self, external_ids: Sequence[str]) -> dict[str, int]:
        """Switchboard's id for each host user id (host mode), creating users not seen yet.

        Ids the host's `UserDirectory` does not know are left out.
        """
        request = ResolveIn(external_ids=list(external_ids))
        response = await self._http.post(
            INTERNAL_USERS_PATH,
            content=request.model_dump_json(),
            headers={"content-type": "application/json"},
        )
        response.raise_for_status()
        users = UsersOut.model_validate(response.json()).users
        return {u.external_id: u.id for u in users if u.external_id is not None}

    async def aclose(self) -> None:
        await self._http.aclose()
