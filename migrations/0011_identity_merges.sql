-- Merging and unmerging golden profiles (crates/ingest/src/merge.rs), with full lineage.
--
-- A merge keeps the survivor's id (golden ids are stable) and marks the absorbed profile
-- `merged_into` the survivor: its row stays, untouched apart from its search keys (cleared, so it
-- no longer appears in searches nor holds its loyalty number), and reading it redirects to the
-- survivor. Its source links, travel records and timeline entries move to the survivor (their
-- encrypted fields re-sealed under the survivor's data key). Unmerge reverses exactly that.
ALTER TABLE customers ADD COLUMN merged_into {{key_text}};
CREATE INDEX customers_merged_into ON customers (merged_into);

-- One row per merge. `survivor_profile`/`survivor_sealed` are the survivor's stored profile
-- columns as they were before the merge (sealed fields stay encrypted under the survivor's data
-- key), so unmerge restores the previous profile exactly. `survivorship` is a JSON document of
-- field name → which profile's value was kept and by which rule (names and rules, no values).
CREATE TABLE identity_merges (
    id                      {{key_text}} PRIMARY KEY,
    survivor_id             {{key_text}} NOT NULL,
    absorbed_id             {{key_text}} NOT NULL,
    survivor_version_before BIGINT NOT NULL,
    survivor_profile        TEXT NOT NULL,
    survivor_sealed         TEXT,
    survivorship            TEXT NOT NULL,
    review_id               BIGINT,
    reason                  TEXT NOT NULL,
    merged_by               TEXT NOT NULL,
    merged_at               TEXT NOT NULL,
    unmerged_by             TEXT,
    unmerged_at             TEXT
);
CREATE INDEX identity_merges_survivor ON identity_merges (survivor_id, merged_at);
CREATE INDEX identity_merges_absorbed ON identity_merges (absorbed_id, merged_at);

-- What each merge moved from the absorbed profile to the survivor, so unmerge moves exactly
-- those back: `kind` is `record` (a travel record id, with its timeline entries) or `link`
-- (an identity link: `source` + `source_record_id`).
CREATE TABLE identity_merge_moves (
    merge_id         {{key_text}} NOT NULL,
    kind             {{key_text}} NOT NULL,
    source           {{key_text}} NOT NULL,
    source_record_id {{key_text}} NOT NULL,
    PRIMARY KEY (merge_id, kind, source, source_record_id)
);

-- Who decided a review (`merged`: by a merge; `distinct`: different people), and when.
ALTER TABLE identity_review ADD COLUMN decided_by TEXT;
ALTER TABLE identity_review ADD COLUMN decided_at TEXT;
