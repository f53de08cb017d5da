"""Where state shared between nodes lives: chosen once, from `SWITCHBOARD_REDIS_URL`.

`open_backend(settings)` is the only place that decides. No URL: the
embedded `MemoryBackend` (one process; nothing imports redis). A `redis://`,
`rediss://` or `unix://` URL: `RedisBackend`, imported only then. Everything
that differs between one node and a cluster asks the backend for its part:

    event log      every broadcast, cross-node delivery, recovery replay
    presence       who is online on any node
    shared_buckets rate-limit buckets every node counts against (or None)
    revocations    a channel that tells every node of a logout at once (or None)
    health_checks  what `/healthz` and the gauges ping

A backend that is down raises `BackendUnavailable` from its shared parts; the
callers fall back (limits count in memory, revocations wait for the database
resync) and HTTP answers 503 for the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from switchboard.config import Settings
    from switchboard.metrics import Metrics
    from switchboard.realtime.event_log import EventLog
    from switchboard.realtime.presence import PresenceStore
    from switchboard.types import UserId

REDIS_SCHEMES = frozenset({"redis", "rediss", "unix"})

PresenceListener = Callable[["UserId", bool], Awaitable[None]]
HealthCheck = Callable[[], Awaitable[bool]]


class BackendUnavailable(Exception):
    """The shared store did not answer (an outage); the caller decides how to degrade."""


class SharedBuckets(Protocol):
    """GCRA rate-limit buckets that every node counts against."""

    async def hit(self, key: str, interval: float, capacity: float, consume: bool) -> float | None:
        """Seconds to wait when `key` is over its budget, else None (and the hit counts)."""
        ...

    async def reset(self, key: str) -> None: ...


class Channel(Protocol):
    """Fire-and-forget messages to every node (no history: a missed one is resynced)."""

    async def publish(self, message: str) -> None: ...

    async def listen(
        self,
        on_message: Callable[[str], Awaitable[None]],
        on_subscribed: Callable[[], Awaitable[None]],
    ) -> None:
        """Deliver messages until cancelled, resubscribing after an outage.

        `on_subscribed` runs after every (re)subscription, so the caller can
        catch up with whatever was published while nobody listened.
        """
        ...


class Backend(Protocol):
    name: str
    shared_buckets: SharedBuckets | None
    revocations: Channel | None
    health_checks: Mapping[str, HealthCheck]

    def event_log(self, window: float) -> EventLog:
        """The log every broadcast goes through; `window` seconds kept for recovery (0: none)."""
        ...

    def presence(self, on_remote_change: PresenceListener) -> PresenceStore:
        """The presence store; `on_remote_change` hears of users a dead node took offline."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def check_url(url: str) -> str:
    """`url` if a backend serves it; else ValueError (Settings refuses it at start)."""
    scheme, sep, _rest = url.partition("://")
    if not sep or scheme.lower() not in REDIS_SCHEMES:
        schemes = ", ".join(sorted(s + "://" for s in REDIS_SCHEMES))
        raise ValueError(f"must start with one of {schemes}")
    return url


def open_backend(settings: Settings, *, node_id: str, metrics: Metrics) -> Backend:
    """The backend `settings` ask for: memory without a Redis URL, else Redis."""
    if not settings.redis_url:
        from switchboard.realtime.backends.memory import MemoryBackend

        return MemoryBackend()
    from switchboard.realtime.backends.redis import RedisBackend

    return RedisBackend(
        settings.redis_url, node_id=node_id, node_ttl=settings.node_ttl_seconds, metrics=metrics
    )
