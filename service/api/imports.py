"""/api/v1/imports: a list file in, the same report as ``scenario-match import --json`` out."""
from __future__ import annotations

import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile

from service.api.entries import KINDS
from service.api.errors import ApiError
from service.api.responses import errors
from service.api.schemas import ImportReportOut, ListName
from service.deps import ContextDep
from service.importer import import_file
from service.models import Status
from service.principals import OrganiserDep
from service.tabular import ImportFileError
from service.web import SessionDep

router = APIRouter(prefix="/api/v1")

MAX_MAPPING = 200  # headers a mapping may name
MAX_NAME = 200
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")


def parse_mapping(raw: str | None) -> dict[str, str]:
    """The ``mapping`` form field: a JSON object of header → field key ("" keeps it as extra)."""
    if raw is None or not raw.strip():
        return {}
    try:
        mapping = json.loads(raw)
    except ValueError:
        raise ApiError(422, 'mapping must be a JSON object such as {"技术名称": "title"}', field="mapping") from None
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise ApiError(422, "mapping must be a JSON object of header text to field key (strings)", field="mapping")
    if len(mapping) > MAX_MAPPING or any(len(k) > MAX_NAME or len(v) > MAX_NAME for k, v in mapping.items()):
        raise ApiError(422, f"mapping may name at most {MAX_MAPPING} headers of at most {MAX_NAME} characters",
                       field="mapping")
    if any(_UNPRINTABLE.search(k + v) for k, v in mapping.items()):
        raise ApiError(422, "mapping must not contain control characters", field="mapping")
    return mapping


def _file_name(upload: UploadFile) -> str:
    return _UNPRINTABLE.sub("", upload.filename or "")[:MAX_NAME] or "upload"


@router.post("/imports/{list_name}", response_model=ImportReportOut, tags=["imports"],
             summary="Import a list file",
             description="Organisers only. A CSV (UTF-8, GBK/GB18030) or .xlsx file of either list, as the "
                         "command line imports it: good rows are created or updated (same id: updated), "
                         "entries are published and embedded before the answer, rejected rows are listed "
                         "with their spreadsheet row number, column and reason (in Chinese). A file that "
                         "cannot be read at all is refused with 422 and changes nothing. `mapping` maps "
                         'headers the import does not know to fields, e.g. {"技术名称": "title"}.',
             responses=errors(401, 403, 413, 422))
def import_list(context: ContextDep, session: SessionDep, principal: OrganiserDep, list_name: ListName,
                file: Annotated[UploadFile, File(description="The list file (.csv or .xlsx).")],
                mapping: Annotated[str | None, Form(description="JSON object: header text → field key.")] = None
                ) -> dict[str, Any]:
    kind = KINDS[list_name]
    header_map = parse_mapping(mapping)
    limit = context.settings.max_import_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"the file is larger than {limit / 1024 / 1024:.3g} MB", field="file")
    name = _file_name(file)
    try:
        report = import_file(session, kind, data, filename=name, mapping=header_map, max_bytes=limit,
                             status=Status.published, actor=principal.actor)
    except ImportFileError as error:
        raise ApiError(422, f"the file cannot be imported: {error.reason}", field="file") from None
    context.after_write(kind, report.entry_ids, wait=True)
    return report.as_json()
