-- Legal holds and the record of retention runs (crates/privacy, holds.rs and retention.rs).
--
-- `privacy_holds`: a hold the airline places itself (litigation, a regulator's investigation, an
-- audit) on one person (`customer_id`) or on a whole data category of the retention policies
-- (`category`); exactly one of the two is set. While `lifted_at` is empty, retention runs skip
-- the held rows and the person cannot be erased (GDPR Art. 17(3)(e)). `reason` is why it was
-- placed, `reference` the matter it belongs to; lifting records who, when and why. Rows are never
-- deleted while the person exists (accountability); an erasure after lifting empties the texts.
CREATE TABLE privacy_holds (
    id          {{key_text}} PRIMARY KEY,
    customer_id {{key_text}},
    category    TEXT,
    reason      TEXT NOT NULL,
    reference   TEXT NOT NULL DEFAULT '',
    placed_at   TEXT NOT NULL,
    placed_by   TEXT NOT NULL,
    lifted_at   TEXT,
    lifted_by   TEXT,
    lift_reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX privacy_holds_customer ON privacy_holds (customer_id, lifted_at);
CREATE INDEX privacy_holds_category ON privacy_holds (category, lifted_at);

-- Every retention run that changed or could have changed rows: when, who (the daily job or the
-- privacy officer), and the report per policy as JSON (counts only, no ids).
CREATE TABLE privacy_retention_runs (
    id     {{key_text}} PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    report TEXT NOT NULL
);
CREATE INDEX privacy_retention_runs_at ON privacy_retention_runs (at);
