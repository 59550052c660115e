"""Firms submit a capability: the form, a preview of the opportunities it would fit, and the
private receipt page (reached by a secret link) where they follow and edit their submission."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service import entries, submissions
from service.columns import columns
from service.context import Context
from service.deps import ContextDep
from service.models import Account, Capability
from service.ratelimit import rate_limit
from service.routes.pages import by_ext_ids, match_rows, pop_flash, status_of
from service.web import AccountDep, CsrfDep, SessionDep, render

router = APIRouter(tags=["pages"], include_in_schema=False)

FORM_KEYS = submissions.FIELDS
PREVIEW_SIZE = 5
EDITABLE = submissions.EDITABLE
RECEIPT_STATUS = {
    "pending_review": "待审核",
    "published": "已发布",
    "draft": "退回修改",
    "archived": "已归档",
}
# the receipt's address is the firm's only key: keep it out of referrers, caches and search engines
PRIVATE_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


async def capability_form(request: Request) -> dict[str, str]:
    """The submission form's fields as typed (a missing or non-text field is empty)."""
    form = await request.form()
    return {key: value if isinstance(value := form.get(key), str) else "" for key in FORM_KEYS}


FormDep = Annotated[dict[str, str], Depends(capability_form)]


validate = submissions.validate


def _form_context(
    session: Session, values: dict[str, str], errors: dict[str, str]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "districts": submissions.DISTRICTS,
        "maturities": submissions.MATURITIES,
        "fields_known": _known_fields(session),
        "limits": {col.key: col.max_len for col in columns(CAPABILITY)},
    }


def _known_fields(session: Session) -> list[str]:
    """Fields already used in the lists, offered as suggestions."""
    rows = session.exec(
        select(Capability.field).where(Capability.field.is_not(None)).distinct()
    ).all()
    return sorted(r for r in rows if r)


def _by_token(session: Session, token: str) -> Capability:
    if not token or len(token) > 100:
        raise HTTPException(status_code=404)
    found = session.exec(
        select(Capability).where(Capability.token_hash == entries.token_hash(token))
    ).first()
    if found is None:
        raise HTTPException(status_code=404)
    return found


def _preview(context: Context, session: Session, values: dict[str, str]) -> dict[str, Any]:
    text = {key: values[key][:5000] for key in ("title", "description")}
    if not (text["title"].strip() or text["description"].strip()):
        return {"preview": None}
    hits = entries.preview_for_capability(context, text, PREVIEW_SIZE)
    found = by_ext_ids(session, OPPORTUNITY, [ext_id for ext_id, _ in hits])
    return {"preview": [(found[e], score) for e, score in hits if e in found]}


# -- the form --------------------------------------------------------------------------------
@router.get("/submit")
def submit_page(request: Request, session: SessionDep, account: AccountDep):
    return render(
        request,
        "submit/form.html",
        _form_context(session, dict.fromkeys(FORM_KEYS, ""), {}),
        account=account,
    )


@router.post("/submit", dependencies=[CsrfDep, rate_limit("submit")])
def submit(
    request: Request, context: ContextDep, session: SessionDep, account: AccountDep, values: FormDep
):
    clean, errors = validate(session, values)
    if errors:
        return render(
            request,
            "submit/form.html",
            _form_context(session, values, errors),
            status_code=422,
            account=account,
        )
    _, token = submissions.submit(context, session, clean)
    request.session["flash"] = "已提交，等待审核。请收藏本页链接，以后凭它查看审核结果和修改内容。"
    return RedirectResponse(f"/submission/{token}", status_code=303)


@router.post("/submit/preview", dependencies=[CsrfDep])
def preview(
    request: Request, context: ContextDep, session: SessionDep, account: AccountDep, values: FormDep
):
    """For htmx, the list alone; without JavaScript, the form again with the list below it."""
    found = _preview(context, session, values)
    if request.headers.get("hx-request") == "true":
        return render(request, "submit/_preview.html", found, account=account)
    return render(
        request,
        "submit/form.html",
        {**_form_context(session, values, {}), **found},
        account=account,
    )


# -- the receipt -----------------------------------------------------------------------------
def _receipt(
    request: Request,
    context: Context,
    session: Session,
    account: Account | None,
    entry: Capability,
    token: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    message: str | None = None,
):
    status = status_of(entry)
    current = {key: _text(getattr(entry, key)) for key in FORM_KEYS}
    page = {
        "entry": entry,
        "status": status,
        "status_name": RECEIPT_STATUS[status],
        "token": token,
        "link": f"{str(request.base_url).rstrip('/')}/submission/{token}",
        "editable": status in EDITABLE,
        "flash": pop_flash(request),
        "message": message,
        "matches": match_rows(context, session, CAPABILITY, entry.ext_id),
        "other_path": "/opportunities",
        "shown": [
            (col.name, current[col.key]) for col in columns(CAPABILITY) if col.key in FORM_KEYS
        ],
        **_form_context(session, values or current, errors or {}),
    }
    response = render(
        request, "submit/receipt.html", page, status_code=status_code, account=account
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@router.get("/submission/{token}")
def receipt(
    request: Request, context: ContextDep, session: SessionDep, account: AccountDep, token: str
):
    return _receipt(request, context, session, account, _by_token(session, token), token)


@router.post("/submission/{token}", dependencies=[CsrfDep])
def edit(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    token: str,
    values: FormDep,
):
    entry = _by_token(session, token)
    if status_of(entry) not in EDITABLE:
        return _receipt(
            request,
            context,
            session,
            account,
            entry,
            token,
            status_code=409,
            message="这项能力已经发布或归档，企业不能再修改；如需更改请联系组织方。",
        )
    clean, errors = validate(session, values, entry)
    if errors:
        return _receipt(
            request,
            context,
            session,
            account,
            entry,
            token,
            values=values,
            errors=errors,
            status_code=422,
        )
    submissions.edit(context, session, entry, clean)
    request.session["flash"] = "已保存，等待审核"
    return RedirectResponse(f"/submission/{token}", status_code=303)
