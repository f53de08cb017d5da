"""Where a caller's credentials come from: one extractor for HTTP requests and socket handshakes.

The order is the same everywhere: the *explicit* token first (the configured
header, `Authorization: Bearer …` by default; for sockets also the CONNECT
payload's `auth.token`), then the cookie. An explicit token is the one the
client chose to send; the cookie is ambient (a browser attaches it to every
request to the origin).

When both are present and the explicit token is refused, the cookie is tried
too (`Credentials.tokens` lists both). A browser's tabs share the cookie but
each keeps the token it last saw: once another tab refreshed (which revokes
the old token), this tab's token is dead while the cookie holds the session's
current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import cookie_parser


@dataclass(frozen=True, slots=True)
class Credentials:
    """What one request or handshake presented. `headers` keys are lower case."""

    explicit: str | None = None
    cookie: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)

    @property
    def tokens(self) -> list[str]:
        """The tokens to try, in order: explicit, then the cookie when it differs."""
        out = [t for t in (self.explicit, self.cookie) if t]
        return out[:1] if len(out) == 2 and out[0] == out[1] else out


def _bounded(value: str | None) -> str | None:
    # Sizes are bounded upstream (uvicorn's header limit, the Engine.IO payload
    # limit); an oversized or malformed token is refused as invalid by the verifier.
    value = (value or "").strip()
    return value or None


def header_token(value: str | None, header: str) -> str | None:
    """The token in the configured header: `Bearer <jwt>` for `authorization`, else the value."""
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() == "bearer":
        return _bounded(rest)
    if header == "authorization":
        return None  # Basic or another scheme: not ours
    return _bounded(value)


def extract(
    headers: Mapping[str, str],
    *,
    cookie_name: str,
    header_name: str,
    auth_payload: object = None,
) -> Credentials:
    """Credentials from lower-cased `headers` (and a socket's CONNECT `auth`).

    Cookies are parsed the way browsers write them (Starlette's `cookie_parser`):
    a malformed cookie of another app on the domain does not hide ours.
    """
    cookies = cookie_parser(headers.get("cookie", ""))
    explicit = header_token(headers.get(header_name), header_name)
    if explicit is None and isinstance(auth_payload, dict):
        candidate = auth_payload.get("token")
        if isinstance(candidate, str):
            explicit = _bounded(candidate)
    return Credentials(
        explicit=explicit,
        cookie=_bounded(cookies.get(cookie_name)),
        headers=headers,
        cookies=cookies,
    )
