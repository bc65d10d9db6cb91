-- Check-in status of departing passengers (crates/departure): one row per passenger and flight
-- (`flight_key` as travel keys flights: `EK201 2026-12-06`, the local departure date), written
-- when a boarding pass is scanned at the desk (its check-in sequence number proves the check-in)
-- or when the agent checks the passenger in at the desk. Never updated: the first record of a
-- check-in stands. `method`: `boarding_pass` | `desk`; `recorded_by`: the staff actor id.
CREATE TABLE departure_checkins (
    flight_key      {{key_text}} NOT NULL,
    customer_id     {{key_text}} NOT NULL,
    checked_in_at   TEXT NOT NULL,
    method          TEXT NOT NULL,
    sequence_number TEXT,
    recorded_by     TEXT NOT NULL,
    PRIMARY KEY (flight_key, customer_id)
);
