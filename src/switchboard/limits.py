"""Abuse limits shared by every node: login/register attempts and each user's message budget.

One algorithm for all of them, GCRA (a token bucket kept as one timestamp
per key): a key may spend `limit` hits at once, then earns one back every
`window / limit` seconds. When the backend shares buckets between nodes
(Redis: one key per bucket, expiring by itself) a limit holds across nodes;
otherwise, or while the backend is unreachable, in this process's memory.

- failed logins per account (e-mail): 10 per 300 s
  (`SWITCHBOARD_LOGIN_ACCOUNT_LIMIT`, `SWITCHBOARD_LOGIN_ACCOUNT_WINDOW_SECONDS`);
  registrations per e-mail address have a budget of the same size;
- login and register attempts per client address: 30 per 60 s, each route
  (`SWITCHBOARD_AUTH_ADDRESS_LIMIT`, `SWITCHBOARD_AUTH_ADDRESS_WINDOW_SECONDS`);
- chat messages per user, socket and HTTP together: 10 per second, bursts of 20
  (`SWITCHBOARD_USER_MESSAGE_RATE`).

A limit of 0 turns that limit off.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from switchboard.config import Settings
from switchboard.errors import RateLimitedError
from switchboard.metrics import Metrics
from switchboard.realtime.backends import BackendUnavailable, SharedBuckets
from switchboard.types import UserId

log = logging.getLogger("switchboard.limits")

# Memory backend: sweep spent buckets once the table is this big; an address
# spray cannot grow it without bound.
_MAX_MEMORY_KEYS = 100_000
# While the shared store is down, say so once per this many seconds (not once per request).
_OUTAGE_LOG_SECONDS = 60.0
# After a shared-store error, count in memory for this long before trying it again.
_SHARED_PAUSE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Rule:
    """`limit` hits at once, refilled evenly over `window` seconds."""

    name: str
    limit: float
    window: float

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.window > 0

    @property
    def interval(self) -> float:
        return self.window / self.limit


class MemoryBuckets:
    """GCRA in this process: key -> theoretical arrival time of the next hit."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}

    def hit(self, key: str, rule: Rule, consume: bool) -> float | None:
        now = time.monotonic()
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + rule.interval
        capacity = rule.limit * rule.interval
        if new_tat - now > capacity + 1e-9:
            return new_tat - now - capacity
        if consume:
            if len(self._tat) >= _MAX_MEMORY_KEYS:
                self._sweep(now)
            self._tat[key] = new_tat
        return None

    def reset(self, key: str) -> None:
        self._tat.pop(key, None)

    def _sweep(self, now: float) -> None:
        self._tat = {k: v for k, v in self._tat.items() if v > now}
        if len(self._tat) >= _MAX_MEMORY_KEYS:
            # Still full of live buckets: forget the older half (insertion order).
            keep = list(self._tat.items())[len(self._tat) // 2 :]
            self._tat = dict(keep)


class Limits:
    """The abuse limits of one app; `check`/`hit` raise RateLimitedError with `retry_after`."""

    def __init__(
        self,
        settings: Settings,
        shared: SharedBuckets | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.login_account = Rule(
            "login-account", settings.login_account_limit, settings.login_account_window_seconds
        )
        self.auth_address = Rule(
            "auth-address", settings.auth_address_limit, settings.auth_address_window_seconds
        )
        # Events per second with a burst of twice that, like SWITCHBOARD_RATE_LIMIT per socket.
        rate = settings.user_message_rate
        burst = max(1.0, rate * 2)
        self.user_messages = Rule(
            "user-messages", burst if rate > 0 else 0, burst / rate if rate > 0 else 1.0
        )
        self._memory = MemoryBuckets()
        self._shared = shared
        self._outage_logged = -_OUTAGE_LOG_SECONDS
        self._shared_down_until = 0.0

    async def _retry_after(self, rule: Rule, key: str, consume: bool) -> float | None:
        """Seconds to wait when `key` is over `rule`, else None (and the hit is counted)."""
        full_key = f"{rule.name}:{key}"
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                return await self._shared.hit(
                    full_key, rule.interval, rule.limit * rule.interval, consume
                )
            except BackendUnavailable as exc:
                now = time.monotonic()
                # A dead store costs the client's connect timeout and retries:
                # pay that once per pause, not on every login and message.
                self._shared_down_until = now + _SHARED_PAUSE_SECONDS
                if now - self._outage_logged > _OUTAGE_LOG_SECONDS:
                    self._outage_logged = now
                    log.warning("rate limits fall back to this node's memory: %s", exc)
        return self._memory.hit(full_key, rule, consume)

    async def _enforce(self, rule: Rule, key: str, consume: bool, message: str) -> None:
        if not rule.enabled:
            return
        wait = await self._retry_after(rule, key, consume)
        if wait is not None:
            if self.metrics is not None:
                self.metrics.limit_refused(rule.name)
            log.info(
                "rate limited",
                extra={"limit": rule.name, "key": _redact(key), "retry_after": round(wait, 1)},
            )
            raise RateLimitedError(message, retry_after=wait)

    async def _reset(self, rule: Rule, key: str) -> None:
        full_key = f"{rule.name}:{key}"
        self._memory.reset(full_key)
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            try:
                await self._shared.reset(full_key)
            except BackendUnavailable as exc:
                log.warning("could not reset a shared rate limit: %s", exc)

    # -- the limits ------------------------------------------------------------------

    async def auth_attempt(self, route: str, address: str) -> None:
        """Every login or register attempt from one client address counts."""
        await self._enforce(
            self.auth_address, f"{route}:{address}", True, "too many attempts from this address"
        )

    async def login_attempt(self, email: str) -> None:
        """Count a login attempt on the account; refuse while it is over its budget.

        Counted before the password is checked, so that concurrent guesses
        cannot all slip past one check, and so that once locked even the right
        password waits. A successful login clears the count (`account_success`):
        only failures accumulate.
        """
        await self._enforce(
            self.login_account, _account(email), True, "too many failed attempts for this account"
        )

    async def account_success(self, email: str) -> None:
        if self.login_account.enabled:
            await self._reset(self.login_account, _account(email))

    async def registration(self, email: str) -> None:
        await self._enforce(
            self.login_account,
            "register:" + _account(email),
            True,
            "too many attempts for this e-mail address",
        )

    async def message(self, user_id: UserId) -> None:
        """One chat message of `user_id`, from a socket or HTTP, on any node."""
        await self._enforce(self.user_messages, str(user_id), True, "rate limited: slow down")


def _account(email: str) -> str:
    # Hashed: Redis keys and logs then hold no e-mail addresses.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _redact(key: str) -> str:
    return key if len(key) <= 48 else key[:48] + "…"
