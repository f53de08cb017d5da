"""Reading a JWT's expiry on the client, without verifying it (the server verifies)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

from switchboard.client.errors import SwitchboardClientError


def token_expiry(token: str) -> datetime:
    """The `exp` of a JWT."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise SwitchboardClientError("the server returned a malformed token") from exc
