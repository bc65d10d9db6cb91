//! Travel records as a domain model: value types that can only hold valid values ("parse, don't
//! validate"), the ten record types the source systems send (bookings with their flight
//! segments, ancillaries, purchases, post-order documents, interactions, feedback, lounge visits,
//! chauffeur rides, baggage events, segment forecasts) and the [`Record`] that groups them.
//!
//! Invariants:
//! - A record that exists is valid. It is built only by its `parse`, which checks every field and
//!   reports *all* problems at once, each with its JSON pointer (RFC 6901).
//! - Validation messages describe the expected form and never repeat the submitted value.
//! - Free text (interaction subjects and bodies, feedback, item descriptions, addresses, ancillary
//!   attributes) never holds a card number: [`FreeText::parse`] masks any PAN to first six/last
//!   four digits before the value exists (`aloft_security::redact_card_numbers`).
//! - Every record names its source system and the source's own id ([`SourceRef`]); that pair is
//!   the idempotency key of storage.
//! - Instants are UTC. A flight's schedule is given as the *local* time at the airport (how
//!   airlines publish it) and stored three ways: local date-time, the airport's IANA zone from the
//!   reference data, and the UTC instant computed from both — so neither DST nor a zone change
//!   can make a stored schedule ambiguous.
//! - Money is [`Money`]: a `rust_decimal::Decimal` amount in the currency's ISO 4217 minor units
//!   plus the currency code, never a float (see [`Money`] for why decimal and not integer minor
//!   units).
//! - Pure: no IO. The only ambient input is the compiled-in airport table.
//!
//! The types and [`Record`] live here, the JSON parsing of each kind in `parse` (private), the
//! tests (and the samples other modules' tests use) in `tests`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use aloft_kernel::FieldError;
use aloft_kernel::fields::{FieldReader, escape_pointer};

use crate::airports;

pub use aloft_vocab::{AirportCode, CurrencyCode, CustomerId, FlightNumber, Money};

aloft_kernel::string_newtype!(
    RecordLocator,
    "A PNR record locator: six letters and digits, upper case (`K7XQ2M`)."
);
aloft_kernel::string_newtype!(
    ETicketNumber,
    "An electronic ticket number: 13 digits, the first three the issuing airline's accounting \
     prefix (`1251234567890`)."
);
aloft_kernel::string_newtype!(
    BagTag,
    "A bag tag licence plate: 10 digits — a leading digit, the carrier's three-digit accounting \
     code and a six-digit serial number (IATA Resolution 740)."
);
aloft_kernel::string_newtype!(
    Rbd,
    "A reservation booking designator (booking class): one letter, upper case."
);
aloft_kernel::string_newtype!(Seat, "A seat: row 1–99 and a column letter (`12A`).");
aloft_kernel::string_newtype!(Gate, "A departure gate: 1–6 letters and digits (`B12`).");
aloft_kernel::string_newtype!(
    SourceSystem,
    "The name of the system a record came from: 1–40 characters of lower-case letters, digits, \
     `.`, `-` and `_` (`amadeus`, `genesys`, `lounge-pass`)."
);
aloft_kernel::string_newtype!(
    Reference,
    "An identifier issued by another system (order number, agent id, tracking number): 1–100 \
     printable characters without spaces at either end."
);
aloft_kernel::string_newtype!(
    PaymentToken,
    "The payment processor's token for a card or wallet (`tok_1N3x…`): 4–200 printable characters \
     that are not a card number. Encrypted at rest like free text."
);
aloft_kernel::string_newtype!(
    MaskedCard,
    "A card number as PCI DSS allows it to be kept: at most the first six and the last four \
     digits, the rest masked (`411111******1111`). A full number given here is masked on parse."
);
aloft_kernel::string_newtype!(
    FreeText,
    "Free text as a person wrote it, with any card number masked to first six and last four \
     digits; bounded length, no control characters except line breaks and tabs."
);

impl RecordLocator {
    /// Six ASCII letters or digits, any case.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.len() == 6 && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(t))
        } else {
            Err("must be a six-character record locator of letters and digits".into())
        }
    }
}

impl ETicketNumber {
    /// 13 digits; spaces and dashes are dropped (`125-1234567890`).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if t.len() == 13 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(t))
        } else {
            Err(
                "must be a 13-digit ticket number (3-digit airline prefix and 10-digit serial)"
                    .into(),
            )
        }
    }

    /// The issuing airline's three-digit accounting prefix.
    pub fn airline_prefix(&self) -> &str {
        &self.0[..3]
    }
}

impl BagTag {
    /// Ten digits; spaces are dropped.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t: String = s.trim().chars().filter(|c| *c != ' ').collect();
        if t.len() == 10 && t.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(t))
        } else {
            Err("must be a 10-digit bag tag number".into())
        }
    }

    /// The carrier's three-digit accounting code.
    pub fn carrier_code(&self) -> &str {
        &self.0[1..4]
    }
}

impl Rbd {
    /// One letter, any case.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if t.len() == 1 && t.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(t))
        } else {
            Err("must be a one-letter booking class (RBD) such as Y, J or F".into())
        }
    }
}

impl Seat {
    /// Row 1–99 without leading zeros, then one column letter.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        let (row, col) = t.split_at(t.len().saturating_sub(1));
        let ok = col.len() == 1
            && col.bytes().all(|b| b.is_ascii_uppercase())
            && (1..=2).contains(&row.len())
            && row.bytes().all(|b| b.is_ascii_digit())
            && !row.starts_with('0');
        if ok {
            Ok(Self(t))
        } else {
            Err("must be a seat such as 12A (row 1–99 and a letter)".into())
        }
    }
}

impl Gate {
    /// 1–6 letters and digits, upper-cased.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_uppercase();
        if (1..=6).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(t))
        } else {
            Err("must be a gate of 1–6 letters and digits such as B12".into())
        }
    }
}

impl SourceSystem {
    /// 1–40 characters of `a–z 0–9 . - _`, lower-cased.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        let ok = (1..=40).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if ok {
            Ok(Self(t))
        } else {
            Err(
                "must be a source system name of 1–40 lower-case letters, digits, '.', '-' or '_'"
                    .into(),
            )
        }
    }
}

impl Reference {
    /// 1–100 characters, trimmed, no control characters.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() || t.chars().count() > 100 || t.chars().any(char::is_control) {
            return Err("must be an identifier of 1–100 printable characters".into());
        }
        Ok(Self(t.to_owned()))
    }
}

impl FreeText {
    /// Up to `max` characters; blank is rejected; control characters other than line feed,
    /// carriage return and tab are rejected. Card numbers are masked before the value exists.
    pub fn parse(s: &str, max: usize) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("must not be blank".into());
        }
        if t.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err("must not contain control characters".into());
        }
        let (redacted, _) = aloft_security::redact_card_numbers(t);
        Ok(Self(redacted))
    }

    /// The first `max` characters on one line, with an ellipsis if cut (for summaries).
    pub fn excerpt(&self, max: usize) -> String {
        let one_line: String = self.0.split_whitespace().collect::<Vec<_>>().join(" ");
        if one_line.chars().count() <= max {
            one_line
        } else {
            let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
            format!("{}…", cut.trim_end())
        }
    }
}

impl PaymentToken {
    /// 4–200 printable characters without spaces; a card number (Luhn and issuer range, with or
    /// without separators) is refused, since a token field that holds one would store a PAN.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let n = t.chars().count();
        if !(4..=200).contains(&n) || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(
                "must be the payment processor's token: 4–200 printable characters without spaces"
                    .into(),
            );
        }
        let digits: String = t.chars().filter(|c| *c != '-').collect();
        if !aloft_security::find_card_numbers(t).is_empty()
            || aloft_security::pan::is_card_number(&digits)
        {
            return Err("must be the payment processor's token, never a card number".into());
        }
        Ok(Self(t.to_owned()))
    }
}

impl MaskedCard {
    /// A masked card number (`411111******1111`, `4111 11** **** 1111`; `*`, `X` or `•` as the
    /// mask) or a full card number, which is masked to first six/last four here. At most six
    /// leading and four trailing digits may show; everything else must be masked.
    pub fn parse(s: &str) -> Result<Self, String> {
        const BAD: &str = "must be a masked card number showing at most the first six and last four digits (411111******1111)";
        let compact: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-'))
            .collect();
        if compact.chars().all(|c| c.is_ascii_digit()) {
            return if aloft_security::pan::is_card_number(&compact) {
                Ok(Self(aloft_security::mask_pan(&compact)))
            } else {
                Err(BAD.into())
            };
        }
        let chars: Vec<char> = compact
            .chars()
            .map(|c| {
                if matches!(c, 'X' | 'x' | '•') {
                    '*'
                } else {
                    c
                }
            })
            .collect();
        let lead = chars.iter().take_while(|c| c.is_ascii_digit()).count();
        let trail = chars
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let masked = chars.len() - lead - trail;
        let length_ok = (12..=19).contains(&chars.len());
        if !length_ok
            || lead > 6
            || trail > 4
            || masked == 0
            || chars[lead..chars.len() - trail].iter().any(|c| *c != '*')
        {
            return Err(BAD.into());
        }
        Ok(Self(chars.into_iter().collect()))
    }
}

/// Declares a closed set of values that travel as snake_case strings.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every value, in display order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire text.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the wire text (case-insensitive; `-` and spaces read as `_`).
            pub fn parse(s: &str) -> Result<Self, String> {
                let t = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                $(if t == $text { return Ok($name::$variant); })+
                Err(format!("must be one of: {}", [$($text),+].join(", ")))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

choice!(
    /// The cabin a segment is flown in.
    Cabin {
        /// First class.
        First => "first",
        /// Business class.
        Business => "business",
        /// Premium economy.
        PremiumEconomy => "premium_economy",
        /// Economy.
        Economy => "economy",
    }
);

choice!(
    /// What happened (or is planned) for a flight segment.
    SegmentStatus {
        /// Booked, not yet operated.
        Scheduled => "scheduled",
        /// Operated on time.
        OnTime => "on_time",
        /// Operated late (`delay_minutes` says how late).
        Delayed => "delayed",
        /// Cancelled by the airline.
        Cancelled => "cancelled",
        /// The passenger did not show up.
        NoShow => "no_show",
        /// Flown (timing not reported).
        Flown => "flown",
        /// The airline moved the passenger to another flight without their request.
        InvoluntarilyRebooked => "involuntarily_rebooked",
    }
);

choice!(
    /// The kind of an ancillary service.
    AncillaryType {
        /// Paid or reserved seat.
        Seat => "seat",
        /// Extra or heavy baggage.
        Bag => "bag",
        /// Pre-ordered meal.
        Meal => "meal",
        /// In-flight connectivity.
        Wifi => "wifi",
        /// Lounge access.
        Lounge => "lounge",
        /// Priority boarding or security.
        Priority => "priority",
        /// Cabin upgrade.
        Upgrade => "upgrade",
        /// Anything else.
        Other => "other",
    }
);

choice!(
    /// Whether an ancillary was delivered.
    AncillaryStatus {
        /// Sold, not yet due.
        Pending => "pending",
        /// Delivered as sold.
        Fulfilled => "fulfilled",
        /// Sold but not delivered (broken Wi-Fi, seat unavailable…).
        ServiceDisruption => "service_disruption",
    }
);

choice!(
    /// Where a purchase was made.
    PurchaseChannel {
        /// On board (in-flight retail).
        Inflight => "inflight",
        /// The web shop.
        Web => "web",
    }
);

choice!(
    /// How a purchase was paid.
    PaymentMethod {
        /// A payment card (the number is never stored: see [`MaskedCard`]).
        Card => "card",
        /// Cash on board.
        Cash => "cash",
        /// A voucher or gift card.
        Voucher => "voucher",
        /// Loyalty miles or points.
        Miles => "miles",
        /// A wallet (Apple Pay, PayPal…).
        Wallet => "wallet",
    }
);

choice!(
    /// Which post-order document.
    PostOrderType {
        /// A shipment of ordered goods.
        Shipment => "shipment",
        /// An invoice.
        Invoice => "invoice",
    }
);

choice!(
    /// The state of a post-order document.
    PostOrderStatus {
        /// Issued (invoice) or created (shipment).
        Issued => "issued",
        /// Paid (invoice).
        Paid => "paid",
        /// Handed to the carrier.
        Shipped => "shipped",
        /// Delivered to the customer.
        Delivered => "delivered",
        /// Returned by the customer.
        Returned => "returned",
        /// Cancelled.
        Cancelled => "cancelled",
    }
);

choice!(
    /// How a customer and the airline talked.
    InteractionChannel {
        /// Phone call (voice platform).
        Call => "call",
        /// E-mail.
        Email => "email",
        /// Chat (web, app, messaging).
        Chat => "chat",
        /// Face to face (airport, lounge, office).
        InPerson => "in_person",
    }
);

choice!(
    /// Who started an interaction.
    Direction {
        /// The customer contacted the airline.
        Inbound => "inbound",
        /// The airline contacted the customer.
        Outbound => "outbound",
    }
);

choice!(
    /// What kind of feedback.
    FeedbackKind {
        /// Something went wrong.
        Complaint => "complaint",
        /// Something went well.
        Compliment => "compliment",
        /// An idea.
        Suggestion => "suggestion",
    }
);

choice!(
    /// Why the customer could enter a lounge.
    LoungeAccess {
        /// Loyalty tier.
        LoyaltyTier => "loyalty_tier",
        /// Premium cabin ticket.
        Cabin => "cabin",
        /// Paid entry.
        Paid => "paid",
        /// Guest of a member.
        Guest => "guest",
        /// Complimentary (service recovery, invitation).
        Complimentary => "complimentary",
    }
);

choice!(
    /// How a chauffeur ride went.
    RideStatus {
        /// Booked, not yet due.
        Booked => "booked",
        /// Done as booked.
        Completed => "completed",
        /// Cancelled.
        Cancelled => "cancelled",
        /// The passenger did not show up.
        NoShow => "no_show",
        /// Late, missing car or other failure of the service.
        ServiceDisruption => "service_disruption",
    }
);

choice!(
    /// A scan or status of a checked bag.
    BaggageEventType {
        /// Accepted at check-in.
        Checked => "checked",
        /// Loaded into the aircraft.
        Loaded => "loaded",
        /// Moved to a connecting flight.
        Transferred => "transferred",
        /// Arrived at the destination.
        Arrived => "arrived",
        /// Did not arrive with the passenger.
        Delayed => "delayed",
        /// Lost, damaged or pilfered (a property irregularity report exists).
        Mishandled => "mishandled",
        /// Handed back to the passenger (belt or courier).
        Delivered => "delivered",
    }
);

choice!(
    /// The type of a travel record (the storage discriminator and part of event type names).
    RecordKind {
        /// A booking (PNR) with its flight segments.
        Booking => "booking",
        /// An ancillary service.
        Ancillary => "ancillary",
        /// An in-flight or web purchase.
        Purchase => "purchase",
        /// A shipment or invoice after an order.
        PostOrder => "post_order",
        /// A call, e-mail, chat or conversation.
        Interaction => "interaction",
        /// A complaint, compliment or suggestion.
        Feedback => "feedback",
        /// A lounge visit.
        LoungeVisit => "lounge_visit",
        /// A chauffeur ride.
        ChauffeurRide => "chauffeur_ride",
        /// A baggage scan or status.
        BaggageEvent => "baggage_event",
        /// A revenue-management forecast for a flight's cabin (not about one customer).
        SegmentForecast => "segment_forecast",
    }
);

/// Where a record came from: the source system and the source's own id for it. The pair is
/// unique across Aloft — re-sending the same record is recognised, not duplicated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SourceRef {
    /// The source system.
    pub source: SourceSystem,
    /// The record's id in that system.
    pub source_record_id: Reference,
}

/// A scheduled time at an airport: local wall-clock time, the airport's zone and the instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledTime {
    /// Local time at the airport, as published.
    pub local: NaiveDateTime,
    /// The airport's IANA zone (from reference data).
    pub zone: Tz,
    /// The same moment in UTC.
    pub utc: DateTime<Utc>,
}

impl ScheduledTime {
    /// The instant of `local` in `zone`. A local time that does not exist (skipped by a DST
    /// change) is an error; one that exists twice (clocks going back) is taken as the earlier,
    /// which is what schedule publishers mean unless they say otherwise.
    pub fn at(local: NaiveDateTime, zone: Tz) -> Result<Self, String> {
        let utc = match zone.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
            LocalResult::None => {
                return Err(
                    "does not exist in the airport's time zone (skipped by a daylight-saving change)"
                        .into(),
                );
            }
        };
        Ok(Self { local, zone, utc })
    }
}

/// One flight in a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Marketing flight number.
    pub flight_number: FlightNumber,
    /// Departure airport.
    pub origin: AirportCode,
    /// Arrival airport.
    pub destination: AirportCode,
    /// Scheduled departure (local at origin, zone, UTC).
    pub scheduled_departure: ScheduledTime,
    /// Scheduled arrival (local at destination, zone, UTC).
    pub scheduled_arrival: ScheduledTime,
    /// Cabin.
    pub cabin: Cabin,
    /// Booking class.
    pub rbd: Rbd,
    /// E-ticket number.
    pub ticket_number: Option<ETicketNumber>,
    /// Assigned seat.
    pub seat: Option<Seat>,
    /// Departure gate.
    pub gate: Option<Gate>,
    /// Operational status.
    pub status: SegmentStatus,
    /// Minutes of delay at arrival, when reported.
    pub delay_minutes: Option<u32>,
    /// Actual departure (off-block), when known.
    pub actual_departure: Option<DateTime<Utc>>,
    /// Actual arrival (on-block; EU261 counts from the door opening), when known.
    pub actual_arrival: Option<DateTime<Utc>>,
    /// Tags of the bags checked for this segment.
    pub bag_tags: Vec<BagTag>,
}

impl Serialize for Segment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let local = |t: &ScheduledTime| t.local.format("%Y-%m-%dT%H:%M:%S").to_string();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("flight_number", &self.flight_number)?;
        m.serialize_entry("origin", &self.origin)?;
        m.serialize_entry("destination", &self.destination)?;
        m.serialize_entry(
            "scheduled_departure_local",
            &local(&self.scheduled_departure),
        )?;
        m.serialize_entry("departure_time_zone", self.scheduled_departure.zone.name())?;
        m.serialize_entry(
            "scheduled_departure_utc",
            &utc_text(self.scheduled_departure.utc),
        )?;
        m.serialize_entry("scheduled_arrival_local", &local(&self.scheduled_arrival))?;
        m.serialize_entry("arrival_time_zone", self.scheduled_arrival.zone.name())?;
        m.serialize_entry(
            "scheduled_arrival_utc",
            &utc_text(self.scheduled_arrival.utc),
        )?;
        m.serialize_entry("cabin", &self.cabin)?;
        m.serialize_entry("rbd", &self.rbd)?;
        if let Some(v) = &self.ticket_number {
            m.serialize_entry("ticket_number", v)?;
        }
        if let Some(v) = &self.seat {
            m.serialize_entry("seat", v)?;
        }
        if let Some(v) = &self.gate {
            m.serialize_entry("gate", v)?;
        }
        m.serialize_entry("status", &self.status)?;
        if let Some(v) = &self.delay_minutes {
            m.serialize_entry("delay_minutes", v)?;
        }
        if let Some(v) = self.actual_departure {
            m.serialize_entry("actual_departure", &utc_text(v))?;
        }
        if let Some(v) = self.actual_arrival {
            m.serialize_entry("actual_arrival", &utc_text(v))?;
        }
        if !self.bag_tags.is_empty() {
            m.serialize_entry("bag_tags", &self.bag_tags)?;
        }
        m.end()
    }
}

/// A booking (PNR) and its flight segments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// The PNR record locator.
    pub record_locator: RecordLocator,
    /// When the booking was made.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_utc")]
    pub booked_at: Option<DateTime<Utc>>,
    /// Flights, in itinerary order.
    pub segments: Vec<Segment>,
}

/// An ancillary service sold with or for a trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ancillary {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// The booking it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_locator: Option<RecordLocator>,
    /// The flight it is for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flight_number: Option<FlightNumber>,
    /// What kind of service.
    pub ancillary_type: AncillaryType,
    /// Service details (`{"seat": "12A", "weight_kg": 23}`): scalar values, text PAN-redacted.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub attributes: Map<String, Value>,
    /// Delivered or not.
    pub status: AncillaryStatus,
    /// When it was sold or its status last changed.
    #[serde(serialize_with = "utc")]
    pub occurred_at: DateTime<Utc>,
    /// What it cost.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
}

/// One line of a purchase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseItem {
    /// Stock-keeping unit.
    pub sku: Reference,
    /// What it is.
    pub description: FreeText,
    /// How many.
    pub quantity: u32,
    /// Price of one.
    pub unit_price: Money,
}

/// A purchase in-flight or in the web shop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Purchase {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// Where.
    pub channel: PurchaseChannel,
    /// When.
    #[serde(serialize_with = "utc")]
    pub purchased_at: DateTime<Utc>,
    /// The shop's order number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_reference: Option<Reference>,
    /// The flight it was bought on (required in-flight).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flight_number: Option<FlightNumber>,
    /// What was bought.
    pub items: Vec<PurchaseItem>,
    /// The total (equals the sum of the items, same currency).
    pub total: Money,
    /// How it was paid (encrypted at rest).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
}

/// How a purchase was paid, kept the way PCI DSS allows: the processor's token and the masked
/// card number, never the full number (there is no field that could hold one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    /// Card, cash, voucher…
    pub method: PaymentMethod,
    /// The payment processor's token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<PaymentToken>,
    /// First six and last four digits of the card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<MaskedCard>,
}

/// A shipment or invoice following an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostOrder {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// Shipment or invoice.
    pub post_order_type: PostOrderType,
    /// The order it follows.
    pub order_reference: Reference,
    /// Tracking number or invoice number.
    pub reference: Reference,
    /// Its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<PostOrderStatus>,
    /// Carrier of a shipment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub carrier: Option<FreeText>,
    /// When.
    #[serde(serialize_with = "utc")]
    pub occurred_at: DateTime<Utc>,
    /// Invoice amount.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
}

/// A call, e-mail, chat or conversation with the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interaction {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// How.
    pub channel: InteractionChannel,
    /// Who started it.
    pub direction: Direction,
    /// When it started.
    #[serde(serialize_with = "utc")]
    pub occurred_at: DateTime<Utc>,
    /// Subject line or topic (PAN-redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<FreeText>,
    /// Notes, transcript or message (PAN-redacted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<FreeText>,
    /// The agent's id in the source system.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<Reference>,
    /// Length of a call or chat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    /// The booking it was about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_locator: Option<RecordLocator>,
}

/// A complaint, compliment or suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feedback {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// What kind.
    pub kind: FeedbackKind,
    /// When it was submitted.
    #[serde(serialize_with = "utc")]
    pub submitted_at: DateTime<Utc>,
    /// What the customer wrote (PAN-redacted).
    pub text: FreeText,
    /// Rating 1–5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    /// The booking it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_locator: Option<RecordLocator>,
    /// The flight it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flight_number: Option<FlightNumber>,
}

/// A visit to a lounge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoungeVisit {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// The airport.
    pub airport: AirportCode,
    /// Which lounge.
    pub lounge: FreeText,
    /// Entry scan.
    #[serde(serialize_with = "utc")]
    pub entered_at: DateTime<Utc>,
    /// Exit scan, when known.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_utc")]
    pub left_at: Option<DateTime<Utc>>,
    /// Guests brought in.
    pub guests: u32,
    /// Entitlement used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<LoungeAccess>,
}

/// A chauffeur ride to or from the airport.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChauffeurRide {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// Planned pick-up.
    #[serde(serialize_with = "utc")]
    pub pickup_at: DateTime<Utc>,
    /// Pick-up place (PAN-redacted; may be an address).
    pub pickup: FreeText,
    /// Drop-off place.
    pub dropoff: FreeText,
    /// The airport served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub airport: Option<AirportCode>,
    /// The booking it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_locator: Option<RecordLocator>,
    /// How it went.
    pub status: RideStatus,
}

/// A scan or status change of a checked bag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BaggageEvent {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// The bag.
    pub bag_tag: BagTag,
    /// What happened.
    pub event: BaggageEventType,
    /// Where.
    pub airport: AirportCode,
    /// When.
    #[serde(serialize_with = "utc")]
    pub occurred_at: DateTime<Utc>,
    /// The flight, when relevant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flight_number: Option<FlightNumber>,
    /// The booking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_locator: Option<RecordLocator>,
}

/// Revenue management's forecast for one cabin (and optionally one RBD) of one flight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentForecast {
    /// Source and source id.
    #[serde(flatten)]
    pub source: SourceRef,
    /// The flight.
    pub flight_number: FlightNumber,
    /// Local departure date.
    pub departure_date: NaiveDate,
    /// Departure airport.
    pub origin: AirportCode,
    /// Cabin.
    pub cabin: Cabin,
    /// Booking class, when the forecast is per RBD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rbd: Option<Rbd>,
    /// Seats for sale.
    pub capacity: u32,
    /// Seats booked now.
    pub booked: u32,
    /// Seats expected to be booked at departure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forecast_booked: Option<u32>,
    /// When the forecast was made.
    #[serde(serialize_with = "utc")]
    pub forecast_at: DateTime<Utc>,
}

impl SegmentForecast {
    /// Expected load factor at departure in percent (forecast, else current bookings); above
    /// 100 means overbooked. A ratio for display, not money, so a float is fine.
    pub fn load_factor_percent(&self) -> f64 {
        let booked = self.forecast_booked.unwrap_or(self.booked);
        f64::from(booked) * 100.0 / f64::from(self.capacity.max(1))
    }
}

/// Any travel record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A booking.
    Booking(Booking),
    /// An ancillary.
    Ancillary(Ancillary),
    /// A purchase.
    Purchase(Purchase),
    /// A post-order document.
    PostOrder(PostOrder),
    /// An interaction.
    Interaction(Interaction),
    /// Feedback.
    Feedback(Feedback),
    /// A lounge visit.
    LoungeVisit(LoungeVisit),
    /// A chauffeur ride.
    ChauffeurRide(ChauffeurRide),
    /// A baggage event.
    BaggageEvent(BaggageEvent),
    /// A segment forecast.
    SegmentForecast(SegmentForecast),
}

impl Record {
    /// Validates a record document of the given kind, reporting every invalid field.
    pub fn parse(kind: RecordKind, doc: &Value) -> Result<Record, Vec<FieldError>> {
        let Some(obj) = doc.as_object() else {
            return Err(vec![FieldError::new(
                "",
                "the record must be a JSON object",
            )]);
        };
        let mut errors = Vec::new();
        let mut r = Fields::new(obj, "", &mut errors);
        let record = match kind {
            RecordKind::Booking => parse_booking(&mut r).map(Record::Booking),
            RecordKind::Ancillary => parse_ancillary(&mut r).map(Record::Ancillary),
            RecordKind::Purchase => parse_purchase(&mut r).map(Record::Purchase),
            RecordKind::PostOrder => parse_post_order(&mut r).map(Record::PostOrder),
            RecordKind::Interaction => parse_interaction(&mut r).map(Record::Interaction),
            RecordKind::Feedback => parse_feedback(&mut r).map(Record::Feedback),
            RecordKind::LoungeVisit => parse_lounge_visit(&mut r).map(Record::LoungeVisit),
            RecordKind::ChauffeurRide => parse_chauffeur_ride(&mut r).map(Record::ChauffeurRide),
            RecordKind::BaggageEvent => parse_baggage_event(&mut r).map(Record::BaggageEvent),
            RecordKind::SegmentForecast => {
                parse_segment_forecast(&mut r).map(Record::SegmentForecast)
            }
        };
        match record {
            Some(record) if errors.is_empty() => Ok(record),
            _ => {
                if errors.is_empty() {
                    errors.push(FieldError::new("", "the record is invalid"));
                }
                Err(errors)
            }
        }
    }

    /// Its kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Booking(_) => RecordKind::Booking,
            Record::Ancillary(_) => RecordKind::Ancillary,
            Record::Purchase(_) => RecordKind::Purchase,
            Record::PostOrder(_) => RecordKind::PostOrder,
            Record::Interaction(_) => RecordKind::Interaction,
            Record::Feedback(_) => RecordKind::Feedback,
            Record::LoungeVisit(_) => RecordKind::LoungeVisit,
            Record::ChauffeurRide(_) => RecordKind::ChauffeurRide,
            Record::BaggageEvent(_) => RecordKind::BaggageEvent,
            Record::SegmentForecast(_) => RecordKind::SegmentForecast,
        }
    }

    /// Where it came from (the idempotency key).
    pub fn source(&self) -> &SourceRef {
        match self {
            Record::Booking(r) => &r.source,
            Record::Ancillary(r) => &r.source,
            Record::Purchase(r) => &r.source,
            Record::PostOrder(r) => &r.source,
            Record::Interaction(r) => &r.source,
            Record::Feedback(r) => &r.source,
            Record::LoungeVisit(r) => &r.source,
            Record::ChauffeurRide(r) => &r.source,
            Record::BaggageEvent(r) => &r.source,
            Record::SegmentForecast(r) => &r.source,
        }
    }

    /// The moment the record is about: a booking's first scheduled departure, a purchase's time,
    /// an interaction's start… (sorts records of a customer).
    pub fn occurred_at(&self) -> DateTime<Utc> {
        match self {
            Record::Booking(r) => r
                .segments
                .iter()
                .map(|s| s.scheduled_departure.utc)
                .min()
                .or(r.booked_at)
                .unwrap_or(DateTime::UNIX_EPOCH),
            Record::Ancillary(r) => r.occurred_at,
            Record::Purchase(r) => r.purchased_at,
            Record::PostOrder(r) => r.occurred_at,
            Record::Interaction(r) => r.occurred_at,
            Record::Feedback(r) => r.submitted_at,
            Record::LoungeVisit(r) => r.entered_at,
            Record::ChauffeurRide(r) => r.pickup_at,
            Record::BaggageEvent(r) => r.occurred_at,
            Record::SegmentForecast(r) => r.forecast_at,
        }
    }

    /// The record as its JSON document (the stored form; [`Record::parse`] reads it back to an
    /// equal record).
    pub fn to_document(&self) -> Value {
        let v = match self {
            Record::Booking(r) => serde_json::to_value(r),
            Record::Ancillary(r) => serde_json::to_value(r),
            Record::Purchase(r) => serde_json::to_value(r),
            Record::PostOrder(r) => serde_json::to_value(r),
            Record::Interaction(r) => serde_json::to_value(r),
            Record::Feedback(r) => serde_json::to_value(r),
            Record::LoungeVisit(r) => serde_json::to_value(r),
            Record::ChauffeurRide(r) => serde_json::to_value(r),
            Record::BaggageEvent(r) => serde_json::to_value(r),
            Record::SegmentForecast(r) => serde_json::to_value(r),
        };
        v.unwrap_or(Value::Null)
    }
}

/// The top-level field names whose values differ between two documents of the same record (for
/// events and the audit trail: names, never values).
pub fn changed_fields(before: &Value, after: &Value) -> Vec<String> {
    let empty = Map::new();
    let (a, b) = (
        before.as_object().unwrap_or(&empty),
        after.as_object().unwrap_or(&empty),
    );
    let mut names: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

fn utc_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn utc<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&utc_text(*t))
}

fn opt_utc<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => utc(t, s),
        None => s.serialize_none(),
    }
}

mod parse;
#[cfg(test)]
pub(crate) mod tests;

use parse::*;
pub use parse::{parse_date, parse_instant, parse_local};
