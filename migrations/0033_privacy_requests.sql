-- Data-subject requests (crates/privacy, requests.rs): access, portability, rectification,
-- restriction, objection and erasure, each tracked to its statutory deadline.
--
-- `privacy_requests`: one row per request. `state` is received, identity_verified, in_progress,
-- completed or refused; `deadline` the date (YYYY-MM-DD, UTC) it must be answered by — one month
-- from `received_at`, or three after an extension (`extension_reason` then says why, and
-- `extended_at` when). `details` holds what the person wrote (personal data: emptied on erasure);
-- `outcome` a JSON object of what fulfilment did (ids, table names, counts, field names — never
-- values). `version` guards concurrent moves.
CREATE TABLE privacy_requests (
    id               {{key_text}} PRIMARY KEY,
    customer_id      {{key_text}} NOT NULL,
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    details          TEXT NOT NULL,
    state            TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    received_by      TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    extended_at      TEXT,
    extension_reason TEXT NOT NULL DEFAULT '',
    outcome          TEXT NOT NULL DEFAULT '{}',
    updated_at       TEXT NOT NULL,
    version          BIGINT NOT NULL
);
-- The DPO's work list: open requests, oldest deadline first.
CREATE INDEX privacy_requests_state_deadline ON privacy_requests (state, deadline);
CREATE INDEX privacy_requests_customer ON privacy_requests (customer_id);

-- Every move of a request, never updated: who did what when, with the note (how identity was
-- verified, the refusal reason, the extension reason).
CREATE TABLE privacy_request_steps (
    seq         {{bigserial_pk}},
    request_id  {{key_text}} NOT NULL,
    customer_id {{key_text}} NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    note        TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL
);
CREATE INDEX privacy_request_steps_request ON privacy_request_steps (request_id, seq);
CREATE INDEX privacy_request_steps_customer ON privacy_request_steps (customer_id);

-- Restriction of processing (Art. 18): while a row has no `lifted_at`, the consent check
-- answers "not allowed" for every purpose not required by law.
CREATE TABLE privacy_restrictions (
    customer_id {{key_text}} PRIMARY KEY,
    request_id  {{key_text}} NOT NULL,
    since       TEXT NOT NULL,
    lifted_at   TEXT,
    lifted_by   TEXT
);
