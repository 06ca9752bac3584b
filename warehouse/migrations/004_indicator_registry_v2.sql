-- The registry gains sections, core flags and geography levels; the source series becomes optional
-- (indicators the monitor computes itself have none). The table is rewritten from the registry
-- file on every run, so it is recreated rather than altered.
DROP TABLE indicator;
CREATE TABLE indicator (
    indicator_id        VARCHAR PRIMARY KEY,
    title               VARCHAR NOT NULL,
    section             VARCHAR NOT NULL,
    core                BOOLEAN NOT NULL,
    unit                VARCHAR NOT NULL,
    polarity            VARCHAR NOT NULL,
    decimals            INTEGER NOT NULL,
    cadence             VARCHAR NOT NULL,
    cadence_months      INTEGER NOT NULL,
    dataset             VARCHAR,              -- the publisher's own series, if any
    series              VARCHAR,
    aggregation         VARCHAR NOT NULL,     -- sum / ratio / published
    numerator_dataset   VARCHAR,
    numerator_series    VARCHAR,
    denominator_dataset VARCHAR,
    denominator_series  VARCHAR,
    scale               DOUBLE,
    absent_numerator_is_zero BOOLEAN NOT NULL, -- no row means none (e.g. no successful bid)
    statistical_status  VARCHAR NOT NULL,
    levels              VARCHAR[] NOT NULL,
    definition          VARCHAR NOT NULL,
    caveats             VARCHAR[] NOT NULL
);
