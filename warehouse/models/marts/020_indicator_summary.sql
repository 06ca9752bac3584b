-- For each indicator and area: the latest period and its comparisons.
-- Changes are absolute in the indicator's unit (percentage points for rates) and, for counts and
-- money, also per cent. Ranks: 1 is the highest value, ties share a rank, within the 12 UK regions
-- and within the combined authorities, for the same period. Significance (95%) only where both
-- estimates have confidence intervals: a difference is significant when it exceeds
-- sqrt(h1^2 + h2^2), h being each estimate's half-width (independent samples).
-- `indicator_summary_as_of(d)` gives the same as it stood at date d (for an edition of an earlier
-- month); the `indicator_summary` table is the summary as of now.
CREATE OR REPLACE MACRO indicator_summary_as_of(as_of) AS TABLE
WITH latest AS (
    -- The latest period with a value (a publisher's lag, e.g. house sales, is not news); an area
    -- with no value at all keeps its latest period, shown as missing.
    SELECT v.*
    FROM indicator_value v
    WHERE v.period_date <= as_of
    QUALIFY row_number() OVER (PARTITION BY indicator_id, geography_code
                               ORDER BY v.value IS NULL, period_date DESC) = 1
),
roles AS (
    SELECT max(code) FILTER (WHERE role = 'england') AS england,
           max(code) FILTER (WHERE role = 'uk') AS uk
    FROM area_role
),
ranked AS (
    SELECT v.indicator_id, v.geography_code, v.period, s.set_name,
           rank() OVER (same_period ORDER BY v.value DESC) AS rank, count(*) OVER same_period AS ranked
    FROM indicator_value v
    JOIN area_set s ON s.code = v.geography_code
    WHERE s.set_name IN ('regions', 'combined_authorities') AND v.value IS NOT NULL
    WINDOW same_period AS (PARTITION BY v.indicator_id, s.set_name, v.period)
),
compared AS (
    SELECT l.indicator_id, l.geography_code, l.period, l.period_date, l.value, l.status,
           l.lower, l.upper, l.basis, l.vintages, i.unit, i.cadence,
           prev.period AS previous_period, prev.value AS previous_value,
           year_ago.period AS year_ago_period, year_ago.value AS year_ago_value,
           year_ago.lower AS year_ago_lower, year_ago.upper AS year_ago_upper,
           feb2020.value AS feb2020_value,
           eng.value AS england_value, uk.value AS uk_value,
           uk.lower AS uk_lower, uk.upper AS uk_upper,
           region_rank.rank AS rank_region, region_rank.ranked AS regions_ranked,
           ca_rank.rank AS rank_combined_authority, ca_rank.ranked AS combined_authorities_ranked
    FROM latest l
    JOIN indicator i USING (indicator_id)
    CROSS JOIN roles
    LEFT JOIN indicator_value prev
      ON prev.indicator_id = l.indicator_id AND prev.geography_code = l.geography_code
     AND prev.period_date = l.period_date - to_months(i.cadence_months)
    LEFT JOIN indicator_value year_ago
      ON year_ago.indicator_id = l.indicator_id AND year_ago.geography_code = l.geography_code
     AND year_ago.period_date = l.period_date - INTERVAL 12 MONTH
    LEFT JOIN indicator_value feb2020
      ON i.cadence = 'monthly' AND feb2020.indicator_id = l.indicator_id
     AND feb2020.geography_code = l.geography_code AND feb2020.period_date = DATE '2020-02-01'
    LEFT JOIN indicator_value eng
      ON eng.indicator_id = l.indicator_id AND eng.geography_code = roles.england
     AND eng.period_date = l.period_date
    LEFT JOIN indicator_value uk
      ON uk.indicator_id = l.indicator_id AND uk.geography_code = roles.uk
     AND uk.period_date = l.period_date
    LEFT JOIN ranked region_rank
      ON region_rank.indicator_id = l.indicator_id AND region_rank.geography_code = l.geography_code
     AND region_rank.period = l.period AND region_rank.set_name = 'regions'
    LEFT JOIN ranked ca_rank
      ON ca_rank.indicator_id = l.indicator_id AND ca_rank.geography_code = l.geography_code
     AND ca_rank.period = l.period AND ca_rank.set_name = 'combined_authorities'
)
SELECT * EXCLUDE (year_ago_lower, year_ago_upper, uk_lower, uk_upper),
       value - previous_value AS change_period,
       CASE WHEN unit IN ('count', 'gbp', 'gbp_million', 'index') AND previous_value <> 0
            THEN (value - previous_value) / previous_value * 100 END AS change_period_pct,
       value - year_ago_value AS change_year,
       CASE WHEN unit IN ('count', 'gbp', 'gbp_million', 'index') AND year_ago_value <> 0
            THEN (value - year_ago_value) / year_ago_value * 100 END AS change_year_pct,
       value - feb2020_value AS change_since_feb2020,
       -- A gap between areas of different size means something for rates and averages, not for
       -- counts or totals of money.
       CASE WHEN unit NOT IN ('count', 'gbp_million') THEN value - england_value END AS gap_england,
       CASE WHEN unit NOT IN ('count', 'gbp_million') THEN value - uk_value END AS gap_uk,
       CASE WHEN upper IS NOT NULL AND year_ago_upper IS NOT NULL AND year_ago_value IS NOT NULL
            THEN abs(value - year_ago_value)
                 > sqrt(power((upper - lower) / 2, 2) + power((year_ago_upper - year_ago_lower) / 2, 2))
       END AS significant_year,
       CASE WHEN upper IS NOT NULL AND uk_upper IS NOT NULL AND geography_code <> (SELECT uk FROM roles)
            THEN abs(value - uk_value)
                 > sqrt(power((upper - lower) / 2, 2) + power((uk_upper - uk_lower) / 2, 2))
       END AS significant_gap_uk
FROM compared
ORDER BY indicator_id, geography_code;

CREATE OR REPLACE TABLE indicator_summary AS
SELECT * FROM indicator_summary_as_of(DATE '9999-12-31');
