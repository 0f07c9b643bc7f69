"""One JSON shape for every error: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from camfleet.redact import redact_text

log = logging.getLogger("camfleet.api")

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorDetail(BaseModel):
    """The body of an error."""

    code: str = Field(description="Machine-readable error code")
    message: str = Field(description="A sentence for people")
    details: list[Any] | dict[str, Any] | None = Field(
        None, description="Extra structured information (validation problems, limits)"
    )


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: ErrorDetail


class ApiError(Exception):
    """An error with a status, a code and a readable message, answered as ErrorBody."""

    def __init__(
        self,
        status_code: int,
        message: str,
        code: str | None = None,
        details: list[Any] | dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code or _CODES.get(status_code, "error")
        self.message = message
        self.details = details
        self.headers = headers


def not_found(what: str = "resource") -> ApiError:
    """Return the 404 answered for missing and out-of-scope objects alike."""
    return ApiError(404, f"{what} not found")


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[Any] | dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return an error in the common shape."""
    body = ErrorBody(error=ErrorDetail(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Echoing the offending input could echo a password back; keep location and message only.
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, None, getattr(exc, "headers", None))


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(
        422, "validation_error", "the request is not valid", _validation_details(exc)
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The message may quote a URL or a device reply; redact before it reaches the log.
    log.error(
        "unexpected %s on %s %s: %s",
        type(exc).__name__,
        request.method,
        request.url.path,
        redact_text(str(exc))[:500],
    )
    return error_response(500, "internal_error", "unexpected server error")


def install_error_handlers(app: FastAPI) -> None:
    """Make every error, expected or not, answer in the common shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No or invalid bearer token"},
    404: {"model": ErrorBody, "description": "Not found, or outside the caller's scope"},
    422: {"model": ErrorBody, "description": "The request is not valid"},
}
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    403: {"model": ErrorBody, "description": "The caller's role may not do this"},
    409: {"model": ErrorBody, "description": "Conflicts with the current state"},
}
