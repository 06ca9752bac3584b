"""figures.json holds exactly the numbers the edition prints: none printed that it lacks, none it
holds that is printed nowhere, each with the sign it is printed with."""

from __future__ import annotations

import html as html_lib
import json
import re
from collections import Counter
from pathlib import Path

from reports.bulletin import format as fmt

# A figure as printed: an optional sign and £, digits with thousands separators, decimals, a %.
NUMBER = re.compile(r"[−+]?£?\d+(?:,\d{3})*(?:\.\d+)?%?")
# Words around numbers that are part of a definition, not figures of the edition.
DEFINITIONS = re.compile(
    r"aged 16 and over|16 to 64|16 to 24|18 to 24|10,000 residents|95% confidence interval|95%|12 months|"
    r"rounds 1 to 3|1 is most need|1 being the most (?:in need|deprived)( of 317)?|out of 10|"
    r"February 2020 = 100|Feb 2020|Figure \d+|figure \d+|category \d(?= \()|\(\d+\)$|: \d+ tables|"
    r"per (?:100,000|1,000|million)|level 3|at age 11|\d+\. (?=[A-Z])"
)
PERIOD_YEAR = re.compile(r"^(?:19|20)\d\d$")


def _printed(page: str) -> str:
    """The text of the edition's words and tables: main points, the dashboard, the sections'
    readings and tables, the annex and the changes, without the charts (their numbers come from the
    series behind them, listed in their CSVs) and without the sources, definitions and glossary."""
    main = page[page.index('id="main-points"') : page.index("</main>")]
    main = re.sub(r"<figure.*?</figure>", " ", main, flags=re.S)
    main = re.sub(
        r'<section aria-labelledby="(strengths|sources|glossary)".*?</section>', " ", main, flags=re.S
    )
    main = re.sub(r"<caption>.*?</caption>|<thead>.*?</thead>", " ", main, flags=re.S)
    main = re.sub(r'<p class="note">.*?</p>', " ", main, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", main))


def _core(number: str) -> str:
    return number.lstrip("−+").lstrip("£").rstrip("%")


def _numbers(text: str) -> Counter:
    text = DEFINITIONS.sub(" ", text)
    return Counter(
        core for n in NUMBER.findall(text) if not PERIOD_YEAR.match(core := _core(n)) and core != ""
    )


def test_every_printed_number_is_in_figures_json_and_every_entry_is_printed(demo_edition: Path) -> None:
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    printed = _numbers(_printed((demo_edition / "index.html").read_text()))
    held = Counter()
    unprinted = []
    for entry in sidecar["figures"]:
        if entry["display"] == fmt.MISSING:
            continue
        numbers = _numbers(entry["display"])
        held.update(numbers)
        if any(n not in printed for n in numbers):
            unprinted.append((entry["indicator"], entry["area"], entry["measure"], entry["display"]))
    assert len(printed) > 100
    assert sorted(set(printed) - set(held)) == [], "printed but not in figures.json"
    assert unprinted == [], "in figures.json but printed nowhere"


def test_signs_in_figures_json_are_as_printed(demo_edition: Path) -> None:
    """A fall is negative both in the value and in its display."""
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    signed = [
        e
        for e in sidecar["figures"]
        if e["measure"].startswith(("change", "gap")) and isinstance(e["value"], int | float)
    ]
    assert len(signed) > 50
    for entry in signed:
        printed_zero = set(re.sub(r"\D", "", entry["display"].split("(")[0])) <= {"0"}
        negative = entry["value"] < 0 and not printed_zero
        assert entry["display"].startswith("−") == negative, entry


def test_each_entry_names_its_period_its_datasets_and_the_publishers_release(demo_edition: Path) -> None:
    sidecar = json.loads((demo_edition / "figures.json").read_text())
    figures = [e for e in sidecar["figures"] if e["basis"] != "derived" and e["measure"] != "revision"]
    labels = {(e["indicator"], e["period_label"]) for e in figures}
    assert ("employment_rate", "12 months to June 2026") in labels
    assert ("life_satisfaction", "April 2025 to March 2026") in labels
    # Computed indicators name every dataset they are drawn from.
    rate = next(e for e in figures if e["indicator"] == "claimant_rate")
    assert rate["source_dataset"] == "claimant_count"
    assert rate["source_datasets"] == ["claimant_count", "population"]
    # Nomis states no release date: the ONS release calendar's labour market release gives it.
    assert rate["release_date"] == "2026-11-10"
    sources = {s["dataset"]: s["release_date"] for s in sidecar["sources"]}
    for entry in figures:
        stated = [sources[d] for d in entry["source_datasets"] if sources.get(d)]
        assert entry["release_date"] == (stated[0] if stated else None), entry
