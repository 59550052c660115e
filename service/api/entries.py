"""/api/v1/opportunities and /api/v1/capabilities: list, read, create, update, archive.

Reading is public for published entries; organisers and integrators also see unpublished
ones and contact details; writing needs an organiser key. Writes go through the same checks
as the forms and imports (``entries.check``), are embedded at once and recorded in the audit
log under the key's name."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Response
from pydantic import AfterValidator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service import entries
from service.api.errors import ApiError, not_found
from service.api.responses import errors
from service.api.schemas import (
    SHORT_MAX,
    CapabilityCreate,
    CapabilityOut,
    CapabilityUpdate,
    OpportunityCreate,
    OpportunityOut,
    OpportunityUpdate,
    Page,
    storable,
)
from service.columns import columns
from service.deps import ContextDep
from service.embeddings import TABLES
from service.importer import auto_id
from service.models import Status
from service.principals import FIRM, PUBLIC, OrganiserDep, Principal, PrincipalDep
from service.web import SessionDep

router = APIRouter(prefix="/api/v1")

KINDS = {"opportunities": OPPORTUNITY, "capabilities": CAPABILITY}
PATHS = {kind: name for name, kind in KINDS.items()}
NAMES = {OPPORTUNITY: "opportunity", CAPABILITY: "capability"}
PRIVATE = ("phone", "email")
MAX_PAGE = 100_000
PRECONDITION_FAILED = 412

Filter = Annotated[str | None, Query(max_length=SHORT_MAX), AfterValidator(
    lambda v: storable(v) if v is not None else v)]
IfMatch = Annotated[str | None, Header(
    description="An ETag from a GET: the write is refused (412) if the entry changed since.")]


# -- who sees what ---------------------------------------------------------------------------
def owns(principal: Principal, kind: str, entry: Any) -> bool:
    """A firm's own submission."""
    return principal.role == FIRM and kind == CAPABILITY and entry.id == principal.capability_id


def visible(principal: Principal, kind: str, entry: Any) -> bool:
    return (Status(entry.status) == Status.published or principal.sees_unpublished
            or owns(principal, kind, entry))


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def entry_json(kind: str, entry: Any, principal: Principal) -> dict[str, Any]:
    """An entry under LISTS.md's names; contact details only for those who may see them."""
    private = principal.sees_contacts or owns(principal, kind, entry)
    data: dict[str, Any] = {"id": entry.ext_id}
    for col in columns(kind):
        if col.key != "id" and (private or col.key not in PRIVATE):
            data[col.key] = getattr(entry, col.key)
    data.update(status=Status(entry.status), extra=entry.extra or {}, updated_at=as_utc(entry.updated_at))
    if kind == CAPABILITY and private and entry.review_note:
        data["review_note"] = entry.review_note
    return data


def etag(entry: Any) -> str:
    """A strong validator: changes whenever any stored value of the entry changes."""
    values = entry.model_dump(exclude={"token_hash", "created_at"}, warnings=False)
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def check_if_match(if_match: str | None, entry: Any) -> None:
    if if_match is None:
        return
    wanted = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in wanted and etag(entry) not in wanted:
        raise ApiError(PRECONDITION_FAILED, "the entry has changed since it was read (If-Match does not "
                       "match its ETag); read it again and reapply the change",
                       code="precondition_failed", field="If-Match")


def find(session: Session, kind: str, ext_id: str, principal: Principal) -> Any:
    """The entry, or 404 when it does not exist or the caller may not see it."""
    entry = None if len(ext_id) > 100 or "\x00" in ext_id else entries.by_ext(session, kind, ext_id)
    if entry is None or not visible(principal, kind, entry):
        raise not_found(NAMES[kind], ext_id)
    return entry


# -- checks shared with the forms and imports ------------------------------------------------
def _english(kind: str, key: str, message: str) -> str:
    """An English message for a failed ``entries.check`` (its own messages are Chinese)."""
    col = next((c for c in columns(kind) if c.key == key), None)
    if col is None:
        return f"{key} is not valid"
    if "为空" in message:
        return f"{key} must not be empty (or only spaces)"
    if "过长" in message or "最多" in message:
        return f"{key} is longer than {col.max_len} characters"
    if col.type == "email":
        return f"{key} must be an email address with an @"
    if col.type == "date":
        return f"{key} must be a real date written YYYY-MM-DD"
    if col.type == "number":
        return f"{key} must be a number not below 0"
    return f"{key} is not valid"


def _as_text(value: Any) -> Any:
    if isinstance(value, float):
        return format(value, "f").rstrip("0").rstrip(".") or "0"
    return value


def checked(session: Session, kind: str, values: dict[str, Any], entry: Any | None) -> dict[str, Any]:
    """The form/import rules applied to API values; 409 for a taken id, 422 for the rest."""
    clean, problems = entries.check(session, kind, {k: _as_text(v) for k, v in values.items()}, entry)
    if "id" in problems and "已被使用" in problems["id"]:
        raise ApiError(409, f"the id {clean.get('id')!r} is already used by another {NAMES[kind]}", field="id")
    for key, message in problems.items():
        raise ApiError(422, _english(kind, key, message), field=key)
    if values.get("budget_wan") is not None:
        clean["budget_wan"] = float(values["budget_wan"])  # exact, not as re-read from text
    return clean


def _stored_values(kind: str, entry: Any) -> dict[str, Any]:
    return {col.key: entry.ext_id if col.key == "id" else getattr(entry, col.key) for col in columns(kind)}


def _save(context: Any, session: Session, kind: str, clean: dict[str, Any], *, entry: Any | None,
          status: Status | None, actor: str) -> Any:
    try:
        return entries.save(context, session, kind, clean, entry=entry, status=status, actor=actor)
    except IntegrityError:  # another writer took the id between the check and the write
        session.rollback()
        raise ApiError(409, f"the id {clean.get('id')!r} was taken by another write", field="id") from None


# -- routes ------------------------------------------------------------------------------------
def _utc(moment: datetime) -> datetime:
    """A time without an offset is UTC."""
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise ApiError(422, "updated_since is out of range", field="updated_since") from None


def _list(session: Session, kind: str, principal: Principal, *, page: int, per_page: int,
          field: str | None, district: str | None, status: Status | None,
          updated_since: datetime | None, maturity: str | None = None) -> dict[str, Any]:
    table = TABLES[kind]
    statement = select(table)
    if status is not None and status != Status.published and not principal.sees_unpublished:
        if principal.role == PUBLIC:
            raise ApiError(401, "filtering by an unpublished status needs an organiser or integrator key",
                           field="status", headers={"WWW-Authenticate": "Bearer"})
        raise ApiError(403, f"a {principal.role} sees published entries only", field="status")
    if not principal.sees_unpublished:
        statement = statement.where(table.status == Status.published)
    elif status is not None:
        statement = statement.where(table.status == status)
    for column, value in (("field", field), ("district", district), ("maturity", maturity)):
        if value:
            statement = statement.where(getattr(table, column) == value)
    if updated_since is not None:
        statement = statement.where(table.updated_at >= _utc(updated_since))
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    rows = session.exec(statement.order_by(table.ext_id).offset((page - 1) * per_page).limit(per_page)).all()
    return {"items": [entry_json(kind, row, principal) for row in rows], "total": total,
            "page": page, "per_page": per_page}


PageNo = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1.")]
PerPage = Annotated[int, Query(ge=1, le=200, description="Entries per page (1–200).")]
UpdatedSince = Annotated[datetime | None, Query(
    description="Only entries changed at or after this ISO 8601 time (UTC if no offset is given).",
    examples=["2026-03-01T00:00:00Z"])]
StatusFilter = Annotated[Status | None, Query(
    description="Organisers and integrators only (the public sees published entries only).")]
LIST_DOC = ("Entries in list-id order, a page at a time. The public and firms see published entries; "
            "organisers and integrators see every status and contact details.")


@router.get("/opportunities", response_model=Page[OpportunityOut], response_model_exclude_unset=True,
            tags=["opportunities"], summary="List opportunities (场景机会清单)", description=LIST_DOC,
            responses=errors(401, 403, 422))
def list_opportunities(session: SessionDep, principal: PrincipalDep, page: PageNo = 1, per_page: PerPage = 20,
                       field: Filter = None, district: Filter = None, status: StatusFilter = None,
                       updated_since: UpdatedSince = None):
    return _list(session, OPPORTUNITY, principal, page=page, per_page=per_page, field=field, district=district,
                 status=status, updated_since=updated_since)


@router.get("/capabilities", response_model=Page[CapabilityOut], response_model_exclude_unset=True,
            tags=["capabilities"], summary="List capabilities (场景能力清单)", description=LIST_DOC,
            responses=errors(401, 403, 422))
def list_capabilities(session: SessionDep, principal: PrincipalDep, page: PageNo = 1, per_page: PerPage = 20,
                      field: Filter = None, district: Filter = None, maturity: Filter = None,
                      status: StatusFilter = None, updated_since: UpdatedSince = None):
    return _list(session, CAPABILITY, principal, page=page, per_page=per_page, field=field, district=district,
                 status=status, updated_since=updated_since, maturity=maturity)


def _read(session: Session, kind: str, ext_id: str, principal: Principal, response: Response) -> dict[str, Any]:
    entry = find(session, kind, ext_id, principal)
    response.headers["ETag"] = etag(entry)
    return entry_json(kind, entry, principal)


READ_DOC = ("One entry. Unpublished entries are 404 for the public (a firm sees its own submission). "
            "The ETag header can be sent back as If-Match on a write.")


@router.get("/opportunities/{ext_id}", response_model=OpportunityOut, response_model_exclude_unset=True,
            tags=["opportunities"], summary="Read one opportunity", description=READ_DOC,
            responses=errors(401, 404))
def read_opportunity(session: SessionDep, principal: PrincipalDep, ext_id: str, response: Response):
    return _read(session, OPPORTUNITY, ext_id, principal, response)


@router.get("/capabilities/{ext_id}", response_model=CapabilityOut, response_model_exclude_unset=True,
            tags=["capabilities"], summary="Read one capability", description=READ_DOC,
            responses=errors(401, 404))
def read_capability(session: SessionDep, principal: PrincipalDep, ext_id: str, response: Response):
    return _read(session, CAPABILITY, ext_id, principal, response)


def _create(context: Any, session: Session, kind: str, body: Any, principal: Principal,
            response: Response) -> dict[str, Any]:
    values = body.model_dump(exclude={"status", "extra"})
    clean = checked(session, kind, values, None)
    if not clean.get("id"):
        taken = entries.by_ext(session, kind, auto_id(kind, clean))
        if taken is not None:
            raise ApiError(409, f"an {NAMES[kind]} with the same title and organization exists "
                           f"(id {taken.ext_id!r}); send an id of its own", field="id")
    clean["extra"] = body.extra or {}
    entry = _save(context, session, kind, clean, entry=None, status=body.status, actor=principal.actor)
    response.headers["ETag"] = etag(entry)
    response.headers["Location"] = f"/api/v1/{PATHS[kind]}/{quote(entry.ext_id, safe='')}"
    return entry_json(kind, entry, principal)


CREATE_DOC = ("Organisers only. Checked by the same rules as the forms and imports; without an id one is "
              "made from title and organization, as the import does. 409 when the id is taken. The entry "
              "is embedded and proposed in matches at once.")


@router.post("/opportunities", status_code=201, response_model=OpportunityOut, response_model_exclude_unset=True,
             tags=["opportunities"], summary="Create an opportunity", description=CREATE_DOC,
             responses=errors(401, 403, 409, 413, 422))
def create_opportunity(context: ContextDep, session: SessionDep, principal: OrganiserDep, body: OpportunityCreate,
                       response: Response):
    return _create(context, session, OPPORTUNITY, body, principal, response)


@router.post("/capabilities", status_code=201, response_model=CapabilityOut, response_model_exclude_unset=True,
             tags=["capabilities"], summary="Create a capability", description=CREATE_DOC,
             responses=errors(401, 403, 409, 413, 422))
def create_capability(context: ContextDep, session: SessionDep, principal: OrganiserDep, body: CapabilityCreate,
                      response: Response):
    return _create(context, session, CAPABILITY, body, principal, response)


def _update(context: Any, session: Session, kind: str, ext_id: str, body: Any, principal: Principal,
            if_match: str | None, response: Response) -> dict[str, Any]:
    entry = find(session, kind, ext_id, principal)
    check_if_match(if_match, entry)
    sent = body.model_dump(exclude_unset=True)
    status = sent.pop("status", None)
    extra = sent.pop("extra", ...)
    clean = checked(session, kind, {**_stored_values(kind, entry), **sent}, entry)
    if extra is not ...:
        clean["extra"] = extra or {}
    entry = _save(context, session, kind, clean, entry=entry, status=status, actor=principal.actor)
    response.headers["ETag"] = etag(entry)
    return entry_json(kind, entry, principal)


UPDATE_DOC = ("Organisers only. Merge semantics: only the fields sent change, `null` clears an optional "
              "field (title, organization and description cannot be cleared), `extra` is replaced whole. "
              "Send the ETag of a GET as If-Match to have the write refused (412) when someone else changed "
              "the entry in between. A new `id` renames the entry (409 when taken).")


@router.put("/opportunities/{ext_id}", response_model=OpportunityOut, response_model_exclude_unset=True,
            tags=["opportunities"], summary="Update an opportunity", description=UPDATE_DOC,
            responses=errors(401, 403, 404, 409, 412, 413, 422))
def update_opportunity(context: ContextDep, session: SessionDep, principal: OrganiserDep, ext_id: str,
                       body: OpportunityUpdate, response: Response, if_match: IfMatch = None):
    return _update(context, session, OPPORTUNITY, ext_id, body, principal, if_match, response)


@router.put("/capabilities/{ext_id}", response_model=CapabilityOut, response_model_exclude_unset=True,
            tags=["capabilities"], summary="Update a capability", description=UPDATE_DOC,
            responses=errors(401, 403, 404, 409, 412, 413, 422))
def update_capability(context: ContextDep, session: SessionDep, principal: OrganiserDep, ext_id: str,
                      body: CapabilityUpdate, response: Response, if_match: IfMatch = None):
    return _update(context, session, CAPABILITY, ext_id, body, principal, if_match, response)


def _archive(context: Any, session: Session, kind: str, ext_id: str, principal: Principal,
             if_match: str | None, response: Response) -> dict[str, Any]:
    entry = find(session, kind, ext_id, principal)
    check_if_match(if_match, entry)
    if Status(entry.status) != Status.archived:
        entries.set_status(context, session, kind, entry, Status.archived, actor=principal.actor)
        session.refresh(entry)
    response.headers["ETag"] = etag(entry)
    return entry_json(kind, entry, principal)


ARCHIVE_DOC = ("Organisers only. The entry leaves the public lists and the matcher; it stays readable by "
               "organisers and integrators and can be published again with a PUT of `status`. Archiving "
               "an archived entry changes nothing.")


@router.post("/opportunities/{ext_id}/archive", response_model=OpportunityOut, response_model_exclude_unset=True,
             tags=["opportunities"], summary="Archive an opportunity", description=ARCHIVE_DOC,
             responses=errors(401, 403, 404, 412))
def archive_opportunity(context: ContextDep, session: SessionDep, principal: OrganiserDep, ext_id: str,
                        response: Response, if_match: IfMatch = None):
    return _archive(context, session, OPPORTUNITY, ext_id, principal, if_match, response)


@router.post("/capabilities/{ext_id}/archive", response_model=CapabilityOut, response_model_exclude_unset=True,
             tags=["capabilities"], summary="Archive a capability", description=ARCHIVE_DOC,
             responses=errors(401, 403, 404, 412))
def archive_capability(context: ContextDep, session: SessionDep, principal: OrganiserDep, ext_id: str,
                       response: Response, if_match: IfMatch = None):
    return _archive(context, session, CAPABILITY, ext_id, principal, if_match, response)
