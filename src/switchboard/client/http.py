"""The HTTP API half of `SwitchboardClient`: login, users, conversations, notifications.

Every call sends `Authorization: Bearer <token>` when there is a token and
turns a 4xx/5xx answer into `SwitchboardHTTPError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from switchboard.client.errors import SwitchboardClientError, SwitchboardHTTPError
from switchboard.client.models import Conversation, Message, Notification, NotificationPage, User

_CONVERSATIONS = TypeAdapter(list[Conversation])
_MESSAGES = TypeAdapter(list[Message])
_USERS = TypeAdapter(list[User])


class HttpApi:
    """Route helpers; `SwitchboardClient` provides the session, the token and the user."""

    http: httpx.AsyncClient
    user: User | None
    _token: str | None
    _email: str | None
    _password: str | None

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        expect_json: bool = True,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        response = await self.http.request(method, path, json=body, params=params, headers=headers)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise SwitchboardHTTPError(response.status_code, detail)
        if not expect_json or not response.content:
            return {}
        data = response.json()
        if not isinstance(data, dict):
            raise SwitchboardHTTPError(response.status_code, "unexpected response body")
        return data

    # -- accounts --------------------------------------------------------------------------

    async def login(self) -> User:
        """POST /api/auth/login with the email and password given to the constructor."""
        if self._email is None or self._password is None:
            raise SwitchboardClientError("this client was given a token, not a password")
        body = await self._request(
            "POST", "/api/auth/login", body={"email": self._email, "password": self._password}
        )
        return self._signed_in(body)

    async def register(self, name: str) -> User:
        """POST /api/auth/register with the constructor's email and password, then log in."""
        if self._email is None or self._password is None:
            raise SwitchboardClientError("register needs the email and password")
        body = await self._request(
            "POST",
            "/api/auth/register",
            body={"email": self._email, "password": self._password, "name": name},
        )
        return self._signed_in(body)

    async def me(self) -> User:
        """GET /api/auth/me: the user the token belongs to."""
        body = await self._request("GET", "/api/auth/me")
        self.user = User.model_validate(body["user"])
        return self.user

    async def _refresh(self) -> None:
        """POST /api/auth/refresh: the token is replaced (the old one is revoked)."""
        self._signed_in(await self._request("POST", "/api/auth/refresh"))

    def _signed_in(self, body: dict[str, Any]) -> User:
        self._token = str(body["token"])
        self.user = User.model_validate(body["user"])
        return self.user

    # -- users and presence ----------------------------------------------------------------

    async def search_users(self, q: str = "") -> list[User]:
        """GET /api/users?q=: users whose name or email matches."""
        body = await self._request("GET", "/api/users", params={"q": q})
        return _USERS.validate_python(body["users"])

    async def get_users(self, user_ids: Iterable[int]) -> list[User]:
        """GET /api/users?ids=: the users with these ids (unknown ids are left out)."""
        ids = ",".join(str(int(i)) for i in user_ids)
        if not ids:
            return []
        body = await self._request("GET", "/api/users", params={"ids": ids})
        return _USERS.validate_python(body["users"])

    async def online(self, user_ids: Iterable[int]) -> dict[int, bool]:
        """GET /api/presence: like `query_presence`, over HTTP."""
        ids = ",".join(str(int(u)) for u in user_ids)
        body = await self._request("GET", "/api/presence", params={"user_ids": ids})
        return {int(uid): bool(flag) for uid, flag in body["online"].items()}

    # -- conversations ---------------------------------------------------------------------

    async def create_conversation(
        self, member_ids: Iterable[int], title: str | None = None
    ) -> Conversation:
        """POST /api/conversations (you are always a member); your sockets join it at once."""
        payload: dict[str, Any] = {"member_ids": list(member_ids)}
        if title is not None:
            payload["title"] = title
        body = await self._request("POST", "/api/conversations", body=payload)
        return Conversation.model_validate(body["conversation"])

    async def list_conversations(self) -> list[Conversation]:
        """GET /api/conversations: yours, newest activity first."""
        body = await self._request("GET", "/api/conversations")
        return _CONVERSATIONS.validate_python(body["conversations"])

    async def history(
        self, conversation_id: int, *, before: str | None = None, limit: int = 50
    ) -> list[Message]:
        """GET /api/conversations/{id}/messages: `limit` messages before `before`, oldest first."""
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        body = await self._request(
            "GET", f"/api/conversations/{int(conversation_id)}/messages", params=params
        )
        return _MESSAGES.validate_python(body["messages"])

    # -- notifications ---------------------------------------------------------------------

    async def list_notifications(
        self, *, unread_only: bool = False, limit: int = 50
    ) -> NotificationPage:
        """GET /api/notifications: newest first, with the unread count."""
        body = await self._request(
            "GET",
            "/api/notifications",
            params={"unread_only": "true" if unread_only else "false", "limit": limit},
        )
        return NotificationPage.model_validate(body)

    async def read_notification(self, notification_id: str) -> tuple[Notification, int]:
        """POST /api/notifications/{id}/read: the notification and the new unread count."""
        body = await self._request(
            "POST", f"/api/notifications/{quote(notification_id, safe='')}/read"
        )
        return Notification.model_validate(body["notification"]), int(body["unread_count"])

    async def read_all(self) -> int:
        """POST /api/notifications/read-all; returns the unread count (0)."""
        body = await self._request("POST", "/api/notifications/read-all")
        return int(body["unread_count"])
