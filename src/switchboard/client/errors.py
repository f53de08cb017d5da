"""Errors the Python client raises."""

from __future__ import annotations

from typing import Any


class SwitchboardClientError(Exception):
    """Base of every error raised by `switchboard.client`."""


class SwitchboardAckError(SwitchboardClientError):
    """The server answered a socket event with `{ok: false, error: {code, message}}`.

    `code` is one of the contract's (docs/contract.md): invalid_payload, forbidden, not_found,
    too_large, rate_limited, internal.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SwitchboardHTTPError(SwitchboardClientError):
    """An HTTP route answered with a 4xx/5xx status; `detail` is the body's `detail`."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class NotConnectedError(SwitchboardClientError):
    """A socket helper was called while the sockets are not connected."""


class AckTimeoutError(SwitchboardClientError, TimeoutError):
    """The server did not acknowledge an event in time."""
