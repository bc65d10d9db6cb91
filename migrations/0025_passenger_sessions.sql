-- The passenger portal (crates/portal) signs passengers in with a cookie session of their own
-- realm, kept apart from staff sessions: its own table, its own cookie (path /my), its own
-- lifetimes. `stage`: `signup` (a browser that just signed up and may finish with the mailed
-- code), `code` (password given, second factor due), `full`. Session ids and CSRF tokens as in
-- staff_sessions (only the id's SHA-256 digest is kept); `pending_totp` is a second-factor secret
-- being set up (encrypted, AES-256-GCM bound to the account id).
CREATE TABLE passenger_sessions (
    id_hash        {{key_text}} PRIMARY KEY,
    account_id     {{key_text}} NOT NULL,
    stage          TEXT NOT NULL,
    csrf_token     TEXT NOT NULL,
    pending_totp   TEXT,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);
CREATE INDEX passenger_sessions_account ON passenger_sessions (account_id);
-- An optional second factor for passengers: TOTP secret encrypted like staff's, the last used
-- time step (replays refused), recovery codes as SHA-256 digests (JSON array).
ALTER TABLE passenger_accounts ADD COLUMN totp_secret TEXT;
ALTER TABLE passenger_accounts ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE passenger_accounts ADD COLUMN recovery_codes TEXT NOT NULL DEFAULT '[]';
