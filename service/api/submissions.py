"""/api/v1/submissions: a firm submits a capability (public, rate-limited) and gets its id and
private token once; with ``Authorization: Bearer <token>`` it reads and edits its own
submission while it waits for review, as on the receipt page."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlmodel import Session

from service import submissions
from service.api.errors import ApiError
from service.api.responses import READ, errors
from service.deps import ContextDep
from service.models import Capability
from service.principals import FIRM, Principal, require
from service.ratelimit import rate_limit
from service.web import SessionDep

router = APIRouter(prefix="/api/v1", tags=["submissions"])


class SubmissionIn(BaseModel):
    """A capability as the 提交能力 form takes it (the same rules, the same limits)."""

    title: str = Field(max_length=500, description="能力名称", examples=["医疗样本无人机配送"])
    organization: str = Field(max_length=500, description="供给单位")
    description: str = Field(max_length=5000, description="能力描述")
    field: str | None = Field(None, max_length=100, description="所属领域")
    district: str | None = Field(None, max_length=100,
                                 description=f"所在地区: one of {'、'.join(submissions.DISTRICTS)}")
    maturity: str | None = Field(None, max_length=100,
                                 description=f"成熟度: one of {'、'.join(submissions.MATURITIES)}")
    cases: str | None = Field(None, max_length=5000, description="应用案例")
    contact: str | None = Field(None, max_length=500)
    phone: str | None = Field(None, max_length=500)
    email: str | None = Field(None, max_length=500)

    def values(self) -> dict[str, str]:
        return {key: value or "" for key, value in self.model_dump().items()}


class SubmissionPublic(SubmissionIn):
    id: str = Field(description="The capability's list id.")
    status: str = Field(description="pending_review, draft (sent back: see review_note), "
                                    "published or archived.")
    review_note: str | None = Field(description="The reviewer's reason when it was sent back.")
    editable: bool = Field(description="Whether the firm may still change it.")
    updated_at: datetime

    @classmethod
    def of(cls, entry: Capability) -> SubmissionPublic:
        status = submissions.status_of(entry)
        return cls(**{key: getattr(entry, key) for key in submissions.FIELDS}, id=entry.ext_id,
                   status=status, review_note=entry.review_note, editable=status in submissions.EDITABLE,
                   updated_at=entry.updated_at)


class SubmissionCreated(SubmissionPublic):
    token: str = Field(description="The private token: send as 'Authorization: Bearer <token>' to "
                                   "read or edit this submission. Shown this once.")
    receipt: str = Field(description="The receipt page's path (a private link).")


FirmDep = Annotated[Principal, require(FIRM)]


def _checked(session: Session, body: SubmissionIn, entry: Capability | None = None) -> dict:
    clean, problems = submissions.validate(session, body.values(), entry)
    if problems:
        field, message = next(iter(problems.items()))
        raise ApiError(422, f"{field}: {message}", field=field)
    return clean


def _own(session: Session, principal: Principal) -> Capability:
    entry = session.get(Capability, principal.capability_id)
    if entry is None:  # removed since the token was checked
        raise ApiError(404, "the submission no longer exists")
    return entry


@router.post("/submissions", status_code=201, response_model=SubmissionCreated,
             dependencies=[rate_limit("submit")], responses=errors(413, 422, 429))
def create_submission(body: SubmissionIn, context: ContextDep, session: SessionDep) -> SubmissionCreated:
    """Submit a capability for review. The answer carries its private token, once."""
    entry, token = submissions.submit(context, session, _checked(session, body))
    return SubmissionCreated(**SubmissionPublic.of(entry).model_dump(), token=token,
                             receipt=f"/submission/{token}")


@router.get("/submissions/me", response_model=SubmissionPublic, responses=errors(*READ, 404))
def my_submission(session: SessionDep, principal: FirmDep) -> SubmissionPublic:
    """The caller's own submission and its review status (the token is the key)."""
    return SubmissionPublic.of(_own(session, principal))


@router.put("/submissions/me", response_model=SubmissionPublic, responses=errors(*READ, 404, 409, 413, 422))
def edit_my_submission(body: SubmissionIn, context: ContextDep, session: SessionDep,
                       principal: FirmDep) -> SubmissionPublic:
    """Replace the submission's fields; it goes back to review. 409 once published or archived."""
    entry = _own(session, principal)
    if submissions.status_of(entry) not in submissions.EDITABLE:
        raise ApiError(409, "the capability is published or archived; ask the organisers to change it")
    entry = submissions.edit(context, session, entry, _checked(session, body, entry))
    return SubmissionPublic.of(entry)
