"""A firm's own submission (提交能力), shared by the form and the API: the rules it is checked
by, a new submission with its private token, and the firm's edits while it waits for review."""
from __future__ import annotations

import secrets
from typing import Any

from sqlmodel import Session

from matching.engine import CAPABILITY
from service import entries
from service.context import Context
from service.models import Capability, Status

DISTRICTS = ("梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "经开区", "江阴市", "宜兴市", "其他")
MATURITIES = ("研发中", "试点应用", "规模化应用")
FIELDS = ("title", "organization", "field", "district", "description", "maturity", "cases",
          "contact", "phone", "email")
EDITABLE = {Status.pending_review.value, Status.draft.value}  # sent back (draft) or waiting


def actor_of(entry: Capability) -> str:
    return f"firm:{entry.ext_id}"


def status_of(entry: Capability) -> str:
    return entry.status.value if hasattr(entry.status, "value") else str(entry.status)


def validate(session: Session, values: dict[str, str], entry: Capability | None = None
             ) -> tuple[dict[str, Any], dict[str, str]]:
    """The import's rules, plus: district and maturity come from their lists."""
    clean, errors = entries.check(session, CAPABILITY, values, entry)
    if clean.get("district") and clean["district"] not in DISTRICTS:
        errors["district"] = "请从列表中选择所在地区（不在列表中的请选“其他”）"
    if clean.get("maturity") and clean["maturity"] not in MATURITIES:
        errors["maturity"] = "请从列表中选择成熟度"
    return clean, errors


def _new_ext_id(session: Session) -> str:
    while True:  # a firm may submit the same name twice: never reuse an id
        ext_id = f"NL-{secrets.token_hex(5)}"
        if entries.by_ext(session, CAPABILITY, ext_id) is None:
            return ext_id


def submit(context: Context, session: Session, clean: dict[str, Any]) -> tuple[Capability, str]:
    """Store checked values as a capability waiting for review; (entry, its private token).
    The token's hash is saved with the entry itself, so no submission exists without its link."""
    token = entries.new_submission_token()
    ext_id = _new_ext_id(session)
    entry = entries.save(context, session, CAPABILITY,
                         {**clean, "id": ext_id, "token_hash": entries.token_hash(token)},
                         status=Status.pending_review, actor=f"firm:{ext_id}")
    return entry, token


def edit(context: Context, session: Session, entry: Capability, clean: dict[str, Any]) -> Capability:
    """The firm's change; the entry goes back to review (check ``EDITABLE`` first)."""
    return entries.save(context, session, CAPABILITY, clean, entry=entry,
                        status=Status.pending_review, actor=actor_of(entry))
