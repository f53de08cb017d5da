"""Wire shapes of chat: socket payloads, HTTP bodies and the objects both send back.

Client input is strict (`StrictInt` ids, `StrictStr` text): JSON `"7"` or
`true` is not a conversation id. Ids are bounded so that no client value can
overflow a 64-bit database column. The body's length limit is a setting
(`SWITCHBOARD_MAX_MESSAGE_CHARS`), so it is checked by the service, which
answers `too_large` rather than `invalid_payload`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

MAX_DB_ID = 2**63 - 1
# Large rooms are a supported case (fan-out to thousands); the cap only bounds one request.
MAX_MEMBERS = 10_000
MAX_TITLE_CHARS = 200
MAX_CLIENT_MSG_ID_CHARS = 100
# A public message id is at most ID_WIDTH + 4 digits (see storage.models.parse_id).
MAX_PUBLIC_ID_CHARS = 32
DEFAULT_PAGE = 50
MAX_PAGE = 100
MAX_SEARCH_CHARS = 200
DEFAULT_SEARCH_PAGE = 20


def _storable(value: str) -> str:
    # PostgreSQL refuses NUL in text and neither backend can encode a lone
    # surrogate (JSON allows "\ud800"): refuse both here, as bad input, rather
    # than fail later as a database error.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


DbId = Annotated[StrictInt, Field(ge=1, le=MAX_DB_ID)]
Text = Annotated[StrictStr, AfterValidator(_storable)]
ClientMsgId = Annotated[Text, Field(min_length=1, max_length=MAX_CLIENT_MSG_ID_CHARS)]


class _Payload(BaseModel):
    # Unknown keys are ignored so that newer clients keep working with this server.
    model_config = ConfigDict(extra="ignore")


# -- socket payloads ---------------------------------------------------------------


class SendMessagePayload(_Payload):
    conversation_id: DbId
    body: Text
    client_msg_id: ClientMsgId | None = None


class TypingPayload(_Payload):
    conversation_id: DbId
    typing: StrictBool


class ReadPayload(_Payload):
    conversation_id: DbId
    message_id: Annotated[StrictStr, Field(min_length=1, max_length=MAX_PUBLIC_ID_CHARS)]


class JoinPayload(_Payload):
    conversation_id: DbId


# -- HTTP bodies ---------------------------------------------------------------------


class CreateConversationIn(_Payload):
    member_ids: Annotated[list[DbId], Field(max_length=MAX_MEMBERS)]
    title: Annotated[Text, Field(max_length=MAX_TITLE_CHARS)] | None = None


class SendMessageIn(_Payload):
    body: Text
    client_msg_id: ClientMsgId | None = None


class RenameConversationIn(_Payload):
    # Required (null clears the title), so that `{}` is refused rather than taken as "clear".
    title: Annotated[Text, Field(max_length=MAX_TITLE_CHARS)] | None


# -- objects sent back ------------------------------------------------------------------


class MessageOut(BaseModel):
    id: str
    conversation_id: int
    sender_id: int
    body: str
    created_at: datetime
    client_msg_id: str | None

    @functools.cached_property
    def wire(self) -> dict[str, Any]:
        """The JSON form, built once: a send's broadcast and its ack share it.

        `model_dump(mode="json")`'s output, built directly: the dump cost
        about 3.5 µs a message on the send path, the dict a fifth of that.
        tests/unit/test_message_wire.py holds the two equal.
        """
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "sender_id": self.sender_id,
            "body": self.body,
            "created_at": _json_time(self.created_at),
            "client_msg_id": self.client_msg_id,
        }


# A committed batch's messages share one timestamp, and `isoformat` of an aware
# datetime costs about 3 µs: the batch formats it once.
@functools.lru_cache(maxsize=8)
def _json_time(value: datetime) -> str:
    """A datetime as pydantic writes it in JSON (ISO 8601, UTC as `Z`)."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ConversationOut(BaseModel):
    id: int
    title: str | None
    member_ids: list[int]
    created_at: datetime


class ConversationSummaryOut(ConversationOut):
    """A conversation as listed for one member: with its last message and unread count."""

    last_message: MessageOut | None
    unread_count: int


class ConversationResponse(BaseModel):
    conversation: ConversationOut


class ConversationsResponse(BaseModel):
    conversations: list[ConversationSummaryOut]


class MessageResponse(BaseModel):
    message: MessageOut


class MessagesResponse(BaseModel):
    messages: list[MessageOut]


class ReadMarkOut(BaseModel):
    """A member's last read message in a conversation (null: has read nothing yet)."""

    user_id: int
    message_id: str | None


class ReadMarksResponse(BaseModel):
    reads: list[ReadMarkOut]


class ChatConfigOut(BaseModel):
    """Limits a client needs before it sends (the server enforces them anyway)."""

    max_message_chars: int
    max_title_chars: int
    max_members: int


class ChatConfigResponse(BaseModel):
    chat: ChatConfigOut
