"""Dependencies of the routes: the shared context, a database session and the calling principal."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from api.context import ApiContext
from api.errors import ApiError
from camfleet.tokens import Principal

MAX_TOKEN_CHARS = 200
# Token checks in progress, by token hash (all requests share one event loop).
_inflight: dict[str, asyncio.Future[Principal | None]] = {}


async def get_context(request: Request) -> ApiContext:
    """Return the application's shared context (async: no thread hop for a lookup)."""
    ctx: ApiContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[ApiContext, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    """Yield a database session for one request."""
    with ctx.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


async def get_principal(request: Request, ctx: ContextDep) -> Principal:
    """Return the caller behind the bearer token, or answer 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("a bearer token is required")
    if len(token) > MAX_TOKEN_CHARS:
        raise _unauthorized("the token is not valid")
    key = ctx.principals.key(token)
    principal = ctx.principals.lookup(key)
    if principal is None:
        # One database check per token at a time: when a busy token's cache entry expires,
        # its concurrent requests share one lookup instead of queueing on the database.
        pending = _inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(run_in_threadpool(ctx.authenticate, token))
            _inflight[key] = pending
            pending.add_done_callback(lambda _: _inflight.pop(key, None))
        principal = await asyncio.shield(pending)
        if principal is None:
            raise _unauthorized("the token is not valid")
        ctx.principals.store(key, principal)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
