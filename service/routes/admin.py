"""Organiser pages: the overview, both lists with every status, entry forms, the review of firms'
submissions and marks on proposed pairs. Every page needs a signed-in organiser."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, func, or_, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service import entries
from service.columns import columns
from service.context import Context
from service.dashboard import overview
from service.deps import ContextDep
from service.embeddings import TABLES
from service.importer import auto_id
from service.models import Account, Capability, Status
from service.reviews import set_mark
from service.routes.pages import PATHS, PER_PAGE, entry_fields, match_rows, pager, pop_flash
from service.web import STATUS_NAMES, CsrfDep, OrganiserDep, SessionDep, render

router = APIRouter(include_in_schema=False)

ADMIN_PATHS = {OPPORTUNITY: "/admin/opportunities", CAPABILITY: "/admin/capabilities"}
LONG_TEXT = {"description", "requirements", "cases"}
DISTRICTS = ("梁溪区", "锡山区", "惠山区", "滨湖区", "新吴区", "经开区", "江阴市", "宜兴市")
MATURITIES = ("研发中", "试点应用", "规模化应用")
REVIEW_TOP = 3
SENT_BACK_SHOWN = 20
MAX_NOTE = 1000
MARK_DONE = {"confirmed": "已确认配对", "excluded": "已排除配对", "clear": "已清除配对标记"}


async def form_values(request: Request) -> dict[str, str]:
    """Every text field of the posted form (the body is already parsed for the CSRF check)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


FormDep = Annotated[dict[str, str], Depends(form_values)]


def safe_next(target: str | None, default: str) -> str:
    """A path on this site only: never an open redirect."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def actor_of(organiser: Account) -> str:
    """How the audit log names a signed-in organiser."""
    return f"organiser:{organiser.username}"


def entry_or_404(session: Session, kind: str, ext_id: str) -> Any:
    entry = entries.by_ext(session, kind, ext_id)
    if entry is None:
        raise HTTPException(status_code=404)
    return entry


def detail_path(kind: str, ext_id: str) -> str:
    return f"{PATHS[kind]}/{quote(ext_id, safe='')}"


def _flash_and_go(request: Request, message: str, target: str) -> RedirectResponse:
    request.session["flash"] = message
    return RedirectResponse(target, status_code=303)


# -- overview ------------------------------------------------------------------------------
@router.get("/admin")
def dashboard(request: Request, context: ContextDep, session: SessionDep, organiser: OrganiserDep):
    values = {"view": overview(context, session), "flash": pop_flash(request)}
    return render(request, "admin/dashboard.html", values, account=organiser)


# -- lists with every status ---------------------------------------------------------------
def _list_query(kind: str, status: str, q: str):
    table = TABLES[kind]
    statement = select(table)
    if status in STATUS_NAMES:
        statement = statement.where(table.status == status)
    if q:
        statement = statement.where(or_(*(column.icontains(q, autoescape=True)
                                          for column in (table.ext_id, table.title, table.organization))))
    return statement


def _list_page(request: Request, session: Session, organiser: Account, kind: str,
               status: str, q: str, page: str | None):
    status = status if status in STATUS_NAMES else ""
    q = " ".join(q.split())[:100]
    statement = _list_query(kind, status, q)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    pages = pager(page, total)
    rows = session.exec(statement.order_by(TABLES[kind].ext_id)
                        .offset((pages.number - 1) * PER_PAGE).limit(PER_PAGE)).all()
    params = {k: v for k, v in (("status", status), ("q", q)) if v}
    values = {"kind": kind, "rows": rows, "page": pages, "status": status, "q": q,
              "path": ADMIN_PATHS[kind], "public_path": PATHS[kind], "params": params,
              "here": f"{ADMIN_PATHS[kind]}?{urlencode({**params, 'page': pages.number})}",
              "flash": pop_flash(request)}
    return render(request, "admin/list.html", values, account=organiser)


@router.get("/admin/opportunities")
def opportunity_list(request: Request, session: SessionDep, organiser: OrganiserDep,
                     status: str = "", q: str = "", page: str | None = None):
    return _list_page(request, session, organiser, OPPORTUNITY, status, q, page)


@router.get("/admin/capabilities")
def capability_list(request: Request, session: SessionDep, organiser: OrganiserDep,
                    status: str = "", q: str = "", page: str | None = None):
    return _list_page(request, session, organiser, CAPABILITY, status, q, page)


# -- entry forms -----------------------------------------------------------------------------
def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def entry_values(kind: str, entry: Any) -> dict[str, str]:
    values = {col.key: _text(getattr(entry, col.key, None)) for col in columns(kind)}
    values["id"], values["status"] = entry.ext_id, Status(entry.status).value
    return values


def status_choices(entry: Any | None) -> list[str]:
    choices = [Status.published.value, Status.draft.value]
    if entry is not None and Status(entry.status).value not in choices:
        choices.append(Status(entry.status).value)
    return choices


def _known(session: Session, key: str) -> list[str]:
    found: set[str] = set()
    for table in TABLES.values():
        found.update(v for v in session.exec(select(getattr(table, key)).distinct()).all() if v)
    return sorted(found)


def _form_page(request: Request, session: Session, organiser: Account, kind: str, entry: Any | None,
               values: dict[str, str], errors: dict[str, str], status_code: int = 200):
    action = (f"{ADMIN_PATHS[kind]}/new" if entry is None
              else f"{ADMIN_PATHS[kind]}/{quote(entry.ext_id, safe='')}/edit")
    page = {"kind": kind, "entry": entry, "values": values, "errors": errors, "action": action,
            "columns": columns(kind), "long_text": LONG_TEXT, "statuses": status_choices(entry),
            "fields_known": _known(session, "field"), "districts": DISTRICTS, "maturities": MATURITIES}
    return render(request, "admin/entry_form.html", page, status_code=status_code, account=organiser)


def validate(session: Session, kind: str, values: dict[str, str], entry: Any | None
             ) -> tuple[dict[str, Any], dict[str, str]]:
    """The import's rules; a new entry without an id must not collide with one made the same way."""
    clean, errors = entries.check(session, kind, values, entry)
    if values.get("status") not in status_choices(entry):
        errors["status"] = "请选择状态"
    if entry is None and not clean.get("id") and "title" not in errors and "organization" not in errors:
        taken = entries.by_ext(session, kind, auto_id(kind, clean))
        if taken is not None:
            errors["id"] = f"已有名称和单位都相同的条目（编号 {taken.ext_id}），请填写一个新编号或修改名称"
    return clean, errors


def _save(request: Request, context: Context, session: Session, organiser: Account, kind: str,
          entry: Any | None, values: dict[str, str]):
    clean, errors = validate(session, kind, values, entry)
    if errors:
        return _form_page(request, session, organiser, kind, entry, values, errors, status_code=422)
    saved = entries.save(context, session, kind, clean, entry=entry, status=Status(values["status"]),
                         actor=actor_of(organiser))
    return _flash_and_go(request, f"已保存：{saved.title}（{saved.ext_id}）", detail_path(kind, saved.ext_id))


@router.get("/admin/opportunities/new")
def new_opportunity(request: Request, session: SessionDep, organiser: OrganiserDep):
    values = {**{col.key: "" for col in columns(OPPORTUNITY)}, "status": Status.published.value}
    return _form_page(request, session, organiser, OPPORTUNITY, None, values, {})


@router.post("/admin/opportunities/new", dependencies=[CsrfDep])
def create_opportunity(request: Request, context: ContextDep, session: SessionDep,
                       organiser: OrganiserDep, values: FormDep):
    return _save(request, context, session, organiser, OPPORTUNITY, None, values)


@router.get("/admin/opportunities/{ext_id:path}/edit")
def edit_opportunity_page(request: Request, session: SessionDep, organiser: OrganiserDep, ext_id: str):
    entry = entry_or_404(session, OPPORTUNITY, ext_id)
    return _form_page(request, session, organiser, OPPORTUNITY, entry, entry_values(OPPORTUNITY, entry), {})


@router.post("/admin/opportunities/{ext_id:path}/edit", dependencies=[CsrfDep])
def edit_opportunity(request: Request, context: ContextDep, session: SessionDep,
                     organiser: OrganiserDep, ext_id: str, values: FormDep):
    entry = entry_or_404(session, OPPORTUNITY, ext_id)
    return _save(request, context, session, organiser, OPPORTUNITY, entry, values)


@router.get("/admin/capabilities/{ext_id:path}/edit")
def edit_capability_page(request: Request, session: SessionDep, organiser: OrganiserDep, ext_id: str):
    entry = entry_or_404(session, CAPABILITY, ext_id)
    return _form_page(request, session, organiser, CAPABILITY, entry, entry_values(CAPABILITY, entry), {})


@router.post("/admin/capabilities/{ext_id:path}/edit", dependencies=[CsrfDep])
def edit_capability(request: Request, context: ContextDep, session: SessionDep,
                    organiser: OrganiserDep, ext_id: str, values: FormDep):
    entry = entry_or_404(session, CAPABILITY, ext_id)
    return _save(request, context, session, organiser, CAPABILITY, entry, values)


# -- status changes --------------------------------------------------------------------------
def _set_status(request: Request, context: Context, session: Session, organiser: Account, kind: str,
                ext_id: str, status: Status, next_path: str | None):
    entry = entry_or_404(session, kind, ext_id)
    entries.set_status(context, session, kind, entry, status, actor=actor_of(organiser))
    message = f"{STATUS_NAMES[status.value]}：{entry.title}（{entry.ext_id}）"
    return _flash_and_go(request, message, safe_next(next_path, ADMIN_PATHS[kind]))


NextField = Annotated[str | None, Form(alias="next")]


@router.post("/admin/opportunities/{ext_id:path}/archive", dependencies=[CsrfDep])
def archive_opportunity(request: Request, context: ContextDep, session: SessionDep,
                        organiser: OrganiserDep, ext_id: str, next_path: NextField = None):
    return _set_status(request, context, session, organiser, OPPORTUNITY, ext_id, Status.archived, next_path)


@router.post("/admin/opportunities/{ext_id:path}/publish", dependencies=[CsrfDep])
def publish_opportunity(request: Request, context: ContextDep, session: SessionDep,
                        organiser: OrganiserDep, ext_id: str, next_path: NextField = None):
    return _set_status(request, context, session, organiser, OPPORTUNITY, ext_id, Status.published, next_path)


@router.post("/admin/capabilities/{ext_id:path}/archive", dependencies=[CsrfDep])
def archive_capability(request: Request, context: ContextDep, session: SessionDep,
                       organiser: OrganiserDep, ext_id: str, next_path: NextField = None):
    return _set_status(request, context, session, organiser, CAPABILITY, ext_id, Status.archived, next_path)


@router.post("/admin/capabilities/{ext_id:path}/publish", dependencies=[CsrfDep])
def publish_capability(request: Request, context: ContextDep, session: SessionDep,
                       organiser: OrganiserDep, ext_id: str, next_path: NextField = None):
    return _set_status(request, context, session, organiser, CAPABILITY, ext_id, Status.published, next_path)


# -- review of firms' submissions -------------------------------------------------------------
@dataclass
class Submission:
    entry: Capability
    fields: list[tuple[str, str, Any]]
    matches: list[Any] | None


def _submissions(context: Context, session: Session, rows: list[Capability]) -> list[Submission]:
    return [Submission(row, entry_fields(CAPABILITY, row, private=True),
                       (match_rows(context, session, CAPABILITY, row.ext_id) or [])[:REVIEW_TOP])
            for row in rows]


def _review_page(request: Request, context: Context, session: Session, organiser: Account, *,
                 page: str | None = None, errors: dict[str, str] | None = None,
                 typed: dict[str, str] | None = None, status_code: int = 200):
    pending = select(Capability).where(Capability.status == Status.pending_review)
    total = session.exec(select(func.count()).select_from(pending.subquery())).one()
    pages = pager(page, total)
    rows = session.exec(pending.order_by(Capability.updated_at, Capability.id)
                        .offset((pages.number - 1) * PER_PAGE).limit(PER_PAGE)).all()
    sent_back = session.exec(
        select(Capability).where(Capability.status == Status.draft, Capability.review_note.is_not(None),
                                 Capability.review_note != "")
        .order_by(Capability.updated_at.desc()).limit(SENT_BACK_SHOWN)).all()
    values = {"pending": _submissions(context, session, list(rows)), "page": pages,
              "sent_back": _submissions(context, session, list(sent_back)),
              "errors": errors or {}, "typed": typed or {}, "flash": pop_flash(request)}
    return render(request, "admin/review.html", values, status_code=status_code, account=organiser)


@router.get("/admin/review")
def review_page(request: Request, context: ContextDep, session: SessionDep, organiser: OrganiserDep,
                page: str | None = None):
    return _review_page(request, context, session, organiser, page=page)


@router.post("/admin/review/{ext_id:path}/approve", dependencies=[CsrfDep])
def approve(request: Request, context: ContextDep, session: SessionDep, organiser: OrganiserDep,
            ext_id: str):
    entry = entry_or_404(session, CAPABILITY, ext_id)
    if Status(entry.status) not in (Status.pending_review, Status.draft):
        return _flash_and_go(request, f"{entry.title}（{entry.ext_id}）当前是"
                             f"「{STATUS_NAMES[Status(entry.status).value]}」，不在审核中", "/admin/review")
    entries.set_status(context, session, CAPABILITY, entry, Status.published, note=None,
                       actor=actor_of(organiser))
    return _flash_and_go(request, f"已通过审核并发布：{entry.title}（{entry.ext_id}）", "/admin/review")


@router.post("/admin/review/{ext_id:path}/reject", dependencies=[CsrfDep])
def reject(request: Request, context: ContextDep, session: SessionDep, organiser: OrganiserDep,
           ext_id: str, reason: Annotated[str, Form()] = ""):
    entry = entry_or_404(session, CAPABILITY, ext_id)
    note = reason.strip()
    problem = ("请填写退回原因，企业会在提交页面看到它" if not note
               else f"退回原因最多 {MAX_NOTE} 个字，现在是 {len(note)} 个字" if len(note) > MAX_NOTE else None)
    if problem:
        return _review_page(request, context, session, organiser, errors={entry.ext_id: problem},
                            typed={entry.ext_id: reason}, status_code=422)
    entries.set_status(context, session, CAPABILITY, entry, Status.draft, note=note, actor=actor_of(organiser))
    return _flash_and_go(request, f"已退回修改：{entry.title}（{entry.ext_id}）", "/admin/review")


# -- marks on proposed pairs ---------------------------------------------------------------------
@router.post("/admin/pairs", dependencies=[CsrfDep])
def mark_pair(request: Request, session: SessionDep, organiser: OrganiserDep,
              opportunity: Annotated[str, Form()], capability: Annotated[str, Form()],
              mark: Annotated[str, Form()], next_path: NextField = None):
    if mark not in MARK_DONE:
        raise HTTPException(status_code=422, detail="标记只能是确认、排除或清除")
    opp = entry_or_404(session, OPPORTUNITY, opportunity)
    cap = entry_or_404(session, CAPABILITY, capability)
    problem = set_mark(session, opportunity=opp.ext_id, capability=cap.ext_id, mark=mark,
                       actor=actor_of(organiser))
    if problem:
        raise HTTPException(status_code=422, detail=problem)
    message = f"{MARK_DONE[mark]}：{opp.title} ↔ {cap.title}"
    return _flash_and_go(request, message, safe_next(next_path, detail_path(OPPORTUNITY, opp.ext_id)))

