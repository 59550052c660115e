"""Time slots and tables for the meetings of a matchmaking event (对接日程).

Each scenario owner keeps one table for the whole event and the suppliers walk from table
to table, so a meeting needs only a slot: the table is its scenario's. The rules: no
participant in two meetings in one slot, nobody placed in a slot they cannot make, as few
slots as possible (the last slot used is minimised). Ids are the caller's: any ints.

How it is solved, exactly wherever it can be:

- With no availability limits and no locked placements, the meetings form a bipartite
  graph, and by König's theorem its edges can be coloured with as many colours as the
  largest degree: the slots needed are exactly the most meetings anyone has. If that is
  more than the slots there are, a maximum flow first keeps the most meetings with nobody
  above the slot count (the rest are reported), then the colouring places them.
- Otherwise a greedy placement is tried first; if it places everything by the lower bound
  (everyone's k-th available slot, k their number of meetings) it is optimal, and if not
  CP-SAT improves it (most meetings placed, then the earliest last slot) within a time
  limit, keeping the greedy placement if it finds nothing better.

Nothing is dropped silently: a meeting that cannot be placed is in ``unplaced`` and its
cause, naming the participants and what to relax, is in ``problems``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow
from ortools.sat.python import cp_model

Pair = tuple[int, int]
Placement = tuple[int, int, int, int]  # scenario, supplier, slot, table
Unavailable = Mapping[int, Iterable[int]] | None

RELAX = "可增加时段、放宽不可用时段或减少对接"


@dataclass
class Schedule:
    """``placements`` (scenario, supplier, slot, table) sorted by slot then table;
    ``tables`` each placed scenario's table; ``status`` "optimal", "feasible" (a time limit
    stopped the search) or "heuristic" (the search found nothing better than greedy)."""

    placements: list[Placement]
    slots_used: int
    problems: list[str]
    unplaced: list[Pair]
    tables: dict[int, int] = field(default_factory=dict)
    status: str = "optimal"


class ReplacementError(ValueError):
    """A standby supplier cannot take the freed meeting; the message says why."""


# -- the event, checked -------------------------------------------------------------------------
@dataclass
class _Event:
    pairs: list[Pair]
    n_slots: int
    free_scenario: dict[int, set[int]]  # available slots, only for those with limits
    free_supplier: dict[int, set[int]]
    problems: list[str] = field(default_factory=list)

    def slots_of(self, side: dict[int, set[int]], who: int) -> set[int]:
        return side.get(who, set(range(self.n_slots)))

    def common(self, pair: Pair) -> set[int]:
        return self.slots_of(self.free_scenario, pair[0]) & self.slots_of(
            self.free_supplier, pair[1]
        )

    @property
    def limited(self) -> bool:
        return bool(self.free_scenario or self.free_supplier)


def _free(unavailable: Unavailable, n_slots: int) -> dict[int, set[int]]:
    out = {}
    for who, slots in (unavailable or {}).items():
        blocked = {int(s) for s in slots}
        if blocked & set(range(n_slots)):
            out[int(who)] = set(range(n_slots)) - blocked
    return out


def _checked_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    out = [(int(i), int(j)) for i, j in pairs]
    seen: set[Pair] = set()
    for pair in out:
        if pair in seen:
            raise ValueError(f"meeting {pair} is listed twice")
        seen.add(pair)
    return out


def _seat(pairs: list[Pair], n_tables: int) -> tuple[dict[int, int], list[str]]:
    """A table for each scenario; when there are too few, the scenarios with the most meetings
    get one (ties: lower id) and the others are reported."""
    count: dict[int, int] = defaultdict(int)
    for i, _ in pairs:
        count[i] += 1
    ranked = sorted(count, key=lambda i: (-count[i], i))
    seated = sorted(ranked[: max(n_tables, 0)])
    left = sorted(ranked[max(n_tables, 0) :])
    problems = []
    if left:
        names = "、".join(f"需求方 {i}" for i in left)
        problems.append(
            f"场景数 {len(count)} 超过桌数 {n_tables}：{names} 没有桌位，其 "
            f"{sum(count[i] for i in left)} 场对接未排入；可增加桌数或减少场景"
        )
    return {i: t for t, i in enumerate(seated)}, problems


def _overloads(event: _Event, pairs: list[Pair]) -> list[str]:
    """Everyone with more meetings than slots they can make."""
    problems = []
    for side, name, key in ((event.free_scenario, "需求方", 0), (event.free_supplier, "能力", 1)):
        degree: dict[int, int] = defaultdict(int)
        for pair in pairs:
            degree[pair[key]] += 1
        for who in sorted(degree):
            slots = len(event.slots_of(side, who))
            if degree[who] > slots:
                limit = f"可用时段数 {slots}" if who in side else f"时段数 {slots}"
                problems.append(
                    f"{name} {who} 的对接数 {degree[who]} 超过{limit}；可增加时段或减少其对接"
                )
    return problems


def _checked_locks(
    event: _Event, locked: Mapping[Pair, int] | None, tables: dict[int, int]
) -> dict[Pair, int]:
    """The locks that can hold; each one that cannot is reported and its meeting placed
    freely instead."""
    good: dict[Pair, int] = {}
    taken: dict[tuple[str, int, int], Pair] = {}
    known = set(event.pairs)
    for (i, j), slot in (locked or {}).items():
        pair, slot = (int(i), int(j)), int(slot)
        why = None
        if pair not in known:
            why = "该对接不在对接名单中"
        elif i not in tables:
            why = f"需求方 {i} 没有桌位"
        elif not 0 <= slot < event.n_slots:
            why = f"时段 {slot} 超出时段范围 0–{event.n_slots - 1}"
        elif slot not in event.common(pair):
            why = f"时段 {slot} 有一方不可用"
        else:
            clash = taken.get(("s", i, slot)) or taken.get(("p", j, slot))
            if clash:
                why = f"与锁定的对接 {clash} 在同一时段冲突"
        if why:
            event.problems.append(
                f"需求方 {i} 与能力 {j} 锁定在时段 {slot} 无法满足：{why}"
                + ("；已改为自由安排" if pair in known and i in tables else "")
            )
            continue
        good[pair] = slot
        taken[("s", i, slot)] = taken[("p", j, slot)] = pair
    return good


# -- solving ------------------------------------------------------------------------------------
def _within_degree(pairs: list[Pair], k: int) -> list[Pair]:
    """The most meetings with nobody in more than ``k`` (a maximum flow)."""
    scenarios = sorted({i for i, _ in pairs})
    suppliers = sorted({j for _, j in pairs})
    si = {i: n for n, i in enumerate(scenarios)}
    pj = {j: len(scenarios) + n for n, j in enumerate(suppliers)}
    source, sink = len(scenarios) + len(suppliers), len(scenarios) + len(suppliers) + 1
    flow = SimpleMinCostFlow()
    tails = [source] * len(scenarios) + [si[i] for i, _ in pairs] + [pj[j] for j in suppliers]
    heads = list(range(len(scenarios))) + [pj[j] for _, j in pairs] + [sink] * len(suppliers)
    caps = [k] * len(scenarios) + [1] * len(pairs) + [k] * len(suppliers)
    flow.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, np.int32),
        np.array(heads, np.int32),
        np.array(caps, np.int64),
        np.zeros(len(caps), np.int64),
    )
    flow.set_node_supply(source, len(pairs))
    flow.set_node_supply(sink, -len(pairs))
    flow.solve_max_flow_with_min_cost()
    used = flow.flows(np.arange(len(scenarios), len(scenarios) + len(pairs)))
    return [pair for pair, f in zip(pairs, used) if f > 0]


def _edge_colouring(pairs: list[Pair]) -> dict[Pair, int]:
    """A slot per meeting using exactly max-degree slots (König): each new meeting takes a
    slot free for its scenario; if its supplier is busy then, the two slots are swapped along
    the alternating path from the supplier, which cannot reach the scenario."""
    at: dict[tuple[int, int], dict[int, tuple[int, int]]] = defaultdict(dict)
    for i, j in pairs:
        u, v = (0, i), (1, j)
        a = _first_free(at[u])
        if a in at[v]:
            _swap_path(at, v, a, _first_free(at[v]))
        at[u][a], at[v][a] = v, u
    return {
        (i, j): slot
        for (side, i), slots in at.items()
        if side == 0
        for slot, (_, j) in slots.items()
    }


def _first_free(used: dict[int, tuple[int, int]]) -> int:
    slot = 0
    while slot in used:
        slot += 1
    return slot


def _swap_path(at: dict, start: tuple[int, int], a: int, b: int) -> None:
    path = []
    node, colour = start, a
    while colour in at[node]:
        nxt = at[node][colour]
        path.append((node, nxt, colour))
        node, colour = nxt, b if colour == a else a
    for x, y, colour in path:
        del at[x][colour], at[y][colour]
    for x, y, colour in path:
        other = b if colour == a else a
        at[x][other], at[y][other] = y, x


def _greedy(event: _Event, pairs: list[Pair], locked: dict[Pair, int]) -> dict[Pair, int]:
    """Locks first, then the most constrained meetings, each in its earliest possible slot."""
    busy: set[tuple[int, int, int]] = set()
    slots: dict[Pair, int] = {}
    for (i, j), s in locked.items():
        slots[(i, j)] = s
        busy |= {(0, i, s), (1, j, s)}
    degree: dict[tuple[int, int], int] = defaultdict(int)
    for i, j in pairs:
        degree[(0, i)] += 1
        degree[(1, j)] += 1
    rest = [p for p in pairs if p not in locked]
    rest.sort(key=lambda p: (len(event.common(p)), -degree[(0, p[0])] - degree[(1, p[1])], p))
    for i, j in rest:
        for s in sorted(event.common((i, j))):
            if (0, i, s) not in busy and (1, j, s) not in busy:
                slots[(i, j)] = s
                busy |= {(0, i, s), (1, j, s)}
                break
    return slots


def _lower_bound(event: _Event, pairs: list[Pair]) -> int:
    """No schedule placing every meeting ends before anyone's k-th available slot."""
    bound = 0
    for side, key in ((event.free_scenario, 0), (event.free_supplier, 1)):
        degree: dict[int, int] = defaultdict(int)
        for pair in pairs:
            degree[pair[key]] += 1
        for who, k in degree.items():
            slots = sorted(event.slots_of(side, who))
            if k <= len(slots):
                bound = max(bound, slots[k - 1] + 1)
    return bound


def _cp_sat(
    event: _Event,
    pairs: list[Pair],
    locked: dict[Pair, int],
    hint: dict[Pair, int],
    time_limit: float,
) -> tuple[dict[Pair, int] | None, bool]:
    """Most meetings placed, then the earliest last slot: (slots or None, proven optimal)."""
    model = cp_model.CpModel()
    last = model.new_int_var(0, event.n_slots, "last")
    x: dict[tuple[Pair, int], cp_model.IntVar] = {}
    for pair in pairs:
        options = [locked[pair]] if pair in locked else sorted(event.common(pair))
        for s in options:
            x[(pair, s)] = var = model.new_bool_var(f"{pair}@{s}")
            model.add(last >= s + 1).only_enforce_if(var)
            model.add_hint(var, hint.get(pair) == s)
        if pair in locked:
            model.add_exactly_one(x[(pair, s)] for s in options)
        else:
            model.add_at_most_one(x[(pair, s)] for s in options)
    busy: dict[tuple[int, int, int], list] = defaultdict(list)
    for ((i, j), s), var in x.items():
        busy[(0, i, s)].append(var)
        busy[(1, j, s)].append(var)
    for group in busy.values():
        if len(group) > 1:
            model.add_at_most_one(group)
    model.add_hint(last, max(hint.values(), default=-1) + 1)
    model.maximize((event.n_slots + 1) * cp_model.LinearExpr.sum(list(x.values())) - last)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = 8
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    chosen = {pair: s for (pair, s), var in x.items() if solver.boolean_value(var)}
    return chosen, status == cp_model.OPTIMAL


def _place(
    event: _Event, pairs: list[Pair], locked: dict[Pair, int], time_limit: float
) -> tuple[dict[Pair, int], str]:
    if not event.limited and not locked:
        kept = (
            pairs if _max_degree(pairs) <= event.n_slots else _within_degree(pairs, event.n_slots)
        )
        return _edge_colouring(kept), "optimal"
    greedy = _greedy(event, pairs, locked)
    if len(greedy) == len(pairs) and max(greedy.values(), default=-1) + 1 <= _lower_bound(
        event, pairs
    ):
        return greedy, "optimal"
    found, proven = _cp_sat(event, pairs, locked, greedy, time_limit)
    if found is None or _worse(found, greedy):
        return greedy, "heuristic"
    return found, "optimal" if proven else "feasible"


def _worse(a: dict[Pair, int], b: dict[Pair, int]) -> bool:
    return (len(a), -max(a.values(), default=-1)) < (len(b), -max(b.values(), default=-1))


def _max_degree(pairs: list[Pair]) -> int:
    degree: dict[tuple[int, int], int] = defaultdict(int)
    for i, j in pairs:
        degree[(0, i)] += 1
        degree[(1, j)] += 1
    return max(degree.values(), default=0)


# -- why a meeting is left out ------------------------------------------------------------------
def _why_unplaced(event: _Event, pair: Pair, busy: dict[tuple[int, int], set[int]]) -> str:
    i, j = pair
    common = event.common(pair)
    head = f"需求方 {i} 与能力 {j} 的对接未排入："
    if not common:
        return head + f"双方没有共同的可用时段；{RELAX}"
    scenario_busy, supplier_busy = busy.get((0, i), set()), busy.get((1, j), set())
    if common <= supplier_busy:
        cause = (
            f"能力 {j} 在所有可用时段都已排满"
            if common == event.slots_of(event.free_supplier, j)
            else f"能力 {j} 在双方共同可用的时段都已排满"
        )
    elif common <= scenario_busy:
        cause = (
            f"需求方 {i} 在所有可用时段都已排满"
            if common == event.slots_of(event.free_scenario, i)
            else f"需求方 {i} 在双方共同可用的时段都已排满"
        )
    else:
        shown = "、".join(str(s) for s in sorted(common))
        cause = f"双方共同可用的时段（{shown}）中，每个时段总有一方已有对接"
    return head + f"{cause}；{RELAX}"


# -- the public functions -----------------------------------------------------------------------
def schedule(
    pairs: Iterable[Pair],
    *,
    n_slots: int,
    n_tables: int,
    unavailable_scenario: Unavailable = None,
    unavailable_supplier: Unavailable = None,
    locked: Mapping[Pair, int] | None = None,
    time_limit: float = 10.0,
) -> Schedule:
    """A slot and table for each meeting (scenario i, supplier j). ``unavailable_*`` map a
    participant to the slots they cannot make; ``locked`` pins a meeting to a slot.
    ``time_limit`` bounds the CP-SAT search, in seconds."""
    pairs = _checked_pairs(pairs)
    n_slots = max(int(n_slots), 0)
    event = _Event(
        pairs, n_slots, _free(unavailable_scenario, n_slots), _free(unavailable_supplier, n_slots)
    )
    tables, event.problems = _seat(pairs, int(n_tables))
    seated = [p for p in pairs if p[0] in tables]
    event.problems += _overloads(event, seated)
    locks = _checked_locks(event, locked, tables)
    slots, status = _place(event, seated, locks, time_limit)
    unplaced = [p for p in pairs if p not in slots]
    busy: dict[tuple[int, int], set[int]] = defaultdict(set)
    for (i, j), s in slots.items():
        busy[(0, i)].add(s)
        busy[(1, j)].add(s)
    event.problems += [_why_unplaced(event, p, busy) for p in seated if p not in slots]
    placements = sorted(
        ((i, j, s, tables[i]) for (i, j), s in slots.items()), key=lambda p: (p[2], p[3])
    )
    return Schedule(
        placements, max(slots.values(), default=-1) + 1, event.problems, unplaced, tables, status
    )


def check_schedule(
    schedule: Schedule,
    *,
    n_slots: int | None = None,
    n_tables: int | None = None,
    unavailable_scenario: Unavailable = None,
    unavailable_supplier: Unavailable = None,
    pairs: Iterable[Pair] | None = None,
) -> list[str]:
    """Every clash in a schedule, found from its placements alone: a participant or a table
    twice in a slot, a scenario at two tables or two scenarios at one, a slot or table out of
    range, a participant placed when unavailable; with ``pairs``, any meeting neither placed
    nor listed as unplaced, or placed twice. Empty when the schedule is sound."""
    clashes: list[str] = []
    seen: dict[tuple[str, int, int], tuple[int, int]] = {}
    table_of: dict[int, int] = {}
    owner_of: dict[int, int] = {}
    for i, j, slot, table in schedule.placements:
        for key, name in (
            (("需求方", i, slot), f"需求方 {i}"),
            (("能力", j, slot), f"能力 {j}"),
            (("桌", table, slot), f"桌 {table}"),
        ):
            if key in seen:
                clashes.append(f"{name} 在时段 {slot} 有两场对接：{seen[key]} 与 {(i, j)}")
            seen[key] = (i, j)
        if table_of.setdefault(i, table) != table:
            clashes.append(f"需求方 {i} 换了桌：桌 {table_of[i]} 与桌 {table}")
        if owner_of.setdefault(table, i) != i:
            clashes.append(f"桌 {table} 分给了两个需求方：{owner_of[table]} 与 {i}")
        if n_slots is not None and not 0 <= slot < n_slots:
            clashes.append(f"对接 {(i, j)} 的时段 {slot} 超出范围 0–{n_slots - 1}")
        if n_tables is not None and not 0 <= table < n_tables:
            clashes.append(f"对接 {(i, j)} 的桌 {table} 超出范围 0–{n_tables - 1}")
        for side, who, name in (
            (unavailable_scenario, i, "需求方"),
            (unavailable_supplier, j, "能力"),
        ):
            if side and slot in set(side.get(who, ())):
                clashes.append(f"{name} {who} 在时段 {slot} 不可用，却安排了对接 {(i, j)}")
    if pairs is not None:
        clashes += _accounting(schedule, pairs)
    return clashes


def _accounting(schedule: Schedule, pairs: Iterable[Pair]) -> list[str]:
    placed = Counter((i, j) for i, j, _, _ in schedule.placements)
    out = [f"对接 {p} 被安排了不止一次" for p in sorted(p for p, n in placed.items() if n > 1)]
    listed = set(placed) | set(schedule.unplaced)
    out += [f"对接 {p} 既未排入也未列为未排入" for p in pairs if tuple(p) not in listed]
    return out


def replace_supplier(
    schedule: Schedule,
    i: int,
    old_j: int,
    new_j: int,
    *,
    unavailable_supplier: Unavailable = None,
    capacity: int | None = None,
) -> Schedule:
    """A published schedule with supplier ``old_j``'s meeting with scenario ``i`` handed to
    ``new_j`` (a standby), in the same slot at the same table; nobody else moves. Raises
    ``ReplacementError`` saying why when ``new_j`` cannot take it."""
    where = [n for n, (a, b, _, _) in enumerate(schedule.placements) if (a, b) == (i, old_j)]
    if not where:
        raise ReplacementError(f"需求方 {i} 与能力 {old_j} 的对接不在日程中，无从替换")
    _, _, slot, table = schedule.placements[where[0]]
    mine = [(a, s) for a, b, s, _ in schedule.placements if b == new_j]
    if new_j == old_j or any(a == i for a, _ in mine) or (i, new_j) in schedule.unplaced:
        raise ReplacementError(f"能力 {new_j} 已与需求方 {i} 有对接")
    busy = [a for a, s in mine if s == slot]
    if busy:
        raise ReplacementError(f"能力 {new_j} 在时段 {slot} 已有对接（与需求方 {busy[0]}）")
    if unavailable_supplier and slot in set(unavailable_supplier.get(new_j, ())):
        raise ReplacementError(f"能力 {new_j} 在时段 {slot} 不可用")
    if capacity is not None and len(mine) >= capacity:
        raise ReplacementError(f"能力 {new_j} 已有 {len(mine)} 场对接，达到对接上限 {capacity}")
    placements = list(schedule.placements)
    placements[where[0]] = (i, new_j, slot, table)
    return replace(
        schedule,
        placements=placements,
        problems=list(schedule.problems),
        unplaced=list(schedule.unplaced),
        tables=dict(schedule.tables),
    )
