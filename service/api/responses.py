"""The error responses an operation documents in the OpenAPI schema, in the app's own shape
(``{"error": {"code", "message", "field"}}``, see service.api.errors), so clients and the
schema-driven tests know what a refusal looks like."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable per kind: unauthorized, forbidden, not_found, conflict, "
                                  "precondition_failed, too_large, invalid, rate_limited…", examples=["invalid"])
    message: str = Field(examples=["title: String should have at most 500 characters"])
    field: str | None = Field(description="The request field the error concerns, if any.", examples=["title"])


class ErrorBody(BaseModel):
    error: ErrorDetail


WHY = {
    401: "No API key or token, or an unknown or revoked one.",
    403: "The caller's role may not do this.",
    400: "Bad request.",
    404: "No such item (or not visible to this caller).",
    409: "Refused in the item's current state, or the id is taken.",
    412: "If-Match does not match the entry's current ETag.",
    413: "The request body is too large.",
    422: "A field is invalid; `field` names it.",
    429: "Too many requests from this address; see Retry-After.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each status with the error body."""
    return {code: {"model": ErrorBody, "description": WHY[code]} for code in codes}


READ = (401, 403)  # every endpoint that needs a key
WRITE = (401, 403, 413, 422)
