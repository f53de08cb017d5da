"""A token bucket per socket: `rate` events per second, bursts up to 2× rate."""

from __future__ import annotations

import time


class TokenBucket:
    __slots__ = ("_burst", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._burst = rate * 2
        self._tokens = self._burst
        self._stamp = time.monotonic()

    def take(self) -> bool:
        """Spend one token; False when the socket is over its rate."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
