-- Indexes the erasure and the subject access export of one person need (crates/privacy,
-- issue 21: "erasure of one person ≤ 1 s"; BENCHMARKS.md, "Subject access export and erasure").
--
-- `timeline.record_id` references `travel_records (id)`. Deleting a travel record makes both
-- backends look for timeline rows still referring to it (SQLite's foreign-key check, PostgreSQL's
-- referential-integrity trigger), once per deleted record. Migration 0012 dropped the index on
-- `record_id` (a record's entries are found by the range of their ids), so every such check
-- became a full scan of the timeline: erasing a person with 10,000 travel records read the
-- timeline 10,000 times (20.6 s on SQLite with 60,000 entries, growing with everyone's history),
-- and the interactions retention policy pays the same for each record it deletes. The index is
-- back; it costs a bulk import the extra B-tree 0012 measured (~10 % on SQLite).
CREATE INDEX timeline_record ON timeline (record_id);

-- Tables of `aloft_privacy::coverage::PERSONAL_TABLES` whose customer column had no index, so
-- the export and the erasure read them whole for one person: check-ins grow with every flight,
-- disruption handling with every disruption; the duplicate review queue is small but is read
-- by both of its customer columns.
CREATE INDEX departure_checkins_customer ON departure_checkins (customer_id);
CREATE INDEX case_disruption_passengers_customer ON case_disruption_passengers (customer_id);
CREATE INDEX identity_review_customer ON identity_review (customer_id);
CREATE INDEX identity_review_candidate ON identity_review (candidate_customer_id);
