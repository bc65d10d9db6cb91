-- Sign-in back-off, kept apart from the accounts so that it can be keyed by who is trying:
-- one row per (username, client address) — the progressive lockout, so failures from one
-- address do not lock the account for another — and one row per username across all
-- addresses — the ceiling that only slows sign-ins down. Unknown usernames get rows like known
-- ones, so a locked account and a name that does not exist answer alike.
-- `key_hash` and `subject_hash` are SHA-256 digests (bounded keys whatever is typed);
-- `subject_hash` (the username's) lets an administrator's unlock clear every address.
CREATE TABLE signin_backoff (
    key_hash       {{key_text}} PRIMARY KEY,
    subject_hash   {{key_text}} NOT NULL,
    failures       BIGINT NOT NULL,
    blocked_until  TEXT,
    updated_at     TEXT NOT NULL
);
CREATE INDEX signin_backoff_subject ON signin_backoff (subject_hash);
CREATE INDEX signin_backoff_updated ON signin_backoff (updated_at);
