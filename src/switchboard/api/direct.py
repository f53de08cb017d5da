"""`DirectRoute`: an API route served without FastAPI's per-request dependency solving.

The internal API is called by other services, at rates no browser reaches: one
`POST /api/internal/notifications` fans out to many users, and a notification
burst is a stream of them. On the FastAPI we run, solving a route's
dependencies and body costs more server CPU than the rest of the request
together (docs/benchmarks.md, "HTTP floor"). These routes take only three kinds
of parameter, so the route serves them directly:

- `Ctx`: the app context;
- `ApiKey`: the internal API key, checked before the body is read, so an
  unauthenticated caller's body is never parsed;
- one pydantic model: the JSON body, validated in one pydantic call
  (`model_validate_json`); a refusal is the same 422 FastAPI answers.

The endpoint keeps its FastAPI signature, so the OpenAPI schema documents it as
before; it returns a `Response` or the pydantic model its signature names,
which is serialised as it is (no `response_model` filtering). A parameter of
any other kind is refused when the route is built, so a route cannot silently
lose a dependency. The route's errors go through the app's handlers
(`api/errors.py`) like any other route's.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from switchboard.api.deps import ApiKey, Ctx, require_api_key
from switchboard.context import AppContext

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class DirectRoute(APIRoute):
    """Use as `APIRouter(route_class=DirectRoute)` for routes of `Ctx`, `ApiKey` and a body."""

    def get_route_handler(self) -> Handler:
        return _direct_handler(self.endpoint, self.status_code or 200)


def _direct_handler(endpoint: Callable[..., Any], status: int) -> Handler:
    ctx_params, key_params, body_param, body_model = _parameters(endpoint)

    async def handle(request: Request) -> Response:
        ctx: AppContext = request.app.state.ctx
        kwargs: dict[str, Any] = dict.fromkeys(ctx_params, ctx)
        if key_params:
            await require_api_key(request, ctx)
            kwargs.update(dict.fromkeys(key_params))
        if body_model is not None:
            try:
                raw = await request.body()
            except ClientDisconnect:
                # Gone, or cut off by BodyLimitMiddleware, which has answered 413 already.
                return Response(status_code=400)
            kwargs[body_param] = _validated(body_model, raw)
        result = await endpoint(**kwargs)
        if isinstance(result, Response):
            return result
        if isinstance(result, BaseModel):
            return Response(result.model_dump_json(), status, media_type="application/json")
        raise TypeError(f"{endpoint.__name__} returned {type(result).__name__}")

    return handle


def _parameters(
    endpoint: Callable[..., Any],
) -> tuple[list[str], list[str], str, type[BaseModel] | None]:
    """Sort the endpoint's parameters into context, key and body; refuse any other."""
    hints = typing.get_type_hints(endpoint, include_extras=True)
    ctx_params: list[str] = []
    key_params: list[str] = []
    body_param, body_model = "", None
    for name in inspect.signature(endpoint).parameters:
        hint = hints.get(name)
        if hint == Ctx:
            ctx_params.append(name)
        elif hint == ApiKey:
            key_params.append(name)
        elif isinstance(hint, type) and issubclass(hint, BaseModel) and body_model is None:
            body_param, body_model = name, hint
        else:
            raise TypeError(f"DirectRoute cannot serve parameter {name!r} of {endpoint.__name__}")
    return ctx_params, key_params, body_param, body_model


def _validated(model: type[BaseModel], raw: bytes) -> BaseModel:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # FastAPI's shape: every location under "body" (the whole body for bad JSON).
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
