-- The Levelling Up scorecard: each indicator's White Paper mission (1-12, NULL for none) and how
-- many years one period spans (3 for a three-year pool: healthy life expectancy 2022 reads "2022 to
-- 2024"), and what the publisher says of each series (ONS Explore Local Statistics' metadata file:
-- its label, subtitle, decimal places, source organisation, URL and date, caveats and whether it is
-- experimental), one row per series and vintage, for the bulletin's sources table.
ALTER TABLE indicator ADD COLUMN years INTEGER;
ALTER TABLE indicator ADD COLUMN mission INTEGER;

CREATE TABLE series_metadata (
    vintage_id     VARCHAR NOT NULL,
    dataset        VARCHAR NOT NULL,
    series         VARCHAR NOT NULL,
    label          VARCHAR,
    subtitle       VARCHAR,
    decimal_places INTEGER,
    source_org     VARCHAR,
    source_url     VARCHAR,
    source_date    DATE,
    caveats        VARCHAR,
    experimental   BOOLEAN NOT NULL,
    PRIMARY KEY (vintage_id, series)
);
