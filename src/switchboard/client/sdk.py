"""`SwitchboardClient`: the asyncio Python client of a Switchboard server.

One object holds an HTTP session (httpx, `http.HttpApi`) for the API and one
Engine.IO session (`connection.SocketConnection`, on Switchboard's own
sans-I/O protocol code) carrying both namespaces, `/chat` and
`/notifications`; `helpers.SocketHelpers` has the typed event helpers and
`dispatch.EventDispatcher` runs the handlers of incoming events.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar, overload

import httpx

from switchboard.client.connection import ConnectError, SocketConnection
from switchboard.client.dispatch import EventDispatcher, EventHandler
from switchboard.client.errors import SwitchboardClientError
from switchboard.client.events import NAMESPACES
from switchboard.client.helpers import SocketHelpers
from switchboard.client.http import HttpApi
from switchboard.client.models import User
from switchboard.client.tokens import token_expiry

log = logging.getLogger("switchboard.client")

COOKIE_NAME = "auth_token"

StateHandler = Callable[[str], Awaitable[None] | None]
H = TypeVar("H", bound=EventHandler)


class SwitchboardClient(HttpApi, SocketHelpers):
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
        self._state_handlers: list[StateHandler] = []
        if on_connection_state is not None:
            self._state_handlers.append(on_connection_state)
        self.state = "disconnected"
        self.user: User | None = None
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)
        self._events = EventDispatcher()
        self.connection = SocketConnection(
            self.base_url,
            NAMESPACES,
            auth=self._auth,
            headers=self._headers,
            on_state=self._state_changed,
            on_event=self._events.push,
            transports=list(transports),
            reconnection=reconnection,
            reconnection_delay=reconnection_delay,
            reconnection_delay_max=reconnection_delay_max,
            timeout=timeout,
        )

    # -- state ------------------------------------------------------------------------

    @property
    def token(self) -> str | None:
        """The current JWT (after login, or the one given)."""
        return self._token

    @property
    def token_expires_at(self) -> datetime | None:
        """When the current token expires (its `exp`): call `refresh_token()` before then."""
        return token_expiry(self._token) if self._token else None

    @property
    def is_connected(self) -> bool:
        """True while both `/chat` and `/notifications` are connected."""
        return self.connection.connected

    @property
    def recovered(self) -> bool:
        """True after a reconnect that the server recovered (same session, nothing missed)."""
        return self.connection.recovered

    def sid(self, namespace: str) -> str | None:
        """The socket id of `namespace`, while connected."""
        return self.connection.sid(namespace)

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
            self._events.add(event, fn, namespace)
            return fn

        return register(handler) if handler is not None else register

    async def wait_expired(self) -> None:
        """Wait until the server says this client's token expired (`auth:expired`)."""
        await self._events.expired.wait()

    # -- lifecycle ----------------------------------------------------------------------

    async def connect(self) -> None:
        """Log in if needed, then connect `/chat` and `/notifications` together."""
        if self._token is None:
            await self.login()
        elif self.user is None:
            await self.me()
        self._events.expired.clear()
        try:
            await self.connection.connect()
        except ConnectError as exc:
            raise SwitchboardClientError(f"could not connect: {exc}") from exc

    def _auth(self) -> dict[str, Any]:
        # Called again on every reconnect, so a refreshed token is the one that reconnects.
        return {"token": self._token}

    def _headers(self) -> dict[str, str]:
        return {"Cookie": f"{COOKIE_NAME}={self._token}"} if self._token else {}

    async def disconnect(self) -> None:
        """Close both sockets (and stop reconnecting); the login stays valid."""
        await self.connection.disconnect()

    async def logout(self) -> None:
        """Disconnect both sockets, POST /api/auth/logout, and forget the token and cookie."""
        await self.disconnect()
        self.connection.forget_session()
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
            await self._events.close()
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

    # -- token refresh ------------------------------------------------------------------

    async def refresh_token(self) -> datetime:
        """Get a fresh token (POST /api/auth/refresh) and hand it to both live sockets.

        Returns the new expiry as the sockets acknowledged it. Without live
        sockets only the token is refreshed (and its `exp` returned).
        """
        await self._refresh()
        assert self._token is not None
        if not self.is_connected:
            return token_expiry(self._token)
        acks = await asyncio.gather(
            *(self.call(ns, "auth:refresh", {"token": self._token}) for ns in NAMESPACES)
        )
        return min(datetime.fromisoformat(str(a["expires_at"])) for a in acks)
