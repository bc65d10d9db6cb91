-- Durable subscribers of the outbox (aloft_kernel::subscriptions): how far each has read, and
-- which events each has acted on (first_seq: where it started; it never acts on events before). A subscriber's changes commit in the same transaction as its
-- delivery row, so a replay, a second process or a crash never acts twice.
CREATE TABLE event_subscriptions (
    name        {{key_text}} PRIMARY KEY,
    seq         BIGINT NOT NULL,
    first_seq   BIGINT NOT NULL,
    updated_at  TEXT NOT NULL,
    last_error  TEXT
);

-- outcome: handled (acted on, with its effects) or failed (parked after repeated errors).
CREATE TABLE event_deliveries (
    subscriber  {{key_text}} NOT NULL,
    event_id    {{key_text}} NOT NULL,
    seq         BIGINT NOT NULL,
    handled_at  TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    error       TEXT,
    PRIMARY KEY (subscriber, event_id)
);
CREATE INDEX event_deliveries_handled ON event_deliveries (handled_at);
