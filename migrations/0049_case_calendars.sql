-- Per-station business-hours calendars for case SLA clocks (crates/cases/src/calendar.rs).
--
-- case_calendars: one row per station (IATA airport code, or `default` for cases without a
-- station of their own); `definition` is the JSON of calendar::CalendarDef (IANA time zone,
-- weekly opening hours, holidays). `version` counts the station's changes; every change is
-- audited and announced (`aloft.case.calendar_changed`).
CREATE TABLE case_calendars (
    station     {{key_text}} PRIMARY KEY,
    definition  TEXT NOT NULL,
    version     BIGINT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);

-- cases.station: the station whose calendar the case's SLA clocks run on (given when the case
-- is opened, or the departure station of the booking it concerns); NULL: the default calendar.
ALTER TABLE cases ADD COLUMN station TEXT;
