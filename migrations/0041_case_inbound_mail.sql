-- Inbound e-mail filed into cases (crates/cases/src/inbound.rs): one row per message id, so a
-- mail gateway that delivers a message twice files it once. `case_id` is set once the message
-- is filed; a row left without one (a crash while filing) may be claimed again after a while.
CREATE TABLE case_inbound_mail (
    message_id {{key_text}} PRIMARY KEY,
    case_id    TEXT,
    outcome    TEXT,
    claimed_at {{key_text}} NOT NULL
);
