-- Access: staff accounts, their sessions, integration API clients, and the instance key check.
-- Secrets are never stored in the clear: passwords as Argon2id hashes, TOTP secrets encrypted
-- (AES-256-GCM, the account id and field name as associated data), session ids, recovery codes
-- and client secrets as SHA-256 digests of high-entropy random values.
CREATE TABLE staff_accounts (
    id              {{key_text}} PRIMARY KEY,
    username        {{key_text}} NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    role            TEXT NOT NULL,
    station         TEXT,
    password_hash   TEXT NOT NULL,
    totp_secret     TEXT,
    totp_last_step  BIGINT NOT NULL,
    recovery_codes  TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    locked_until    TEXT,
    disabled_at     TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- `stage`: `password` (second factor still due), `enrol` (must set up TOTP first), `full`.
CREATE TABLE staff_sessions (
    id_hash        {{key_text}} PRIMARY KEY,
    account_id     {{key_text}} NOT NULL,
    stage          TEXT NOT NULL,
    csrf_token     TEXT NOT NULL,
    pending_totp   TEXT,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);
CREATE INDEX staff_sessions_account ON staff_sessions (account_id);
CREATE TABLE api_clients (
    id           {{key_text}} PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL
);
-- One row: the fingerprint of the index key this database was set up with. Start-up with a
-- different key (e.g. a lost key file replaced by a fresh one) is refused.
CREATE TABLE instance_keys (
    id               BIGINT PRIMARY KEY,
    index_key_id     TEXT NOT NULL,
    master_key_id    TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
