-- The audit trail: one row per access to or change of customer data, hash-chained.
-- `hash` = SHA-256(prev_hash ‖ canonical record) (see aloft_security::audit_chain); `audit_head`
-- holds the chain's tip, and every append locks it by updating it first, so appends from any
-- number of processes form one gap-free chain.
CREATE TABLE audit_log (
    seq            BIGINT PRIMARY KEY,
    occurred_at    TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    actor_role     TEXT NOT NULL,
    action         TEXT NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    {{key_text}},
    fields         TEXT NOT NULL,
    purpose        TEXT,
    outcome        TEXT NOT NULL,
    request_id     TEXT NOT NULL,
    client_address TEXT,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE TABLE audit_head (
    id   BIGINT PRIMARY KEY,
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
