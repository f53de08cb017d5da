"""The hooks a host app plugs in: its user directory and its own authentication.

Both are passed to `create_app(settings, users=..., authenticate=...)`;
docs/host-auth.md shows them with Django. Ids here are the *host's* user ids
(strings); Switchboard keeps its own integer id for each (`users.external_id`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class DirectoryUser:
    """A host user: its id in the host app and the name Switchboard shows."""

    external_id: str
    name: str


class UserDirectory(Protocol):
    """The host's users, asked instead of Switchboard's own table.

    - `lookup`: the user a token or the `authenticate` hook names, the first time
      Switchboard sees it (None refuses the caller);
    - `search`: what `GET /api/users?q=` returns (at most `limit` users);
    - `may_message`: whether `sender` may start a conversation with `recipient`.
    """

    async def lookup(self, external_id: str) -> DirectoryUser | None: ...

    async def search(self, query: str, limit: int) -> list[DirectoryUser]: ...

    async def may_message(self, sender: str, recipient: str) -> bool: ...


# `authenticate(headers, cookies)`: the caller's host user id (or a DirectoryUser,
# to name it), or None to refuse. Header names are lower case.
AuthenticateHook = Callable[
    [Mapping[str, str], Mapping[str, str]], Awaitable[str | DirectoryUser | None]
]
