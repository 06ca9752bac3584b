"""Reading an edition's figures from the snapshot (`reports.bulletin.edition`)."""

from __future__ import annotations

import datetime as dt

from flows.settings import Settings
from reports.bulletin import edition
from warehouse.db import connect_read_only


def test_the_newest_edition_reads_the_summary_table_which_is_the_summary_as_of_its_month(
    demo_data_dir: Settings,
) -> None:
    snapshot = demo_data_dir.snapshot_path
    with connect_read_only(snapshot) as con:
        as_of = dt.date.fromisoformat(edition.latest_edition_period(con) + "-01")
        (newest,) = con.execute("SELECT max(period_date) FROM indicator_value").fetchone()
        assert newest <= as_of, "the demo's newest edition month holds its newest period"
        sql, params = edition._figures_query(con, as_of, ["E47000007"])
        assert "indicator_summary s" in sql and params == [["E47000007"]]
        table, macro = (
            con.execute(f"SELECT * FROM {source} ORDER BY indicator_id, geography_code").fetchall()
            for source in ("indicator_summary", f"indicator_summary_as_of(DATE '{as_of}')")
        )
        assert table == macro

        earlier = dt.date(newest.year - 1, 1, 1)
        sql, params = edition._figures_query(con, earlier, ["E47000007"])
        assert "indicator_summary_as_of(?)" in sql and params == [earlier, ["E47000007"]]
