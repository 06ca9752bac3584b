"""The Levelling Up Fund against need, and IoD 2019 beside IoD 2025, from the snapshot built from the
indicator fixtures (tests/fixture_publishers.py: the round 1 and 2 ODS lists, the rounds 1 to 3
workbook's round 3, the round 2 priority categories, mid-year populations), worked out by hand.

Categories: Birmingham 1, Coventry 2, Dudley 1, Sandwell 1, Solihull 3, Walsall 1, Wolverhampton 1
(the fixture's list names the WMCA councils only, so "England" is these seven here).
Residents, all ages, mid-2023 (the earliest estimate the fixture has): 1,130,000; 340,000; 320,000;
335,000; 214,000; 283,000; 260,000.
Round 1 (2021): Birmingham 20,000,000, Sandwell 10,000,000, Wolverhampton 12,000,000 + 8,000,000, the
WMCA itself 30,000,000 (no council's). Round 2 (2023): Birmingham 19,500,000, Coventry "£12,000,000",
Walsall 11,400,000, Wolverhampton 15,000,000. Round 3 (2023): Birmingham 15,000,000, Sandwell 8,000,000.
"""

from __future__ import annotations

import pytest

from flows.settings import Settings
from tests.fixture_publishers import summary
from warehouse.db import connect_read_only
from warehouse.levelling_up import funding_against_need

WMCA = "E47000007"
CATEGORY_1_RESIDENTS = 1_130_000 + 320_000 + 335_000 + 283_000 + 260_000  # 2,328,000
ALL_RESIDENTS = CATEGORY_1_RESIDENTS + 340_000 + 214_000  # 2,882,000


@pytest.fixture(scope="module")
def funding(indicator_settings: Settings):
    with connect_read_only(indicator_settings.snapshot_path) as con:
        return funding_against_need(con)


def test_total_per_head_by_priority_category(funding) -> None:
    """Category 1: (54,500,000 + 0 + 18,000,000 + 11,400,000 + 35,000,000) / 2,328,000 = £51.07;
    category 2: 12,000,000 / 340,000 = £35.29; category 3: Solihull, no bid, £0."""
    result = funding
    assert result.focus == WMCA
    one = result.group(WMCA, 1)
    assert (one.councils, one.councils_counted) == (5, 5)
    assert one.allocation == 118_900_000 and one.population == CATEGORY_1_RESIDENTS
    assert one.per_head == pytest.approx(118_900_000 / 2_328_000)
    assert result.group(WMCA, 2).per_head == pytest.approx(12_000_000 / 340_000)
    three = result.group(WMCA, 3)
    assert (three.councils, three.allocation, three.per_head) == (1, 0, 0)
    everyone = result.group(WMCA, None)
    assert everyone.councils == 7
    assert everyone.per_head == pytest.approx(130_900_000 / ALL_RESIDENTS)
    assert result.group("england", None) == everyone.__class__(**{**vars(everyone), "scope": "england"})


def test_by_round(funding) -> None:
    """Round 2, category 1: (19,500,000 + 11,400,000 + 15,000,000) / 2,328,000; round 3 all:
    23,000,000 / 2,882,000. Round 1 (2021) has no population estimate in force (the fixture starts
    in 2023): no council is counted and there is no figure, rather than a later year's."""
    result = funding
    assert result.group(WMCA, 1, "round2").per_head == pytest.approx(45_900_000 / 2_328_000)
    assert result.group(WMCA, None, "round3").per_head == pytest.approx(23_000_000 / 2_882_000)
    first = result.group(WMCA, 1, "round1")
    assert (first.councils, first.councils_counted, first.population, first.per_head) == (5, 0, None, None)


def test_a_combined_authority_bid_is_credited_to_no_council(funding) -> None:
    result = funding
    assert [(n.code, n.round, n.allocation) for n in result.not_attributed] == [(WMCA, "round1", 30_000_000)]
    assert result.without_population == ()


def test_deprivation_ranks_2019_and_2025(indicator_settings: Settings) -> None:
    """IoD 2019: Birmingham 7, Solihull 200; IoD 2025 (real): 5 and 173, as published."""
    for code, before, after in (("E08000025", 7, 5), ("E08000029", 200, 173), ("E08000028", None, 19)):
        if before is not None:
            assert summary(indicator_settings, "imd_rank", code)["value"] == before
        assert summary(indicator_settings, "imd_2025_rank", code)["value"] == after
