"""Read and write the two lists as spreadsheets (CSV or .xlsx): no database, no web.

read_table() turns a file into rows of typed values keyed by the English column keys of
shared/LISTS.md, plus per-row errors a user can act on. A file that cannot be read at all
raises ImportFileError; a bad cell becomes a RowError and only its row is left out. Every
message is plain Chinese naming the row (numbered as a spreadsheet program shows it) and
the column by its Chinese name.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

import charset_normalizer
import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel

from service.columns import (
    KIND_NAMES,
    KINDS,
    LONG_TEXT_MAX_LEN,
    Column,
    columns,
    match_header,
    normalize_header,
)

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
HEADER_SEARCH_ROWS = 15
EXTRA_MAX_LEN = LONG_TEXT_MAX_LEN
EXTRA_KEY = "extra"  # write_xlsx: a row's dict of extra columns

Rows = Iterator[tuple[int, list[Any]]]

_DELIMITERS = (",", "\t", ";")  # on a tie the first wins
_EMPTY_MARKS = frozenset({"-", "--", "—", "——", "/", "无", "暂无"})  # "no value" in a number/date
_SIGNATURES = (
    (b"%PDF", "PDF 文件"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
_CONTROL_BYTES = bytes([*range(9), 11, *range(14, 32), 127])
_ODD_SPACES = re.compile("[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_NUMBER = re.compile(r"\d+(\.\d+)?")
_WAN_SUFFIX = re.compile(r"(万元|万)$")
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
)
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_SAVE_AS = "请用 Excel 或 WPS 打开后另存为 .xlsx 或 CSV（UTF-8）文件再导入"
_UPLOAD = "请上传 .xlsx 或 CSV 文件"


@dataclass
class RowError:
    row: int
    column: str  # English key, the header text of an extra column, or "" for the whole row
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行：{self.reason}"


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]  # every known column the file has; an empty cell is None
    extra: dict[str, str]  # extra column label -> cell text; empty cells left out


@dataclass
class ParsedTable:
    kind: str
    header_row: int
    mapping: dict[str, str]  # original header text -> English key (known columns)
    unknown: list[str]  # labels of the columns kept as extra attributes
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class ImportFileError(Exception):
    """Nothing could be imported from the file; .reason says why in plain Chinese."""

    def __init__(self, reason: str, *, row: int | None = None, column: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.row = row
        self.column = column


class _CellError(Exception):
    pass


# ------------------------------------------------------------------------------ reading


def read_table(
    source: Path | str | bytes,
    *,
    kind: str,
    filename: str | None = None,
    mapping: dict[str, str] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ParsedTable:
    """Parse a CSV or .xlsx list of `kind` ("opportunity" or "capability").

    `mapping` maps header texts to English keys and wins over the built-in aliases; a key
    of "" keeps that header as an extra column. Raises ValueError for an unknown kind and
    ImportFileError when nothing can be imported.
    """
    schema = columns(kind)
    if not isinstance(source, (bytes, bytearray)):
        filename = filename or Path(source).name
    data = _load_bytes(source, max_bytes=max_bytes)
    resolver = _Resolver(kind, _checked_mapping(mapping or {}, kind))
    with closing(_open_rows(data, filename, resolver)) as rows:
        header_row, header = _find_header(rows, resolver)
        layout = _Layout.build(header, resolver)
        _require_columns(layout, kind, header_row)
        # layout.unknown is shared: a cell under a blank header adds its label while parsing
        table = ParsedTable(kind, header_row, layout.mapping, layout.unknown)
        _parse_rows(rows, layout, {col.key: col for col in schema}, table)
    if not table.rows and not table.errors:
        raise ImportFileError(f"只有表头（第 {header_row} 行），没有数据行", row=header_row)
    return table


def _load_bytes(source: Path | str | bytes, *, max_bytes: int) -> bytes:
    if isinstance(source, (bytes, bytearray)):
        _check_size(len(source), max_bytes)
        data = bytes(source)
    else:
        path = Path(source)
        try:
            _check_size(path.stat().st_size, max_bytes)  # before reading a byte of it
            data = path.read_bytes()
        except OSError as exc:
            why = "：文件不存在" if isinstance(exc, FileNotFoundError) else ""
            raise ImportFileError(f"无法读取文件「{path.name}」{why}") from exc
    if not data.strip():
        raise ImportFileError("文件为空")
    return data


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ImportFileError(
            f"文件大小为 {_mb(size)} MB，超过了 {_mb(max_bytes)} MB 的上限，"
            "请拆分成几个较小的文件分别导入"
        )


def _mb(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".removesuffix(".0")


def _checked_mapping(mapping: dict[str, str], kind: str) -> dict[str, str]:
    keys = [col.key for col in columns(kind)]
    checked = {}
    for header, key in mapping.items():
        wanted = (key or "").strip().lower()
        if wanted and wanted not in keys:
            raise ImportFileError(
                f"表头「{header}」被指定为「{key}」，但{KIND_NAMES[kind]}没有这一列；"
                f"可以指定的列有：{', '.join(keys)}",
                column=key,
            )
        checked[_clean(str(header))] = wanted
    return checked


class _Resolver:
    """Header text -> English key, or None for an extra column; the user's mapping first."""

    def __init__(self, kind: str, mapping: dict[str, str]):
        self.kind = kind
        self.exact = mapping
        self.normalised = {normalize_header(h): k for h, k in mapping.items()}

    def __call__(self, header: str) -> str | None:
        if not header:
            return None
        if header in self.exact:
            return self.exact[header] or None
        norm = normalize_header(header)
        if norm in self.normalised:
            return self.normalised[norm] or None
        return match_header(self.kind, header)

    def score(self, cells: list[Any]) -> int:
        """How many distinct known columns a row would head."""
        return len({key for cell in cells if (key := self(_cell_text(cell)))})


# ------------------------------------------------------------------ formats and encodings


def _open_rows(data: bytes, filename: str | None, resolver: _Resolver) -> Rows:
    label = f"「{filename}」" if filename else ""
    if _detect_format(data, label) == "xlsx":
        return _xlsx_rows(data, label)
    text = _decode(data, label)
    _reject_markup(text, label)
    return _csv_rows(text, _pick_delimiter(text, resolver))


def _detect_format(data: bytes, label: str) -> str:
    if data.startswith(b"PK"):
        return _check_zip(data, label)
    if data.startswith(_OLE_MAGIC):
        raise ImportFileError(
            f"文件{label}是旧版 Excel（.xls）格式或设置了打开密码，无法直接读取；{_SAVE_AS}"
            "（如有密码请先取消）"
        )
    for magic, what in _SIGNATURES:
        if data.startswith(magic):
            raise ImportFileError(f"文件{label}不是有效的表格文件（看起来是{what}），{_UPLOAD}")
    if _looks_binary(data):
        raise ImportFileError(f"文件{label}不是有效的表格文件（内容不是文字），{_UPLOAD}")
    return "text"


def _looks_binary(data: bytes) -> bool:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    sample = data[:65536]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return b"\x00" in sample or controls > len(sample) // 100


def _check_zip(data: bytes, label: str) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except Exception as exc:  # zipfile raises several kinds on a damaged archive
        raise ImportFileError(f"文件{label}不是有效的表格文件（文件已损坏），{_UPLOAD}") from exc
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        raise ImportFileError(f"文件{label}是 Excel 二进制工作簿（.xlsb），{_SAVE_AS}")
    if "content.xml" in names:
        raise ImportFileError(f"文件{label}是 OpenDocument 表格（.ods），{_SAVE_AS}")
    raise ImportFileError(f"文件{label}不是有效的表格文件（是压缩包而不是 .xlsx），{_UPLOAD}")


def _xlsx_rows(data: bytes, label: str) -> Rows:
    damaged = f"文件{label}不是有效的 Excel 表格（文件可能已损坏），{_SAVE_AS}"
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on damaged or odd files
        raise ImportFileError(damaged) from exc
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # some writers store a wrong sheet size
        # read-only mode yields empty tuples for missing rows, so numbering stays physical
        yield from enumerate((list(r) for r in sheet.iter_rows(min_row=1, values_only=True)), 1)
    except Exception as exc:  # a damaged sheet can fail part-way through
        raise ImportFileError(damaged) from exc
    finally:
        book.close()


def _decode(data: bytes, label: str) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel "Unicode 文本"
        candidates = [("utf-16", data)]
    else:
        # gb18030 decodes nearly any byte string, hence the plausibility check on each result
        candidates = [("utf-8-sig", data), ("gb18030", data)]
    for encoding, raw in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _plausible(text):
            return text
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and _plausible(str(best)):
        return str(best)
    raise ImportFileError(f"文件{label}的文字编码无法识别，请另存为 CSV（UTF-8）后再导入")


def _plausible(text: str) -> bool:
    odd = sum(
        1
        for ch in text[:65536]
        if unicodedata.category(ch) in ("Co", "Cn", "Cs")
        or (unicodedata.category(ch) == "Cc" and ch not in "\t\r\n")
    )
    return odd <= len(text[:65536]) // 200


def _reject_markup(text: str, label: str) -> None:
    head = text[:4096].lstrip("\ufeff \t\r\n").lower()
    if head.startswith("<") and any(tag in head for tag in ("<html", "<table", "<?xml")):
        raise ImportFileError(f"文件{label}是网页或 XML 格式，不是真正的 Excel 表格；{_SAVE_AS}")


def _pick_delimiter(text: str, resolver: _Resolver) -> str:
    """The delimiter under which a row in the header zone names the most known columns."""
    return max(_DELIMITERS, key=lambda delimiter: _delimiter_score(text, delimiter, resolver))


def _delimiter_score(text: str, delimiter: str, resolver: _Resolver) -> int:
    try:
        head = itertools.islice(_csv_rows(text, delimiter), HEADER_SEARCH_ROWS)
        return max((resolver.score(cells) for _, cells in head), default=0)
    except ImportFileError:
        return 0


def _csv_rows(text: str, delimiter: str) -> Rows:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, 1):  # a quoted multi-line cell is one row
            yield number, cells
    except csv.Error as exc:
        raise ImportFileError(
            f"第 {number + 1} 行无法按 CSV 格式读取（可能有未配对的引号，或单元格过长）",
            row=number + 1,
        ) from exc


# ------------------------------------------------------------------- header and layout


def _find_header(rows: Rows, resolver: _Resolver) -> tuple[int, list[Any]]:
    first: tuple[int, list[Any]] | None = None
    for number, cells in rows:
        if _is_blank(cells):
            continue
        if number > HEADER_SEARCH_ROWS:
            first = first or (number, cells)
            break
        if resolver.score(cells) >= 2:
            return number, cells
        first = first or (number, cells)
    if first is None:
        raise ImportFileError("文件为空（没有任何内容）")
    raise _no_header_error(resolver.kind, *first)


def _other_kind_hint(kind: str, headers: list[str]) -> str:
    """A hint for the common slip of importing one list as the other."""
    for other in KINDS:
        required = {col.key for col in columns(other) if col.required}
        if other != kind and required <= {match_header(other, h) for h in headers}:
            return f"。这似乎是一份{KIND_NAMES[other]}，请确认选择的清单类型"
    return ""


def _no_header_error(kind: str, number: int, cells: list[Any]) -> ImportFileError:
    required = "".join(f"「{col.name}」" for col in columns(kind) if col.required)
    texts = [text for cell in cells if (text := _cell_text(cell))]
    return ImportFileError(
        f"在前 {HEADER_SEARCH_ROWS} 行中找不到表头：表头行至少要有两列能被识别，例如{required}。"
        f"第 {number} 行的内容是：{'、'.join(texts)[:200]}。"
        f"如果表头用的是别的名称，请在导入时指定对应关系{_other_kind_hint(kind, texts)}",
        row=number,
    )


# columns the service's own export adds that an import sets itself (an exported list
# re-imported keeps them out of its extra attributes)
EXPORT_ONLY_HEADERS = frozenset({"状态"})


@dataclass
class _Layout:
    known: dict[int, str]  # cell index -> English key
    labels: dict[int, str]  # cell index -> extra column label
    mapping: dict[str, str]
    unknown: list[str]
    headers: list[str]
    ignored: set[int] = field(default_factory=set)  # cell indexes of EXPORT_ONLY_HEADERS

    @classmethod
    def build(cls, header: list[Any], resolver: _Resolver) -> _Layout:
        layout = cls({}, {}, {}, [], [])
        for index, cell in enumerate(header):
            text = _cell_text(cell)
            key = resolver(text)
            if text:
                layout.headers.append(text)
            if not key and text in EXPORT_ONLY_HEADERS:
                layout.ignored.add(index)
            elif key and key not in layout.known.values():
                layout.known[index] = key
                layout.mapping.setdefault(text, key)
            elif text:  # unknown, or a second column for a key: the first one wins
                layout.labels[index] = layout._new_label(text)
        return layout

    def extra_label(self, index: int) -> str:
        """The label of an extra column; cells under a blank header get one on first use."""
        if index not in self.labels:
            self.labels[index] = self._new_label(f"列{get_column_letter(index + 1)}")
        return self.labels[index]

    def _new_label(self, text: str) -> str:
        taken = {*self.mapping, *self.unknown}
        label, n = text, 2
        while label in taken:
            label, n = f"{text}_{n}", n + 1
        self.unknown.append(label)
        return label


def _require_columns(layout: _Layout, kind: str, header_row: int) -> None:
    required = [col for col in columns(kind) if col.required]
    missing = [col for col in required if col.key not in layout.known.values()]
    if missing:
        names = "、".join(f"「{col.name}」（{col.key}）" for col in missing)
        raise ImportFileError(
            f"缺少必填列{names}。第 {header_row} 行的表头是：{'、'.join(layout.headers)}。"
            "请补上这一列，或在导入时指定哪一列对应它" + _other_kind_hint(kind, layout.headers),
            row=header_row,
            column=missing[0].key,
        )


# ------------------------------------------------------------------------------ rows


def _parse_rows(rows: Rows, layout: _Layout, schema: dict[str, Column], table: ParsedTable) -> None:
    first_row_of_id: dict[str, int] = {}
    for number, cells in rows:
        texts = [_cell_text(cell) for cell in cells]
        if not any(texts):
            continue
        values, extra, errors = _parse_row(number, cells, texts, layout, schema)
        ident = values.get("id")
        if ident is not None and ident in first_row_of_id:
            reason = f"编号 {ident} 与第 {first_row_of_id[ident]} 行重复"
            errors.append(RowError(number, "id", reason))
        elif ident is not None:
            first_row_of_id[ident] = number
        if errors:
            table.errors.extend(errors)
        else:
            table.rows.append(ParsedRow(number, values, extra))


def _parse_row(
    number: int, cells: list[Any], texts: list[str], layout: _Layout, schema: dict[str, Column]
) -> tuple[dict[str, Any], dict[str, str], list[RowError]]:
    values: dict[str, Any] = {}
    extra: dict[str, str] = {}
    errors: list[RowError] = []
    for index, key in layout.known.items():
        raw, text = (cells[index], texts[index]) if index < len(cells) else (None, "")
        try:
            values[key] = _convert(schema[key], raw, text)
        except _CellError as exc:
            errors.append(RowError(number, key, str(exc)))
    for index, text in enumerate(texts):
        if index in layout.known or index in layout.ignored or not text:
            continue
        label = layout.extra_label(index)
        if len(text) > EXTRA_MAX_LEN:
            errors.append(RowError(number, label, _too_long(label, text, EXTRA_MAX_LEN)))
        extra[label] = text
    return values, extra, errors


def _convert(col: Column, raw: Any, text: str) -> Any:
    """A cell's value for a known column; `text` is the cell as _cell_text shows it."""
    if col.type == "number" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return _number_value(col, raw)
    if col.type == "date" and isinstance(raw, (date, int, float)) and not isinstance(raw, bool):
        return _date_value(col, raw)
    if col.type != "text":
        text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        if col.required:
            raise _CellError(f"必填项「{col.name}」为空")
        return None
    if len(text) > col.max_len:
        raise _CellError(_too_long(col.name, text, col.max_len))
    return _PARSERS[col.type](col, text)


def _too_long(name: str, text: str, limit: int) -> str:
    return f"「{name}」内容过长：{len(text)} 字，最多 {limit} 字"


def _parse_text(col: Column, text: str) -> str:
    return text


def _parse_email(col: Column, text: str) -> str:
    if "@" not in text:
        raise _CellError(f"「{col.name}」“{text}”缺少 @，不是有效的邮箱地址")
    return text


def _parse_number(col: Column, text: str) -> float | None:
    if text in _EMPTY_MARKS:
        return None
    digits = _WAN_SUFFIX.sub("", re.sub(r"[,\s]", "", text))
    if not _NUMBER.fullmatch(digits):
        raise _CellError(f"「{col.name}」应填写数字（如 120 或 120.5），“{text}”不是有效的数字")
    return float(digits)


def _number_value(col: Column, raw: float) -> float:
    if not math.isfinite(raw) or raw < 0:
        raise _CellError(f"「{col.name}」应填写不小于 0 的数字，“{_cell_text(raw)}”无效")
    return float(raw)


def _parse_date(col: Column, text: str) -> str | None:
    if text in _EMPTY_MARKS:
        return None
    match = _DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError(text)
        return date(*(int(part) for part in match.groups())).isoformat()
    except ValueError:
        raise _CellError(_bad_date(col, text)) from None


def _date_value(col: Column, raw: date | float) -> str:
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    # a number in an .xlsx date column: an Excel serial day (1954..2119) or 20261231
    if float(raw).is_integer() and 19000101 <= raw <= 29991231:
        return _parse_date(col, str(int(raw)))  # type: ignore[return-value]
    if 20000 <= raw < 80000:
        return from_excel(raw).date().isoformat()
    raise _CellError(_bad_date(col, _cell_text(raw)))


def _bad_date(col: Column, text: str) -> str:
    return f"「{col.name}」“{text}”不是有效的日期，请写成 2026-12-31 这样的格式"


_PARSERS = {
    "text": _parse_text,
    "code": _parse_text,
    "email": _parse_email,
    "number": _parse_number,
    "date": _parse_date,
}


def _is_blank(cells: list[Any]) -> bool:
    return all(not _cell_text(cell) for cell in cells)


def _cell_text(value: Any) -> str:
    """A cell as the text a user sees, with odd spaces normalised and the ends stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return _clean(str(value))


def _clean(text: str) -> str:
    text = _ODD_SPACES.sub(" ", text).replace("\r\n", "\n").replace("\r", "\n")
    return _INVISIBLE.sub("", text).strip()


# ------------------------------------------------------------------------------ writing


def write_xlsx(
    rows: list[dict[str, Any]], *, kind: str, path_or_buffer: str | Path | IO[bytes]
) -> None:
    """Export rows (English keys, extra columns under "extra") as the first sheet of an
    .xlsx: the Chinese headers of LISTS.md in order, then the extra columns. Keys that are
    neither columns of the kind nor "extra" are not exported."""
    schema = columns(kind)
    extras = _extra_headers(rows)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet(KIND_NAMES[kind])
    sheet.append([col.name for col in schema] + extras)
    for row in rows:
        extra = row.get(EXTRA_KEY) or {}
        cells = [_out_cell(sheet, col, row.get(col.key)) for col in schema]
        sheet.append(cells + [_out_cell(sheet, None, extra.get(label)) for label in extras])
    book.save(path_or_buffer)


def _extra_headers(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(label for row in rows for label in (row.get(EXTRA_KEY) or {})))


def _out_cell(sheet: Any, col: Column | None, value: Any) -> Any:
    if value is None or value == "":
        return None
    if col is not None and col.type == "date" and isinstance(value, str):
        value = _as_date(value)
    if col is not None and col.type == "number" and not isinstance(value, str):
        return value
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", str(value)))
    cell.data_type = "s"  # text that starts with "=" must stay text, not become a formula
    return cell


def _as_date(value: str) -> date | str:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value


def validate_fields(kind: str, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Form input checked by the same rules as an imported row: (clean values, errors by key).

    Every column of the kind gets a clean value (None when empty); messages are in Chinese.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for col in columns(kind):
        raw = values.get(col.key)
        text = _clean(str(raw)) if raw is not None else ""
        try:
            clean[col.key] = _convert(col, text, text)
        except _CellError as exc:
            errors[col.key] = str(exc)
    return clean, errors
