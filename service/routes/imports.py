"""List files in and out: import with a preview (column mapping, rows that will be rejected)
run as a background job, the job's progress page, re-embedding, and export to .xlsx."""
from __future__ import annotations

import io
import itertools
import json
import re
import secrets
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from matching.engine import CAPABILITY, OPPORTUNITY
from service import tabular
from service.auth import current_account
from service.columns import KIND_NAMES, columns
from service.context import Context
from service.deps import ContextDep
from service.embeddings import TABLES
from service.importer import MAX_ID_LENGTH, auto_id, import_file
from service.jobs import Job, JobError, JobFunction, Reporter, jobs_of
from service.models import Status
from service.tabular import (
    EXTRA_KEY,
    ImportFileError,
    ParsedTable,
    RowError,
    read_table,
    write_xlsx,
)
from service.web import STATUS_NAMES, CsrfDep, OrganiserDep, SessionDep, render

MULTIPART_SLACK = 64 * 1024  # boundaries and the other fields around the file
UPLOAD_TTL = 24 * 3600
TOKEN = re.compile(r"[0-9a-f]{32}")
LIST_PATHS = {OPPORTUNITY: "/opportunities", CAPABILITY: "/capabilities"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_NAMES = {"opportunities": OPPORTUNITY, "capabilities": CAPABILITY}
GONE = "这个文件已经导入过或已过期（上传后保留 24 小时）；如需导入，请重新上传"


def _too_large_message(limit: int) -> str:
    return f"文件超过了 {limit / 1024 / 1024:.3g} MB 的上限，请拆分成几个较小的文件分别导入"


def _declared_size(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0


class UploadLimitRoute(APIRoute):
    """Refuses a POST whose declared size is over the import limit before its body is read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = request.app.state.context.settings.max_import_bytes
            if request.method == "POST" and _declared_size(request) > limit + MULTIPART_SLACK:
                return await run_in_threadpool(_refuse_large, request, limit)
            return await handler(request)

        return limited


def _refuse_large(request: Request, limit: int) -> Response:
    with request.app.state.context.session() as session:
        account = current_account(request, session)
    if account is None:
        return RedirectResponse("/login?next=/admin/import", status_code=303)
    response = render(request, "admin/import.html", {"errors": {"file": _too_large_message(limit)},
                                                     "kind": ""}, status_code=413, account=account)
    response.headers["Connection"] = "close"  # the rest of the body is not read
    return response


router = APIRouter(include_in_schema=False, route_class=UploadLimitRoute)


async def posted_form(request: Request) -> FormData:
    return await request.form()  # parsed already for the CSRF check; this is the cached copy


FormDep = Depends(posted_form)


# -- uploads kept between preview and commit ---------------------------------------------------
@dataclass
class Upload:
    token: str
    kind: str
    filename: str
    path: Path

    def read(self) -> bytes:
        return self.path.read_bytes()


def _uploads(context: Context) -> Path:
    folder = context.settings.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _forget_old_uploads(folder: Path) -> None:
    cutoff = time.time() - UPLOAD_TTL
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except OSError:
            pass  # another request removed it first


def store_upload(context: Context, kind: str, filename: str, data: bytes) -> Upload:
    """The file under a random name (never the user's) with a small description beside it."""
    folder = _uploads(context)
    _forget_old_uploads(folder)
    token = secrets.token_hex(16)
    filename = re.split(r"[\\/]", filename)[-1][:200] or "upload"  # some browsers send a whole path
    suffix = Path(filename).suffix.lower()
    path = folder / f"{token}.{suffix[1:] if suffix in ('.xlsx', '.csv') else 'upload'}"
    path.write_bytes(data)
    (folder / f"{token}.json").write_text(json.dumps({"kind": kind, "filename": filename, "file": path.name}))
    return Upload(token, kind, filename, path)


def load_upload(context: Context, token: str) -> Upload | None:
    if not TOKEN.fullmatch(token or ""):
        return None
    folder = _uploads(context)
    try:
        meta = json.loads((folder / f"{token}.json").read_text())
    except (OSError, ValueError):
        return None
    path = folder / meta["file"]
    return Upload(token, meta["kind"], meta["filename"], path) if path.exists() else None


def claim_upload(upload: Upload) -> bool:
    """Take the upload for one import: a second commit of the same file (a double click) finds
    it gone. The file itself stays until the import has read it."""
    try:
        upload.path.with_name(f"{upload.token}.json").unlink()
    except FileNotFoundError:
        return False
    return True


def discard_upload(upload: Upload) -> None:
    upload.path.unlink(missing_ok=True)
    upload.path.with_name(f"{upload.token}.json").unlink(missing_ok=True)


# -- what an import would do -------------------------------------------------------------------
SAMPLE_ROWS = 5
SAMPLE_KEYS = ("id", "title", "organization", "field", "district")


@dataclass
class HeaderChoice:
    index: int  # the column's position in the file
    text: str
    key: str  # the field it maps to, "" for an extra column
    error: str | None = None
    example: str = ""  # the column's first filled-in cell, to help choose


@dataclass
class Preview:
    kind: str
    filename: str
    token: str = ""
    header_row: int | None = None
    headers: list[HeaderChoice] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)  # every header -> its field or ""
    rows: int = 0
    creates: int = 0
    updates: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # row, column, reason
    sample: list[tuple[int, list[str]]] = field(default_factory=list)
    sample_names: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def can_commit(self) -> bool:
        return not self.error and self.rows > 0 and not any(h.error for h in self.headers)


def mapping_from(form: FormData) -> dict[str, str]:
    """The preview form's choices: hidden h<i> carries a header, select m<i> its field."""
    out = {}
    for name, header in form.multi_items():
        number = re.fullmatch(r"h(\d{1,4})", name)
        if number and isinstance(header, str) and header.strip():
            key = form.get(f"m{number.group(1)}")
            out[header] = key if isinstance(key, str) else ""
    return out


def mapping_errors(mapping: dict[str, str]) -> dict[str, str]:
    """A field may head only one column."""
    first: dict[str, str] = {}
    errors = {}
    for header, key in mapping.items():
        if key and key in first:
            errors[header] = f"「{first[key]}」已对应这个字段，一个字段只能对应一列"
        elif key:
            first[key] = header
    return errors


@dataclass
class HeaderRow:
    number: int
    texts: list[str]
    examples: list[str]  # per column, the first filled-in cell below the header
    resolver: Callable[[str], str | None]


def _header_row(data: bytes, filename: str, kind: str, mapping: dict[str, str]) -> HeaderRow | None:
    """The header row as the importer finds it, or (when it finds none) the first row with
    content, so that the user can say what its columns are. None for a file it cannot read.
    Uses the reader's own header search, so preview and import always agree."""
    try:
        resolver = tabular._Resolver(kind, tabular._checked_mapping(mapping, kind))
        try:
            return _header_at(data, filename, resolver, None)
        except ImportFileError as error:
            if error.row is None:
                raise
            return _header_at(data, filename, resolver, error.row)
    except ImportFileError:
        return None


def _header_at(data: bytes, filename: str, resolver: Any, row: int | None) -> HeaderRow:
    """The header the reader finds (row None), or the given row, with an example per column."""
    with closing(tabular._open_rows(data, filename, resolver)) as rows:
        number, cells = tabular._find_header(rows, resolver) if row is None else _row_at(rows, row)
        texts = [tabular._cell_text(cell) for cell in cells]
        return HeaderRow(number, texts, _examples(rows, len(texts)), resolver)


def _row_at(rows: Iterator[tuple[int, list[Any]]], wanted: int) -> tuple[int, list[Any]]:
    for number, cells in rows:
        if number == wanted:
            return number, cells
    raise ImportFileError("找不到表头")


def _examples(rows: Iterator[tuple[int, list[Any]]], width: int, look: int = 20) -> list[str]:
    """Per column, the first filled-in cell of the next ``look`` rows."""
    examples = [""] * width
    try:
        for _, cells in itertools.islice(rows, look):
            for index, cell in enumerate(cells[:width]):
                examples[index] = examples[index] or _short(tabular._cell_text(cell), 30)
    except ImportFileError:
        pass  # a broken row further down is reported by the preview itself
    return examples


def _choices(header: HeaderRow, mapping: dict[str, str]) -> list[HeaderChoice]:
    """Each header with the field it maps to; as in the reader, the first column for a field wins."""
    errors = mapping_errors(mapping)
    taken: set[str] = set()
    out = []
    for index, text in enumerate(header.texts):
        if not text:
            continue
        key = header.resolver(text) or ""
        if key in taken and text not in errors:
            key = ""
        taken.add(key)
        out.append(HeaderChoice(index, text, mapping[text] if text in errors else key, errors.get(text),
                                header.examples[index]))
    return out


def _id_errors(table: ParsedTable) -> list[RowError]:
    return [RowError(row.row, "id", f"编号过长（最多 {MAX_ID_LENGTH} 个字符）") for row in table.rows
            if len(str(row.values.get("id") or "")) > MAX_ID_LENGTH]


def _count_writes(session: Session, kind: str, table: ParsedTable, skip: set[int]) -> tuple[int, int]:
    """(entries created, entries updated) if these rows were imported now."""
    model = TABLES[kind]
    ids = [str(r.values.get("id") or auto_id(kind, r.values)) for r in table.rows if r.row not in skip]
    existing: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        existing.update(session.exec(select(model.ext_id).where(model.ext_id.in_(chunk))).all())
    creates = len(set(ids) - existing)
    return creates, len(ids) - creates


def _fill(preview: Preview, session: Session, table: ParsedTable) -> None:
    id_errors = _id_errors(table)
    skip = {e.row for e in id_errors}
    preview.rows = len(table.rows) - len(skip)
    preview.creates, preview.updates = _count_writes(session, preview.kind, table, skip)
    errors = sorted([*table.errors, *id_errors], key=lambda e: e.row)
    preview.rejected = [(e.row, _column_name(preview.kind, e.column), e.reason) for e in errors]
    names = {col.key: col.name for col in columns(preview.kind)}
    keys = [key for key in SAMPLE_KEYS if key in table.mapping.values()]
    preview.sample_names = [names[key] for key in keys]
    preview.sample = [(row.row, [_short(row.values.get(key)) for key in keys])
                      for row in table.rows[:SAMPLE_ROWS]]


def _short(value: Any, limit: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def build(session: Session, upload: Upload, mapping: dict[str, str], max_bytes: int) -> Preview:
    """What importing the upload with ``mapping`` would do; nothing is written."""
    kind, filename, data = upload.kind, upload.filename, upload.read()
    preview = Preview(kind, filename, upload.token)
    header = _header_row(data, filename, kind, mapping)
    if header:
        preview.header_row = header.number
        preview.headers = _choices(header, mapping)
        preview.mapping = {h.text: h.key for h in preview.headers}
    try:
        table = read_table(data, kind=kind, filename=filename, mapping=mapping, max_bytes=max_bytes)
    except ImportFileError as error:
        preview.error = error.reason
        return preview
    _fill(preview, session, table)
    return preview


# -- the upload form and the preview -----------------------------------------------------------
def _upload_page(request: Request, organiser: Any, kind: str, errors: dict[str, str], status_code: int = 200):
    return render(request, "admin/import.html", {"kind": kind, "errors": errors},
                  status_code=status_code, account=organiser)


@router.get("/admin/import")
def import_page(request: Request, organiser: OrganiserDep, kind: str = ""):
    return _upload_page(request, organiser, kind if kind in KIND_NAMES else "", {})


def _read_file(file: Any, limit: int) -> tuple[bytes | None, str | None]:
    """The uploaded bytes, or a reason in Chinese."""
    if not isinstance(file, UploadFile) or not file.filename:
        return None, "请选择要导入的文件（.xlsx 或 CSV）"
    data = file.file.read(limit + 1)
    if len(data) > limit:
        return None, _too_large_message(limit)
    if not data.strip():
        return None, "文件为空"
    return data, None


def _preview_page(request: Request, organiser: Any, preview: Preview, *,
                  notice: str | None = None, status_code: int | None = None):
    code = status_code or (422 if preview.error else 200)
    values = {"p": preview, "notice": notice, "kind_name": KIND_NAMES[preview.kind],
              "fields": columns(preview.kind), "previewed": json.dumps(preview.mapping, ensure_ascii=False,
                                                                        sort_keys=True)}
    return render(request, "admin/preview.html", values, status_code=code, account=organiser)


@router.post("/admin/import/preview", dependencies=[CsrfDep])
def preview(request: Request, context: ContextDep, session: SessionDep, organiser: OrganiserDep,
            form: FormData = FormDep):
    token = form.get("token")
    if isinstance(token, str) and token:
        upload = load_upload(context, token)
        if upload is None:
            return _upload_page(request, organiser, "", {"file": GONE}, 422)
        mapping = mapping_from(form)
    else:
        kind = form.get("kind")
        data, problem = _read_file(form.get("file"), context.settings.max_import_bytes)
        errors = {"file": problem} if problem else {}
        if kind not in KIND_NAMES:
            errors["kind"] = "请选择清单类型"
        if errors:
            return _upload_page(request, organiser, kind if kind in KIND_NAMES else "", errors, 422)
        upload = store_upload(context, kind, form["file"].filename, data)
        mapping = {}
    result = build(session, upload, mapping, context.settings.max_import_bytes)
    if result.error and not result.headers:  # not a list file at all: back to the upload form
        discard_upload(upload)
        return _upload_page(request, organiser, upload.kind, {"file": result.error}, 422)
    return _preview_page(request, organiser, result)


@router.post("/admin/import/commit", dependencies=[CsrfDep])
def commit(request: Request, context: ContextDep, session: SessionDep, organiser: OrganiserDep,
           form: FormData = FormDep):
    upload = load_upload(context, str(form.get("token") or ""))
    if upload is None:
        return _upload_page(request, organiser, "", {"file": GONE}, 422)
    mapping = mapping_from(form)
    changed = json.dumps(mapping, ensure_ascii=False, sort_keys=True) != form.get("previewed")
    if changed or mapping_errors(mapping):
        result = build(session, upload, mapping, context.settings.max_import_bytes)
        notice = "对应关系已修改：下面是按新对应关系的预览，确认无误后再点「确认导入」。" if changed else None
        return _preview_page(request, organiser, result, notice=notice,
                             status_code=200 if changed and not result.error else 422)
    if not claim_upload(upload):
        return _upload_page(request, organiser, "", {"file": GONE}, 422)
    job = jobs_of(request.app).submit(f"导入{KIND_NAMES[upload.kind]}「{upload.filename}」",
                                      import_job(context, upload, mapping, actor=f"organiser:{organiser.username}"))
    return RedirectResponse(f"/admin/jobs/{job.id}", status_code=303)


# -- background jobs ---------------------------------------------------------------------------
def _column_name(kind: str, column: str) -> str:
    names = {col.key: col.name for col in columns(kind)}
    return names.get(column, column) or "整行"


def import_job(context: Context, upload: Upload, mapping: dict[str, str], *,
               actor: str = "system") -> JobFunction:
    def run(report: Reporter) -> dict[str, Any]:
        try:
            with context.session() as session:
                result = import_file(session, upload.kind, upload.path, filename=upload.filename,
                                     mapping=mapping, max_bytes=context.settings.max_import_bytes,
                                     status=Status.published, progress=report.counter("写入数据库"),
                                     actor=actor)
        except ImportFileError as error:
            raise JobError(error.reason) from error
        finally:
            discard_upload(upload)
        context.after_write(upload.kind, result.entry_ids, progress=report.counter("向量化"), wait=True)
        return {"kind": upload.kind, "filename": upload.filename, "created": result.created,
                "updated": result.updated,
                "rejected": [(e.row, _column_name(upload.kind, e.column), e.reason) for e in result.rejected]}

    return run


def reembed_job(context: Context) -> JobFunction:
    def run(report: Reporter) -> dict[str, Any]:
        encoded = sum(context.embed(kind, progress=report.counter(f"向量化{KIND_NAMES[kind]}"))
                      for kind in (OPPORTUNITY, CAPABILITY))
        report.stage("重建匹配索引")
        with context.session() as session:
            context.matches.rebuild(session)
        return {"encoded": encoded}

    return run


@router.post("/admin/reembed", dependencies=[CsrfDep])
def reembed(request: Request, context: ContextDep, organiser: OrganiserDep):
    job = jobs_of(request.app).submit("重新向量化全部条目", reembed_job(context))
    return RedirectResponse(f"/admin/jobs/{job.id}", status_code=303)


def _job_or_404(request: Request, job_id: str) -> Job:
    job = jobs_of(request.app).get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="找不到这个任务（可能已过期）。")
    return job


def _job_values(job: Job) -> dict[str, Any]:
    return {"job": job, "list_paths": LIST_PATHS, "kind_names": KIND_NAMES}


@router.get("/admin/jobs/{job_id}")
def job_page(request: Request, organiser: OrganiserDep, job_id: str):
    return render(request, "admin/job.html", _job_values(_job_or_404(request, job_id)), account=organiser)


@router.get("/admin/jobs/{job_id}/status")
def job_status(request: Request, organiser: OrganiserDep, job_id: str):
    """The part of the job page that htmx polls."""
    return render(request, "admin/_job_status.html", _job_values(_job_or_404(request, job_id)),
                  account=organiser)


# -- export ------------------------------------------------------------------------------------
def export_rows(session: Session, kind: str) -> list[dict[str, Any]]:
    """Every entry that is not archived, with its status as an extra column 状态."""
    table = TABLES[kind]
    rows = session.exec(select(table).where(table.status != Status.archived).order_by(table.ext_id)).all()
    out = []
    for entry in rows:
        row = {col.key: getattr(entry, col.key, None) for col in columns(kind)}
        row["id"] = entry.ext_id
        row[EXTRA_KEY] = {**(entry.extra or {}), "状态": STATUS_NAMES[Status(entry.status).value]}
        out.append(row)
    return out


@router.get("/admin/export/{name}.xlsx")
def export(session: SessionDep, organiser: OrganiserDep, name: str):
    kind = EXPORT_NAMES.get(name)
    if kind is None:
        raise HTTPException(status_code=404)
    buffer = io.BytesIO()
    write_xlsx(export_rows(session, kind), kind=kind, path_or_buffer=buffer)
    today = date.today().isoformat()
    disposition = (f"attachment; filename=\"{name}-{today}.xlsx\"; "
                   f"filename*=UTF-8''{quote(f'{KIND_NAMES[kind]}-{today}.xlsx')}")
    return Response(buffer.getvalue(), media_type=XLSX, headers={"Content-Disposition": disposition})
