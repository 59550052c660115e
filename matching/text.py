"""What text of an entry is embedded, and how an opportunity's requirements are split."""
from __future__ import annotations

import hashlib
import re

_CLAUSE_SPLIT = re.compile(r"[；;。\n\r]+|(?<![\d.])\d{1,2}[.、)）](?!\d)|[（(]\d{1,2}[)）]|[①-⑩]")
MIN_CLAUSE_CHARS = 4
MAX_CLAUSES = 8


def entry_text(title: str, description: str, *more: str | None) -> str:
    """Title, description and any further parts, joined as one passage."""
    return "。".join(p.strip().rstrip("。") for p in (title, description, *more) if p and p.strip())


def requirement_clauses(requirements: str | None, description: str = "") -> list[str]:
    """The separate things an opportunity asks for: its requirements split at ；。 and
    list markers; the description's sentences when it gives no requirements."""
    source = requirements if requirements and requirements.strip() else description
    parts = [p.strip(" ，,、：:") for p in _CLAUSE_SPLIT.split(source or "")]
    return [p for p in parts if len(p) >= MIN_CLAUSE_CHARS][:MAX_CLAUSES]


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
