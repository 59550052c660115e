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
        if opportunity is not None:
            if not service.has("opportunity", opportunity):
                return "", f"没有编号为 {opportunity} 的场景机会（或它还未向量化）"
            found = service.for_opportunity(session, opportunity, top, filters)
            if as_json:
                return json.dumps({"opportunity": opportunity, "matches": [p.as_json(CAP_KEY) for p in found]},
                                  ensure_ascii=False), None
            return _text(f"场景机会 {opportunity} 的最佳能力匹配：", found), None
        if capability is not None:
            if not service.has("capability", capability):
                return "", f"没有编号为 {capability} 的场景能力（或它还未向量化）"
            found = service.for_capability(session, capability, top, filters)
            if as_json:
                return json.dumps({"capability": capability, "matches": [p.as_json(OPP_KEY) for p in found]},
                                  ensure_ascii=False), None
            return _text(f"场景能力 {capability} 可服务的场景机会：", found), None
        everything = {ext: service.for_opportunity(session, ext, top, filters)
                      for ext in service.published("opportunity")}
    if as_json:
        return json.dumps({ext: [p.as_json(CAP_KEY) for p in found] for ext, found in everything.items()},
                          ensure_ascii=False), None
    return "\n\n".join(_text(f"场景机会 {ext}：", found) for ext, found in everything.items()), None
