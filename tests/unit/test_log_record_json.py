"""A log record survives the trip through JSON that the Redis stream (and the
memory log's recovery window) makes: read back, a broadcast is delivered as the
same text. orjson would not do for reading: it takes an integer past 64 bits as
a float, so an exact value in a notification's `data` would change on the way.
"""

from __future__ import annotations

from typing import Any

import pytest

from switchboard.realtime.event_log import LogRecord
from switchboard.transport.socketio import dumps


@pytest.mark.parametrize(
    "data",
    [
        {"id": "000000012345", "data": {"n": 1.5, "tags": ["a"], "ok": True, "none": None}},
        {"text": "caf\u00e9 \u2603 \U0001f600"},
        {"order": 2**70 + 1, "debt": -(2**64) - 1},  # past 64 bits: the encoder's fallback
        {"lone": "\ud800"},  # a lone surrogate: written escaped by the fallback
        ("two", "arguments"),
    ],
    ids=["object", "unicode", "big-int", "lone-surrogate", "arguments"],
)
def test_a_broadcast_reads_back_as_written(data: Any) -> None:
    record = LogRecord.broadcast("notification", data, ["user:7", "user:8"], skip="sid-1")
    for raw in (record.to_json(), record.to_json().encode()):  # Redis hands back bytes
        back = LogRecord.from_json(raw)
        assert back == record
        assert dumps(back.args) == dumps(record.args)


@pytest.mark.parametrize("kind", ["join", "leave"])
def test_room_changes_read_back(kind: str) -> None:
    record = LogRecord(kind, user_id=7, room="conversation:3")
    assert LogRecord.from_json(record.to_json()) == record
