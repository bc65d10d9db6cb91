-- Cabin crew rosters (crates/access/src/roster.rs): the flights a crew member works. Their row
-- scope: they see the passengers of these flights, around the departure date, and nobody else.
-- `departure_date` is the local date at the origin, as rosters and flight numbers are published.
CREATE TABLE crew_rosters (
    account_id     {{key_text}} NOT NULL,
    flight_number  {{key_text}} NOT NULL,
    departure_date {{key_text}} NOT NULL,
    assigned_at    TEXT NOT NULL,
    PRIMARY KEY (account_id, flight_number, departure_date)
);
