-- Anonymised insight sharing with partners (crates/privacy, sharing.rs).
--
-- `privacy_partner_shares`: every release to a partner, never updated — who released what to
-- whom and when. `kind` is `k_anonymous` (segment-level insights, k-anonymous and l-diverse);
-- `parameters` the JSON of k, l, the sensitive attribute, the generalisation levels chosen and
-- the counts (released, suppressed, excluded for lack of consent); `released` the exact CSV the
-- partner received. Nothing here names a person: the release holds generalised bands and counts.
CREATE TABLE privacy_partner_shares (
    id         {{key_text}} PRIMARY KEY,
    partner    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    parameters TEXT NOT NULL,
    released   TEXT NOT NULL
);
CREATE INDEX privacy_partner_shares_partner ON privacy_partner_shares (partner, created_at);
