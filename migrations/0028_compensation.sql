-- Compensation proposals (crates/compensation). A flight disruption is judged for every
-- passenger booked on the flight; each passenger × flight × regime has at most one proposal,
-- whatever is replayed: the unique key is the idempotency of processing and of payment (the
-- payment instruction is emitted in the transaction that approves, once per proposal).
-- `decision` is the rights engine's decision (reasons, citations) as JSON; amounts are decimal
-- strings. No names or contacts: the passenger is their customer id.
CREATE TABLE compensation_disruptions (
    id          {{key_text}} PRIMARY KEY,
    flight      {{key_text}} NOT NULL,
    kind        {{key_text}} NOT NULL,
    cause       TEXT NOT NULL,
    document    TEXT NOT NULL,
    received_at {{key_text}} NOT NULL,
    replays     BIGINT NOT NULL DEFAULT 0,
    UNIQUE (flight, kind)
);
CREATE INDEX compensation_disruptions_newest ON compensation_disruptions (received_at DESC);

CREATE TABLE compensation_proposals (
    id             {{key_text}} PRIMARY KEY,
    customer_id    {{key_text}} NOT NULL,
    flight         {{key_text}} NOT NULL,
    regime         {{key_text}} NOT NULL,
    disruption_id  {{key_text}} NOT NULL,
    record_locator TEXT,
    status         {{key_text}} NOT NULL,
    amount         TEXT,
    currency       TEXT,
    decision       TEXT NOT NULL,
    method         TEXT,
    decided_by     TEXT,
    decided_at     TEXT,
    created_at     {{key_text}} NOT NULL,
    UNIQUE (customer_id, flight, regime)
);
CREATE INDEX compensation_proposals_queue ON compensation_proposals (status, created_at);
CREATE INDEX compensation_proposals_customer ON compensation_proposals (customer_id, created_at);
CREATE INDEX compensation_proposals_disruption ON compensation_proposals (disruption_id, status);
