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
    if principal is not None:
        request.state.principal = principal
        return principal
    # One database check per token at a time: concurrent requests of a busy token share it.
    pending = ctx.principals.inflight.get(key)
    if pending is None:
        pending = asyncio.ensure_future(run_in_threadpool(ctx.authenticate, token))
        ctx.principals.inflight[key] = pending

        def settle(done: asyncio.Future[Principal | None]) -> None:
            ctx.principals.inflight.pop(key, None)
            if not done.cancelled() and done.exception() is None:
                ctx.principals.store(key, done.result())

        pending.add_done_callback(settle)
    # A token validated moments ago is served while the check runs, instead of holding every
    # request of that token behind the database.
    principal = ctx.principals.stale(key) or await asyncio.shield(pending)
    if principal is None:
        raise _unauthorized("the token is not valid")
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
