-- Four-eyes grants (crates/access/src/grants.rs): a staff account or integration client whose
-- role holds permissions its creator does not hold (an administrator creating a check-in agent,
-- or a client acting as the data privacy officer) waits, disabled, until a second person with
-- `access.approve` approves the grant. Requester and approver must differ; every request and
-- decision is audited in the same transaction.
CREATE TABLE access_grants (
    id           {{key_text}} PRIMARY KEY,
    subject_kind {{key_text}} NOT NULL,
    subject_id   {{key_text}} NOT NULL,
    role         {{key_text}} NOT NULL,
    requested_by {{key_text}} NOT NULL,
    requested_at {{key_text}} NOT NULL,
    decided_by   {{key_text}},
    decided_at   TEXT,
    decision     {{key_text}}
);
CREATE INDEX access_grants_subject ON access_grants (subject_kind, subject_id);
-- A client awaiting approval gets no token; existing clients were created under the old rules.
ALTER TABLE api_clients ADD COLUMN awaiting_approval BIGINT NOT NULL DEFAULT 0;
