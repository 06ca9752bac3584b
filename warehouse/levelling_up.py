"""Has the Levelling Up Fund gone to the areas most in need? Allocation per head by round and in total,
by priority category, for England and for the focus area's councils. (The councils' deprivation ranks
in IoD 2019 and 2025 are indicators of the registry, `imd_rank` and `imd_2025_rank`.)

Read from a warehouse or snapshot connection. A group's figure is the sum of its councils' awards over
the sum of their residents (never a mean of councils' rates), over the councils that have a population
estimate in the warehouse: the population dataset is fetched for the area set's councils, so with the
West Midlands area set "England" is the councils of that set, not all 296 (`councils_counted` beside
`councils` says how many; the `england` area file fetches every English council). A council that led
no successful bid counts £0. Bids credited to no council of the category list (a combined authority,
a county, a council the list does not name) are in `not_attributed`, not in any group.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from warehouse.db import query

COUNCIL_FUNDING = query("levelling_up/council_funding")
NOT_ATTRIBUTED = query("levelling_up/not_attributed")
FOCUS_MEMBERS = query("levelling_up/focus_members")
FOCUS_AREA = query("summaries/focus_area")
ROUNDS = ("round1", "round2", "round3", "total")
CATEGORIES = (1, 2, 3, None)  # None: every category
ENGLAND = "england"


@dataclass(frozen=True)
class FundingGroup:
    scope: str  # "england", or the focus area's code (its member councils)
    category: int | None  # the priority category, 1 (most need) to 3; None for all councils
    round: str  # round1, round2, round3 or total
    councils: int  # councils of the scope in the category
    councils_counted: int  # of which the warehouse has a population for (the figure's councils)
    allocation: float | None  # £ awarded to the councils counted; None if one of their bids has no value
    population: float | None  # their residents, all ages, in force at the round
    per_head: float | None  # allocation / population


@dataclass(frozen=True)
class NotAttributed:
    code: str
    name: str
    round: str
    allocation: float | None


@dataclass(frozen=True)
class LevellingUpFunding:
    focus: str  # the focus area's code
    groups: tuple[FundingGroup, ...]
    not_attributed: tuple[NotAttributed, ...]
    without_population: tuple[str, ...]  # English councils of the category list with no population

    def group(self, scope: str, category: int | None, round: str = "total") -> FundingGroup:
        return next(g for g in self.groups if (g.scope, g.category, g.round) == (scope, category, round))


@dataclass(frozen=True)
class _CouncilRound:
    code: str
    name: str
    category: int
    round: str
    allocation: float | None
    population: float | None


def funding_against_need(con: duckdb.DuckDBPyConnection) -> LevellingUpFunding:
    """Every (scope, category, round) group: England's councils and the focus area's, categories 1,
    2, 3 and all, rounds 1, 2, 3 and the total."""
    rows = [_CouncilRound(*row) for row in con.execute(COUNCIL_FUNDING).fetchall()]
    members = {code for (code,) in con.execute(FOCUS_MEMBERS).fetchall()}
    focus = con.execute(FOCUS_AREA).fetchone()
    focus_code = focus[0] if focus else ""
    groups = []
    for scope in (ENGLAND, focus_code):
        in_scope = [r for r in rows if scope == ENGLAND or r.code in members]
        for category in CATEGORIES:
            for round_name in ROUNDS:
                chosen = [
                    r
                    for r in in_scope
                    if r.round == round_name and (category is None or r.category == category)
                ]
                groups.append(_group(scope, category, round_name, chosen))
    not_attributed = tuple(NotAttributed(*row) for row in con.execute(NOT_ATTRIBUTED).fetchall())
    without = tuple(sorted({r.code for r in rows if r.round == "total" and r.population is None}))
    return LevellingUpFunding(focus_code, tuple(groups), not_attributed, without)


def _group(scope: str, category: int | None, round_name: str, rows: list[_CouncilRound]) -> FundingGroup:
    counted = [r for r in rows if r.population is not None]
    population = sum(r.population for r in counted) if counted else None
    allocation = None if any(r.allocation is None for r in counted) else sum(r.allocation for r in counted)
    per_head = allocation / population if allocation is not None and population else None
    return FundingGroup(
        scope, category, round_name, len(rows), len(counted), allocation, population, per_head
    )
