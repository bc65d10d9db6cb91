//! A claim as the evaluation contract gives it (JSON), parsed into facts the rules can trust.
//!
//! Parse, don't validate: every field is checked and *every* problem is reported with its JSON
//! pointer, so a claim is judged only when all of its facts are known — an incomplete claim is
//! never silently judged ineligible.

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use serde_json::Value;

use aloft_travel::airports::{self, Airport};

/// A problem with one field of a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimError {
    /// JSON pointer to the field (`/itinerary/0/from`).
    pub pointer: String,
    /// What is wrong, as a sentence that does not repeat the value.
    pub message: String,
}

/// A cabin, in order of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cabin {
    /// Economy.
    Economy,
    /// Premium economy.
    PremiumEconomy,
    /// Business.
    Business,
    /// First.
    First,
}

impl Cabin {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "economy" => Self::Economy,
            "premium_economy" => Self::PremiumEconomy,
            "business" => Self::Business,
            "first" => Self::First,
            _ => return None,
        })
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Arrived late.
    Delay,
    /// Did not operate.
    Cancellation,
    /// Passenger not carried although presented in time.
    DeniedBoarding,
    /// Carried in a lower class than booked.
    Downgrade,
    /// Checked bag arrived late.
    BaggageDelayed,
    /// Checked bag lost.
    BaggageLost,
    /// Checked bag damaged.
    BaggageDamaged,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "delay" => Self::Delay,
            "cancellation" => Self::Cancellation,
            "denied_boarding" => Self::DeniedBoarding,
            "downgrade" => Self::Downgrade,
            "baggage_delayed" => Self::BaggageDelayed,
            "baggage_lost" => Self::BaggageLost,
            "baggage_damaged" => Self::BaggageDamaged,
            _ => return None,
        })
    }

    /// Whether this is about checked baggage (the Montreal Convention's, not EU261's).
    pub fn is_baggage(self) -> bool {
        matches!(
            self,
            Self::BaggageDelayed | Self::BaggageLost | Self::BaggageDamaged
        )
    }
}

/// Why it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Technical fault of the aircraft.
    Technical,
    /// Not enough crew.
    CrewShortage,
    /// Strike of the carrier's own staff.
    OwnStaffStrike,
    /// More passengers booked than seats.
    Overbooking,
    /// Weather incompatible with safe operation.
    Weather,
    /// Air traffic control restriction.
    AirTrafficControl,
    /// Security risk.
    Security,
    /// Strike outside the carrier (air traffic controllers, airport staff).
    ExternalStrike,
    /// Bird strike.
    BirdStrike,
    /// Medical emergency on board.
    Medical,
    /// Political instability at origin or destination.
    PoliticalInstability,
    /// Anything else.
    Other,
}

impl Cause {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "technical" => Self::Technical,
            "crew_shortage" => Self::CrewShortage,
            "own_staff_strike" => Self::OwnStaffStrike,
            "overbooking" => Self::Overbooking,
            "weather" => Self::Weather,
            "air_traffic_control" => Self::AirTrafficControl,
            "security" => Self::Security,
            "external_strike" => Self::ExternalStrike,
            "bird_strike" => Self::BirdStrike,
            "medical" => Self::Medical,
            "political_instability" => Self::PoliticalInstability,
            "other" => Self::Other,
            _ => return None,
        })
    }

    /// The contract's name of the cause.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Technical => "technical",
            Self::CrewShortage => "crew_shortage",
            Self::OwnStaffStrike => "own_staff_strike",
            Self::Overbooking => "overbooking",
            Self::Weather => "weather",
            Self::AirTrafficControl => "air_traffic_control",
            Self::Security => "security",
            Self::ExternalStrike => "external_strike",
            Self::BirdStrike => "bird_strike",
            Self::Medical => "medical",
            Self::PoliticalInstability => "political_instability",
            Self::Other => "other",
        }
    }
}

/// A passenger-rights regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    /// Regulation (EC) No 261/2004.
    Eu261,
    /// The UK's retained Regulation 261/2004.
    Uk261,
    /// Canada's Air Passenger Protection Regulations.
    Appr,
    /// The Montreal Convention 1999 (baggage).
    Montreal,
}

impl Regime {
    /// Every regime, in the order decisions list them.
    pub const ALL: [Self; 4] = [Self::Eu261, Self::Uk261, Self::Appr, Self::Montreal];

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "EU261" => Self::Eu261,
            "UK261" => Self::Uk261,
            "APPR" => Self::Appr,
            "MONTREAL" => Self::Montreal,
            _ => return None,
        })
    }

    /// The contract's name of the regime.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eu261 => "EU261",
            Self::Uk261 => "UK261",
            Self::Appr => "APPR",
            Self::Montreal => "MONTREAL",
        }
    }
}

/// A money amount with a currency code (ISO 4217, or `SDR` for special drawing rights).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amount {
    /// The amount.
    pub amount: Decimal,
    /// The currency.
    pub currency: String,
}

/// One flight of the itinerary.
#[derive(Debug, Clone)]
pub struct Leg {
    /// Flight number as given (`LH400`).
    pub flight: String,
    /// Operating carrier's code.
    pub operating_carrier: String,
    /// Country (ISO 3166-1 alpha-2) that licensed the operating carrier.
    pub carrier_country: String,
    /// Whether the operating carrier is a large carrier under APPR (`None`: not said).
    pub carrier_large: Option<bool>,
    /// Departure airport.
    pub from: &'static Airport,
    /// Arrival airport.
    pub to: &'static Airport,
    /// Cabin booked.
    pub cabin: Cabin,
    /// Scheduled departure.
    pub scheduled_departure: DateTime<FixedOffset>,
    /// Scheduled arrival.
    pub scheduled_arrival: DateTime<FixedOffset>,
    /// Actual departure (`None`: on time).
    pub actual_departure: Option<DateTime<FixedOffset>>,
    /// Actual arrival (`None`: on time).
    pub actual_arrival: Option<DateTime<FixedOffset>>,
}

/// The alternative flight offered.
#[derive(Debug, Clone, Copy)]
pub struct Rerouting {
    /// Its departure.
    pub departure: DateTime<FixedOffset>,
    /// Its arrival at the final destination.
    pub arrival: DateTime<FixedOffset>,
}

/// Baggage facts.
#[derive(Debug, Clone)]
pub struct Baggage {
    /// What the passenger claims.
    pub claimed: Amount,
    /// Days from receiving the bag (or from when it should have arrived) to the written
    /// complaint; `None` where the claim has not been made in writing yet.
    pub days_to_complaint: Option<i64>,
}

/// The disruption.
#[derive(Debug, Clone)]
pub struct Disruption {
    /// What happened.
    pub kind: Kind,
    /// Why.
    pub cause: Cause,
    /// Days before departure the passenger was told of a cancellation.
    pub notice_days: Option<i64>,
    /// The alternative flight, if one was offered.
    pub rerouting: Option<Rerouting>,
    /// Denied boarding: whether the passenger volunteered to give up the seat.
    pub volunteer: bool,
    /// Downgrade: the cabin flown.
    pub downgraded_to: Option<Cabin>,
    /// Downgrade: the fare paid for the downgraded flight.
    pub fare_paid: Option<Amount>,
    /// Baggage claims.
    pub baggage: Option<Baggage>,
    /// APPR: whether the cause within the carrier's control was required for safety.
    pub required_for_safety: bool,
    /// The leg concerned (index into the itinerary; default the first).
    pub leg: usize,
}

/// A whole claim.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The flights of one booking, in order.
    pub itinerary: Vec<Leg>,
    /// What happened.
    pub disruption: Disruption,
    /// The regimes to evaluate (`None`: every one that applies).
    pub regimes: Option<Vec<Regime>>,
}

impl Claim {
    /// First departure airport.
    pub fn origin(&self) -> &'static Airport {
        self.itinerary[0].from
    }

    /// Final destination.
    pub fn destination(&self) -> &'static Airport {
        self.itinerary[self.itinerary.len() - 1].to
    }

    /// Local date of the first scheduled departure (the rules in force that day apply).
    pub fn day(&self) -> NaiveDate {
        self.itinerary[0].scheduled_departure.date_naive()
    }

    /// Great-circle distance from first departure to final destination, in km.
    pub fn distance_km(&self) -> f64 {
        self.origin().distance_km(self.destination())
    }

    /// Minutes of delay at the final destination: the alternative flight's arrival if there
    /// is one, else the last leg's actual arrival (on time when not given).
    pub fn arrival_delay_minutes(&self) -> i64 {
        let last = &self.itinerary[self.itinerary.len() - 1];
        let arrived = self
            .disruption
            .rerouting
            .map(|r| r.arrival)
            .or(last.actual_arrival)
            .unwrap_or(last.scheduled_arrival);
        (arrived - last.scheduled_arrival).num_minutes().max(0)
    }
}

/// Collects field problems.
struct Reader {
    errors: Vec<ClaimError>,
}

impl Reader {
    fn fail(&mut self, pointer: String, message: impl Into<String>) {
        self.errors.push(ClaimError {
            pointer,
            message: message.into(),
        });
    }

    fn text<'v>(&mut self, v: &'v Value, at: &str, key: &str, required: bool) -> Option<&'v str> {
        match v.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.fail(format!("{at}/{key}"), "is required");
                }
                None
            }
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.as_str()),
            Some(_) => {
                self.fail(format!("{at}/{key}"), "must be a non-empty string");
                None
            }
        }
    }

    fn instant(
        &mut self,
        v: &Value,
        at: &str,
        key: &str,
        required: bool,
    ) -> Option<DateTime<FixedOffset>> {
        let s = self.text(v, at, key, required)?;
        match DateTime::parse_from_rfc3339(s) {
            Ok(t) => Some(t),
            Err(_) => {
                self.fail(
                    format!("{at}/{key}"),
                    "must be an ISO 8601 date-time with its UTC offset (2026-07-01T10:00:00+02:00)",
                );
                None
            }
        }
    }

    fn airport(&mut self, v: &Value, at: &str, key: &str) -> Option<&'static Airport> {
        let code = self.text(v, at, key, true)?;
        match airports::lookup(&code.to_ascii_uppercase()) {
            Some(a) => Some(a),
            None => {
                self.fail(format!("{at}/{key}"), "is not a known IATA airport code");
                None
            }
        }
    }

    fn amount(&mut self, v: &Value, at: &str) -> Option<Amount> {
        let amount = self.text(v, at, "amount", true);
        let currency = self.text(v, at, "currency", true);
        let amount = amount.and_then(|a| match a.parse::<Decimal>() {
            Ok(d) if d >= Decimal::ZERO => Some(d),
            _ => {
                self.fail(
                    format!("{at}/amount"),
                    "must be a non-negative decimal number in a string (\"123.45\")",
                );
                None
            }
        });
        let currency = currency.and_then(|c| {
            if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) {
                Some(c.to_owned())
            } else {
                self.fail(
                    format!("{at}/currency"),
                    "must be a three-letter currency code (EUR, GBP, CAD, SDR)",
                );
                None
            }
        });
        Some(Amount {
            amount: amount?,
            currency: currency?,
        })
    }
}

fn object<'v>(r: &mut Reader, v: &'v Value, at: &str) -> Option<&'v Value> {
    if v.is_object() {
        Some(v)
    } else {
        r.fail(at.to_owned(), "must be an object");
        None
    }
}

/// Parses a claim; on failure, every problem found.
pub fn parse(v: &Value) -> Result<Claim, Vec<ClaimError>> {
    let mut r = Reader { errors: Vec::new() };
    if !v.is_object() {
        r.fail(String::new(), "must be a JSON object");
        return Err(r.errors);
    }
    let mut legs = Vec::new();
    match v.get("itinerary") {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("/itinerary/{i}");
                if object(&mut r, item, &at).is_none() {
                    continue;
                }
                if let Some(leg) = parse_leg(&mut r, item, &at) {
                    legs.push(leg);
                }
            }
        }
        _ => r.fail("/itinerary".into(), "must be a non-empty array of flights"),
    }
    for (i, pair) in legs.windows(2).enumerate() {
        if pair[0].to.iata != pair[1].from.iata {
            r.fail(
                format!("/itinerary/{}/from", i + 1),
                "must be the airport the previous flight arrives at",
            );
        }
    }
    let disruption = match v.get("disruption") {
        Some(d) if d.is_object() => parse_disruption(&mut r, d, legs.len()),
        _ => {
            r.fail("/disruption".into(), "is required (an object)");
            None
        }
    };
    let regimes = match v.get("regimes") {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item.as_str().and_then(Regime::parse) {
                    Some(regime) => out.push(regime),
                    None => r.fail(
                        format!("/regimes/{i}"),
                        "must be one of EU261, UK261, APPR, MONTREAL",
                    ),
                }
            }
            Some(out)
        }
        Some(_) => {
            r.fail("/regimes".into(), "must be null or an array of regimes");
            None
        }
    };
    if !r.errors.is_empty() {
        return Err(r.errors);
    }
    let disruption = disruption.expect("parsed when there are no errors");
    Ok(Claim {
        itinerary: legs,
        disruption,
        regimes,
    })
}

fn parse_leg(r: &mut Reader, v: &Value, at: &str) -> Option<Leg> {
    let flight = r.text(v, at, "flight", true);
    let carrier = r.text(v, at, "operating_carrier", true);
    let country = r.text(v, at, "operating_carrier_country", true);
    let country = country.and_then(|c| {
        if c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) {
            Some(c.to_ascii_uppercase())
        } else {
            r.fail(
                format!("{at}/operating_carrier_country"),
                "must be the two-letter ISO 3166-1 code of the country that licensed the carrier",
            );
            None
        }
    });
    let large = match v.get("operating_carrier_large") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            r.fail(
                format!("{at}/operating_carrier_large"),
                "must be true or false",
            );
            None
        }
    };
    let from = r.airport(v, at, "from");
    let to = r.airport(v, at, "to");
    let cabin = r.text(v, at, "cabin", true).and_then(|c| {
        Cabin::parse(c).or_else(|| {
            r.fail(
                format!("{at}/cabin"),
                "must be economy, premium_economy, business or first",
            );
            None
        })
    });
    let sd = r.instant(v, at, "scheduled_departure", true);
    let sa = r.instant(v, at, "scheduled_arrival", true);
    let ad = r.instant(v, at, "actual_departure", false);
    let aa = r.instant(v, at, "actual_arrival", false);
    if let (Some(d), Some(a)) = (sd, sa)
        && a <= d
    {
        r.fail(
            format!("{at}/scheduled_arrival"),
            "must be after the scheduled departure",
        );
    }
    if let (Some(d), Some(a)) = (ad, aa)
        && a <= d
    {
        r.fail(
            format!("{at}/actual_arrival"),
            "must be after the actual departure",
        );
    }
    if let (Some(f), Some(t)) = (from, to)
        && f.iata == t.iata
    {
        r.fail(format!("{at}/to"), "must differ from the departure airport");
    }
    Some(Leg {
        flight: flight?.to_owned(),
        operating_carrier: carrier?.to_owned(),
        carrier_country: country?,
        carrier_large: large,
        from: from?,
        to: to?,
        cabin: cabin?,
        scheduled_departure: sd?,
        scheduled_arrival: sa?,
        actual_departure: ad,
        actual_arrival: aa,
    })
}

fn parse_disruption(r: &mut Reader, v: &Value, legs: usize) -> Option<Disruption> {
    let at = "/disruption";
    let kind = r.text(v, at, "kind", true).and_then(|k| {
        Kind::parse(k).or_else(|| {
            r.fail(
                format!("{at}/kind"),
                "must be delay, cancellation, denied_boarding, downgrade, baggage_delayed, baggage_lost or baggage_damaged",
            );
            None
        })
    });
    let cause = r.text(v, at, "cause", true).and_then(|c| {
        Cause::parse(c).or_else(|| {
            r.fail(
                format!("{at}/cause"),
                "must be one of technical, crew_shortage, own_staff_strike, overbooking, weather, air_traffic_control, security, external_strike, bird_strike, medical, political_instability, other",
            );
            None
        })
    });
    let notice_days = match v.get("notice_days") {
        None | Some(Value::Null) => None,
        Some(n) => match n.as_i64() {
            Some(d) if d >= 0 => Some(d),
            _ => {
                r.fail(
                    format!("{at}/notice_days"),
                    "must be a whole number of days, 0 or more",
                );
                None
            }
        },
    };
    let rerouting = match v.get("rerouting") {
        None | Some(Value::Null) => None,
        Some(x) if x.is_object() => {
            let p = format!("{at}/rerouting");
            let d = r.instant(x, &p, "departure", true);
            let a = r.instant(x, &p, "arrival", true);
            match (d, a) {
                (Some(d), Some(a)) if a > d => Some(Rerouting {
                    departure: d,
                    arrival: a,
                }),
                (Some(_), Some(_)) => {
                    r.fail(format!("{p}/arrival"), "must be after the departure");
                    None
                }
                _ => None,
            }
        }
        Some(_) => {
            r.fail(format!("{at}/rerouting"), "must be null or an object");
            None
        }
    };
    let volunteer = match v.get("volunteer") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            r.fail(format!("{at}/volunteer"), "must be true or false");
            false
        }
    };
    let required_for_safety = matches!(v.get("required_for_safety"), Some(Value::Bool(true)));
    let downgraded_to = r.text(v, at, "downgraded_to", false).and_then(|c| {
        Cabin::parse(c).or_else(|| {
            r.fail(
                format!("{at}/downgraded_to"),
                "must be economy, premium_economy, business or first",
            );
            None
        })
    });
    let fare_paid = match v.get("fare_paid") {
        None | Some(Value::Null) => None,
        Some(x) if x.is_object() => r.amount(x, &format!("{at}/fare_paid")),
        Some(_) => {
            r.fail(
                format!("{at}/fare_paid"),
                "must be null or {\"amount\", \"currency\"}",
            );
            None
        }
    };
    let baggage = match v.get("baggage") {
        None | Some(Value::Null) => None,
        Some(x) if x.is_object() => {
            let p = format!("{at}/baggage");
            let claimed = match x.get("claimed") {
                Some(c) if c.is_object() => r.amount(c, &format!("{p}/claimed")),
                _ => {
                    r.fail(
                        format!("{p}/claimed"),
                        "is required ({\"amount\", \"currency\"})",
                    );
                    None
                }
            };
            let days = match x.get("days_to_complaint") {
                None | Some(Value::Null) => None,
                Some(n) => match n.as_i64() {
                    Some(d) if d >= 0 => Some(d),
                    _ => {
                        r.fail(
                            format!("{p}/days_to_complaint"),
                            "must be a whole number of days, 0 or more",
                        );
                        None
                    }
                },
            };
            claimed.map(|claimed| Baggage {
                claimed,
                days_to_complaint: days,
            })
        }
        Some(_) => {
            r.fail(format!("{at}/baggage"), "must be null or an object");
            None
        }
    };
    let leg = match v.get("leg") {
        None | Some(Value::Null) => 0,
        Some(n) => match n.as_u64() {
            Some(i) if (i as usize) < legs.max(1) => i as usize,
            _ => {
                r.fail(
                    format!("{at}/leg"),
                    "must be the index of a flight of the itinerary",
                );
                0
            }
        },
    };
    // Facts each kind needs: missing ones are named, never assumed.
    let kind = kind?;
    match kind {
        Kind::Cancellation if notice_days.is_none() => r.fail(
            format!("{at}/notice_days"),
            "is required for a cancellation (days before departure the passenger was told)",
        ),
        Kind::Downgrade => {
            if downgraded_to.is_none() {
                r.fail(format!("{at}/downgraded_to"), "is required for a downgrade");
            }
            if fare_paid.is_none() {
                r.fail(
                    format!("{at}/fare_paid"),
                    "is required for a downgrade (the fare of the downgraded flight)",
                );
            }
        }
        k if k.is_baggage() => {
            if baggage.is_none()
                && !r
                    .errors
                    .iter()
                    .any(|e| e.pointer.starts_with("/disruption/baggage"))
            {
                r.fail(format!("{at}/baggage"), "is required for a baggage claim");
            }
            if let Some(b) = &baggage
                && b.claimed.currency != "SDR"
            {
                r.fail(
                    format!("{at}/baggage/claimed/currency"),
                    "must be SDR (convert at the rate of the day of judgment, Art. 23)",
                );
            }
            if k != Kind::BaggageLost
                && baggage
                    .as_ref()
                    .is_some_and(|b| b.days_to_complaint.is_none())
            {
                r.fail(
                    format!("{at}/baggage/days_to_complaint"),
                    "is required for a delayed or damaged bag (the complaint windows depend on it)",
                );
            }
        }
        _ => {}
    }
    Some(Disruption {
        kind,
        cause: cause?,
        notice_days,
        rerouting,
        volunteer,
        downgraded_to,
        fare_paid,
        baggage,
        required_for_safety,
        leg,
    })
}
