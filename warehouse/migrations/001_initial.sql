-- Provenance, vintages and observations.
-- An observation row is one value as one vintage stated it. A revision is a new row; the old stays.

CREATE SEQUENCE vintage_load_seq START 1;

CREATE TABLE vintage (
    vintage_id    VARCHAR PRIMARY KEY,   -- sha256 over the dataset id and its page bodies
    dataset       VARCHAR NOT NULL,
    publisher     VARCHAR NOT NULL,
    load_seq      BIGINT NOT NULL DEFAULT nextval('vintage_load_seq'),
    fetched_at    TIMESTAMPTZ NOT NULL,
    loaded_at     TIMESTAMPTZ NOT NULL,
    release_date  DATE,                  -- the publisher's own release date, where it gives one
    version       VARCHAR,               -- the publisher's edition / version, where it gives one
    pages         INTEGER NOT NULL,
    rows_received BIGINT NOT NULL,
    rows_new      BIGINT NOT NULL
);

CREATE TABLE fetch_log (
    publisher     VARCHAR NOT NULL,
    dataset       VARCHAR NOT NULL,
    vintage_id    VARCHAR NOT NULL,
    page          INTEGER NOT NULL,
    url           VARCHAR NOT NULL,
    params        JSON NOT NULL,         -- secrets (the Nomis uid) are never recorded
    request_key   VARCHAR NOT NULL,
    status        INTEGER NOT NULL,
    etag          VARCHAR,
    last_modified VARCHAR,
    content_type  VARCHAR,
    bytes         BIGINT NOT NULL,
    sha256        VARCHAR NOT NULL,
    raw_path      VARCHAR NOT NULL,      -- relative to the raw archive
    fetched_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_key, fetched_at)
);

CREATE TABLE observation (
    dataset        VARCHAR NOT NULL,
    series         VARCHAR NOT NULL,
    geography_code VARCHAR NOT NULL,
    geography_name VARCHAR,
    period         VARCHAR NOT NULL,
    period_date    DATE NOT NULL,
    value          DOUBLE,               -- NULL when the publisher marks it missing; never 0
    status         VARCHAR NOT NULL,     -- the publisher's marker, e.g. Nomis A / Q
    lower          DOUBLE,
    upper          DOUBLE,
    unit           VARCHAR NOT NULL,
    vintage_id     VARCHAR NOT NULL,
    PRIMARY KEY (dataset, series, geography_code, period, vintage_id)
);

-- One row per dataset per run: what happened, so operators can see the last error.
CREATE TABLE dataset_run (
    dataset     VARCHAR NOT NULL,
    attempted_at TIMESTAMPTZ NOT NULL,
    outcome     VARCHAR NOT NULL CHECK (outcome IN ('loaded', 'unchanged', 'failed')),
    vintage_id  VARCHAR,
    rows_new    BIGINT,
    error       VARCHAR
);

-- Facts about this warehouse itself, e.g. whether it holds demonstration data.
CREATE TABLE warehouse_meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
