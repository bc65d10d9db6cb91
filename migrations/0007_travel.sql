-- Travel history and the customer timeline (crate `aloft-travel`).
--
-- `travel_records` holds every record from the source systems (bookings with their segments,
-- ancillaries, purchases, post-order documents, interactions, feedback, lounge visits, chauffeur
-- rides, baggage events, segment forecasts) as its validated JSON document. One generic table
-- instead of ten: the documents are read whole, by id, and every query a screen needs goes
-- through `timeline`. (source, source_record_id) is the idempotency key: a re-sent record is
-- recognised, a changed one updates the row and bumps `version`. `customer_id` is NULL only for
-- flight-level records (segment forecasts).
CREATE TABLE travel_records (
    id               {{key_text}} PRIMARY KEY,
    source           {{key_text}} NOT NULL,
    source_record_id {{key_text}} NOT NULL,
    kind             {{key_text}} NOT NULL,
    customer_id      {{key_text}},
    occurred_at      {{key_text}} NOT NULL,
    document         TEXT NOT NULL,
    version          BIGINT NOT NULL,
    recorded_at      TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT travel_records_source_key UNIQUE (source, source_record_id)
);
CREATE INDEX travel_records_customer ON travel_records (customer_id, kind, occurred_at);

-- The timeline projection: one row per entry (a booking has one per flight segment), replaced
-- whenever its record changes. `entry_id` is `<record id>.<ordinal>`, stable across updates and
-- the tie-breaker of the order. Instants are RFC 3339 UTC text (byte order = time order; the
-- `{{key_text}}` collation makes PostgreSQL compare bytes like SQLite). The two indexes make
-- "newest N entries of a customer" — all kinds, or one kind — an index range scan that stops
-- after N rows, whatever the length of the history.
CREATE TABLE timeline (
    entry_id    {{key_text}} PRIMARY KEY,
    customer_id {{key_text}} NOT NULL,
    occurred_at {{key_text}} NOT NULL,
    kind        {{key_text}} NOT NULL,
    summary     TEXT NOT NULL,
    record_id   {{key_text}} NOT NULL REFERENCES travel_records (id),
    record_kind TEXT NOT NULL
);
CREATE INDEX timeline_newest ON timeline (customer_id, occurred_at DESC, entry_id DESC);
CREATE INDEX timeline_kind_newest ON timeline (customer_id, kind, occurred_at DESC, entry_id DESC);
CREATE INDEX timeline_record ON timeline (record_id);
