-- How the bulletin presents each indicator: its sources as their publishers name them (one per
-- dataset it is drawn from, in the order dataset, numerator, denominator), whether it is a
-- survey estimate (its changes are described only when statistically significant), whether a rank
-- among areas means anything (not for counts that only reflect population), and the month its
-- year starts (April for the personal well-being year, so 2025 reads "April 2025 to March 2026").
ALTER TABLE indicator ADD COLUMN source_names VARCHAR[];
ALTER TABLE indicator ADD COLUMN survey BOOLEAN;
ALTER TABLE indicator ADD COLUMN ranked BOOLEAN;
ALTER TABLE indicator ADD COLUMN year_starts INTEGER;
-- Why the publisher's own figure for a composite area may legitimately differ from the monitor's
-- sum of its parts (the totals check skips the indicator and says why); NULL: it may not.
ALTER TABLE indicator ADD COLUMN totals_differ VARCHAR;
