"""Request and response shapes of the list API: entries of both lists, pages, matches, search,
pair reviews and import reports. Field names are those of LISTS.md; limits are the database
columns' and the import's, whichever is tighter, so whatever passes here can be stored."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from service.models import Status

ID_MAX = 100
SHORT_MAX = 100  # field, district, maturity
TEXT_MAX = 500  # title, organization, requirements, cases, contact, phone, email
LONG_MAX = 5000  # description
NOTE_MAX = 1000
EXTRA_KEYS_MAX = 50
EXTRA_KEY_MAX = 100
BUDGET_MAX = 1e9  # 万元: ten trillion yuan is more than any scenario asks for
LIST_NAMES = ("opportunities", "capabilities")
ListName = Literal["opportunities", "capabilities"]


def storable(value: str) -> str:
    """Refuse what a database cannot store: NUL (PostgreSQL) and lone UTF-16 surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\x00)")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("must not contain unpaired surrogate characters")
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, StringConstraints(min_length=min_length, max_length=max_length),
                     AfterValidator(storable)]


Id = _text(ID_MAX, 1)
Short = _text(SHORT_MAX)
Text = _text(TEXT_MAX)
Required = _text(TEXT_MAX, 1)
LongRequired = _text(LONG_MAX, 1)
Note = _text(NOTE_MAX)
Deadline = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"),
                     Field(description="A date, YYYY-MM-DD.", examples=["2026-12-31"])]
Budget = Annotated[float, Field(ge=0, le=BUDGET_MAX, allow_inf_nan=False,
                                description="Budget in 万元 (10,000 yuan).", examples=[120])]
ExtraKey = _text(EXTRA_KEY_MAX, 1)
Extra = Annotated[dict[ExtraKey, Annotated[str, AfterValidator(storable),  # type: ignore[valid-type]
                                           StringConstraints(max_length=LONG_MAX)]],
                  Field(max_length=EXTRA_KEYS_MAX,
                        description="Columns of the list file that are not list fields, kept as written.",
                        examples=[{"备注": "优先"}])]

STATUS_DOC = ("draft (草稿/退回), pending_review (待审核), published (已发布) or archived (已归档); "
              "only published entries are public.")
CONTACT_DOC = "Left out of the answer unless the caller may see contact details (organiser, integrator, " \
              "or a firm looking at its own submission)."


# -- entries: input ------------------------------------------------------------------------
class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _EntryCreate(_In):
    id: Id | None = Field(None, description="The list's own id (编号); left out: made from title and "
                                            "organization, as the import does.", examples=["JH2026-201"])
    title: Required
    organization: Required
    field: Short | None = Field(None, examples=["低空经济"])
    district: Short | None = Field(None, examples=["梁溪区"])
    description: LongRequired
    contact: Text | None = None
    phone: Text | None = None
    email: Text | None = None
    status: Status = Field(Status.published, description=STATUS_DOC)
    extra: Extra | None = None


class OpportunityCreate(_EntryCreate):
    requirements: Text | None = Field(None, description="What a supplier must be able to do; clauses "
                                                        "separated by ；。 are matched one by one.")
    budget_wan: Budget | None = None
    deadline: Deadline | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "JH2026-201", "title": "医疗样本无人机转运", "organization": "无锡市第二人民医院",
        "field": "低空经济", "district": "梁溪区",
        "description": "院区之间的检验样本靠地面车辆转运，早晚高峰拥堵，样本时效难以保证。",
        "requirements": "样本箱温控2-8℃；航线规划与空域报备；样本交接全程可追溯",
        "budget_wan": 300, "deadline": "2026-12-31", "contact": "王老师", "phone": "0510-00000000",
        "email": "contact@example.com"}]})


class CapabilityCreate(_EntryCreate):
    maturity: Short | None = Field(None, examples=["试点应用"], description="e.g. 研发中, 试点应用, 规模化应用")
    cases: Text | None = Field(None, description="Where it is already in use.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "id": "NL2026-0901", "title": "医疗无人机物流", "organization": "无锡天健物流科技有限公司",
        "field": "低空经济", "district": "新吴区",
        "description": "医院院区间检验样本无人机配送，温控样本箱，航线规划与空域报备。",
        "maturity": "试点应用", "cases": "某三甲医院院区间配送", "contact": "李经理"}]})


class _EntryUpdate(_In):
    """Every field optional: only the fields sent change (merge semantics); ``null`` clears an
    optional field; title, organization and description cannot be cleared."""

    id: Id = Field(None, description="A new list id (编号) for the entry; it must be free.")
    title: Required = None
    organization: Required = None
    field: Short | None = None
    district: Short | None = None
    description: LongRequired = None
    contact: Text | None = None
    phone: Text | None = None
    email: Text | None = None
    status: Status = Field(None, description=STATUS_DOC)
    extra: Extra | None = Field(None, description="Replaces all extra attributes; null clears them.")


class OpportunityUpdate(_EntryUpdate):
    requirements: Text | None = None
    budget_wan: Budget | None = None
    deadline: Deadline | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"requirements": "样本箱温控2-8℃；航线规划与空域报备", "budget_wan": 350}]})


class CapabilityUpdate(_EntryUpdate):
    maturity: Short | None = None
    cases: Text | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"maturity": "规模化应用"}]})


# -- entries: output -----------------------------------------------------------------------
class _EntryOut(BaseModel):
    id: str = Field(description="The list's own id (编号).")
    title: str
    organization: str
    field: str | None = None
    district: str | None = None
    description: str
    contact: str | None = None
    phone: str | None = Field(None, description=CONTACT_DOC)
    email: str | None = Field(None, description=CONTACT_DOC)
    status: Status = Field(description=STATUS_DOC)
    extra: dict[str, Any] = Field(default_factory=dict)
    updated_at: datetime


class OpportunityOut(_EntryOut):
    requirements: str | None = None
    budget_wan: float | None = None
    deadline: str | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "JH2026-041", "title": "医疗样本无人机转运", "organization": "无锡市第二人民医院",
        "field": "低空经济", "district": "梁溪区", "description": "院区之间的检验样本靠地面车辆转运……",
        "contact": "王老师", "status": "published", "extra": {}, "updated_at": "2026-03-01T08:00:00Z",
        "requirements": "样本箱温控2-8℃；航线规划与空域报备", "budget_wan": 300, "deadline": "2026-12-31"}]})


class CapabilityOut(_EntryOut):
    maturity: str | None = None
    cases: str | None = None
    review_note: str | None = Field(None, description="Why an organiser sent a firm's submission back; "
                                                      "shown to organisers, integrators and the firm.")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "NL2026-0081", "title": "Medical drone logistics", "organization": "Wuxi SkyCare Logistics",
        "field": "低空经济", "district": "新吴区", "description": "Hospital drone logistics with "
        "temperature-controlled specimen boxes…", "status": "published", "extra": {},
        "updated_at": "2026-03-01T08:00:00Z", "maturity": "试点应用"}]})


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Entries matching the filters, on all pages.")
    page: int
    per_page: int


# -- matching ------------------------------------------------------------------------------
class MatchDetail(BaseModel):
    dense: float = Field(description="Language-corrected cosine similarity of the two entries.")
    coverage: float = Field(description="Mean clipped similarity over the opportunity's requirements.")
    lexical: float = Field(description="BM25, scaled by the opportunity's best.")
    shared_terms: list[str]
    covered_requirements: list[str]
    same_field: bool


class MatchOut(BaseModel):
    id: str = Field(description="The other list's entry.")
    title: str
    organization: str
    score: float = Field(description="The fused score: dense + coverage + 0.1·lexical + 0.1·same field.")
    reasons: list[str] = Field(description="Why the pair is proposed, in the organisers' words (Chinese).")
    review: Literal["confirmed", "excluded"] | None = Field(
        None, description="An organiser's mark (已确认/已排除); shown to organisers and integrators only.")
    detail: MatchDetail


class MatchesOut(BaseModel):
    id: str
    list: ListName
    matches: list[MatchOut]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "JH2026-041", "list": "opportunities", "matches": [{
            "id": "NL2026-0081", "title": "Medical drone logistics", "organization": "Wuxi SkyCare Logistics",
            "score": 1.52, "reasons": ["需求覆盖 3/3：样本箱温控2-8℃；航线规划与空域报备", "同属领域：低空经济",
                                       "语义相似度 0.71（跨语言）"], "review": None,
            "detail": {"dense": 0.71, "coverage": 0.66, "lexical": 0.2, "shared_terms": [],
                       "covered_requirements": ["样本箱温控2-8℃"], "same_field": True}}]}]})


class SearchHit(BaseModel):
    id: str
    title: str
    organization: str
    field: str | None = None
    district: str | None = None
    score: float


class SearchOut(BaseModel):
    list: ListName
    q: str
    items: list[SearchHit]


# -- reviews -------------------------------------------------------------------------------
class ReviewIn(_In):
    opportunity: Id
    capability: Id
    mark: Literal["confirmed", "excluded", "clear"] = Field(
        description="confirmed (已确认: the pair stays on the opportunity's list and must meet at events), "
                    "excluded (已排除: never proposed again) or clear (remove the mark).")
    note: Note | None = None

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"opportunity": "JH2026-041", "capability": "NL2026-0084", "mark": "excluded",
         "note": "植保无人机，不能运送医疗样本"}]})


class ReviewOut(BaseModel):
    opportunity: str
    capability: str
    mark: Literal["confirmed", "excluded"] | None = Field(description="null once cleared.")
    note: str | None = None
    updated_at: datetime | None = None


# -- imports -------------------------------------------------------------------------------
class RejectedRow(BaseModel):
    row: int = Field(description="The row number as a spreadsheet program shows it.")
    column: str = Field(description="The column's English key, an extra column's header, or '' for the row.")
    reason: str = Field(description="Why, in Chinese as the import reports it.")


class ImportReportOut(BaseModel):
    created: int
    updated: int
    rejected: list[RejectedRow]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "created": 158, "updated": 2,
        "rejected": [{"row": 14, "column": "title", "reason": "必填项「场景名称」为空"}]}]})
