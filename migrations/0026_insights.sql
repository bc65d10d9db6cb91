-- Snapshots of pseudonymised aggregates (crates/insights). A background job computes one every
-- few minutes; pages read the newest, so no page queries customers or travel records. `document`
-- is the whole snapshot as JSON: counts per group, groups below `min_group` customers already
-- suppressed — no row per customer, no id, name or contact. The job keeps the newest two.
CREATE TABLE insights_snapshots (
    id          {{key_text}} PRIMARY KEY,
    computed_at {{key_text}} NOT NULL,
    min_group   BIGINT NOT NULL,
    document    TEXT NOT NULL
);
CREATE INDEX insights_snapshots_newest ON insights_snapshots (computed_at DESC, id DESC);
