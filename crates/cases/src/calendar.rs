//! Business-hours calendars per station, as data (pure, tested without IO): a station (IATA
//! airport code) has an IANA time zone, weekly opening hours and holiday dates; a case's SLA
//! clocks run on the calendar of its station, or on the default calendar when it has none or
//! its station has no calendar of its own.
//!
//! A definition is checked whole and every problem named by its JSON pointer, so the API's
//! 422 and the settings form say exactly which field is wrong.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{BusinessCalendar, WorkflowProblem};

/// The key of the calendar used when a case's station has none.
pub const DEFAULT_STATION: &str = "default";

/// The weekday names definitions use, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One day's opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayHours {
    /// `mon` … `sun`.
    pub day: String,
    /// Opening time, local (`09:00`).
    pub opens: String,
    /// Closing time, local (`17:00`; `24:00` for midnight).
    pub closes: String,
}

/// A station's business calendar as stored and exchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CalendarDef {
    /// IANA time zone (`Europe/Berlin`).
    pub time_zone: String,
    /// Opening hours of the days worked; a day not listed is not worked.
    pub hours: Vec<DayHours>,
    /// Local dates nobody works (`2026-12-25`).
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Whether `s` names a calendar: an IATA airport code (three capital letters) or `default`.
pub fn is_station(s: &str) -> bool {
    s == DEFAULT_STATION || (s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase()))
}

fn time(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

impl CalendarDef {
    /// The calendar this definition describes, or every problem named by pointer.
    pub fn compile(&self) -> Result<BusinessCalendar, Vec<WorkflowProblem>> {
        let mut out = Vec::new();
        let mut bad =
            |pointer: String, message: String| out.push(WorkflowProblem { pointer, message });
        let tz = Tz::from_str(self.time_zone.trim()).ok();
        if tz.is_none() {
            bad(
                "/time_zone".into(),
                format!(
                    "{:?} is not an IANA time zone (e.g. Europe/Berlin)",
                    self.time_zone
                ),
            );
        }
        let mut week = [None; 7];
        let mut seen = BTreeSet::new();
        for (i, h) in self.hours.iter().enumerate() {
            let day = DAYS.iter().position(|d| *d == h.day);
            match day {
                None => bad(
                    format!("/hours/{i}/day"),
                    format!("{:?} is not a day: one of {}", h.day, DAYS.join(", ")),
                ),
                Some(d) if !seen.insert(d) => bad(
                    format!("/hours/{i}/day"),
                    format!("{} is listed twice", h.day),
                ),
                Some(_) => {}
            }
            let opens = time(&h.opens);
            if opens.is_none() {
                bad(
                    format!("/hours/{i}/opens"),
                    "must be a time HH:MM (00:00-23:59)".into(),
                );
            }
            let closes = if h.closes.trim() == "24:00" {
                Some(None)
            } else {
                time(&h.closes).map(Some)
            };
            match (opens, closes) {
                (_, None) => bad(
                    format!("/hours/{i}/closes"),
                    "must be a time HH:MM (00:00-24:00)".into(),
                ),
                (Some(o), Some(Some(c))) if c <= o => bad(
                    format!("/hours/{i}/closes"),
                    "must be after the opening time (hours past midnight belong to the next day)"
                        .into(),
                ),
                (Some(o), Some(c)) => {
                    if let Some(d) = day {
                        week[d] = Some((o, c));
                    }
                }
                _ => {}
            }
        }
        if self.hours.is_empty() {
            bad(
                "/hours".into(),
                "must list the hours of at least one day".into(),
            );
        }
        let mut holidays = BTreeSet::new();
        for (i, d) in self.holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d") {
                Ok(date) => {
                    holidays.insert(date);
                }
                Err(_) => bad(
                    format!("/holidays/{i}"),
                    format!("{d:?} is not a date YYYY-MM-DD"),
                ),
            }
        }
        match tz {
            Some(tz) if out.is_empty() => Ok(BusinessCalendar { tz, week, holidays }),
            _ => Err(out),
        }
    }

    /// The definition of round the clock in UTC (the shipped default calendar).
    pub fn always_utc() -> Self {
        Self {
            time_zone: "UTC".into(),
            hours: DAYS
                .iter()
                .map(|d| DayHours {
                    day: (*d).into(),
                    opens: "00:00".into(),
                    closes: "24:00".into(),
                })
                .collect(),
            holidays: Vec::new(),
        }
    }
}

/// Every calendar in force: one per station that has its own, and the default.
#[derive(Debug, Clone)]
pub struct Calendars {
    /// The default calendar.
    pub default: BusinessCalendar,
    /// Station (IATA code) → its calendar.
    pub stations: BTreeMap<String, BusinessCalendar>,
}

impl Calendars {
    /// Only a default calendar.
    pub fn new(default: BusinessCalendar) -> Self {
        Self {
            default,
            stations: BTreeMap::new(),
        }
    }

    /// The calendar of `station`: its own, else the default.
    pub fn of(&self, station: Option<&str>) -> &BusinessCalendar {
        station
            .and_then(|s| self.stations.get(s))
            .unwrap_or(&self.default)
    }
}

/// The weekday of a day name.
pub fn weekday(name: &str) -> Option<Weekday> {
    DAYS.iter()
        .position(|d| *d == name)
        .and_then(|i| Weekday::try_from(i as u8).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SlaClock;
    use chrono::{DateTime, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn def(zone: &str, holidays: &[&str]) -> CalendarDef {
        CalendarDef {
            time_zone: zone.into(),
            hours: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| DayHours {
                    day: (*d).into(),
                    opens: "09:00".into(),
                    closes: "17:00".into(),
                })
                .chain([DayHours {
                    day: "sat".into(),
                    opens: "10:00".into(),
                    closes: "14:00".into(),
                }])
                .collect(),
            holidays: holidays.iter().map(|h| (*h).to_owned()).collect(),
        }
    }

    #[test]
    fn berlin_across_the_end_of_summer_time_and_a_holiday() {
        // Summer time ends on Sunday 25 Oct 2026 (03:00 CEST → 02:00 CET); Monday 26 Oct is
        // declared a holiday here.
        let cal = def("Europe/Berlin", &["2026-10-26"]).compile().unwrap();
        // Friday 23 Oct 16:00 CEST (14:00Z) + 3 business hours: 1 h Friday, 4 h Saturday
        // 10:00–14:00 would be more than left: 2 h into Saturday → 12:00 CEST (10:00Z).
        assert_eq!(
            cal.add(at("2026-10-23T14:00:00Z"), 180),
            at("2026-10-24T10:00:00Z")
        );
        // Saturday 13:00 CEST (11:00Z) + 2 h: 1 h Saturday, Sunday shut, Monday a holiday →
        // Tuesday 27 Oct 10:00 CET, which is 09:00Z (an hour later in UTC than before).
        assert_eq!(
            cal.add(at("2026-10-24T11:00:00Z"), 120),
            at("2026-10-27T09:00:00Z")
        );
        // Nothing counts over the weekend's night, the DST change and the holiday.
        assert_eq!(
            cal.minutes_between(at("2026-10-24T12:00:00Z"), at("2026-10-27T08:00:00Z")),
            0
        );
        // A clock paused on Friday and resumed on Tuesday keeps its minutes.
        let mut clock = SlaClock::start(8 * 60, at("2026-10-23T07:00:00Z"));
        clock.pause(at("2026-10-23T13:00:00Z"), &cal);
        assert_eq!(clock.used, 6 * 60);
        clock.resume(at("2026-10-27T08:00:00Z"));
        // Tuesday 09:00 CET + 2 h → 11:00 CET = 10:00Z.
        assert_eq!(clock.due(&cal), Some(at("2026-10-27T10:00:00Z")));
    }

    #[test]
    fn new_york_across_the_start_of_daylight_time_and_a_holiday() {
        // Daylight time starts on Sunday 8 Mar 2026 (02:00 EST → 03:00 EDT); Monday 9 Mar is a
        // holiday here. Friday 6 Mar 16:00 EST = 21:00Z.
        let cal = def("America/New_York", &["2026-03-09"]).compile().unwrap();
        // + 6 h: 1 h Friday, 4 h Saturday (10:00–14:00 EST = 15:00–19:00Z), Monday off →
        // Tuesday 10 Mar 10:00 EDT = 14:00Z.
        assert_eq!(
            cal.add(at("2026-03-06T21:00:00Z"), 360),
            at("2026-03-10T14:00:00Z")
        );
        assert_eq!(
            cal.minutes_between(at("2026-03-06T21:00:00Z"), at("2026-03-10T14:00:00Z")),
            360
        );
        // The same local opening time is an hour earlier in UTC after the change.
        assert_eq!(
            cal.add(at("2026-03-06T13:00:00Z"), 0),
            at("2026-03-06T14:00:00Z")
        );
        assert_eq!(
            cal.add(at("2026-03-10T12:00:00Z"), 0),
            at("2026-03-10T13:00:00Z")
        );
    }

    #[test]
    fn stations_without_a_calendar_fall_back_to_the_default() {
        let mut book = Calendars::new(CalendarDef::always_utc().compile().unwrap());
        book.stations
            .insert("FRA".into(), def("Europe/Berlin", &[]).compile().unwrap());
        // Saturday 20:00Z: Frankfurt is shut until Monday; the default runs round the clock.
        let from = at("2026-12-05T20:00:00Z");
        assert_eq!(book.of(None).add(from, 60), at("2026-12-05T21:00:00Z"));
        assert_eq!(
            book.of(Some("JFK")).add(from, 60),
            at("2026-12-05T21:00:00Z")
        );
        assert_eq!(
            book.of(Some("FRA")).add(from, 60),
            at("2026-12-07T09:00:00Z")
        );
    }

    #[test]
    fn a_bad_definition_names_each_field() {
        let mut d = def("Mars/Olympus", &["2026-13-01"]);
        d.hours[0].day = "funday".into();
        d.hours[1].closes = "08:00".into();
        d.hours[2].opens = "9am".into();
        d.hours[4].day = "mon".into();
        let pointers: Vec<String> = d
            .compile()
            .unwrap_err()
            .into_iter()
            .map(|p| p.pointer)
            .collect();
        assert_eq!(
            pointers,
            [
                "/time_zone",
                "/hours/0/day",
                "/hours/1/closes",
                "/hours/2/opens",
                "/holidays/0"
            ]
        );
        // `mon` at index 4 is fine once index 0 is not `mon`.
        assert!(is_station("FRA") && is_station("default"));
        assert!(!is_station("fra") && !is_station("FRAN"));
        assert_eq!(weekday("sun"), Some(Weekday::Sun));
        let mut empty = def("UTC", &[]);
        empty.hours.clear();
        assert_eq!(empty.compile().unwrap_err()[0].pointer, "/hours");
    }
}
