//! The pure rules of automatic processing: what a disruption event says, which passengers of a
//! flight it affects and how (on the flight, or missing a connection because of it), the claim
//! each passenger's booking makes under the evaluation contract of `aloft-rights`, whether a
//! proposal may be approved without a person, and in which form compensation may be paid.
//!
//! No IO, no clock: the same event and bookings give the same proposals (replays included).

use aloft_kernel::FieldError;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde_json::{Value, json};

/// The causes the evaluation contract knows (`aloft-rights`), checked here so a bad event is
/// refused with its field named before any passenger is looked up.
pub const CAUSES: &[&str] = &[
    "technical",
    "crew_shortage",
    "own_staff_strike",
    "overbooking",
    "weather",
    "air_traffic_control",
    "security",
    "external_strike",
    "bird_strike",
    "medical",
    "political_instability",
    "other",
];

/// What happened to the flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisruptionKind {
    /// It operated late.
    Delay,
    /// It did not operate.
    Cancellation,
}

impl DisruptionKind {
    /// The contract's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delay => "delay",
            Self::Cancellation => "cancellation",
        }
    }
}

/// A flight disruption as operations report it (`POST /api/v1/compensation/disruptions`).
#[derive(Debug, Clone, PartialEq)]
pub struct FlightDisruption {
    /// The flight designator (`LH400`).
    pub flight: String,
    /// Local departure date at the origin.
    pub date: NaiveDate,
    /// Delay or cancellation.
    pub kind: DisruptionKind,
    /// The cause category (one of [`CAUSES`]).
    pub cause: String,
    /// Country that licensed the operating carrier (EU261 Art. 3(1)(b), "Community carrier").
    pub carrier_country: String,
    /// APPR carrier size (`None`: not said; APPR then names the missing fact).
    pub carrier_large: Option<bool>,
    /// Actual off-block time (delay).
    pub actual_departure: Option<DateTime<FixedOffset>>,
    /// Actual on-block time (delay; required).
    pub actual_arrival: Option<DateTime<FixedOffset>>,
    /// Days of notice of a cancellation (required for one).
    pub notice_days: Option<i64>,
    /// The alternative flight offered on a cancellation, as the contract's `rerouting`.
    pub rerouting: Option<Value>,
    /// APPR: whether the disruption within the carrier's control was required for safety.
    pub required_for_safety: bool,
}

impl FlightDisruption {
    /// The flight key travel's timeline uses (`LH400 2026-07-01`).
    pub fn flight_key(&self) -> String {
        format!("{} {}", self.flight, self.date)
    }
}

/// Parses a disruption event; every bad or missing field is named by its JSON pointer.
///
/// # Errors
/// The fields that are missing or invalid.
pub fn parse_disruption(v: &Value) -> Result<FlightDisruption, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fail = |p: &str, m: &str| errors.push(FieldError::new(p, m));
    if !v.is_object() {
        fail("", "must be a JSON object");
        return Err(errors);
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim);
    let flight = match text("flight") {
        Some(f) if (3..=7).contains(&f.len()) && f.chars().all(|c| c.is_ascii_alphanumeric()) => {
            f.to_ascii_uppercase()
        }
        _ => {
            fail("/flight", "is required: a flight designator such as LH400");
            String::new()
        }
    };
    let date = match text("date").map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d")) {
        Some(Ok(d)) => Some(d),
        _ => {
            fail("/date", "is required: the local departure date, YYYY-MM-DD");
            None
        }
    };
    let kind = match text("kind") {
        Some("delay") => Some(DisruptionKind::Delay),
        Some("cancellation") => Some(DisruptionKind::Cancellation),
        _ => {
            fail("/kind", "must be delay or cancellation");
            None
        }
    };
    let cause = match text("cause") {
        Some(c) if CAUSES.contains(&c) => c.to_owned(),
        _ => {
            fail(
                "/cause",
                "must be one of technical, crew_shortage, own_staff_strike, overbooking, weather, air_traffic_control, security, external_strike, bird_strike, medical, political_instability, other",
            );
            String::new()
        }
    };
    let carrier_country = match text("operating_carrier_country") {
        Some(c) if c.len() == 2 && c.chars().all(|c| c.is_ascii_alphabetic()) => {
            c.to_ascii_uppercase()
        }
        _ => {
            fail(
                "/operating_carrier_country",
                "is required: the ISO 3166-1 country that licensed the operating carrier",
            );
            String::new()
        }
    };
    let carrier_large = match v.get("operating_carrier_large") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            fail("/operating_carrier_large", "must be true, false or null");
            None
        }
    };
    let mut instant = |k: &str| match v.get(k) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t),
            Err(_) => {
                fail(&format!("/{k}"), "must be an RFC 3339 instant with offset");
                None
            }
        },
        Some(_) => {
            fail(&format!("/{k}"), "must be an RFC 3339 instant with offset");
            None
        }
    };
    let actual_departure = instant("actual_departure");
    let actual_arrival = instant("actual_arrival");
    let notice_days = match v.get("notice_days") {
        None | Some(Value::Null) => None,
        Some(n) => match n.as_i64() {
            Some(d) if d >= 0 => Some(d),
            _ => {
                fail("/notice_days", "must be a whole number of days, 0 or more");
                None
            }
        },
    };
    let rerouting = match v.get("rerouting") {
        None | Some(Value::Null) => None,
        Some(r) if r.is_object() => Some(r.clone()),
        Some(_) => {
            fail("/rerouting", "must be null or {\"departure\", \"arrival\"}");
            None
        }
    };
    let required_for_safety = match v.get("required_for_safety") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            fail("/required_for_safety", "must be true or false");
            false
        }
    };
    match kind {
        Some(DisruptionKind::Delay) => match (actual_departure, actual_arrival) {
            (_, None) if v.get("actual_arrival").is_none_or(Value::is_null) => fail(
                "/actual_arrival",
                "is required for a delay (the actual on-block time)",
            ),
            (Some(d), Some(a)) if a <= d => {
                fail("/actual_arrival", "must be after the actual departure")
            }
            _ => {}
        },
        Some(DisruptionKind::Cancellation) if notice_days.is_none() => fail(
            "/notice_days",
            "is required for a cancellation (days before departure the passengers were told)",
        ),
        _ => {}
    }
    match (date, kind) {
        (Some(date), Some(kind)) if errors.is_empty() => Ok(FlightDisruption {
            flight,
            date,
            kind,
            cause,
            carrier_country,
            carrier_large,
            actual_departure,
            actual_arrival,
            notice_days,
            rerouting,
            required_for_safety,
        }),
        _ => Err(errors),
    }
}

/// How a disruption touches one passenger's booking.
#[derive(Debug, Clone, PartialEq)]
pub enum Passage {
    /// A claim under the evaluation contract (`aloft-rights`), the whole booking judged as one
    /// journey (C-11/11 *Folkerts*; C-559/16 *Bossen*).
    Claim(Value),
    /// The delay makes the passenger miss the connection to `connection`, and when they reached
    /// their final destination is not known yet: the claim cannot be judged, so the proposal
    /// waits for the facts rather than being called ineligible.
    MissedConnection {
        /// The onward flight missed (`LH1234`).
        connection: String,
    },
}

/// Why a booking could not be turned into a claim (a booking document without the flight).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the booking does not hold {0} as a readable flight segment")]
pub struct NotOnBooking(pub String);

/// The claim (or missed connection) of one passenger of the disrupted flight, from their
/// booking document (travel's `Booking` JSON: `segments` with `flight_number`, `origin`,
/// `destination`, `scheduled_departure_utc`, `scheduled_arrival_utc`, `cabin`, and actual times
/// when reported).
///
/// Bookings do not record who licensed each leg's carrier: the disrupted leg takes the event's,
/// another leg the licensing country and size of its carrier in `carriers` (by designator
/// prefix), or — a carrier not listed — the disrupted carrier's.
///
/// # Errors
/// When the booking does not hold the disrupted flight on its date.
pub fn passage(
    booking: &Value,
    d: &FlightDisruption,
    minimum_connection: Duration,
    carriers: &[Carrier],
) -> Result<Passage, NotOnBooking> {
    let missing = || NotOnBooking(d.flight_key());
    let segments = booking
        .get("segments")
        .and_then(Value::as_array)
        .ok_or_else(missing)?;
    let utc = |s: &Value, k: &str| {
        s.get(k)
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    };
    let local_date = |s: &Value| {
        s.get("scheduled_departure_local")
            .and_then(Value::as_str)
            .and_then(|t| t.get(..10))
            .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
    };
    let at = segments
        .iter()
        .position(|s| {
            s.get("flight_number").and_then(Value::as_str) == Some(d.flight.as_str())
                && local_date(s) == Some(d.date)
        })
        .ok_or_else(missing)?;
    if d.kind == DisruptionKind::Delay
        && let (Some(next), Some(arrived)) = (segments.get(at + 1), d.actual_arrival)
        && let Some(onward) = utc(next, "scheduled_departure_utc")
        && arrived + minimum_connection > onward
        && utc(&segments[segments.len() - 1], "actual_arrival").is_none()
    {
        return Ok(Passage::MissedConnection {
            connection: next
                .get("flight_number")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    let itinerary: Vec<Value> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let field = |k: &str| s.get(k).cloned().unwrap_or(Value::Null);
            let flight = s
                .get("flight_number")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let (actual_departure, actual_arrival) = if i == at {
                match d.kind {
                    DisruptionKind::Delay => (
                        d.actual_departure.map(|t| t.to_rfc3339()).into(),
                        d.actual_arrival.map(|t| t.to_rfc3339()).into(),
                    ),
                    DisruptionKind::Cancellation => (Value::Null, Value::Null),
                }
            } else {
                (field("actual_departure"), field("actual_arrival"))
            };
            let listed = (i != at)
                .then(|| {
                    carriers
                        .iter()
                        .find(|c| flight.get(..2) == Some(c.code.as_str()))
                })
                .flatten();
            let (country, large) = match listed {
                Some(c) => (c.country.clone(), Some(c.large)),
                None => (d.carrier_country.clone(), d.carrier_large),
            };
            json!({
                "flight": flight,
                "operating_carrier": flight.get(..2).unwrap_or_default(),
                "operating_carrier_country": country,
                "operating_carrier_large": large,
                "from": field("origin"),
                "to": field("destination"),
                "cabin": field("cabin"),
                "scheduled_departure": field("scheduled_departure_utc"),
                "scheduled_arrival": field("scheduled_arrival_utc"),
                "actual_departure": actual_departure,
                "actual_arrival": actual_arrival,
            })
        })
        .collect();
    Ok(Passage::Claim(json!({
        "itinerary": itinerary,
        "disruption": {
            "kind": d.kind.as_str(),
            "cause": d.cause,
            "notice_days": d.notice_days,
            "rerouting": d.rerouting,
            "volunteer": false,
            "downgraded_to": null,
            "fare_paid": null,
            "baggage": null,
            "required_for_safety": d.required_for_safety,
            "leg": at,
        },
        "regimes": null,
    })))
}

/// How late the disrupted flight arrived against the booking's schedule, minutes (`None` for
/// a cancellation, or when the booking lacks the flight or its schedule): what the goodwill
/// policy's delay ranges read.
pub fn delay_minutes(booking: &Value, d: &FlightDisruption) -> Option<i64> {
    if d.kind != DisruptionKind::Delay {
        return None;
    }
    let arrived = d.actual_arrival?;
    let scheduled = booking
        .get("segments")?
        .as_array()?
        .iter()
        .find(|s| {
            s.get("flight_number").and_then(Value::as_str) == Some(d.flight.as_str())
                && s.get("scheduled_departure_local")
                    .and_then(Value::as_str)
                    .and_then(|t| t.get(..10))
                    .and_then(|t| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok())
                    == Some(d.date)
        })?
        .get("scheduled_arrival_utc")?
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())?;
    Some((arrived - scheduled).num_minutes().max(0))
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Owed, above the automatic limit: waits for a customer affairs executive.
    Pending,
    /// Approved (automatically or by a person); the payment instruction is out.
    Approved,
    /// Refused by a customer affairs executive.
    Rejected,
    /// The regime owes nothing (kept, with its reasons, for the disruption view).
    NotOwed,
    /// A fact is still unknown (arrival after a missed connection): not judged yet.
    AwaitingFacts,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::NotOwed => "not_owed",
            Self::AwaitingFacts => "awaiting_facts",
        }
    }

    /// The status a stored name names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "approved" => Self::Approved,
            "rejected" => Self::Rejected,
            "not_owed" => Self::NotOwed,
            "awaiting_facts" => Self::AwaitingFacts,
            _ => return None,
        })
    }
}

/// The configurable side of processing.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Amounts up to which a proposal is approved without a person, by currency; a currency
    /// not listed (SDR baggage claims) always goes to the queue.
    pub auto_approve_up_to: Vec<(String, Decimal)>,
    /// The shortest connection a passenger can make; an arrival later than the onward
    /// departure minus this misses the connection.
    pub minimum_connection: Duration,
    /// The carriers passengers may claim for themselves (see [`Carrier`]).
    pub carriers: Vec<Carrier>,
}

impl Default for Settings {
    /// The smallest band of each regime is paid at once (EUR 250, GBP 220, CAD 400); larger
    /// amounts get a person's look.
    fn default() -> Self {
        Self {
            auto_approve_up_to: vec![
                ("EUR".into(), Decimal::new(250, 0)),
                ("GBP".into(), Decimal::new(220, 0)),
                ("CAD".into(), Decimal::new(400, 0)),
            ],
            minimum_connection: Duration::minutes(45),
            carriers: default_carriers(),
        }
    }
}

/// The editable part of [`Settings`] as stored and exchanged:
/// `{"auto_approve_up_to": [{"currency": "EUR", "amount": "250.00"}], "minimum_connection_minutes": 45}`.
pub fn settings_document(s: &Settings) -> Value {
    json!({
        "auto_approve_up_to": s.auto_approve_up_to.iter()
            .map(|(c, a)| json!({"currency": c, "amount": a.round_dp(2).to_string()}))
            .collect::<Vec<_>>(),
        "minimum_connection_minutes": s.minimum_connection.num_minutes(),
    })
}

/// `base` with the editable part read from `v`, every bad field named by its pointer. A
/// currency listed twice, a negative or over-precise amount, or a connection time outside
/// 15–240 minutes is refused.
///
/// # Errors
/// The fields that are missing or invalid.
pub fn parse_settings(v: &Value, base: &Settings) -> Result<Settings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut limits: Vec<(String, Decimal)> = Vec::new();
    match v.get("auto_approve_up_to").and_then(Value::as_array) {
        None => errors.push(FieldError::new(
            "/auto_approve_up_to",
            "is required: a list of {currency, amount}",
        )),
        Some(list) => {
            for (i, item) in list.iter().enumerate() {
                let currency = item.get("currency").and_then(Value::as_str).unwrap_or("");
                if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                    errors.push(FieldError::new(
                        format!("/auto_approve_up_to/{i}/currency"),
                        "must be an ISO 4217 code such as EUR",
                    ));
                } else if limits.iter().any(|(c, _)| c == currency) {
                    errors.push(FieldError::new(
                        format!("/auto_approve_up_to/{i}/currency"),
                        "is listed twice",
                    ));
                }
                match item
                    .get("amount")
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse::<Decimal>().ok())
                {
                    Some(a) if a >= Decimal::ZERO && a.scale() <= 2 => {
                        limits.push((currency.to_owned(), a));
                    }
                    _ => errors.push(FieldError::new(
                        format!("/auto_approve_up_to/{i}/amount"),
                        "must be a decimal string, 0 or more, at most two decimals",
                    )),
                }
            }
        }
    }
    let minutes = match v.get("minimum_connection_minutes").and_then(Value::as_i64) {
        Some(m) if (15..=240).contains(&m) => m,
        _ => {
            errors.push(FieldError::new(
                "/minimum_connection_minutes",
                "must be a whole number of minutes between 15 and 240",
            ));
            0
        }
    };
    if errors.is_empty() {
        Ok(Settings {
            auto_approve_up_to: limits,
            minimum_connection: Duration::minutes(minutes),
            carriers: base.carriers.clone(),
        })
    } else {
        Err(errors)
    }
}

impl Settings {
    /// The status a fresh proposal of `amount` in `currency` takes (`None` amount: nothing owed).
    pub fn initial_status(&self, owed: Option<(&str, Decimal)>) -> Status {
        match owed {
            None => Status::NotOwed,
            Some((currency, amount)) => {
                let auto = self
                    .auto_approve_up_to
                    .iter()
                    .any(|(c, limit)| c == currency && amount <= *limit);
                if auto {
                    Status::Approved
                } else {
                    Status::Pending
                }
            }
        }
    }
}

/// The form compensation is paid in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Money (bank transfer, cheque).
    Cash,
    /// Travel voucher.
    Voucher,
    /// Frequent-flyer miles.
    Miles,
}

impl Method {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Voucher => "voucher",
            Self::Miles => "miles",
        }
    }

    /// The method a name names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "cash" => Self::Cash,
            "voucher" => Self::Voucher,
            "miles" => Self::Miles,
            _ => return None,
        })
    }
}

/// Whether compensation under `regime` may be paid as `method`.
///
/// Money is always allowed. EU261 and UK261 allow travel vouchers or other services only with
/// the passenger's signed agreement (Regulation (EC) No 261/2004, Art. 7(3)); APPR lets the
/// passenger choose another form only when offered, in writing, and it is worth more
/// (SOR/2019-150, s. 19(4)) — here, the passenger's agreement; the Montreal Convention owes
/// damages, paid in money.
///
/// # Errors
/// Why the method is not allowed, in a sentence.
pub fn method_allowed(
    regime: &str,
    method: Method,
    passenger_agreed: bool,
) -> Result<(), &'static str> {
    match (regime, method) {
        (_, Method::Cash) => Ok(()),
        ("MONTREAL", _) => Err("baggage damages under the Montreal Convention are paid in money"),
        (_, _) if passenger_agreed => Ok(()),
        _ => Err(
            "vouchers or miles need the passenger's signed agreement (Regulation (EC) No 261/2004, Art. 7(3))",
        ),
    }
}

/// The carriers whose flights passengers may claim for themselves: designator prefix, the
/// country that licensed the carrier (EU261 Art. 3(1)(b)) and whether it is a large carrier
/// under APPR. Bookings do not record licensing, so a self-service claim needs it from here;
/// a flight of a carrier not listed is not judged automatically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    /// Two-character designator (`LH`).
    pub code: String,
    /// ISO 3166-1 alpha-2 licensing country.
    pub country: String,
    /// APPR large carrier.
    pub large: bool,
}

/// The carriers known by default: the demo airlines and their usual partners.
pub fn default_carriers() -> Vec<Carrier> {
    [
        ("LH", "DE", true),
        ("BA", "GB", true),
        ("AF", "FR", true),
        ("KL", "NL", true),
        ("IB", "ES", true),
        ("AZ", "IT", true),
        ("LX", "CH", true),
        ("SK", "SE", true),
        ("AY", "FI", true),
        ("TP", "PT", true),
        ("EI", "IE", true),
        ("AC", "CA", true),
        ("EK", "AE", true),
        ("UA", "US", true),
    ]
    .into_iter()
    .map(|(code, country, large)| Carrier {
        code: code.into(),
        country: country.into(),
        large,
    })
    .collect()
}

/// What a passenger says happened to one flight of their own booking (`/my/claims/new`).
/// Passengers do not know the cause, so the claim is judged with cause `other` — the airline
/// must prove extraordinary circumstances (EU261 Art. 5(3)) — and a person confirms it before
/// anything is paid.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// `delay` or `cancellation`, as typed.
    pub kind: &'a str,
    /// For a delay: when they reached the destination, in its local time (`YYYY-MM-DDTHH:MM`).
    pub arrival_local: &'a str,
    /// For a cancellation: how many days before departure they were told, as typed.
    pub notice_days: &'a str,
}

/// The disruption a passenger's statement describes for flight `flight` departing on `date`
/// (local) to `destination`, whose local time is `zone`; every bad field named (`/kind`,
/// `/arrival`, `/notice_days`, `/flight` for a carrier not in `carriers`).
///
/// # Errors
/// The fields that are missing or invalid.
pub fn passenger_disruption(
    flight: &str,
    date: NaiveDate,
    zone: Option<chrono_tz::Tz>,
    statement: Statement<'_>,
    carriers: &[Carrier],
) -> Result<FlightDisruption, Vec<FieldError>> {
    use chrono::TimeZone;
    let mut errors = Vec::new();
    let carrier = carriers
        .iter()
        .find(|c| flight.get(..2) == Some(c.code.as_str()));
    if carrier.is_none() {
        errors.push(FieldError::new(
            "/flight",
            "is operated by an airline whose flights cannot be claimed here; please contact us and we will look into it",
        ));
    }
    let kind = match statement.kind.trim() {
        "delay" => Some(DisruptionKind::Delay),
        "cancellation" => Some(DisruptionKind::Cancellation),
        _ => {
            errors.push(FieldError::new(
                "/kind",
                "choose what happened: delayed or cancelled",
            ));
            None
        }
    };
    let mut actual_arrival = None;
    let mut notice_days = None;
    match kind {
        Some(DisruptionKind::Delay) => {
            let local =
                chrono::NaiveDateTime::parse_from_str(statement.arrival_local.trim(), "%Y-%m-%dT%H:%M");
            match (local, zone) {
                (Ok(t), Some(z)) => match z.from_local_datetime(&t).earliest() {
                    Some(t) if t.date_naive() >= date => actual_arrival = Some(t.fixed_offset()),
                    Some(_) => errors.push(FieldError::new(
                        "/arrival",
                        "is before the flight's departure date",
                    )),
                    None => errors.push(FieldError::new(
                        "/arrival",
                        "does not exist in the destination's local time (a clock change)",
                    )),
                },
                (Ok(_), None) => errors.push(FieldError::new(
                    "/arrival",
                    "cannot be judged: the destination's time zone is not known",
                )),
                (Err(_), _) => errors.push(FieldError::new(
                    "/arrival",
                    "is required for a delay: the date and local time you arrived",
                )),
            }
        }
        Some(DisruptionKind::Cancellation) => match statement.notice_days.trim().parse::<i64>() {
            Ok(d) if (0..=365).contains(&d) => notice_days = Some(d),
            _ => errors.push(FieldError::new(
                "/notice_days",
                "is required for a cancellation: how many days before departure you were told (0 if at the airport)",
            )),
        },
        None => {}
    }
    match (kind, carrier) {
        (Some(kind), Some(carrier)) if errors.is_empty() => Ok(FlightDisruption {
            flight: flight.to_owned(),
            date,
            kind,
            cause: "other".into(),
            carrier_country: carrier.country.clone(),
            carrier_large: Some(carrier.large),
            actual_departure: None,
            actual_arrival,
            notice_days,
            rerouting: None,
            required_for_safety: false,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Value {
        json!({
            "flight": "LH400", "date": "2026-07-01", "kind": "delay", "cause": "technical",
            "operating_carrier_country": "DE", "operating_carrier_large": true,
            "actual_departure": "2026-07-01T13:20:00+02:00",
            "actual_arrival": "2026-07-01T16:05:00-04:00"
        })
    }

    fn segment(flight: &str, from: &str, to: &str, dep: &str, arr: &str) -> Value {
        json!({
            "flight_number": flight, "origin": from, "destination": to,
            "scheduled_departure_local": format!("{}T10:00:00", &dep[..10]),
            "scheduled_departure_utc": dep, "scheduled_arrival_utc": arr,
            "cabin": "economy", "status": "scheduled"
        })
    }

    #[test]
    fn a_complete_delay_event_parses() {
        let d = parse_disruption(&event()).unwrap();
        assert_eq!(d.flight_key(), "LH400 2026-07-01");
        assert_eq!(d.kind, DisruptionKind::Delay);
        assert_eq!(d.carrier_large, Some(true));
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = parse_disruption(&json!({
            "flight": "", "date": "1 July", "kind": "diverted", "cause": "gremlins",
            "operating_carrier_country": "Germany"
        }))
        .unwrap_err();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/flight",
                "/date",
                "/kind",
                "/cause",
                "/operating_carrier_country"
            ]
        );
    }

    #[test]
    fn a_delay_needs_its_arrival_and_a_cancellation_its_notice() {
        let mut e = event();
        e["actual_arrival"] = Value::Null;
        let errors = parse_disruption(&e).unwrap_err();
        assert_eq!(errors[0].pointer, "/actual_arrival");
        let mut e = event();
        e["kind"] = "cancellation".into();
        let errors = parse_disruption(&e).unwrap_err();
        assert_eq!(errors[0].pointer, "/notice_days");
    }

    #[test]
    fn an_arrival_before_the_departure_is_impossible() {
        let mut e = event();
        e["actual_arrival"] = "2026-07-01T12:00:00+02:00".into();
        let errors = parse_disruption(&e).unwrap_err();
        assert_eq!(errors[0].pointer, "/actual_arrival");
        assert!(errors[0].detail.contains("after"));
    }

    #[test]
    fn a_booking_makes_a_whole_journey_claim_with_the_flown_times() {
        let d = parse_disruption(&event()).unwrap();
        let booking = json!({"segments": [
            segment("LH400", "FRA", "JFK", "2026-07-01T08:00:00Z", "2026-07-01T16:40:00Z"),
        ]});
        let Passage::Claim(claim) =
            passage(&booking, &d, Duration::minutes(45), &default_carriers()).unwrap()
        else {
            panic!("a claim");
        };
        assert_eq!(claim["itinerary"][0]["from"], "FRA");
        assert_eq!(claim["itinerary"][0]["operating_carrier"], "LH");
        assert_eq!(
            claim["itinerary"][0]["actual_arrival"],
            "2026-07-01T16:05:00-04:00"
        );
        assert_eq!(claim["disruption"]["leg"], 0);
        // The claim is one the rights engine judges: LH400 FRA–JFK, 3 h 25 late → €600 less 50 %.
        let decisions =
            aloft_rights::evaluate_json(&claim, &aloft_rights::Rules::default_rules()).unwrap();
        let eu = decisions
            .decisions
            .iter()
            .find(|d| d.regime == "EU261")
            .unwrap();
        assert!(eu.eligible);
        assert_eq!(eu.amount.as_ref().unwrap().amount, "300.00");
    }

    #[test]
    fn a_late_feeder_that_breaks_the_connection_waits_for_the_facts() {
        let mut e = event();
        e["flight"] = "LH1021".into();
        e["actual_departure"] = "2026-07-01T08:30:00+02:00".into();
        e["actual_arrival"] = "2026-07-01T09:50:00+02:00".into();
        let d = parse_disruption(&e).unwrap();
        let booking = json!({"segments": [
            segment("LH1021", "CDG", "FRA", "2026-07-01T05:00:00Z", "2026-07-01T06:15:00Z"),
            segment("LH400", "FRA", "JFK", "2026-07-01T08:00:00Z", "2026-07-01T16:40:00Z"),
        ]});
        assert_eq!(
            passage(&booking, &d, Duration::minutes(45), &default_carriers()).unwrap(),
            Passage::MissedConnection {
                connection: "LH400".into()
            }
        );
        // Made with time to spare, the same booking is a claim judged at the final destination.
        let mut early = e.clone();
        early["actual_arrival"] = "2026-07-01T08:30:00+02:00".into();
        early["actual_departure"] = "2026-07-01T07:20:00+02:00".into();
        let d = parse_disruption(&early).unwrap();
        assert!(matches!(
            passage(&booking, &d, Duration::minutes(45), &default_carriers()).unwrap(),
            Passage::Claim(_)
        ));
    }

    #[test]
    fn a_booking_without_the_flight_is_refused() {
        let d = parse_disruption(&event()).unwrap();
        let booking = json!({"segments": [
            segment("LH401", "JFK", "FRA", "2026-07-01T22:00:00Z", "2026-07-02T06:00:00Z"),
        ]});
        assert!(passage(&booking, &d, Duration::minutes(45), &default_carriers()).is_err());
    }

    #[test]
    fn the_smallest_bands_are_approved_at_once_and_the_rest_queued() {
        let s = Settings::default();
        assert_eq!(
            s.initial_status(Some(("EUR", Decimal::new(250, 0)))),
            Status::Approved
        );
        assert_eq!(
            s.initial_status(Some(("EUR", Decimal::new(300, 0)))),
            Status::Pending
        );
        assert_eq!(
            s.initial_status(Some(("SDR", Decimal::new(10, 0)))),
            Status::Pending
        );
        assert_eq!(s.initial_status(None), Status::NotOwed);
    }

    #[test]
    fn vouchers_need_the_passengers_agreement_and_baggage_is_paid_in_money() {
        assert!(method_allowed("EU261", Method::Cash, false).is_ok());
        assert!(method_allowed("EU261", Method::Voucher, false).is_err());
        assert!(method_allowed("EU261", Method::Miles, true).is_ok());
        assert!(method_allowed("MONTREAL", Method::Voucher, true).is_err());
    }

    #[test]
    fn statuses_and_methods_round_trip() {
        for s in [
            Status::Pending,
            Status::Approved,
            Status::Rejected,
            Status::NotOwed,
            Status::AwaitingFacts,
        ] {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for m in [Method::Cash, Method::Voucher, Method::Miles] {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn a_passengers_statement_becomes_a_disruption_with_an_unknown_cause() {
        let date = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        let ny = Some(chrono_tz::America::New_York);
        let carriers = default_carriers();
        let said = |kind, arrival, notice| Statement {
            kind,
            arrival_local: arrival,
            notice_days: notice,
        };
        let d = passenger_disruption(
            "LH400",
            date,
            ny,
            said("delay", "2026-07-01T16:05", ""),
            &carriers,
        )
        .unwrap();
        assert_eq!(d.cause, "other");
        assert_eq!(d.carrier_country, "DE");
        assert_eq!(
            d.actual_arrival.unwrap().to_rfc3339(),
            "2026-07-01T16:05:00-04:00"
        );
        let c = passenger_disruption("LH400", date, ny, said("cancellation", "", "3"), &carriers)
            .unwrap();
        assert_eq!(c.notice_days, Some(3));

        let pointers = |r: Result<FlightDisruption, Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|e| e.pointer)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            pointers(passenger_disruption(
                "LH400",
                date,
                ny,
                said("delay", "", ""),
                &carriers
            )),
            ["/arrival"]
        );
        assert_eq!(
            pointers(passenger_disruption(
                "LH400",
                date,
                ny,
                said("delay", "2026-06-30T10:00", ""),
                &carriers
            )),
            ["/arrival"]
        );
        assert_eq!(
            pointers(passenger_disruption(
                "LH400",
                date,
                ny,
                said("cancellation", "", "soon"),
                &carriers
            )),
            ["/notice_days"]
        );
        assert_eq!(
            pointers(passenger_disruption(
                "XX123",
                date,
                ny,
                said("lost", "", ""),
                &carriers
            )),
            ["/flight", "/kind"]
        );
    }

    #[test]
    fn each_leg_takes_its_own_carriers_licensing_country_when_known() {
        let d = parse_disruption(&event()).unwrap();
        let booking = json!({"segments": [
            segment("LH400", "FRA", "JFK", "2026-07-01T08:00:00Z", "2026-07-01T16:40:00Z"),
            segment("AC701", "JFK", "YUL", "2026-07-01T23:00:00Z", "2026-07-02T00:30:00Z"),
            segment("ZZ9", "YUL", "YYZ", "2026-07-02T19:00:00Z", "2026-07-02T20:30:00Z"),
        ]});
        let Passage::Claim(claim) =
            passage(&booking, &d, Duration::minutes(45), &default_carriers()).unwrap()
        else {
            panic!("a claim");
        };
        let countries: Vec<&str> = (0..3)
            .map(|i| {
                claim["itinerary"][i]["operating_carrier_country"]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            countries,
            ["DE", "CA", "DE"],
            "listed carrier, then the disrupted one's"
        );
    }

    #[test]
    fn settings_round_trip_and_name_every_bad_field() {
        let base = Settings::default();
        let doc = settings_document(&base);
        let back = parse_settings(&doc, &base).unwrap();
        assert_eq!(
            back.auto_approve_up_to,
            base.auto_approve_up_to
                .iter()
                .map(|(c, a)| (c.clone(), a.round_dp(2)))
                .collect::<Vec<_>>()
        );
        assert_eq!(back.minimum_connection, base.minimum_connection);
        let bad = json!({"auto_approve_up_to": [
            {"currency": "EUR", "amount": "250"}, {"currency": "EUR", "amount": "-1"}, {"currency": "eu", "amount": "1.005"}],
            "minimum_connection_minutes": 5});
        let pointers: Vec<String> = parse_settings(&bad, &base)
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(
            pointers,
            [
                "/auto_approve_up_to/1/currency",
                "/auto_approve_up_to/1/amount",
                "/auto_approve_up_to/2/currency",
                "/auto_approve_up_to/2/amount",
                "/minimum_connection_minutes"
            ]
        );
    }
}
