-- Platform tables: the transactional outbox.
-- Every state change writes its CloudEvent here in the same transaction; the relay publishes
-- unpublished rows in `seq` order and stamps `published_at` only after the broker acknowledged.
CREATE TABLE outbox (
    seq          {{bigserial_pk}},
    event_id     {{key_text}} NOT NULL UNIQUE,
    event_type   TEXT NOT NULL,
    subject      TEXT,
    payload      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    published_at TEXT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT
);
CREATE INDEX outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
