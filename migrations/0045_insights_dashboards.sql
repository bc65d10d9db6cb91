-- Dashboard facts (crates/insights, issue 22 item 5): what the role dashboards count, one row per
-- fact, derived per customer from travel records, profiles and cases and kept current from the
-- outbox. Codes, labels, counts and instants only — no name, contact, document or free text:
-- a text is kept as its sentiment label, score and topics, never its words. `customer_id` is
-- here only to count distinct people (pages never show it). Instants are RFC 3339 UTC text.

-- Free texts with their sentiment: interactions, feedback, cases and customers' case messages.
-- `score_milli` is the model's score × 1000; `topics` is `,delay,baggage,` (commas around each);
-- `complaint` is 1 for a complaint (feedback of kind complaint, a case that is not praise, a
-- suggestion or an enquiry, and the customer's messages on it).
CREATE TABLE insights_texts (
    id           {{key_text}} PRIMARY KEY,
    customer_id  {{key_text}} NOT NULL,
    source       {{key_text}} NOT NULL,
    occurred_at  {{key_text}} NOT NULL,
    route        {{key_text}},
    label        {{key_text}} NOT NULL,
    score_milli  BIGINT NOT NULL,
    topics       TEXT NOT NULL,
    complaint    INTEGER NOT NULL
);
CREATE INDEX insights_texts_customer ON insights_texts (customer_id);
CREATE INDEX insights_texts_time ON insights_texts (occurred_at);
CREATE INDEX insights_texts_route ON insights_texts (route, occurred_at);

-- Flights departed (booked segments whose departure has passed): `status` flown, cancelled or
-- delayed (≥ 180 minutes late); the customer's stated seat and meal preference at derivation.
CREATE TABLE insights_flights (
    id              {{key_text}} PRIMARY KEY,
    customer_id     {{key_text}} NOT NULL,
    departed_at     {{key_text}} NOT NULL,
    route           {{key_text}} NOT NULL,
    status          {{key_text}} NOT NULL,
    delay_minutes   BIGINT NOT NULL,
    cabin           {{key_text}},
    seat_preference {{key_text}},
    meal_preference {{key_text}}
);
CREATE INDEX insights_flights_customer ON insights_flights (customer_id);
CREATE INDEX insights_flights_time ON insights_flights (departed_at);
CREATE INDEX insights_flights_route ON insights_flights (route, departed_at);

-- Sales: ancillaries and shop purchases, with the route of the flight they were for or bought
-- on when known. `category` is a code (`meal`, `inflight`); `product` a code (SKU, meal code).
CREATE TABLE insights_sales (
    id            {{key_text}} PRIMARY KEY,
    customer_id   {{key_text}} NOT NULL,
    occurred_at   {{key_text}} NOT NULL,
    route         {{key_text}},
    category      {{key_text}} NOT NULL,
    product       {{key_text}},
    product_label TEXT,
    units         BIGINT NOT NULL
);
CREATE INDEX insights_sales_customer ON insights_sales (customer_id);
CREATE INDEX insights_sales_time ON insights_sales (occurred_at);
CREATE INDEX insights_sales_route ON insights_sales (route, occurred_at);
