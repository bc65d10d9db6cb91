-- A record's timeline entries are found by their ids, not by a separate index on `record_id`.
--
-- An entry's id is `<record id>.<ordinal>` (crates/travel/src/timeline.rs, `entry_id`), so the
-- entries of a record are exactly the ids in [`<record id>.`, `<record id>/`) — a range of the
-- primary key (byte order on both backends: `{{key_text}}`). The index on `record_id` was one of
-- five B-trees every timeline row is written to; a bulk import without it records ~10 % more
-- records per second on SQLite (BENCHMARKS.md, ingestion, 2026-12-04).
DROP INDEX timeline_record;
