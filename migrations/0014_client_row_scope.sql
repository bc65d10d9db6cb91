-- Integration clients carry the row-scope value of a scoped role (a check-in kiosk's station),
-- so a client in a scoped role sees only its station's passengers; without one, none.
ALTER TABLE api_clients ADD COLUMN station TEXT;
