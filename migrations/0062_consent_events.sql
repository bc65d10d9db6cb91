-- Consent events from source systems (crates/privacy `consent_events`, issue 21 item 1: "source
-- systems send consent events").
--
-- `given_at` is when the passenger gave or withdrew the consent — the source system's CloudEvents
-- `time` for an event, the recording instant for everything recorded in Aloft itself (NULL on
-- rows from before this migration means the same: `recorded_at`). Events arrive late and out of
-- order, so the current state is the change *given* last, not recorded last: an older change
-- that arrives after a newer one joins the history but does not overwrite the state.
ALTER TABLE privacy_consents ADD COLUMN given_at TEXT;
ALTER TABLE privacy_consent_state ADD COLUMN given_at TEXT;
UPDATE privacy_consent_state SET given_at = updated_at;

-- The source event a history row came from: its CloudEvents identity (`source` + `id`), unique,
-- so a source system may re-send after a timeout and nothing is recorded twice. On the history
-- row itself, so whatever erasure does with a person's consent rows it does with these too.
-- (NULL for changes recorded in Aloft; NULLs are distinct in a unique index on both backends.)
ALTER TABLE privacy_consents ADD COLUMN event_source TEXT;
ALTER TABLE privacy_consents ADD COLUMN event_id TEXT;
CREATE UNIQUE INDEX privacy_consents_event ON privacy_consents (event_source, event_id);
