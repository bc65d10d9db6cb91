-- The customers domain's change log: which profile fields each edit changed (names, never values),
-- written in the edit's transaction (CustomerStore::update). Unmerge reads it to keep the
-- survivor's fields edited after the merge (crates/ingest/src/merge.rs), instead of reading the
-- audit trail, which is for accountability, not for the domain's own logic.
CREATE TABLE customer_changes (
    customer_id    {{key_text}} NOT NULL,
    version        BIGINT NOT NULL,
    changed_fields TEXT NOT NULL,
    changed_at     TEXT NOT NULL,
    PRIMARY KEY (customer_id, version)
);
-- The survivor's version right after a merge: edits with a later version came after it. NULL
-- for merges recorded before this migration (unmerge then falls back to the audit trail).
ALTER TABLE identity_merges ADD COLUMN survivor_version_after BIGINT;
