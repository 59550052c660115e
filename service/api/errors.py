"""API errors: JSON ``{"error": {"code", "message", "field"}}`` with a stable code per kind."""
from __future__ import annotations

from typing import Any

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 412: "precondition_failed", 413: "too_large", 415: "unsupported_media_type",
    422: "invalid", 429: "rate_limited", 500: "internal", 503: "unavailable",
}


class ApiError(Exception):
    """Raised anywhere under /api/; becomes a JSON error response."""

    def __init__(self, status: int, message: str, *, code: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.field = field
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, self.field)


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def not_found(what: str, ext_id: str, field: str = "id") -> ApiError:
    return ApiError(404, f"no {what} with id {ext_id!r}", field=field)
