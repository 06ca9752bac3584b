-- Data-quality checks on the current observations, one row per dataset and check per run
-- (`warehouse/quality.py`). A blocker that failed in a dataset's newest run keeps editions from
-- being published; the other severities are reported by `eim checks`.
CREATE TABLE quality_check (
    run_id        VARCHAR NOT NULL,      -- one id per call of run_checks
    checked_at    TIMESTAMPTZ NOT NULL,
    dataset       VARCHAR NOT NULL,
    "check"       VARCHAR NOT NULL,      -- required_columns / missing_values / completeness / ...
    severity      VARCHAR NOT NULL CHECK (severity IN ('info', 'warning', 'error', 'blocker')),
    passed        BOOLEAN NOT NULL,
    detail        VARCHAR NOT NULL,      -- what failed, with examples; or what was checked
    rows_affected BIGINT NOT NULL,
    PRIMARY KEY (run_id, dataset, "check")
);
