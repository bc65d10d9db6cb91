-- Passenger accounts prove their e-mail address before they work (crates/access/src/passengers.rs):
-- registration sends a one-time code to the address on the profile; until it is entered, the
-- account cannot sign in. The code is kept only as a digest, with an expiry and a count of wrong
-- tries. Accounts registered before this migration were never proven and must verify too (they
-- can ask for a new code).
ALTER TABLE passenger_accounts ADD COLUMN email_verified_at TEXT;
ALTER TABLE passenger_accounts ADD COLUMN verification_digest TEXT;
ALTER TABLE passenger_accounts ADD COLUMN verification_expires_at TEXT;
ALTER TABLE passenger_accounts ADD COLUMN verification_tries BIGINT NOT NULL DEFAULT 0;
