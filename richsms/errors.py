"""Errors the domain raises; each edge (web, CLI) decides how to show them."""

from __future__ import annotations


class RichsmsError(Exception):
    """Base of every expected error. `code` is a stable machine-readable name."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(RichsmsError):
    code = "invalid_input"


class NotFound(RichsmsError):
    code = "not_found"


class Conflict(RichsmsError):
    code = "conflict"


class Gone(RichsmsError):
    code = "gone"


class Forbidden(RichsmsError):
    code = "forbidden"
