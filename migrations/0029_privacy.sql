-- Consent and preferences (crates/privacy).
--
-- `privacy_consents` is the history: one row per consent given or withdrawn, never updated or
-- deleted (the proof a data privacy officer shows a regulator). `purpose` and `channel` are codes
-- of the purpose register in crates/privacy; `granted` 1 = given, 0 = withdrawn; `notice_version`
-- names the versioned notice text the passenger saw; `source` the touchpoint (`web`, `app`,
-- `contact_centre`…); `proof` a reference to the evidence (form submission id, call recording
-- reference); `recorded_by` the actor id.
CREATE TABLE privacy_consents (
    seq            {{bigserial_pk}},
    id             {{key_text}} NOT NULL UNIQUE,
    customer_id    {{key_text}} NOT NULL,
    purpose        {{key_text}} NOT NULL,
    channel        {{key_text}} NOT NULL,
    granted        BIGINT NOT NULL,
    lawful_basis   TEXT NOT NULL,
    notice_version TEXT NOT NULL,
    source         TEXT NOT NULL,
    proof          TEXT NOT NULL,
    recorded_at    TEXT NOT NULL,
    recorded_by    TEXT NOT NULL
);
CREATE INDEX privacy_consents_customer ON privacy_consents (customer_id, seq);

-- The current state per customer, purpose and channel: derived from the history in the same
-- transaction as each history row, so the consent check other modules join is one index probe.
CREATE TABLE privacy_consent_state (
    customer_id  {{key_text}} NOT NULL,
    purpose      {{key_text}} NOT NULL,
    channel      {{key_text}} NOT NULL,
    granted      BIGINT NOT NULL,
    consent_id   {{key_text}} NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (customer_id, purpose, channel)
);
-- The consent check of an audience: customers of a purpose with consent given.
CREATE INDEX privacy_consent_state_purpose ON privacy_consent_state (purpose, granted, customer_id);
