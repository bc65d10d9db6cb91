-- Next best action (crates/analytics): the offers made to customers and their outcomes.
--
-- One row per offer: which action of the catalogue, on which channel, its cost and expected
-- value when it was made (minor units of `currency`, never float), who made it and when, and
-- its outcome. `status` is `offered` until the customer answers (`accepted` | `declined`, set
-- once, with `outcome_at`/`outcome_by`); an offer left unanswered past its time to live is
-- reported as `expired` (computed on read, so no sweep has to run for it to be true).
-- The contact policy (frequency caps, quiet period) reads a customer's recent rows by the
-- first index; the report by action reads a period by the second. Ids and codes only: no
-- personal data.
CREATE TABLE analytics_offers (
    id                   {{key_text}} PRIMARY KEY,
    customer_id          {{key_text}} NOT NULL,
    action               {{key_text}} NOT NULL,
    channel              {{key_text}} NOT NULL,
    cost_minor           BIGINT NOT NULL,
    expected_value_minor BIGINT NOT NULL,
    currency             {{key_text}} NOT NULL,
    status               {{key_text}} NOT NULL,
    offered_at           {{key_text}} NOT NULL,
    offered_by           TEXT NOT NULL,
    outcome_at           TEXT,
    outcome_by           TEXT
);
CREATE INDEX analytics_offers_customer ON analytics_offers (customer_id, offered_at);
CREATE INDEX analytics_offers_period ON analytics_offers (offered_at, action);
