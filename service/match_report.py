"""``scenario-match match``: matches in the CLI's JSON contract or as readable text."""
from __future__ import annotations

import json

from service.context import Context
from service.matches import Filters, Proposal
from service.models import Status

CAP_KEY, OPP_KEY = "capability", "opportunity"


def _text(title: str, proposals: list[Proposal]) -> str:
    lines = [title]
    for rank, p in enumerate(proposals, 1):
        mark = {"confirmed": " [已确认]", "excluded": " [已排除]"}.get(p.review or "", "")
        lines.append(f"{rank:>3}. {p.other}  {p.score:.3f}{mark}  " + " | ".join(p.reasons))
    return "\n".join(lines)


def run_match(context: Context, *, opportunity: str | None, capability: str | None, all_: bool,
              top: int, field: str | None, district: str | None, statuses: tuple[Status, ...],
              as_json: bool) -> tuple[str, str | None]:
    """Returns (output, problem); a problem names what the user asked for that does not exist."""
    service = context.matches
    filters = Filters(field=field, district=district, statuses=statuses)
    with context.session() as session:
        for kind, ext, other, title in (("opportunity", opportunity, CAP_KEY, "场景机会 {} 的最佳能力匹配："),
                                        ("capability", capability, OPP_KEY, "场景能力 {} 可服务的场景机会：")):
            if ext is None:
                continue
            if not service.has(kind, ext):
                noun = "场景机会" if kind == "opportunity" else "场景能力"
                return "", f"没有编号为 {ext} 的{noun}（或它还未向量化）"
            ranked = service.for_opportunity if kind == "opportunity" else service.for_capability
            found = ranked(session, ext, top, filters)
            if as_json:
                return json.dumps({kind: ext, "matches": [p.as_json(other) for p in found]},
                                  ensure_ascii=False), None
            return _text(title.format(ext), found), None
        everything = {ext: service.for_opportunity(session, ext, top, filters)
                      for ext in service.published("opportunity")}
    if as_json:
        return json.dumps({ext: [p.as_json(CAP_KEY) for p in found] for ext, found in everything.items()},
                          ensure_ascii=False), None
    return "\n\n".join(_text(f"场景机会 {ext}：", found) for ext, found in everything.items()), None
