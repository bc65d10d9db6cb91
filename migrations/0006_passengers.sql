-- Passenger self-service accounts: their own realm, linked to exactly one customer profile.
-- The sign-in e-mail is kept only as a blind index (keyed HMAC), never in the clear.
CREATE TABLE passenger_accounts (
    id              {{key_text}} PRIMARY KEY,
    customer_id     {{key_text}} NOT NULL UNIQUE,
    email_index     {{key_text}} NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
