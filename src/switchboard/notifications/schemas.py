"""Wire shapes of notifications: the SPEC object, HTTP answers, validated inputs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Protocol

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
)

from switchboard.storage.models import format_id

MAX_BATCH_USERS = 1000
MAX_TYPE_CHARS = 100  # the column widths of storage.models.Notification
MAX_TITLE_CHARS = 300
MAX_BODY_CHARS = 10_000
MAX_DATA_BYTES = 16_384
MAX_LIST_LIMIT = 100
DEFAULT_LIST_LIMIT = 50

NotificationType = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TYPE_CHARS)
]
Title = Annotated[
    StrictStr, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TITLE_CHARS)
]
Body = Annotated[StrictStr, StringConstraints(max_length=MAX_BODY_CHARS)]
PositiveUserId = Annotated[StrictInt, Field(ge=1)]


def iso(value: datetime | None) -> str | None:
    """Times on the wire: ISO 8601, UTC (the column type guarantees tz-aware UTC)."""
    return value.isoformat() if value is not None else None


class StoredNotification(Protocol):
    """A stored notification's columns: an ORM `Notification` or a Core row of them."""

    id: int
    type: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationOut(BaseModel):
    """The SPEC's notification object."""

    id: str
    type: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: str
    read_at: str | None

    @classmethod
    def of(cls, row: StoredNotification) -> NotificationOut:
        return cls(
            id=format_id(row.id),
            type=row.type,
            title=row.title,
            body=row.body,
            data=row.data,
            created_at=iso(row.created_at) or "",
            read_at=iso(row.read_at),
        )


class NotificationListOut(BaseModel):
    notifications: list[NotificationOut]
    unread_count: int


class NotificationReadOut(BaseModel):
    notification: NotificationOut
    unread_count: int


class UnreadCountOut(BaseModel):
    unread_count: int


class NotifyIn(BaseModel):
    """One notification for many users: the internal API's body and the CLI's arguments."""

    model_config = ConfigDict(extra="forbid")

    user_ids: list[PositiveUserId] = Field(min_length=1, max_length=MAX_BATCH_USERS)
    type: NotificationType = "general"
    title: Title
    body: Body = ""
    data: dict[str, Any] = Field(default_factory=dict)
    # Naive times are refused: "09:00" in which zone is a question a scheduler must not guess.
    deliver_at: AwareDatetime | None = None

    @field_validator("data")
    @classmethod
    def _bounded_data(cls, value: dict[str, Any]) -> dict[str, Any]:
        size = len(json.dumps(value, separators=(",", ":"), allow_nan=False).encode())
        if size > MAX_DATA_BYTES:
            raise ValueError(f"data is {size} bytes as JSON; at most {MAX_DATA_BYTES} are allowed")
        return value


class NotifyResult(BaseModel):
    """What happened for one user of a batch: a notification id, or why not."""

    user_id: int
    id: str | None
    error: str | None


class NotifyOut(BaseModel):
    ids: list[str]
    results: list[NotifyResult]


class ReadPayload(BaseModel):
    """`notification:read {id}` from a socket."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=40)]
