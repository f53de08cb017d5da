"""`SwitchboardClient`: the asyncio Python client of a Switchboard server.

One object holds an HTTP session (httpx) for the API and one Socket.IO
connection (python-socketio, see `_recovery`) carrying both namespaces,
`/chat` and `/notifications`, over a single Engine.IO session.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar, overload
from urllib.parse import quote

import httpx
import socketio
from pydantic import BaseModel, TypeAdapter, ValidationError

from switchboard.client._recovery import RecoveringAsyncClient
from switchboard.client.errors import (
    AckTimeoutError,
    NotConnectedError,
    SwitchboardAckError,
    SwitchboardClientError,
    SwitchboardHTTPError,
)
from switchboard.client.events import CHAT, NAMESPACES, NOTIFICATIONS, SERVER_EVENTS
from switchboard.client.models import (
    Conversation,
    Message,
    Notification,
    NotificationPage,
    User,
)

log = logging.getLogger("switchboard.client")

COOKIE_NAME = "auth_token"

EventHandler = Callable[[Any], Awaitable[None] | None]
StateHandler = Callable[[str], Awaitable[None] | None]
H = TypeVar("H", bound=EventHandler)
M = TypeVar("M", bound=BaseModel)

_CONVERSATIONS = TypeAdapter(list[Conversation])
_MESSAGES = TypeAdapter(list[Message])
_USERS = TypeAdapter(list[User])


class SwitchboardClient:
    """Log in, connect `/chat` and `/notifications`, and talk to a Switchboard server.

        async with SwitchboardClient(url, email="ada@example.com", password="…") as sb:
            @sb.on("message:new")
            async def show(message: Message) -> None:
                print(message.body)

            await sb.send_message(conversation_id, "hello")

    Give either `email` and `password` (the client logs in on `connect()`) or a
    `token` (a JWT from the app). `on_connection_state(state)` is called with
    "connected", "reconnecting", "recovered" or "disconnected". After a
    transport drop the client reconnects by itself and, when the server
    recovers the session, `recovered` is True and every missed event is
    delivered to the handlers, in order, exactly once.
    """

    def __init__(
        self,
        base_url: str,
        *,
        email: str | None = None,
        password: str | None = None,
        token: str | None = None,
        on_connection_state: StateHandler | None = None,
        transports: Iterable[str] = ("websocket",),
        reconnection: bool = True,
        reconnection_delay: float = 0.5,
        reconnection_delay_max: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        if token is None and (email is None or password is None):
            raise ValueError("give email and password, or a token")
        self.base_url = base_url.rstrip("/")
        self._email = email
        self._password = password
        self._token = token
        self._timeout = timeout
        self._transports = list(transports)
        self._state_handlers: list[StateHandler] = []
        if on_connection_state is not None:
            self._state_handlers.append(on_connection_state)
        self.state = "disconnected"
        self.user: User | None = None
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self.sio = RecoveringAsyncClient(
            on_state=self._state_changed,
            wait_timeout=timeout,
            reconnection=reconnection,
            reconnection_delay=reconnection_delay,
            reconnection_delay_max=reconnection_delay_max,
            randomization_factor=0.2,
            handle_sigint=False,
            request_timeout=timeout,
        )
        self._handlers: dict[tuple[str, str], list[EventHandler]] = defaultdict(list)
        self._expired = asyncio.Event()
        for ns in NAMESPACES:
            self.sio.on("auth:expired", self._dispatcher(ns, "auth:expired"), namespace=ns)

    # -- state ------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The current JWT (after login, or the one given)."""
        return self._token

    @property
    def token_expires_at(self) -> datetime | None:
        """When the current token expires (its `exp`): call `refresh_token()` before then."""
        return _token_expiry(self._token) if self._token else None

    @property
    def is_connected(self) -> bool:
        """True while both `/chat` and `/notifications` are connected."""
        return bool(self.sio.connected) and all(ns in self.sio.namespaces for ns in NAMESPACES)

    @property
    def recovered(self) -> bool:
        """True after a reconnect that the server recovered (same session, nothing missed)."""
        return bool(self.sio.recovered)

    def sid(self, namespace: str) -> str | None:
        """The socket id of `namespace`, while connected."""
        sid = self.sio.namespaces.get(namespace)
        return str(sid) if sid is not None else None

    def on_connection_state(self, handler: StateHandler) -> StateHandler:
        """Decorator: call `handler(state)` on each connection state change."""
        self._state_handlers.append(handler)
        return handler

    async def _state_changed(self, state: str) -> None:
        self.state = state
        for handler in list(self._state_handlers):
            try:
                result = handler(state)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("connection state handler failed")

    # -- incoming events ----------------------------------------------------------------

    @overload
    def on(
        self, event: str, handler: None = None, *, namespace: str | None = None
    ) -> Callable[[H], H]: ...

    @overload
    def on(self, event: str, handler: H, *, namespace: str | None = None) -> H: ...

    def on(
        self, event: str, handler: H | None = None, *, namespace: str | None = None
    ) -> Callable[[H], H] | H:
        """Register a handler for a server event; usable as a decorator.

        The namespace comes from the contract in docs/contract.md (`message:new`
        → /chat, `notification` → /notifications, `auth:expired` → both); the
        handler gets the payload parsed into its model (`Message`,
        `Notification`, `TypingEvent`, …).
        An event outside the contract needs `namespace=` and gets the raw payload.
        Several handlers may listen to one event.
        """

        def register(fn: H) -> H:
            if namespace is not None:
                namespaces: tuple[str, ...] = (namespace,)
            elif event in SERVER_EVENTS:
                namespaces = SERVER_EVENTS[event][0]
            else:
                raise ValueError(f"{event!r} is not a contract server event: pass namespace=")
            for ns in namespaces:
                if not self._handlers[(ns, event)]:
                    self.sio.on(event, self._dispatcher(ns, event), namespace=ns)
                self._handlers[(ns, event)].append(fn)
            return fn

        return register(handler) if handler is not None else register

    def _dispatcher(self, namespace: str, event: str) -> Callable[..., Awaitable[None]]:
        spec = SERVER_EVENTS.get(event)
        model = spec[1] if spec and namespace in spec[0] else None

        async def dispatch(*args: Any) -> None:
            payload: Any = args[0] if args else None
            if event == "auth:expired":
                self._expired.set()
            if model is not None:
                try:
                    payload = model.model_validate(payload)
                except ValidationError:
                    log.warning("dropped a malformed %r event from %s", event, namespace)
                    return
            for handler in list(self._handlers.get((namespace, event), ())):
                try:
                    result = handler(payload)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("handler of %r failed", event)

        return dispatch

    # -- lifecycle ----------------------------------------------------------------------

    async def login(self) -> User:
        """POST /api/auth/login with the email and password given to the constructor."""
        if self._email is None or self._password is None:
            raise SwitchboardClientError("this client was given a token, not a password")
        body = await self._request(
            "POST", "/api/auth/login", body={"email": self._email, "password": self._password}
        )
        self._token = str(body["token"])
        self.user = User.model_validate(body["user"])
        return self.user

    async def register(self, name: str) -> User:
        """POST /api/auth/register with the constructor's email and password, then log in."""
        if self._email is None or self._password is None:
            raise SwitchboardClientError("register needs the email and password")
        body = await self._request(
            "POST",
            "/api/auth/register",
            body={"email": self._email, "password": self._password, "name": name},
        )
        self._token = str(body["token"])
        self.user = User.model_validate(body["user"])
        return self.user

    async def me(self) -> User:
        """GET /api/auth/me: the user the token belongs to."""
        body = await self._request("GET", "/api/auth/me")
        self.user = User.model_validate(body["user"])
        return self.user

    async def connect(self) -> None:
        """Log in if needed, then connect `/chat` and `/notifications` together."""
        if self._token is None:
            await self.login()
        elif self.user is None:
            await self.me()
        self._expired.clear()
        try:
            await self.sio.connect(
                self.base_url,
                namespaces=list(NAMESPACES),
                auth=self._auth,
                headers=self._headers,
                transports=self._transports,
            )
        except socketio.exceptions.ConnectionError as exc:
            raise SwitchboardClientError(f"could not connect: {exc}") from exc

    def _auth(self) -> dict[str, Any]:
        # A callable: python-socketio calls it again on every reconnect, so a
        # refreshed token is the one that reconnects.
        return {"token": self._token}

    def _headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE_NAME}={self._token}"} if self._token else {}

    async def disconnect(self) -> None:
        """Close both sockets (and stop reconnecting); the login stays valid."""
        await self.sio.shutdown()
        if self.sio.eio.state != "disconnected":
            await self.sio.eio.disconnect()

    async def logout(self) -> None:
        """Disconnect both sockets, POST /api/auth/logout, and forget the token and cookie."""
        await self.disconnect()
        self.sio.forget_session()
        try:
            if self._token is not None:
                await self._request("POST", "/api/auth/logout", expect_json=False)
        finally:
            self.http.cookies.clear()
            self._token = None
            self.user = None

    async def close(self) -> None:
        """Disconnect and release the HTTP session."""
        try:
            await self.disconnect()
        finally:
            await self.http.aclose()

    async def __aenter__(self) -> Self:
        try:
            await self.connect()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def wait_expired(self) -> None:
        """Wait until the server says this client's token expired (`auth:expired`)."""
        await self._expired.wait()

    # -- token refresh ------------------------------------------------------------------

    async def refresh_token(self) -> datetime:
        """Get a fresh token (POST /api/auth/refresh) and hand it to both live sockets.

        Returns the new expiry as the sockets acknowledged it. Without live
        sockets only the token is refreshed (and its `exp` returned).
        """
        body = await self._request("POST", "/api/auth/refresh")
        self._token = str(body["token"])
        self.user = User.model_validate(body["user"])
        if not self.is_connected:
            return _token_expiry(self._token)
        acks = await asyncio.gather(
            *(self.call(ns, "auth:refresh", {"token": self._token}) for ns in NAMESPACES)
        )
        return min(datetime.fromisoformat(str(a["expires_at"])) for a in acks)

    # -- socket helpers -----------------------------------------------------------------

    async def call(self, namespace: str, event: str, payload: Any) -> dict[str, Any]:
        """Emit `event` on `namespace` and return its `{ok: true, ...}` ack.

        Raises `SwitchboardAckError` on `{ok: false}`; the typed helpers below
        are built on it, and it reaches events they do not cover.
        """
        if namespace not in self.sio.namespaces:
            raise NotConnectedError(f"{namespace} is not connected")
        try:
            ack = await self.sio.call(event, payload, namespace=namespace, timeout=self._timeout)
        except socketio.exceptions.TimeoutError:
            raise AckTimeoutError(f"no ack for {event!r} in {self._timeout}s") from None
        except socketio.exceptions.BadNamespaceError:
            raise NotConnectedError(f"{namespace} is not connected") from None
        if not isinstance(ack, dict):
            raise SwitchboardAckError("internal", f"unexpected ack for {event!r}: {ack!r}")
        if ack.get("ok") is not True:
            error = ack.get("error")
            if not isinstance(error, dict):
                error = {}
            raise SwitchboardAckError(
                str(error.get("code", "internal")), str(error.get("message", ""))
            )
        return ack

    async def send_message(
        self, conversation_id: int, body: str, *, client_msg_id: str | None = None
    ) -> Message:
        """`message:send`: store a message and return it as the server acked it.

        A `client_msg_id` is generated when none is given; sending again with
        the same one never stores a second message (safe retries).
        """
        ack = await self.call(
            CHAT,
            "message:send",
            {
                "conversation_id": conversation_id,
                "body": body,
                "client_msg_id": client_msg_id or uuid.uuid4().hex,
            },
        )
        return Message.model_validate(ack["message"])

    async def mark_read(self, conversation_id: int, message_id: str) -> None:
        """`message:read`: tell the conversation you have read up to `message_id`."""
        await self.call(
            CHAT, "message:read", {"conversation_id": conversation_id, "message_id": message_id}
        )

    async def typing(self, conversation_id: int, typing: bool = True) -> None:
        """`typing`: the conversation's other sockets see that you are (not) typing."""
        await self.call(CHAT, "typing", {"conversation_id": conversation_id, "typing": typing})

    async def join_conversation(self, conversation_id: int) -> None:
        """`conversation:join`: join a conversation's room (members only)."""
        await self.call(CHAT, "conversation:join", {"conversation_id": conversation_id})

    async def query_presence(self, user_ids: Iterable[int]) -> dict[int, bool]:
        """`presence:query`: which of these users are online."""
        ack = await self.call(CHAT, "presence:query", {"user_ids": list(user_ids)})
        online = ack.get("online") or {}
        return {int(uid): bool(flag) for uid, flag in online.items()}

    async def mark_notification_read(self, notification_id: str) -> int:
        """`notification:read`: mark one notification read; returns the new unread count."""
        ack = await self.call(NOTIFICATIONS, "notification:read", {"id": notification_id})
        return int(ack["unread_count"])

    # -- HTTP helpers -------------------------------------------------------------------

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

    async def online(self, user_ids: Iterable[int]) -> dict[int, bool]:
        """GET /api/presence: like `query_presence`, over HTTP."""
        ids = ",".join(str(int(u)) for u in user_ids)
        body = await self._request("GET", "/api/presence", params={"user_ids": ids})
        return {int(uid): bool(flag) for uid, flag in body["online"].items()}

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


def _token_expiry(token: str) -> datetime:
    """The `exp` of a JWT, read without verifying it (the server verifies)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise SwitchboardClientError("the server returned a malformed token") from exc
