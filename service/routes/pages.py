"""Public pages: the home page, both lists (filters, semantic search, pages of 20) and each
entry with its best matches from the other list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from sqlmodel import Session, func, select

from matching.engine import CAPABILITY, OPPORTUNITY
from service import entries
from service.columns import columns
from service.context import Context
from service.deps import ContextDep
from service.embeddings import TABLES
from service.matches import Filters
from service.models import Account, Status
from service.ratelimit import check as rate_check
from service.web import AccountDep, SessionDep, render

router = APIRouter(tags=["pages"], include_in_schema=False)

PER_PAGE = 20
TOP_MATCHES = 10
SEARCH_LIMIT = 100  # a search shows at most this many ranked results (five pages)
MAX_QUERY = 200
PATHS = {OPPORTUNITY: "/opportunities", CAPABILITY: "/capabilities"}
OTHER = {OPPORTUNITY: CAPABILITY, CAPABILITY: OPPORTUNITY}
PRIVATE = {"phone", "email"}  # shown to signed-in organisers only
MARK_NAMES = {"confirmed": "已确认", "excluded": "已排除"}


# -- shared with the submission pages -------------------------------------------------------
def pop_flash(request: Request) -> str | None:
    """A one-time message left by the page that redirected here."""
    return request.session.pop("flash", None)


def snippet(text: str | None, terms: list[str], width: int = 140) -> str:
    """At most ``width`` characters of ``text``, starting a little before the first term."""
    text = " ".join((text or "").split())
    if len(text) <= width:
        return text
    lower = text.lower()
    found = [p for p in (lower.find(t.lower()) for t in terms if t) if p >= 0]
    start = max(0, min(found) - 20) if found else 0
    start = min(start, len(text) - width)
    return (
        ("…" if start else "")
        + text[start : start + width]
        + ("…" if start + width < len(text) else "")
    )


@dataclass
class MatchRow:
    """One proposed entry of the other list, ready for a template."""

    entry: Any
    score: float
    reasons: list[str]
    terms: list[str]
    snippet: str
    review: str | None


def match_rows(
    context: Context, session: Session, kind: str, ext_id: str, *, include_excluded: bool = False
) -> list[MatchRow] | None:
    """The best published entries of the other list for one entry; None when it is not in
    the matcher (archived, or not embedded yet)."""
    service = context.matches
    if not service.has(kind, ext_id):
        return None
    find = service.for_opportunity if kind == OPPORTUNITY else service.for_capability
    proposals = find(session, ext_id, TOP_MATCHES, Filters(), include_excluded=include_excluded)
    others = by_ext_ids(session, OTHER[kind], [p.other for p in proposals])
    rows = []
    for p in proposals:
        other = others.get(p.other)
        if other is not None:
            terms = list(p.detail.get("shared_terms") or [])
            rows.append(
                MatchRow(
                    other, p.score, p.reasons, terms, snippet(other.description, terms), p.review
                )
            )
    return rows


def by_ext_ids(session: Session, kind: str, ext_ids: list[str]) -> dict[str, Any]:
    if not ext_ids:
        return {}
    table = TABLES[kind]
    return {e.ext_id: e for e in session.exec(select(table).where(table.ext_id.in_(ext_ids))).all()}


def status_of(entry: Any) -> str:
    return Status(entry.status).value


# -- home ------------------------------------------------------------------------------------
def _published_count(session: Session, kind: str) -> int:
    table = TABLES[kind]
    return session.exec(
        select(func.count()).select_from(table).where(table.status == Status.published)
    ).one()


@router.get("/")
def home(request: Request, session: SessionDep, account: AccountDep):
    counts = {kind: _published_count(session, kind) for kind in (OPPORTUNITY, CAPABILITY)}
    return render(
        request, "pages/home.html", {"counts": counts, "flash": pop_flash(request)}, account=account
    )


# -- lists -----------------------------------------------------------------------------------
@dataclass
class ListQuery:
    q: str = ""
    field: str = ""
    district: str = ""
    maturity: str = ""
    page: str | None = None

    def __post_init__(self) -> None:
        self.q = " ".join(self.q.split())[:MAX_QUERY]
        self.field, self.district, self.maturity = (
            v.strip() for v in (self.field, self.district, self.maturity)
        )

    def filters(self) -> Filters:
        return Filters(field=self.field or None, district=self.district or None)

    def url(self, path: str, page: int) -> str:
        """This query's link to another page of results."""
        params = {
            k: v
            for k, v in (
                ("q", self.q),
                ("field", self.field),
                ("district", self.district),
                ("maturity", self.maturity),
            )
            if v
        }
        return f"{path}?{urlencode({**params, 'page': page})}"


@dataclass
class Pager:
    number: int
    last: int
    total: int
    asked_out_of_range: bool


def pager(raw: str | None, total: int) -> Pager:
    """The page to show: bad input is page 1, a page past the end is the last page."""
    last = max(1, -(-total // PER_PAGE))
    try:
        asked = int((raw or "1").strip())
    except ValueError:
        return Pager(1, last, total, raw not in (None, ""))
    number = min(max(asked, 1), last)
    return Pager(number, last, total, number != asked)


def _published(kind: str, query: ListQuery):
    table = TABLES[kind]
    statement = select(table).where(table.status == Status.published)
    for key in ("field", "district", "maturity"):
        value = getattr(query, key)
        if value and hasattr(table, key):
            statement = statement.where(getattr(table, key) == value)
    return statement


def _browse(
    session: Session, kind: str, query: ListQuery
) -> tuple[Pager, list[tuple[Any, float | None]]]:
    statement = _published(kind, query)
    total = session.exec(select(func.count()).select_from(statement.subquery())).one()
    page = pager(query.page, total)
    rows = session.exec(
        statement.order_by(TABLES[kind].ext_id).offset((page.number - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return page, [(row, None) for row in rows]


def _search(
    context: Context, session: Session, kind: str, query: ListQuery
) -> tuple[Pager, list[tuple[Any, float | None]]]:
    hits = entries.search(context, kind, query.q, SEARCH_LIMIT, query.filters())
    found = by_ext_ids(session, kind, [ext_id for ext_id, _ in hits])
    ranked = [
        (found[ext_id], score)
        for ext_id, score in hits
        if ext_id in found and (not query.maturity or found[ext_id].maturity == query.maturity)
    ]
    page = pager(query.page, len(ranked))
    return page, ranked[(page.number - 1) * PER_PAGE : page.number * PER_PAGE]


def _choices(context: Context, session: Session, kind: str, key: str) -> list[str]:
    """Filter options: from the matcher's rows once it is built (kept in step with the
    database), else from the database."""
    if context.matches_ready:
        return context.matches.choices(kind, key)
    table = TABLES[kind]
    column = getattr(table, key)
    statement = (
        select(column)
        .where(table.status == Status.published, column.is_not(None), column != "")
        .distinct()
        .order_by(column)
    )
    return list(session.exec(statement).all())


def _list_page(
    request: Request,
    context: Context,
    session: Session,
    account: Account | None,
    kind: str,
    query: ListQuery,
):
    if query.q and account is None:
        rate_check(request, "search")  # searching encodes the query: limited for the public
    page, rows = (
        _search(context, session, kind, query) if query.q else _browse(session, kind, query)
    )
    keys = ("field", "district", "maturity") if kind == CAPABILITY else ("field", "district")
    values = {
        "kind": kind,
        "path": PATHS[kind],
        "query": query,
        "page": page,
        "rows": rows,
        "choices": {key: _choices(context, session, kind, key) for key in keys},
        "search_limit": SEARCH_LIMIT,
        "flash": pop_flash(request),
    }
    return render(request, "pages/list.html", values, account=account)


@router.get("/opportunities")
def opportunities(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    q: str = "",
    field: str = "",
    district: str = "",
    page: str | None = None,
):
    return _list_page(
        request, context, session, account, OPPORTUNITY, ListQuery(q, field, district, "", page)
    )


@router.get("/capabilities")
def capabilities(
    request: Request,
    context: ContextDep,
    session: SessionDep,
    account: AccountDep,
    q: str = "",
    field: str = "",
    district: str = "",
    maturity: str = "",
    page: str | None = None,
):
    return _list_page(
        request,
        context,
        session,
        account,
        CAPABILITY,
        ListQuery(q, field, district, maturity, page),
    )


# -- one entry -------------------------------------------------------------------------------
def entry_fields(kind: str, entry: Any, *, private: bool) -> list[tuple[str, str, Any]]:
    """(key, Chinese name, value) of the entry's filled-in fields other than id and title."""
    out = []
    for col in columns(kind):
        if col.key in ("id", "title") or (col.key in PRIVATE and not private):
            continue
        value = getattr(entry, col.key, None)
        if value not in (None, ""):
            out.append((col.key, col.name, f"{value:g}" if isinstance(value, float) else value))
    return out


def _detail(
    request: Request,
    context: Context,
    session: Session,
    account: Account | None,
    kind: str,
    ext_id: str,
):
    entry = entries.by_ext(session, kind, ext_id)
    if entry is None or (status_of(entry) != Status.published.value and account is None):
        raise HTTPException(status_code=404)
    values = {
        "kind": kind,
        "entry": entry,
        "status": status_of(entry),
        "path": PATHS[kind],
        "other_path": PATHS[OTHER[kind]],
        "fields": entry_fields(kind, entry, private=account is not None),
        "matches": match_rows(
            context, session, kind, entry.ext_id, include_excluded=account is not None
        ),
        "mark_names": MARK_NAMES if account else {},
        "flash": pop_flash(request),
    }
    return render(request, "pages/detail.html", values, account=account)


@router.get("/opportunities/{ext_id:path}")
def opportunity(
    request: Request, context: ContextDep, session: SessionDep, account: AccountDep, ext_id: str
):
    return _detail(request, context, session, account, OPPORTUNITY, ext_id)


@router.get("/capabilities/{ext_id:path}")
def capability(
    request: Request, context: ContextDep, session: SessionDep, account: AccountDep, ext_id: str
):
    return _detail(request, context, session, account, CAPABILITY, ext_id)
