//! Irregular operations, pure: what a flight disruption reported to case management says,
//! whether it opens cases at all (a cancellation does; a delay only when long), how each
//! affected passenger's case is prioritised — frequent-flyer tier first, then special
//! assistance, then an onward connection at risk — and which onward flight a booking connects
//! to. No IO, no clock: the same report and bookings give the same cases in the same order.

use chrono::{DateTime, Duration, NaiveDate};
use serde_json::Value;

use aloft_kernel::FieldError;

use super::{Prioritised, Priority, PriorityReason};

/// The queue disruption cases go to (a team that re-accommodates and informs in bulk).
pub const DISRUPTION_QUEUE: &str = "irregular_operations";

/// From how many minutes a delay opens cases: a delay of three hours or more is when passengers'
/// rights (care, compensation) and rebooking questions start (EU261 Art. 6, *Sturgeon*).
pub const LONG_DELAY_MINUTES: i64 = 180;

/// An onward flight departing within this time after the disrupted flight's scheduled arrival is
/// a connection the disruption puts at risk.
pub const CONNECTION_WINDOW_HOURS: i64 = 24;

/// What happened to the flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisruptionKind {
    /// It did not operate.
    Cancellation,
    /// It operated late.
    Delay,
}

impl DisruptionKind {
    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cancellation => "cancellation",
            Self::Delay => "delay",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "cancellation" => Some(Self::Cancellation),
            "delay" => Some(Self::Delay),
            _ => None,
        }
    }
}

/// A flight disruption as reported to case management (`POST /api/v1/cases/disruptions`; the
/// same document operations send to compensation, whose extra fields are ignored here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisruptionReport {
    /// The flight designator (`LH400`).
    pub flight: String,
    /// Local departure date at the origin.
    pub date: NaiveDate,
    /// Cancellation or delay.
    pub kind: DisruptionKind,
    /// How late (delay): given, or derived from `actual_departure` and the booking's schedule.
    pub delay_minutes: Option<i64>,
    /// Actual off-block time of a delayed flight, when reported instead of minutes.
    pub actual_departure: Option<DateTime<chrono::FixedOffset>>,
}

impl DisruptionReport {
    /// The flight key travel's timeline uses (`LH400 2026-07-01`).
    pub fn flight_key(&self) -> String {
        format!("{} {}", self.flight, self.date)
    }
}

/// Parses a disruption report; every bad or missing field is named by its JSON pointer.
///
/// # Errors
/// The fields that are missing or invalid.
pub fn parse_report(v: &Value) -> Result<DisruptionReport, Vec<FieldError>> {
    let mut errors = Vec::new();
    if !v.is_object() {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim);
    let flight = match text("flight") {
        Some(f) if (3..=7).contains(&f.len()) && f.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Some(f.to_ascii_uppercase())
        }
        _ => {
            errors.push(FieldError::new(
                "/flight",
                "is required: a flight designator such as LH400",
            ));
            None
        }
    };
    let date = match text("date").map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
        Some(Ok(d)) => Some(d),
        _ => {
            errors.push(FieldError::new(
                "/date",
                "is required: the local departure date, YYYY-MM-DD",
            ));
            None
        }
    };
    let kind = text("kind").and_then(DisruptionKind::parse);
    if kind.is_none() {
        errors.push(FieldError::new("/kind", "must be delay or cancellation"));
    }
    let delay_minutes = match v.get("delay_minutes") {
        None | Some(Value::Null) => None,
        Some(m) => match m.as_i64() {
            Some(m) if (0..=10_000).contains(&m) => Some(m),
            _ => {
                errors.push(FieldError::new(
                    "/delay_minutes",
                    "must be a whole number of minutes from 0 to 10000",
                ));
                None
            }
        },
    };
    let actual_departure = match text("actual_departure") {
        None => None,
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t),
            Err(_) => {
                errors.push(FieldError::new(
                    "/actual_departure",
                    "must be an RFC 3339 instant with its offset",
                ));
                None
            }
        },
    };
    if kind == Some(DisruptionKind::Delay)
        && delay_minutes.is_none()
        && actual_departure.is_none()
        && errors.is_empty()
    {
        errors.push(FieldError::new(
            "/delay_minutes",
            "is required for a delay (or actual_departure)",
        ));
    }
    match (flight, date, kind) {
        (Some(flight), Some(date), Some(kind)) if errors.is_empty() => Ok(DisruptionReport {
            flight,
            date,
            kind,
            delay_minutes,
            actual_departure,
        }),
        _ => Err(errors),
    }
}

/// The flight's segment of a booking document (travel's `Booking` JSON): its index.
fn segment_of(segments: &[Value], flight: &str, date: NaiveDate) -> Option<usize> {
    segments.iter().position(|s| {
        s.get("flight_number").and_then(Value::as_str) == Some(flight)
            && s.get("scheduled_departure_local")
                .and_then(Value::as_str)
                .and_then(|t| t.get(..10))
                .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
                == Some(date)
    })
}

fn utc(s: &Value, k: &str) -> Option<DateTime<chrono::FixedOffset>> {
    s.get(k)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
}

/// The onward flight of `booking` the disruption of `flight` on `date` puts at risk: the next
/// segment, leaving from where the disrupted one arrives, within
/// [`CONNECTION_WINDOW_HOURS`] of its scheduled arrival.
pub fn onward_connection(booking: &Value, flight: &str, date: NaiveDate) -> Option<String> {
    let segments = booking.get("segments")?.as_array()?;
    let at = segment_of(segments, flight, date)?;
    let this = &segments[at];
    let next = segments.get(at + 1)?;
    let same_airport =
        this.get("destination").is_some() && this.get("destination") == next.get("origin");
    let arrives = utc(this, "scheduled_arrival_utc")?;
    let leaves = utc(next, "scheduled_departure_utc")?;
    let within = leaves >= arrives && leaves - arrives <= Duration::hours(CONNECTION_WINDOW_HOURS);
    (same_airport && within)
        .then(|| next.get("flight_number")?.as_str().map(str::to_owned))
        .flatten()
}

/// The station (IATA) the disrupted `flight` of `booking` leaves from: the passenger's case is
/// handled on that station's business calendar, as a case the passenger opens about the booking
/// would be.
pub fn departure_station(booking: &Value, flight: &str, date: NaiveDate) -> Option<String> {
    let segments = booking.get("segments")?.as_array()?;
    let at = segment_of(segments, flight, date)?;
    segments[at]
        .get("origin")?
        .as_str()
        .filter(|o| o.len() == 3 && o.bytes().all(|b| b.is_ascii_alphabetic()))
        .map(str::to_ascii_uppercase)
}

/// How late the flight of `booking` is, from the reported minutes or from the actual departure
/// against the booking's scheduled departure.
pub fn delay_of(report: &DisruptionReport, booking: &Value) -> Option<i64> {
    if let Some(m) = report.delay_minutes {
        return Some(m);
    }
    let actual = report.actual_departure?;
    let segments = booking.get("segments")?.as_array()?;
    let at = segment_of(segments, &report.flight, report.date)?;
    let scheduled = utc(&segments[at], "scheduled_departure_utc")?;
    Some((actual - scheduled).num_minutes())
}

/// Whether the disruption opens cases: every cancellation; a delay of at least
/// [`LONG_DELAY_MINUTES`].
pub fn opens_cases(kind: DisruptionKind, delay_minutes: Option<i64>) -> bool {
    match kind {
        DisruptionKind::Cancellation => true,
        DisruptionKind::Delay => delay_minutes.is_some_and(|m| m >= LONG_DELAY_MINUTES),
    }
}

/// One affected passenger as prioritisation sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AffectedPassenger<'a> {
    /// Frequent-flyer tier, lower-case (`gold`), if any.
    pub tier: Option<&'a str>,
    /// A standing special service request for assistance (PRM).
    pub special_assistance: bool,
    /// The onward flight the disruption puts at risk, if any.
    pub connection: Option<&'a str>,
}

/// Points of a tier. Each step outweighs everything below it (assistance and a connection
/// together are 15), so cases sort by tier first, then assistance, then connection.
fn tier_points(tier: Option<&str>) -> i32 {
    match tier.map(str::to_ascii_lowercase).as_deref() {
        Some("platinum" | "diamond") => 60,
        Some("gold") => 40,
        Some("silver") => 20,
        _ => 0,
    }
}

/// Points of special assistance: more than a connection's, less than a tier step.
const ASSISTANCE_POINTS: i32 = 10;
/// Points of an onward connection at risk.
const CONNECTION_POINTS: i32 = 5;

/// The priority of one affected passenger's case, with its reasons: the disruption itself
/// (cancellation 20, long delay 10), then tier, special assistance and connection, weighted so
/// that the order of cases is tier, then assistance, then connection (the score is that order
/// and [`Priority::of_score`] keeps it).
pub fn prioritise_affected(
    kind: DisruptionKind,
    flight_key: &str,
    delay_minutes: Option<i64>,
    p: &AffectedPassenger<'_>,
) -> Prioritised {
    let mut reasons = Vec::new();
    let mut add = |code: &str, detail: String, points: i32| {
        if points != 0 {
            reasons.push(PriorityReason {
                code: code.into(),
                detail,
                points,
            });
        }
    };
    match kind {
        DisruptionKind::Cancellation => add(
            "flight_cancelled",
            format!("Flight {flight_key} is cancelled"),
            20,
        ),
        DisruptionKind::Delay => add(
            "flight_delayed",
            format!(
                "Flight {flight_key} is delayed by {} minutes",
                delay_minutes.unwrap_or_default()
            ),
            10,
        ),
    }
    if let Some(tier) = p.tier {
        add(
            "tier",
            format!("{tier} frequent flyer"),
            tier_points(Some(tier)),
        );
    }
    if p.special_assistance {
        add(
            "special_assistance",
            "The passenger needs special assistance".into(),
            ASSISTANCE_POINTS,
        );
    }
    if let Some(c) = p.connection {
        add(
            "onward_connection",
            format!("The onward connection {c} is at risk"),
            CONNECTION_POINTS,
        );
    }
    let score = reasons.iter().map(|r| r.points).sum();
    Prioritised {
        priority: Priority::of_score(score),
        reasons,
    }
}

/// The score of a prioritised case (sum of its reasons' points): higher is handled first.
pub fn score(p: &Prioritised) -> i32 {
    p.reasons.iter().map(|r| r.points).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seg(flight: &str, from: &str, to: &str, dep: &str, arr: &str) -> Value {
        json!({"flight_number": flight, "origin": from, "destination": to,
            "scheduled_departure_local": dep, "scheduled_departure_utc": format!("{dep}:00Z"),
            "scheduled_arrival_utc": format!("{arr}:00Z")})
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 7, 1).unwrap()
    }

    #[test]
    fn a_report_is_parsed_and_every_bad_field_named() {
        let r = parse_report(&json!({"flight": "lh400", "date": "2026-07-01",
            "kind": "cancellation", "cause": "technical"}))
        .unwrap();
        assert_eq!(r.flight_key(), "LH400 2026-07-01");
        assert_eq!(r.kind, DisruptionKind::Cancellation);
        let errors = parse_report(&json!({"flight": "x", "kind": "storm",
            "delay_minutes": -3}))
        .unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/flight", "/date", "/kind", "/delay_minutes"]);
        let errors = parse_report(&json!({"flight": "LH400", "date": "2026-07-01",
            "kind": "delay"}))
        .unwrap_err();
        assert_eq!(errors[0].pointer, "/delay_minutes");
        assert!(parse_report(&json!([])).is_err());
    }

    #[test]
    fn cancellations_and_long_delays_open_cases_short_delays_do_not() {
        assert!(opens_cases(DisruptionKind::Cancellation, None));
        assert!(opens_cases(DisruptionKind::Delay, Some(180)));
        assert!(!opens_cases(DisruptionKind::Delay, Some(179)));
        assert!(!opens_cases(DisruptionKind::Delay, None));
    }

    #[test]
    fn a_connection_is_the_next_segment_from_the_same_airport_within_a_day() {
        let b = json!({"segments": [
            seg("LH400", "FRA", "JFK", "2026-07-01T10:00", "2026-07-01T18:40"),
            seg("UA100", "JFK", "SFO", "2026-07-01T21:00", "2026-07-02T03:00")]});
        assert_eq!(
            onward_connection(&b, "LH400", date()).as_deref(),
            Some("UA100")
        );
        // The last segment has no onward flight; another date is another flight.
        assert_eq!(onward_connection(&b, "UA100", date()), None);
        assert_eq!(
            onward_connection(&b, "LH400", date().succ_opt().unwrap()),
            None
        );
        // A return flight a week later is not a connection; nor one from another airport.
        let ret = json!({"segments": [
            seg("LH400", "FRA", "JFK", "2026-07-01T10:00", "2026-07-01T18:40"),
            seg("LH401", "JFK", "FRA", "2026-07-08T20:00", "2026-07-09T08:00")]});
        assert_eq!(onward_connection(&ret, "LH400", date()), None);
        let other = json!({"segments": [
            seg("LH400", "FRA", "JFK", "2026-07-01T10:00", "2026-07-01T18:40"),
            seg("UA200", "EWR", "SFO", "2026-07-01T21:00", "2026-07-02T03:00")]});
        assert_eq!(onward_connection(&other, "LH400", date()), None);
    }

    #[test]
    fn the_delay_comes_from_the_minutes_or_the_actual_departure() {
        let b = json!({"segments": [
            seg("LH400", "FRA", "JFK", "2026-07-01T10:00", "2026-07-01T18:40")]});
        let mut r = parse_report(&json!({"flight": "LH400", "date": "2026-07-01",
            "kind": "delay", "actual_departure": "2026-07-01T15:30:00+02:00"}))
        .unwrap();
        assert_eq!(delay_of(&r, &b), Some(210));
        r.delay_minutes = Some(200);
        assert_eq!(delay_of(&r, &b), Some(200));
    }

    #[test]
    fn the_case_is_handled_where_the_disrupted_flight_leaves() {
        let b = json!({"segments": [
            seg("LH400", "FRA", "JFK", "2026-07-01T10:00", "2026-07-01T18:40"),
            seg("UA900", "JFK", "SFO", "2026-07-01T20:30", "2026-07-01T23:50")]});
        let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(departure_station(&b, "LH400", day).as_deref(), Some("FRA"));
        assert_eq!(departure_station(&b, "UA900", day).as_deref(), Some("JFK"));
        assert_eq!(departure_station(&b, "LH401", day), None);
        let next_day = NaiveDate::from_ymd_opt(2026, 7, 2).unwrap();
        assert_eq!(departure_station(&b, "LH400", next_day), None);
    }

    #[test]
    fn priority_orders_by_tier_then_assistance_then_connection() {
        let p = |tier, special_assistance, connection| {
            prioritise_affected(
                DisruptionKind::Cancellation,
                "LH400 2026-07-01",
                None,
                &AffectedPassenger {
                    tier,
                    special_assistance,
                    connection,
                },
            )
        };
        // Ascending in the order cases are to be handled (last = first).
        let ladder = [
            p(None, false, None),
            p(None, false, Some("UA100")),
            p(None, true, None),
            p(None, true, Some("UA100")),
            p(Some("silver"), false, None),
            p(Some("silver"), true, Some("UA100")),
            p(Some("gold"), false, None),
            p(Some("gold"), true, Some("UA100")),
            p(Some("platinum"), false, None),
        ];
        for w in ladder.windows(2) {
            assert!(score(&w[0]) < score(&w[1]), "{w:?}");
            assert!(w[0].priority >= w[1].priority, "{w:?}");
        }
        assert_eq!(ladder[0].priority, Priority::Normal);
        assert_eq!(ladder[8].priority, Priority::Urgent);
        let codes: Vec<&str> = ladder[7].reasons.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "flight_cancelled",
                "tier",
                "special_assistance",
                "onward_connection"
            ]
        );
        let delayed = prioritise_affected(
            DisruptionKind::Delay,
            "LH400 2026-07-01",
            Some(240),
            &AffectedPassenger {
                tier: None,
                special_assistance: false,
                connection: None,
            },
        );
        assert_eq!(delayed.priority, Priority::Low);
        assert!(delayed.reasons[0].detail.contains("240 minutes"));
    }
}
