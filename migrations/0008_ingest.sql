-- Ingestion (crate `aloft-ingest`): identity links, the data steward's review queue and the
-- event-id ledger that makes at-least-once delivery idempotent.

-- Which golden customer profile each source record belongs to, how that was decided and why.
-- (source, source_record_id) is the travel record's own idempotency key, so a re-import or a
-- redelivery links the record to the same customer instead of resolving it again. `method` is
-- `loyalty`, `passport`, `email`, `probabilistic` or `new`; `weight` is the match weight in bits
-- (probabilistic links); `explanation` is a JSON document of field names and weights, never
-- personal values.
CREATE TABLE identity_links (
    source           {{key_text}} NOT NULL,
    source_record_id {{key_text}} NOT NULL,
    customer_id      {{key_text}} NOT NULL,
    method           TEXT NOT NULL,
    weight           DOUBLE PRECISION,
    explanation      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    CONSTRAINT identity_links_source_key UNIQUE (source, source_record_id)
);
CREATE INDEX identity_links_customer ON identity_links (customer_id);

-- Uncertain matches (the resolver's "review" decision): the record got a new profile, and this
-- row asks a data steward whether it is the same person as `candidate_customer_id`.
CREATE TABLE identity_review (
    id                    {{bigserial_pk}},
    source                {{key_text}} NOT NULL,
    source_record_id      {{key_text}} NOT NULL,
    customer_id           {{key_text}} NOT NULL,
    candidate_customer_id {{key_text}} NOT NULL,
    weight                DOUBLE PRECISION NOT NULL,
    explanation           TEXT NOT NULL,
    status                TEXT NOT NULL,
    created_at            TEXT NOT NULL
);
CREATE INDEX identity_review_status ON identity_review (status, created_at);

-- Every source event (CloudEvents id) that was processed, so that a redelivery of the same id is
-- a no-op even if its content differs. Rejected events are not recorded here: a corrected event
-- re-sent under the same id must still be processed.
CREATE TABLE ingested_events (
    event_id     {{key_text}} PRIMARY KEY,
    source       TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    outcome      TEXT NOT NULL
);
