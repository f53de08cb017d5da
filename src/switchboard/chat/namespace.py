"""The `/chat` namespace."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from switchboard.realtime.namespace import AckResult, SocketContext, SocketNamespace, event
from switchboard.types import CHAT

MAX_PRESENCE_QUERY = 500


class PresenceQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    user_ids: list[StrictInt] = Field(max_length=MAX_PRESENCE_QUERY)


class ChatNamespace(SocketNamespace):
    name = CHAT

    @event("presence:query", PresenceQuery)
    async def presence_query(self, sock: SocketContext, payload: PresenceQuery) -> AckResult:
        status = await self.rt.presence.online_status_bulk(payload.user_ids)
        return {"online": {str(uid): online for uid, online in status.items()}}
