"""Query parameters more than one route reads, parsed and bounded in one place."""

from __future__ import annotations

from switchboard.errors import InvalidPayloadError
from switchboard.types import MAX_PRESENCE_QUERY

# The longest decimal user id (a signed 64-bit integer).
_MAX_ID_DIGITS = 19


def user_id_list(raw: str) -> list[int]:
    """`"1,2,3"` (the `ids` / `user_ids` query value) as user ids, at most MAX_PRESENCE_QUERY."""
    ids: list[int] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isascii() or not part.isdigit() or len(part) > _MAX_ID_DIGITS:
            raise InvalidPayloadError(f"not a user id: {part[:20]!r}")
        ids.append(int(part))
    if len(ids) > MAX_PRESENCE_QUERY:
        raise InvalidPayloadError(f"at most {MAX_PRESENCE_QUERY} user ids")
    return ids
