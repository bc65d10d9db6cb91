-- Audiences (crates/analytics): every release of a saved segment's members for a purpose —
-- a CSV download or a publication to the marketing platform over NATS. One row per export,
-- written in the transaction that audits it (and, for a publication, puts its events in the
-- outbox): the segment and the version of its rule, the purpose whose consent was required,
-- how many members the segment had, how many were released and how many were left out for
-- lack of consent (or a restriction of processing) or of the contact the channel needs.
-- Counts, codes and ids only: the released people are in the audit trail (one read record
-- each) and, for a publication, in the outbox events.
CREATE TABLE analytics_audience_exports (
    id                  {{key_text}} PRIMARY KEY,
    segment_id          {{key_text}} NOT NULL,
    segment_version     BIGINT NOT NULL,
    purpose             {{key_text}} NOT NULL,
    kind                {{key_text}} NOT NULL,
    members             BIGINT NOT NULL,
    released            BIGINT NOT NULL,
    excluded_no_consent BIGINT NOT NULL,
    excluded_no_contact BIGINT NOT NULL,
    exported_by         TEXT NOT NULL,
    exported_at         {{key_text}} NOT NULL
);
CREATE INDEX analytics_audience_exports_segment ON analytics_audience_exports (segment_id, exported_at);
