"""`POST /api/internal/users`: another service of the host maps host user ids to Switchboard's.

Payloads and `POST /api/internal/notifications` name users by Switchboard's
integer id; a host backend knows its own ids. This route answers the user
objects for host ids, creating the users it has not seen yet (named by the
host's `UserDirectory` when there is one, else by the id until their first
token names them). Like the rest of the internal API it needs
`SWITCHBOARD_API_KEY`; outside host mode it answers 404 (there are no host
ids). Code running in the app's process calls `ctx.users.resolve_external`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from switchboard.api.deps import ApiKey, Ctx
from switchboard.api.direct import DirectRoute
from switchboard.auth.host_tokens import MAX_EXTERNAL_ID_CHARS, external_id_of
from switchboard.auth.schemas import UsersOut
from switchboard.auth.users import user_out
from switchboard.errors import AuthError, NotFoundError

MAX_BATCH = 1000

router = APIRouter(prefix="/api/internal", tags=["internal"], route_class=DirectRoute)

ExternalId = Annotated[str, Field(min_length=1, max_length=MAX_EXTERNAL_ID_CHARS)]


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_ids: list[ExternalId] = Field(min_length=1, max_length=MAX_BATCH)

    @field_validator("external_ids")
    @classmethod
    def _printable(cls, ids: list[str]) -> list[str]:
        for value in ids:
            if external_id_of(value) is None:
                raise ValueError("a host user id may not contain control characters")
        return ids


@router.post("/users")
async def resolve_users(body: ResolveIn, ctx: Ctx, _key: ApiKey) -> UsersOut:
    """The users of these host ids, in the order asked, each once; ids the host's
    directory does not know are left out."""
    if ctx.tokens.host is None:
        raise NotFoundError("not in host mode: Switchboard's own users have no host ids")
    ids: list[int] = []
    for external_id in dict.fromkeys(body.external_ids):
        try:
            ids.append(await ctx.users.resolve_external(external_id, None))
        except AuthError:  # the host's directory does not know this id
            continue
    by_id = {u.id: u for u in await ctx.users.get_many(ids)}
    return UsersOut(users=[user_out(by_id[i]) for i in ids if i in by_id])
