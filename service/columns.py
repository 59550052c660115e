"""The columns of the two lists (两张清单) as data, and header matching.

The source of truth is shared/LISTS.md: each kind's columns in their documented order, with
the Chinese name, whether a cell is required, the value type and the header aliases people
actually use. Import (service/tabular.py) and export read everything from here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

Kind = Literal["opportunity", "capability"]
# text: kept as written (Chinese punctuation and all); code: short identifiers such as ids and
# phone numbers, NFKC-normalised so full-width digits become ASCII; email: code that must
# contain "@"; number: a float; date: an ISO date string YYYY-MM-DD.
ValueType = Literal["text", "code", "email", "number", "date"]

KINDS: tuple[Kind, ...] = ("opportunity", "capability")
KIND_NAMES: dict[str, str] = {"opportunity": "场景机会清单", "capability": "场景能力清单"}

TEXT_MAX_LEN = 500
LONG_TEXT_MAX_LEN = 5000


@dataclass(frozen=True)
class Column:
    key: str
    name: str
    required: bool = False
    type: ValueType = "text"
    aliases: tuple[str, ...] = ()
    max_len: int = TEXT_MAX_LEN


_ORGANIZATION_ALIASES = ("公司名称", "企业名称", "单位名称", "机构名称", "单位")
_TITLE_ALIASES = ("应用场景名称", "场景机会名称", "名称")
_DESCRIPTION_ALIASES = ("场景简介", "需求描述", "企业与产品简介", "简介", "描述")
_FIELD_ALIASES = ("应用领域", "类别", "领域", "行业领域", "所属行业", "行业", "所属类别")
_DISTRICT_ALIASES = (
    "拟落地应用区域",
    "地区",
    "区域",
    "所属区域",
    "所属地区",
    "所在区域",
    "区县",
    "所在区县",
)
_CONTACT_ALIASES = ("联系人姓名", "对接人")
_PHONE_ALIASES = (
    "联系方式",
    "手机",
    "手机号",
    "手机号码",
    "电话",
    "联系手机",
    "联系人电话",
    "联系人手机",
)
_EMAIL_ALIASES = ("邮箱", "电子邮件", "邮件", "联系邮箱", "e-mail")


def _shared_head() -> tuple[Column, ...]:
    return (Column("id", "编号", type="code", aliases=("场景编号", "能力编号", "清单编号")),)


def _contact_columns() -> tuple[Column, ...]:
    return (
        Column("contact", "联系人", aliases=_CONTACT_ALIASES),
        Column("phone", "联系电话", type="code", aliases=_PHONE_ALIASES),
        Column("email", "电子邮箱", type="email", aliases=_EMAIL_ALIASES),
    )


def _place_columns() -> tuple[Column, ...]:
    return (
        Column("field", "所属领域", aliases=_FIELD_ALIASES),
        Column("district", "所在地区", aliases=_DISTRICT_ALIASES),
    )


OPPORTUNITY_COLUMNS: tuple[Column, ...] = (
    *_shared_head(),
    Column("title", "场景名称", required=True, aliases=_TITLE_ALIASES),
    Column(
        "organization",
        "发布单位",
        required=True,
        aliases=(*_ORGANIZATION_ALIASES, "牵头部门", "牵头单位", "需求单位", "需求方"),
    ),
    *_place_columns(),
    Column(
        "description",
        "场景描述",
        required=True,
        max_len=LONG_TEXT_MAX_LEN,
        aliases=(*_DESCRIPTION_ALIASES, "场景内容", "需求内容", "场景需求描述"),
    ),
    Column("requirements", "能力需求", aliases=("能力要求", "技术需求", "技术要求")),
    Column(
        "budget_wan",
        "预算(万元)",
        type="number",
        aliases=("预算", "预算金额", "预算金额(万元)", "预算(万)", "预算金额(万)", "budget"),
    ),
    Column("deadline", "截止日期", type="date", aliases=("截止时间", "截至日期", "截至时间")),
    *_contact_columns(),
)

CAPABILITY_COLUMNS: tuple[Column, ...] = (
    *_shared_head(),
    Column(
        "title",
        "能力名称",
        required=True,
        aliases=(*_TITLE_ALIASES, "场景能力名称", "产品名称", "技术名称", "解决方案名称"),
    ),
    Column(
        "organization",
        "供给单位",
        required=True,
        aliases=(*_ORGANIZATION_ALIASES, "供应单位", "提供单位", "供给方"),
    ),
    *_place_columns(),
    Column(
        "description",
        "能力描述",
        required=True,
        max_len=LONG_TEXT_MAX_LEN,
        aliases=(*_DESCRIPTION_ALIASES, "能力简介", "产品简介", "产品描述", "技术简介"),
    ),
    Column("maturity", "成熟度", aliases=("技术成熟度", "成熟程度", "产品成熟度")),
    Column("cases", "应用案例", aliases=("典型案例", "案例", "典型应用案例")),
    *_contact_columns(),
)

_SCHEMAS: dict[str, tuple[Column, ...]] = {
    "opportunity": OPPORTUNITY_COLUMNS,
    "capability": CAPABILITY_COLUMNS,
}

_BRACKETS = str.maketrans({"[": "(", "]": ")", "【": "(", "】": ")", "〔": "(", "〕": ")"})
_REQUIRED_MARK = re.compile(r"^\*+|[*:]+$|\((必填|选填|可选|非必填)\)$")


def columns(kind: str) -> tuple[Column, ...]:
    """The columns of one kind, in the order of LISTS.md. Raises ValueError for a bad kind."""
    try:
        return _SCHEMAS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}") from None


def column(kind: str, key: str) -> Column:
    for col in columns(kind):
        if col.key == key:
            return col
    raise KeyError(key)


def normalize_header(text: str) -> str:
    """The form headers are compared in: NFKC, no whitespace, (必填)/* marks and colons
    dropped, one kind of bracket, case-folded."""
    norm = unicodedata.normalize("NFKC", text).translate(_BRACKETS)
    norm = re.sub(r"\s+", "", norm)
    previous = None
    while previous != norm:  # "*场景名称(必填)：" carries several marks
        previous, norm = norm, _REQUIRED_MARK.sub("", norm)
    return norm.casefold()


@cache
def header_index(kind: str) -> dict[str, str]:
    """Normalised header -> English key, for every key, Chinese name and alias of a kind."""
    index: dict[str, str] = {}
    for col in columns(kind):
        for label in (col.key, col.name, *col.aliases):
            index.setdefault(normalize_header(label), col.key)
    return index


def match_header(kind: str, header: str) -> str | None:
    return header_index(kind).get(normalize_header(header))
