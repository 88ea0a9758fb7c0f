"""Every error leaves as JSON `{"error": {"code", "message"}}`, never as a stack trace."""

from __future__ import annotations

import logging

from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from richsms.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, RichsmsError

log = logging.getLogger("richsms.web")

STATUS_OF: dict[type[RichsmsError], int] = {
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Gone: 410,
    Forbidden: 403,
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


# Longest error message an answer carries: whatever went wrong, an error stays small.
MAX_MESSAGE = 4_000


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


class BadRequest(HTTPException):
    """A request the edge cannot even read (malformed JSON, wrong content type)."""

    def __init__(self, status_code: int, message: str, code: str | None = None) -> None:
        super().__init__(status_code=status_code, detail=message)
        self.code = code or _HTTP_CODES.get(status_code, "error")


def status_of(exc: RichsmsError) -> int:
    """The HTTP status a domain error answers, in the API and the UI alike."""
    return next((s for cls, s in STATUS_OF.items() if isinstance(exc, cls)), 400)


async def domain_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RichsmsError)
    return error_response(status_of(exc), exc.code, exc.message)


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = getattr(exc, "code", None) or _HTTP_CODES.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and message == "Not Found":
        message = "no such resource"
    return error_response(exc.status_code, code, message, dict(exc.headers or {}) or None)


async def unstorable_value(request: Request, exc: Exception) -> Response:
    """A value got past validation that the database cannot hold (a number past a column's
    range, a date past year 9999 once in UTC, a lone surrogate, a NUL). The input is at
    fault, so the answer is a 422; the log says which route lacks a bound."""
    if isinstance(exc, OperationalError):
        log.exception("database unavailable on %s %s", request.method, request.url.path)
        return error_response(
            503, "unavailable", "the database is busy; try again", {"Retry-After": "1"}
        )
    if isinstance(exc, StatementError) and not _bad_value(exc):
        return await unexpected_error(request, exc)
    log.warning(
        "unstorable value on %s %s: %s", request.method, request.url.path, _cause(exc)
    )
    return error_response(
        422, "invalid_input", "a value is outside what richsms can store (too large, too "
        "far in time, or characters that are not text)"
    )


def _bad_value(exc: StatementError) -> bool:
    return isinstance(exc, DataError) or isinstance(
        exc.orig, (OverflowError, UnicodeError, ValueError)
    )


def _cause(exc: Exception) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig)[:200]}"


async def too_deep(_request: Request, _exc: Exception) -> Response:
    return error_response(400, "bad_request", "the request is nested too deeply")


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "something went wrong on our side")


HANDLERS = {
    RichsmsError: domain_error,
    HTTPException: http_error,
    StatementError: unstorable_value,
    OverflowError: unstorable_value,
    UnicodeError: unstorable_value,
    RecursionError: too_deep,
    Exception: unexpected_error,
}
