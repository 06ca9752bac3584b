-- ONS's own combined-authority figure that an indicator's computed figure for a combined authority
-- is checked against (ONS Explore Local Statistics publishes them, with intervals): its dataset and
-- series, NULL where there is none.
ALTER TABLE indicator ADD COLUMN ons_check_dataset VARCHAR;
ALTER TABLE indicator ADD COLUMN ons_check_series VARCHAR;
