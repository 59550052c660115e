"""``scenario-match event plan``: create an event, plan it, print the contract JSON or a summary."""
from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from service import audit, events
from service.context import Context
from service.event_export import slot_time, write_workbook
from service.models import Event, Opportunity, Status


def run_event_plan(context: Context, *, name: str, opportunities: str, per_opportunity: int,
                   max_per_supplier: int, slots: int, tables: int, min_score: float | None, fair: bool,
                   out: Path | None, as_json: bool) -> tuple[str, str | None]:
    if out is not None and out.suffix.lower() != ".xlsx":
        return "", f"--out 应为 .xlsx 文件，收到的是 {out}"
    matches = context.matches  # built before the session below, so both see the same data
    with context.session() as session:
        published = session.exec(select(Opportunity).where(Opportunity.status == Status.published)).all()
        by_ext = {o.ext_id: o for o in published}
        if opportunities.strip().lower() == "all":
            chosen = list(by_ext.values())
        else:
            wanted = [w.strip() for w in opportunities.split(",") if w.strip()]
            missing = [w for w in wanted if w not in by_ext]
            if missing:
                return "", f"没有这些已发布的场景机会：{'、'.join(missing)}"
            chosen = [by_ext[w] for w in dict.fromkeys(wanted)]
        if not chosen:
            return "", "没有可参加活动的已发布场景机会"
        event = events.create(session, name=name, opportunity_ids=[o.id for o in chosen], slots=slots,
                              tables=tables, per_opportunity=per_opportunity,
                              max_per_supplier=max_per_supplier, min_score=min_score, fair=fair)
        plan = events.plan(context, session, event)
        _audit(session, event, plan, len(chosen))
        if out is not None:
            write_workbook(session, plan, str(out))
    del matches
    if as_json:
        return json.dumps(plan.as_json(), ensure_ascii=False), None
    return _summary(plan), None


def _audit(session, event: Event, plan: events.Plan, scenarios: int) -> None:
    """The command line creates and plans in one go: both are in the audit log, as ``cli``."""
    rules = ["name", "slots", "tables", "per_opportunity", "max_per_supplier", "min_score", "fair"]
    audit.record(session, actor="cli", action="event.create", kind="event", target=str(event.id),
                 changes={**audit.snapshot(event, rules), "opportunities": scenarios}, commit=False)
    audit.record(session, actor="cli", action="event.plan", kind="event", target=str(event.id),
                 changes={"meetings": [0, len(plan.meetings)],
                          "placed": sum(1 for m in plan.meetings if m["slot"] is not None),
                          "unmet": len({u["opportunity"] for u in plan.unmet})})
    session.refresh(event)  # the plan is printed after the session closes


def _summary(plan: events.Plan) -> str:
    e = plan.event
    placed = [m for m in plan.meetings if m["slot"] is not None]
    lines = [f"活动「{e.name}」（编号 {e.id}）：{len(plan.meetings)} 场对接，{len(placed)} 场已排入日程，"
             f"总匹配分 {plan.total_score:.2f}（逐个取前 {e.per_opportunity} 的贪心法：{plan.greedy_score:.2f}）"]
    for m in placed[:20]:
        lines.append(f"  第 {m['slot'] + 1} 时段 {slot_time(e, m['slot'])} {m['table'] + 1} 号桌："
                     f"{m['opportunity']} ↔ {m['capability']}（{m['score']:.3f}）")
    if len(placed) > 20:
        lines.append(f"  …… 其余 {len(placed) - 20} 场见 --out 工作簿或 --json")
    for item in plan.unmet:
        lines.append(f"  未满足 {item['opportunity']}：{item['reason']}")
    for problem in plan.problems:
        lines.append(f"  问题：{problem}")
    return "\n".join(lines)
