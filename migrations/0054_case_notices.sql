-- case_notices: in-app notices for staff (aloft_cases::notices) — one per case event for the
-- case's agent (written with the event's delivery record, so never twice). Reference and
-- category only, never the passenger's words. Kept 90 days.
CREATE TABLE case_notices (
    id          {{key_text}} PRIMARY KEY,
    recipient   {{key_text}} NOT NULL,
    case_id     {{key_text}} NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    read_at     TEXT
);
CREATE INDEX case_notices_recipient ON case_notices (recipient, created_at);
