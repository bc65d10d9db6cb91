-- Webhooks (aloft_webhooks): configured receivers and every delivery to them.
-- families: JSON list of event type prefixes; secret: sealed with the instance's
-- account-secrets key, bound to the endpoint id (shown once at creation). Removed endpoints stay
-- (active = 0) so their deliveries keep their meaning.
CREATE TABLE webhook_endpoints (
    id          {{key_text}} PRIMARY KEY,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    families    TEXT NOT NULL,
    secret      TEXT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
);

-- One row per endpoint and event (unique: never queued twice); state pending | delivered |
-- failed; payload: the CloudEvent as posted (identifiers and codes, as every Aloft event).
CREATE TABLE webhook_deliveries (
    id           {{key_text}} PRIMARY KEY,
    endpoint_id  {{key_text}} NOT NULL,
    event_id     {{key_text}} NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_status  BIGINT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    delivered_at TEXT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
