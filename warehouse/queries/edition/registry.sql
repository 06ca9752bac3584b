-- Columns in the order of the fields of reports.bulletin.edition.IndicatorMeta (read_edition relies on it).
SELECT indicator_id, title, phrase, section, core, unit, polarity, decimals, cadence, dataset, series,
       aggregation, statistical_status, levels, definition, caveats, numerator_dataset,
       denominator_dataset, source_names, survey, ranked, year_starts, years, mission
FROM indicator
ORDER BY list_position(?, section), indicator_id
