"""`DirectRoute` (api/direct.py): which endpoints it may serve, decided when the route is built."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from switchboard.api.deps import ApiKey, Ctx, CurrentUserId
from switchboard.api.direct import DirectRoute


class Body(BaseModel):
    n: int


def test_context_key_and_one_body_model_are_served() -> None:
    router = APIRouter(route_class=DirectRoute)

    @router.post("/ok")
    async def ok(body: Body, ctx: Ctx, _key: ApiKey) -> Body:
        return body

    assert [r.path for r in router.routes] == ["/ok"]  # type: ignore[attr-defined]


def test_any_other_dependency_is_refused_when_the_route_is_built() -> None:
    # Served directly, a user-token dependency would be skipped: a route must not be
    # able to lose its authentication silently.
    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="user_id"):

        @router.post("/user")
        async def needs_a_user(body: Body, user_id: CurrentUserId) -> Body:
            return body


def test_a_second_body_model_is_refused() -> None:
    router = APIRouter(route_class=DirectRoute)
    with pytest.raises(TypeError, match="other"):

        @router.post("/two")
        async def two_bodies(body: Body, other: Body) -> Body:
            return body
