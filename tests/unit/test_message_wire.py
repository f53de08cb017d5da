"""`MessageOut.wire` is `model_dump(mode="json")`, built by hand for speed (chat/schemas.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from switchboard.chat.schemas import MessageOut

_RNG = random.Random(7)
_TIMES = [
    datetime(2026, 12, 2, 2, 21, 9, 236819, tzinfo=UTC),
    datetime(2026, 12, 2, 2, 21, 9, tzinfo=UTC),  # no fraction: none written
    datetime(2026, 1, 1, 0, 0, 0, 5000, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
    *(
        datetime(2020, 1, 1, tzinfo=UTC) + timedelta(microseconds=_RNG.randrange(10**15))
        for _ in range(50)
    ),
]


@pytest.mark.parametrize("created_at", _TIMES)
@pytest.mark.parametrize("client_msg_id", [None, "c-1"])
def test_wire_is_the_json_dump(created_at: datetime, client_msg_id: str | None) -> None:
    message = MessageOut(
        id="0000000000000042",
        conversation_id=7,
        sender_id=3,
        body='hé "quoted" \\ \n',
        created_at=created_at,
        client_msg_id=client_msg_id,
    )
    assert message.wire == message.model_dump(mode="json")
