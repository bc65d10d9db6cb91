-- Flight entries of the timeline carry their departure station and flight (designator and local
-- departure date, `BA117 2026-03-12`), so that row scopes are conditions of a query rather than
-- filters after it: a check-in agent's search is limited to passengers departing from their
-- station soon (`timeline_station_departures`), cabin crew's to the passengers of their rostered
-- flights (`timeline_flights`). Both indexes are partial: only flight entries are written to them.
-- Rows written before this migration are filled in at start-up (TravelStore::fill_flight_keys),
-- found through `timeline_flight_keys_missing`, which is empty once they are (new flight entries
-- always carry their keys) and so costs writers nothing.
ALTER TABLE timeline ADD COLUMN station {{key_text}};
ALTER TABLE timeline ADD COLUMN flight {{key_text}};
CREATE INDEX timeline_station_departures ON timeline (station, occurred_at) WHERE station IS NOT NULL;
CREATE INDEX timeline_flights ON timeline (flight) WHERE flight IS NOT NULL;
CREATE INDEX timeline_flight_keys_missing ON timeline (record_id) WHERE kind = 'flight' AND station IS NULL;
