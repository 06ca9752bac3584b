-- Areas and the indicator registry, both rewritten from their data files on every run.

CREATE TABLE area (
    code         VARCHAR PRIMARY KEY,    -- GSS code
    name         VARCHAR NOT NULL,
    short_name   VARCHAR NOT NULL,
    level        VARCHAR NOT NULL,       -- council / combined_authority / lep_area / region / country / uk
    is_composite BOOLEAN NOT NULL,       -- computed from its members' numerators and denominators
    sort_order   INTEGER NOT NULL
);

CREATE TABLE area_member (
    composite_code VARCHAR NOT NULL,
    member_code    VARCHAR NOT NULL,
    PRIMARY KEY (composite_code, member_code)
);

CREATE TABLE area_role (
    role VARCHAR PRIMARY KEY,            -- focus / region / england / uk
    code VARCHAR NOT NULL
);

CREATE TABLE indicator (
    indicator_id        VARCHAR PRIMARY KEY,
    title               VARCHAR NOT NULL,
    unit                VARCHAR NOT NULL,
    polarity            VARCHAR NOT NULL,
    decimals            INTEGER NOT NULL,
    cadence             VARCHAR NOT NULL,
    cadence_months      INTEGER NOT NULL,
    dataset             VARCHAR NOT NULL,
    series              VARCHAR NOT NULL,
    aggregation         VARCHAR NOT NULL, -- sum / ratio
    numerator_dataset   VARCHAR,
    numerator_series    VARCHAR,
    denominator_dataset VARCHAR,
    denominator_series  VARCHAR,
    scale               DOUBLE,
    statistical_status  VARCHAR NOT NULL,
    definition          VARCHAR NOT NULL,
    caveats             VARCHAR[] NOT NULL
);
