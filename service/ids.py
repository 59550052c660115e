"""Database ids taken from URLs and forms."""
from __future__ import annotations

MAX_ID = 2**31 - 1  # ids are 32-bit integer columns; PostgreSQL refuses a larger number


def row_id(raw: str | int) -> int | None:
    """A database id from a URL part or form field, or None when it cannot be one."""
    try:
        number = int(str(raw).strip())
    except (ValueError, OverflowError):
        return None
    return number if 1 <= number <= MAX_ID else None
