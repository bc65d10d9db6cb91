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

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// The travel record reader: the platform's field reader with the fields every record kind
/// shares (its source) and money.
type Fields<'a, 'e> = FieldReader<'a, 'e>;

/// Travel-specific reads on a [`Fields`].
trait TravelFields {
    /// `source` and `source_record_id`, present on every record.
    fn source(&mut self) -> Option<SourceRef>;
    /// A money object `{"amount": "12.50", "currency": "EUR"}`.
    fn money(&mut self, field: &str, allow_negative: bool) -> Option<Money>;
    /// Like [`TravelFields::money`] but required (and not negative).
    fn req_money(&mut self, field: &str) -> Option<Money>;
}

impl TravelFields for Fields<'_, '_> {
    fn source(&mut self) -> Option<SourceRef> {
        let source = self.req("source", SourceSystem::parse);
        let id = self.req("source_record_id", Reference::parse);
        Some(SourceRef {
            source: source?,
            source_record_id: id?,
        })
    }

    fn money(&mut self, field: &str, allow_negative: bool) -> Option<Money> {
        let m = self.object(field)?;
        let mut f = self.nested(field, m);
        f.reject_unknown(&["amount", "currency"]);
        let currency = f.req("currency", CurrencyCode::parse);
        if !f.present("amount") {
            f.fail("amount", "is required");
            return None;
        }
        match (f.get("amount"), currency) {
            (Some(Value::String(s)), Some(c)) => match Money::parse(s, &c, allow_negative) {
                Ok(m) => Some(m),
                Err(e) => {
                    f.fail("amount", e);
                    None
                }
            },
            (Some(Value::String(_)), None) => None,
            _ => {
                f.fail(
                    "amount",
                    "must be a decimal amount as a string, e.g. \"12.50\" (JSON numbers lose precision)",
                );
                None
            }
        }
    }

    fn req_money(&mut self, field: &str) -> Option<Money> {
        if !self.present(field) {
            self.fail(field, "is required");
            return None;
        }
        self.money(field, false)
    }
}

/// An RFC 3339 instant with an explicit offset (`Z` or `±hh:mm`), converted to UTC. Times without
/// an offset are refused: guessing a zone is how timelines end up an hour off.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    let t = s.trim();
    let dt = DateTime::parse_from_rfc3339(t).map_err(|_| {
        "must be an RFC 3339 instant with an offset, e.g. 2026-03-12T09:40:00Z".to_string()
    })?;
    let utc = dt.with_timezone(&Utc);
    plausible_year(utc.date_naive())?;
    Ok(utc)
}

/// A local date-time `YYYY-MM-DDTHH:MM[:SS]` without offset (a schedule at an airport).
pub fn parse_local(s: &str) -> Result<NaiveDateTime, String> {
    let t = s.trim();
    let dt = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
        .map_err(|_| {
            "must be a local date and time without offset, e.g. 2026-03-12T09:40".to_string()
        })?;
    plausible_year(dt.date())?;
    Ok(dt)
}

/// An ISO 8601 calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let t = s.trim();
    let msg = "must be a date in ISO 8601 form YYYY-MM-DD";
    if t.len() != 10 {
        return Err(msg.into());
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| msg.to_string())?;
    plausible_year(d)?;
    Ok(d)
}

fn plausible_year(d: NaiveDate) -> Result<(), String> {
    use chrono::Datelike;
    if (1950..=2100).contains(&d.year()) {
        Ok(())
    } else {
        Err("must be between the years 1950 and 2100".into())
    }
}

const SOURCE_FIELDS: [&str; 2] = ["source", "source_record_id"];

fn known(extra: &[&'static str]) -> Vec<&'static str> {
    SOURCE_FIELDS.iter().chain(extra).copied().collect()
}

const SEGMENT_FIELDS: &[&str] = &[
    "flight_number",
    "origin",
    "destination",
    "scheduled_departure_local",
    "departure_time_zone",
    "scheduled_departure_utc",
    "scheduled_arrival_local",
    "arrival_time_zone",
    "scheduled_arrival_utc",
    "cabin",
    "rbd",
    "ticket_number",
    "seat",
    "gate",
    "status",
    "delay_minutes",
    "actual_departure",
    "actual_arrival",
    "bag_tags",
];

/// Longest plausible scheduled block time (the longest flights are about 19 hours).
const MAX_BLOCK_HOURS: i64 = 24;
/// Longest delay recorded (three days; beyond that the flight is cancelled and rebooked).
const MAX_DELAY_MINUTES: u32 = 4_320;
/// Most segments in one PNR.
const MAX_SEGMENTS: usize = 16;

fn parse_booking(r: &mut Fields<'_, '_>) -> Option<Booking> {
    r.reject_unknown(&known(&["record_locator", "booked_at", "segments"]));
    let source = r.source();
    let record_locator = r.req("record_locator", RecordLocator::parse);
    let booked_at = r.opt("booked_at", parse_instant);
    let mut segments = Vec::new();
    let mut segments_ok = true;
    match r.array("segments") {
        None if !r.present("segments") => {
            r.fail("segments", "is required");
            segments_ok = false;
        }
        None => segments_ok = false,
        Some(items) if items.is_empty() || items.len() > MAX_SEGMENTS => {
            r.fail(
                "segments",
                format!("must hold 1 to {MAX_SEGMENTS} flight segments"),
            );
            segments_ok = false;
        }
        Some(items) => {
            for (i, item) in items.iter().enumerate() {
                let pointer = format!("segments/{i}");
                match item.as_object() {
                    Some(m) => match parse_segment(&mut r.nested(&pointer, m)) {
                        Some(s) => segments.push(s),
                        None => segments_ok = false,
                    },
                    None => {
                        r.fail(&pointer, "must be an object");
                        segments_ok = false;
                    }
                }
            }
        }
    }
    if !segments_ok {
        return None;
    }
    Some(Booking {
        source: source?,
        record_locator: record_locator?,
        booked_at,
        segments,
    })
}

fn parse_segment(r: &mut Fields<'_, '_>) -> Option<Segment> {
    r.reject_unknown(SEGMENT_FIELDS);
    let flight_number = r.req("flight_number", FlightNumber::parse);
    let origin = r.req("origin", airports::parse_known);
    let destination = r.req("destination", airports::parse_known);
    let dep_local = r.req("scheduled_departure_local", parse_local);
    let arr_local = r.req("scheduled_arrival_local", parse_local);
    let cabin = r.req("cabin", Cabin::parse);
    let rbd = r.req("rbd", Rbd::parse);
    let ticket_number = r.opt("ticket_number", ETicketNumber::parse);
    let seat = r.opt("seat", Seat::parse);
    let gate = r.opt("gate", Gate::parse);
    let status = r.req("status", SegmentStatus::parse);
    let delay_minutes = r.int("delay_minutes", 0, MAX_DELAY_MINUTES);
    let actual_departure = r.opt("actual_departure", parse_instant);
    let actual_arrival = r.opt("actual_arrival", parse_instant);
    let mut bag_tags: Vec<BagTag> = Vec::new();
    if let Some(items) = r.array("bag_tags") {
        for (i, item) in items.iter().enumerate() {
            match item.as_str().map(BagTag::parse) {
                Some(Ok(tag)) if !bag_tags.contains(&tag) => bag_tags.push(tag),
                Some(Ok(_)) => r.fail(&format!("bag_tags/{i}"), "repeats an earlier bag tag"),
                Some(Err(e)) => r.fail(&format!("bag_tags/{i}"), e),
                None => r.fail(&format!("bag_tags/{i}"), "must be a string"),
            }
        }
    }
    if let (Some(o), Some(d)) = (&origin, &destination)
        && o == d
    {
        r.fail("destination", "must differ from the origin");
    }
    // Local schedule → instant in the airport's zone.
    let departure = match (&origin, dep_local) {
        (Some(o), Some(local)) => scheduled(r, "scheduled_departure", o, local),
        _ => None,
    };
    let arrival = match (&destination, arr_local) {
        (Some(d), Some(local)) => scheduled(r, "scheduled_arrival", d, local),
        _ => None,
    };
    if let (Some(dep), Some(arr)) = (&departure, &arrival) {
        let block = arr.utc - dep.utc;
        if block <= chrono::Duration::zero() {
            r.fail(
                "scheduled_arrival_local",
                "must be after the scheduled departure (both converted to UTC)",
            );
        } else if block > chrono::Duration::hours(MAX_BLOCK_HOURS) {
            r.fail(
                "scheduled_arrival_local",
                format!("must be within {MAX_BLOCK_HOURS} hours of the scheduled departure"),
            );
        }
    }
    if let (Some(dep), Some(arr)) = (actual_departure, actual_arrival)
        && arr <= dep
    {
        r.fail("actual_arrival", "must be after the actual departure");
    }
    if status == Some(SegmentStatus::Delayed) && delay_minutes.is_none_or(|m| m == 0) {
        r.fail(
            "delay_minutes",
            "is required and above zero when the status is delayed",
        );
    }
    Some(Segment {
        flight_number: flight_number?,
        origin: origin?,
        destination: destination?,
        scheduled_departure: departure?,
        scheduled_arrival: arrival?,
        cabin: cabin?,
        rbd: rbd?,
        ticket_number,
        seat,
        gate,
        status: status?,
        delay_minutes,
        actual_departure,
        actual_arrival,
        bag_tags,
    })
}

/// The scheduled time `prefix` (`scheduled_departure`/`scheduled_arrival`) at `airport`; checks
/// the derived zone and UTC fields when the document carries them (a stored document does).
fn scheduled(
    r: &mut Fields<'_, '_>,
    prefix: &str,
    airport: &AirportCode,
    local: NaiveDateTime,
) -> Option<ScheduledTime> {
    let local_field = format!("{prefix}_local");
    let Some(zone) = airports::time_zone(airport) else {
        r.fail(&local_field, "must be at an airport in the reference data");
        return None;
    };
    let t = match ScheduledTime::at(local, zone) {
        Ok(t) => t,
        Err(e) => {
            r.fail(&local_field, e);
            return None;
        }
    };
    let zone_field = if prefix.ends_with("departure") {
        "departure_time_zone"
    } else {
        "arrival_time_zone"
    };
    if let Some(zone) = r.opt(zone_field, |s| Ok::<_, String>(s.trim().to_owned()))
        && zone != t.zone.name()
    {
        r.fail(
            zone_field,
            "must be the airport's time zone from the reference data (or be left out)",
        );
    }
    let utc_field = format!("{prefix}_utc");
    if let Some(utc) = r.opt(&utc_field, parse_instant)
        && utc != t.utc
    {
        r.fail(
            &utc_field,
            "does not match the local time in the airport's time zone (leave it out to have it computed)",
        );
    }
    Some(t)
}

const ATTRIBUTE_LIMIT: usize = 20;

fn parse_ancillary(r: &mut Fields<'_, '_>) -> Option<Ancillary> {
    r.reject_unknown(&known(&[
        "record_locator",
        "flight_number",
        "ancillary_type",
        "attributes",
        "status",
        "occurred_at",
        "price",
    ]));
    let source = r.source();
    let record_locator = r.opt("record_locator", RecordLocator::parse);
    let flight_number = r.opt("flight_number", FlightNumber::parse);
    let ancillary_type = r.req("ancillary_type", AncillaryType::parse);
    let status = r.req("status", AncillaryStatus::parse);
    let occurred_at = r.req("occurred_at", parse_instant);
    let price = r.money("price", false);
    let mut attributes = Map::new();
    if let Some(m) = r.object("attributes") {
        if m.len() > ATTRIBUTE_LIMIT {
            r.fail(
                "attributes",
                format!("must have at most {ATTRIBUTE_LIMIT} entries"),
            );
        }
        for (k, v) in m.iter().take(ATTRIBUTE_LIMIT) {
            let field = format!("attributes/{}", escape_pointer(k));
            let key_ok = (1..=40).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !key_ok {
                r.fail(
                    &field,
                    "names must be 1–40 lower-case letters, digits or underscores",
                );
                continue;
            }
            match v {
                Value::String(s) => match FreeText::parse(s, 200) {
                    Ok(t) => {
                        attributes.insert(k.clone(), Value::String(t.0));
                    }
                    Err(e) => r.fail(&field, e),
                },
                Value::Bool(_) | Value::Number(_) => {
                    attributes.insert(k.clone(), v.clone());
                }
                _ => r.fail(&field, "must be a string, number or boolean"),
            }
        }
    }
    Some(Ancillary {
        source: source?,
        record_locator,
        flight_number,
        ancillary_type: ancillary_type?,
        attributes,
        status: status?,
        occurred_at: occurred_at?,
        price,
    })
}

const MAX_ITEMS: usize = 100;

fn parse_purchase(r: &mut Fields<'_, '_>) -> Option<Purchase> {
    r.reject_unknown(&known(&[
        "channel",
        "purchased_at",
        "order_reference",
        "flight_number",
        "items",
        "total",
        "payment",
    ]));
    let source = r.source();
    let channel = r.req("channel", PurchaseChannel::parse);
    let payment = match r.object("payment") {
        None => None,
        Some(m) => {
            let mut f = r.nested("payment", m);
            f.reject_unknown(&["method", "token", "card"]);
            let method = f.req("method", PaymentMethod::parse);
            let token = f.opt("token", PaymentToken::parse);
            let card = f.opt("card", MaskedCard::parse);
            if card.is_some() && method.is_some_and(|m| m != PaymentMethod::Card) {
                f.fail("card", "is only for card payments");
            }
            method.map(|method| Payment {
                method,
                token,
                card,
            })
        }
    };
    let purchased_at = r.req("purchased_at", parse_instant);
    let order_reference = r.opt("order_reference", Reference::parse);
    let flight_number = r.opt("flight_number", FlightNumber::parse);
    let total = r.req_money("total");
    if channel == Some(PurchaseChannel::Inflight) && !r.present("flight_number") {
        r.fail("flight_number", "is required for an in-flight purchase");
    }
    let mut items = Vec::new();
    let mut items_ok = true;
    match r.array("items") {
        None => {
            if !r.present("items") {
                r.fail("items", "is required");
            }
            items_ok = false;
        }
        Some(list) if list.is_empty() || list.len() > MAX_ITEMS => {
            r.fail("items", format!("must hold 1 to {MAX_ITEMS} items"));
            items_ok = false;
        }
        Some(list) => {
            for (i, item) in list.iter().enumerate() {
                let pointer = format!("items/{i}");
                let Some(m) = item.as_object() else {
                    r.fail(&pointer, "must be an object");
                    items_ok = false;
                    continue;
                };
                let mut f = r.nested(&pointer, m);
                f.reject_unknown(&["sku", "description", "quantity", "unit_price"]);
                let sku = f.req("sku", Reference::parse);
                let description = f.req("description", |s| FreeText::parse(s, 200));
                let quantity = f.req_int("quantity", 1, 999);
                let unit_price = f.req_money("unit_price");
                match (sku, description, quantity, unit_price) {
                    (Some(sku), Some(description), Some(quantity), Some(unit_price)) => {
                        items.push(PurchaseItem {
                            sku,
                            description,
                            quantity,
                            unit_price,
                        })
                    }
                    _ => items_ok = false,
                }
            }
        }
    }
    if let (true, Some(total)) = (items_ok, &total) {
        let mut sum = Decimal::ZERO;
        for (i, item) in items.iter().enumerate() {
            if item.unit_price.currency != total.currency {
                r.fail(
                    &format!("items/{i}/unit_price/currency"),
                    "must be the currency of the total",
                );
            }
            sum = sum
                .checked_add(
                    item.unit_price
                        .amount
                        .checked_mul(Decimal::from(item.quantity))
                        .unwrap_or(Decimal::MAX),
                )
                .unwrap_or(Decimal::MAX);
        }
        if sum != total.amount {
            r.fail(
                "total/amount",
                "must equal the sum of quantity × unit price of the items",
            );
        }
    }
    if !items_ok {
        return None;
    }
    Some(Purchase {
        source: source?,
        channel: channel?,
        purchased_at: purchased_at?,
        order_reference,
        flight_number,
        items,
        total: total?,
        payment,
    })
}

fn parse_post_order(r: &mut Fields<'_, '_>) -> Option<PostOrder> {
    r.reject_unknown(&known(&[
        "post_order_type",
        "order_reference",
        "reference",
        "status",
        "carrier",
        "occurred_at",
        "amount",
    ]));
    let source = r.source();
    let post_order_type = r.req("post_order_type", PostOrderType::parse);
    let order_reference = r.req("order_reference", Reference::parse);
    let reference = r.req("reference", Reference::parse);
    let status = r.opt("status", PostOrderStatus::parse);
    let carrier = r.opt("carrier", |s| FreeText::parse(s, 100));
    let occurred_at = r.req("occurred_at", parse_instant);
    let amount = r.money("amount", true);
    if post_order_type == Some(PostOrderType::Shipment) && r.present("amount") {
        r.fail("amount", "belongs to invoices, not shipments");
    }
    Some(PostOrder {
        source: source?,
        post_order_type: post_order_type?,
        order_reference: order_reference?,
        reference: reference?,
        status,
        carrier,
        occurred_at: occurred_at?,
        amount,
    })
}

fn parse_interaction(r: &mut Fields<'_, '_>) -> Option<Interaction> {
    r.reject_unknown(&known(&[
        "channel",
        "direction",
        "occurred_at",
        "subject",
        "body",
        "agent_id",
        "duration_seconds",
        "record_locator",
    ]));
    let source = r.source();
    let channel = r.req("channel", InteractionChannel::parse);
    let direction = r.req("direction", Direction::parse);
    let occurred_at = r.req("occurred_at", parse_instant);
    let subject = r.opt("subject", |s| FreeText::parse(s, 200));
    let body = r.opt("body", |s| FreeText::parse(s, 20_000));
    let agent_id = r.opt("agent_id", Reference::parse);
    let duration_seconds = r.int("duration_seconds", 0, 86_400);
    let record_locator = r.opt("record_locator", RecordLocator::parse);
    Some(Interaction {
        source: source?,
        channel: channel?,
        direction: direction?,
        occurred_at: occurred_at?,
        subject,
        body,
        agent_id,
        duration_seconds,
        record_locator,
    })
}

fn parse_feedback(r: &mut Fields<'_, '_>) -> Option<Feedback> {
    r.reject_unknown(&known(&[
        "kind",
        "submitted_at",
        "text",
        "rating",
        "record_locator",
        "flight_number",
    ]));
    let source = r.source();
    let kind = r.req("kind", FeedbackKind::parse);
    let submitted_at = r.req("submitted_at", parse_instant);
    let text = r.req("text", |s| FreeText::parse(s, 10_000));
    let rating = r.int("rating", 1, 5).map(|n| n as u8);
    let record_locator = r.opt("record_locator", RecordLocator::parse);
    let flight_number = r.opt("flight_number", FlightNumber::parse);
    Some(Feedback {
        source: source?,
        kind: kind?,
        submitted_at: submitted_at?,
        text: text?,
        rating,
        record_locator,
        flight_number,
    })
}

fn parse_lounge_visit(r: &mut Fields<'_, '_>) -> Option<LoungeVisit> {
    r.reject_unknown(&known(&[
        "airport",
        "lounge",
        "entered_at",
        "left_at",
        "guests",
        "access",
    ]));
    let source = r.source();
    let airport = r.req("airport", airports::parse_known);
    let lounge = r.req("lounge", |s| FreeText::parse(s, 100));
    let entered_at = r.req("entered_at", parse_instant);
    let left_at = r.opt("left_at", parse_instant);
    let guests = r.int("guests", 0, 10).unwrap_or(0);
    let access = r.opt("access", LoungeAccess::parse);
    if let (Some(a), Some(b)) = (entered_at, left_at)
        && b <= a
    {
        r.fail("left_at", "must be after entered_at");
    }
    Some(LoungeVisit {
        source: source?,
        airport: airport?,
        lounge: lounge?,
        entered_at: entered_at?,
        left_at,
        guests,
        access,
    })
}

fn parse_chauffeur_ride(r: &mut Fields<'_, '_>) -> Option<ChauffeurRide> {
    r.reject_unknown(&known(&[
        "pickup_at",
        "pickup",
        "dropoff",
        "airport",
        "record_locator",
        "status",
    ]));
    let source = r.source();
    let pickup_at = r.req("pickup_at", parse_instant);
    let pickup = r.req("pickup", |s| FreeText::parse(s, 200));
    let dropoff = r.req("dropoff", |s| FreeText::parse(s, 200));
    let airport = r.opt("airport", airports::parse_known);
    let record_locator = r.opt("record_locator", RecordLocator::parse);
    let status = r.req("status", RideStatus::parse);
    Some(ChauffeurRide {
        source: source?,
        pickup_at: pickup_at?,
        pickup: pickup?,
        dropoff: dropoff?,
        airport,
        record_locator,
        status: status?,
    })
}

fn parse_baggage_event(r: &mut Fields<'_, '_>) -> Option<BaggageEvent> {
    r.reject_unknown(&known(&[
        "bag_tag",
        "event",
        "airport",
        "occurred_at",
        "flight_number",
        "record_locator",
    ]));
    let source = r.source();
    let bag_tag = r.req("bag_tag", BagTag::parse);
    let event = r.req("event", BaggageEventType::parse);
    let airport = r.req("airport", airports::parse_known);
    let occurred_at = r.req("occurred_at", parse_instant);
    let flight_number = r.opt("flight_number", FlightNumber::parse);
    let record_locator = r.opt("record_locator", RecordLocator::parse);
    Some(BaggageEvent {
        source: source?,
        bag_tag: bag_tag?,
        event: event?,
        airport: airport?,
        occurred_at: occurred_at?,
        flight_number,
        record_locator,
    })
}

fn parse_segment_forecast(r: &mut Fields<'_, '_>) -> Option<SegmentForecast> {
    r.reject_unknown(&known(&[
        "flight_number",
        "departure_date",
        "origin",
        "cabin",
        "rbd",
        "capacity",
        "booked",
        "forecast_booked",
        "forecast_at",
    ]));
    let source = r.source();
    let flight_number = r.req("flight_number", FlightNumber::parse);
    let departure_date = r.req("departure_date", parse_date);
    let origin = r.req("origin", airports::parse_known);
    let cabin = r.req("cabin", Cabin::parse);
    let rbd = r.opt("rbd", Rbd::parse);
    let capacity = r.req_int("capacity", 1, 1_000);
    // Overbooking is normal; more than twice the capacity is a data error.
    let booked = r.req_int("booked", 0, 2_000);
    let forecast_booked = r.int("forecast_booked", 0, 2_000);
    let forecast_at = r.req("forecast_at", parse_instant);
    if let Some(cap) = capacity {
        for (field, value) in [("booked", booked), ("forecast_booked", forecast_booked)] {
            if value.is_some_and(|v| v > cap * 2) {
                r.fail(field, "must be at most twice the capacity");
            }
        }
    }
    Some(SegmentForecast {
        source: source?,
        flight_number: flight_number?,
        departure_date: departure_date?,
        origin: origin?,
        cabin: cabin?,
        rbd,
        capacity: capacity?,
        booked: booked?,
        forecast_booked,
        forecast_at: forecast_at?,
    })
}

impl FromStr for RecordKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(kind: RecordKind, doc: Value) -> Vec<String> {
        Record::parse(kind, &doc)
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    fn assert_pointers(kind: RecordKind, doc: Value, expected: &[&str]) {
        let got = pointers(kind, doc);
        for p in expected {
            assert!(got.contains(&p.to_string()), "missing {p} in {got:?}");
        }
    }

    pub(crate) fn booking_doc() -> Value {
        json!({
            "source": "amadeus", "source_record_id": "PNR-K7XQ2M-1",
            "record_locator": "k7xq2m", "booked_at": "2026-01-10T08:00:00+04:00",
            "segments": [{
                "flight_number": "BA 0117", "origin": "lhr", "destination": "JFK",
                "scheduled_departure_local": "2026-03-12T09:40", "scheduled_arrival_local": "2026-03-12T12:35",
                "cabin": "Economy", "rbd": "y", "ticket_number": "125-1234567890", "seat": "32k",
                "gate": "b12", "status": "delayed", "delay_minutes": 95, "bag_tags": ["0125123456"]
            }, {
                "flight_number": "BA112", "origin": "JFK", "destination": "LHR",
                "scheduled_departure_local": "2026-03-20T18:30", "scheduled_arrival_local": "2026-03-21T06:35",
                "cabin": "premium-economy", "rbd": "W", "status": "scheduled"
            }]
        })
    }

    fn booking() -> Booking {
        match Record::parse(RecordKind::Booking, &booking_doc()).unwrap() {
            Record::Booking(b) => b,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_booking_is_normalised_and_its_schedule_converted_to_utc() {
        let b = booking();
        assert_eq!(b.record_locator.as_str(), "K7XQ2M");
        assert_eq!(
            b.booked_at.unwrap().to_rfc3339(),
            "2026-01-10T04:00:00+00:00"
        );
        let s = &b.segments[0];
        assert_eq!(s.flight_number.as_str(), "BA117");
        assert_eq!(s.flight_number.airline(), "BA");
        assert_eq!(s.ticket_number.as_ref().unwrap().airline_prefix(), "125");
        assert_eq!(s.seat.as_ref().unwrap().as_str(), "32K");
        assert_eq!(s.cabin, Cabin::Economy);
        // London is on GMT in March before the last Sunday; New York is already on EDT (UTC−4).
        assert_eq!(s.scheduled_departure.zone.name(), "Europe/London");
        assert_eq!(
            s.scheduled_departure.utc.to_rfc3339(),
            "2026-03-12T09:40:00+00:00"
        );
        assert_eq!(s.scheduled_arrival.zone.name(), "America/New_York");
        assert_eq!(
            s.scheduled_arrival.utc.to_rfc3339(),
            "2026-03-12T16:35:00+00:00"
        );
        assert_eq!(b.segments[1].cabin, Cabin::PremiumEconomy);
        assert_eq!(
            b.segments[1].scheduled_arrival.utc.to_rfc3339(),
            "2026-03-21T06:35:00+00:00"
        );
    }

    #[test]
    fn every_record_round_trips_through_its_stored_document() {
        for (kind, doc) in samples() {
            let record = Record::parse(kind, &doc).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert_eq!(record.kind(), kind);
            let stored = record.to_document();
            let again = Record::parse(kind, &stored).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            assert_eq!(again, record, "{kind}");
            assert_eq!(again.to_document(), stored);
        }
    }

    pub(crate) fn samples() -> Vec<(RecordKind, Value)> {
        vec![
            (RecordKind::Booking, booking_doc()),
            (
                RecordKind::Ancillary,
                json!({"source": "amadeus", "source_record_id": "ANC-1", "record_locator": "K7XQ2M",
                    "flight_number": "BA117", "ancillary_type": "wifi", "status": "service_disruption",
                    "occurred_at": "2026-03-12T10:00:00Z", "attributes": {"plan": "full flight", "mb": 500, "streaming": true},
                    "price": {"amount": "14.9", "currency": "gbp"}}),
            ),
            (
                RecordKind::Purchase,
                json!({"source": "skyshop", "source_record_id": "IFR-9", "channel": "inflight",
                    "purchased_at": "2026-03-12T11:00:00Z", "flight_number": "BA117",
                    "items": [{"sku": "PERF-1", "description": "Perfume 50 ml", "quantity": 1, "unit_price": {"amount": "62.00", "currency": "EUR"}},
                              {"sku": "SNK-2", "description": "Crisps", "quantity": 2, "unit_price": {"amount": "3.25", "currency": "EUR"}}],
                    "total": {"amount": "68.50", "currency": "EUR"},
                    "payment": {"method": "card", "token": "tok_7Hq2Lx9", "card": "4111 1111 1111 1111"}}),
            ),
            (
                RecordKind::PostOrder,
                json!({"source": "webshop", "source_record_id": "INV-77", "post_order_type": "invoice",
                    "order_reference": "W-1001", "reference": "INV-2026-77", "status": "paid",
                    "occurred_at": "2026-03-01T09:00:00Z", "amount": {"amount": "1500", "currency": "JPY"}}),
            ),
            (
                RecordKind::Interaction,
                json!({"source": "genesys", "source_record_id": "CALL-5", "channel": "call", "direction": "inbound",
                    "occurred_at": "2026-03-13T08:15:00Z", "subject": "Delayed flight BA117",
                    "body": "Customer asked about compensation.\nPaid with 4111 1111 1111 1111.",
                    "agent_id": "agent-42", "duration_seconds": 610}),
            ),
            (
                RecordKind::Feedback,
                json!({"source": "medallia", "source_record_id": "FB-3", "kind": "complaint",
                    "submitted_at": "2026-03-14T19:00:00Z", "text": "The Wi-Fi never worked.", "rating": 2,
                    "flight_number": "BA117"}),
            ),
            (
                RecordKind::LoungeVisit,
                json!({"source": "lounge-pass", "source_record_id": "LV-8", "airport": "LHR", "lounge": "Galleries North",
                    "entered_at": "2026-03-12T07:30:00Z", "left_at": "2026-03-12T09:00:00Z", "guests": 1, "access": "loyalty_tier"}),
            ),
            (
                RecordKind::ChauffeurRide,
                json!({"source": "blacklane", "source_record_id": "R-1", "pickup_at": "2026-03-12T05:30:00Z",
                    "pickup": "Home address", "dropoff": "LHR Terminal 5", "airport": "LHR", "status": "completed"}),
            ),
            (
                RecordKind::BaggageEvent,
                json!({"source": "worldtracer", "source_record_id": "BAG-1", "bag_tag": "0125123456", "event": "mishandled",
                    "airport": "JFK", "occurred_at": "2026-03-12T17:10:00Z", "flight_number": "BA117"}),
            ),
            (
                RecordKind::SegmentForecast,
                json!({"source": "rm", "source_record_id": "FC-1", "flight_number": "BA117", "departure_date": "2026-03-12",
                    "origin": "LHR", "cabin": "economy", "rbd": "Y", "capacity": 200, "booked": 180, "forecast_booked": 210,
                    "forecast_at": "2026-03-01T00:00:00Z"}),
            ),
        ]
    }

    #[test]
    fn every_bad_booking_field_is_reported_with_its_pointer() {
        assert_pointers(
            RecordKind::Booking,
            json!({"source": "Bad Source!", "record_locator": "ABC", "booked_at": "2026-01-10 08:00",
                "segments": [{
                    "flight_number": "123", "origin": "XXX", "destination": "JF",
                    "scheduled_departure_local": "12/03/2026", "scheduled_arrival_local": "2026-03-12T12:35",
                    "cabin": "coach", "rbd": "YY", "ticket_number": "12345", "seat": "0A", "gate": "gate 12!",
                    "status": "late", "delay_minutes": -5, "bag_tags": ["12345", 7], "colour": "red"
                }, "nope"], "extra": 1}),
            &[
                "/source",
                "/source_record_id",
                "/record_locator",
                "/booked_at",
                "/extra",
                "/segments/0/flight_number",
                "/segments/0/origin",
                "/segments/0/destination",
                "/segments/0/scheduled_departure_local",
                "/segments/0/cabin",
                "/segments/0/rbd",
                "/segments/0/ticket_number",
                "/segments/0/seat",
                "/segments/0/gate",
                "/segments/0/status",
                "/segments/0/delay_minutes",
                "/segments/0/bag_tags/0",
                "/segments/0/bag_tags/1",
                "/segments/0/colour",
                "/segments/1",
            ],
        );
        assert_pointers(
            RecordKind::Booking,
            json!({}),
            &[
                "/source",
                "/source_record_id",
                "/record_locator",
                "/segments",
            ],
        );
        assert_pointers(
            RecordKind::Booking,
            json!({"source": "a", "source_record_id": "b", "record_locator": "ABC123", "segments": []}),
            &["/segments"],
        );
    }

    #[test]
    fn schedule_rules_are_checked() {
        let mut doc = booking_doc();
        let seg = &mut doc["segments"][0];
        seg["destination"] = json!("LHR");
        seg["status"] = json!("delayed");
        seg["delay_minutes"] = json!(null);
        assert_pointers(
            RecordKind::Booking,
            doc,
            &["/segments/0/destination", "/segments/0/delay_minutes"],
        );

        let mut doc = booking_doc();
        doc["segments"][0]["scheduled_arrival_local"] = json!("2026-03-12T04:00");
        assert_pointers(
            RecordKind::Booking,
            doc,
            &["/segments/0/scheduled_arrival_local"],
        );

        // 01:30 on 29 March 2026 does not exist in London (clocks go from 01:00 to 02:00).
        let mut doc = booking_doc();
        doc["segments"][0]["scheduled_departure_local"] = json!("2026-03-29T01:30");
        doc["segments"][0]["scheduled_arrival_local"] = json!("2026-03-29T06:00");
        assert_pointers(
            RecordKind::Booking,
            doc,
            &["/segments/0/scheduled_departure_local"],
        );

        // A derived field that disagrees with the computed one is refused, not silently replaced.
        let mut doc = booking_doc();
        doc["segments"][0]["scheduled_departure_utc"] = json!("2026-03-12T08:40:00Z");
        doc["segments"][0]["departure_time_zone"] = json!("Europe/Paris");
        assert_pointers(
            RecordKind::Booking,
            doc,
            &[
                "/segments/0/scheduled_departure_utc",
                "/segments/0/departure_time_zone",
            ],
        );
    }

    #[test]
    fn an_ambiguous_local_time_is_the_earlier_instant() {
        let local = parse_local("2026-10-25T01:30").unwrap();
        let t = ScheduledTime::at(local, chrono_tz::Europe::London).unwrap();
        assert_eq!(t.utc.to_rfc3339(), "2026-10-25T00:30:00+00:00");
    }

    #[test]
    fn every_bad_field_of_the_other_records_is_reported() {
        assert_pointers(
            RecordKind::Ancillary,
            json!({"source": "x", "source_record_id": "1", "ancillary_type": "spa", "status": "done",
                "occurred_at": "yesterday", "attributes": {"Bad Key": 1, "nested": {"a": 1}}, "price": {"amount": 9.99, "currency": "EUR"}}),
            &[
                "/ancillary_type",
                "/status",
                "/occurred_at",
                "/attributes/Bad Key",
                "/attributes/nested",
                "/price/amount",
            ],
        );
        assert_pointers(
            RecordKind::Purchase,
            json!({"source": "x", "source_record_id": "1", "channel": "inflight", "purchased_at": "2026-03-12T11:00:00Z",
                "items": [{"sku": "A", "description": "", "quantity": 0, "unit_price": {"amount": "1.001", "currency": "EUR"}}],
                "total": {"amount": "5.00", "currency": "XYZ"}}),
            &[
                "/flight_number",
                "/items/0/description",
                "/items/0/quantity",
                "/items/0/unit_price/amount",
                "/total/currency",
            ],
        );
        assert_pointers(
            RecordKind::Purchase,
            json!({"source": "x", "source_record_id": "1", "channel": "web", "purchased_at": "2026-03-12T11:00:00Z",
                "items": [{"sku": "A", "description": "Mug", "quantity": 2, "unit_price": {"amount": "5.00", "currency": "USD"}}],
                "total": {"amount": "9.00", "currency": "EUR"}}),
            &["/items/0/unit_price/currency", "/total/amount"],
        );
        assert_pointers(
            RecordKind::PostOrder,
            json!({"source": "x", "source_record_id": "1", "post_order_type": "shipment", "order_reference": "",
                "occurred_at": "2026-03-01T09:00:00Z", "amount": {"amount": "1", "currency": "EUR"}}),
            &["/order_reference", "/reference", "/amount"],
        );
        assert_pointers(
            RecordKind::Interaction,
            json!({"source": "x", "source_record_id": "1", "channel": "fax", "direction": "sideways",
                "occurred_at": "2026-03-13T08:15:00", "subject": "bell\u{7}", "duration_seconds": 100000}),
            &[
                "/channel",
                "/direction",
                "/occurred_at",
                "/subject",
                "/duration_seconds",
            ],
        );
        assert_pointers(
            RecordKind::Feedback,
            json!({"source": "x", "source_record_id": "1", "kind": "rant", "submitted_at": "2026-03-14T19:00:00Z", "rating": 6}),
            &["/kind", "/text", "/rating"],
        );
        assert_pointers(
            RecordKind::LoungeVisit,
            json!({"source": "x", "source_record_id": "1", "airport": "QQQ", "lounge": "L",
                "entered_at": "2026-03-12T09:00:00Z", "left_at": "2026-03-12T08:00:00Z", "guests": 20}),
            &["/airport", "/left_at", "/guests"],
        );
        assert_pointers(
            RecordKind::ChauffeurRide,
            json!({"source": "x", "source_record_id": "1", "pickup_at": "2026-03-12T05:30:00Z", "status": "lost"}),
            &["/pickup", "/dropoff", "/status"],
        );
        assert_pointers(
            RecordKind::BaggageEvent,
            json!({"source": "x", "source_record_id": "1", "bag_tag": "ABC", "event": "exploded", "airport": "JFK"}),
            &["/bag_tag", "/event", "/occurred_at"],
        );
        assert_pointers(
            RecordKind::SegmentForecast,
            json!({"source": "x", "source_record_id": "1", "flight_number": "BA117", "departure_date": "2026-02-30",
                "origin": "LHR", "cabin": "economy", "capacity": 100, "booked": 250, "forecast_at": "2026-03-01T00:00:00Z"}),
            &["/departure_date", "/booked"],
        );
    }

    #[test]
    fn errors_never_echo_the_submitted_value() {
        let errs = Record::parse(
            RecordKind::Booking,
            &json!({"source": "a", "source_record_id": "b", "record_locator": "SECRET-VALUE", "segments": "SECRET-VALUE"}),
        )
        .unwrap_err();
        assert!(errs.iter().all(|e| !e.detail.contains("SECRET-VALUE")));
    }

    #[test]
    fn card_numbers_in_free_text_are_masked_before_storage() {
        let (_, doc) = samples()
            .into_iter()
            .find(|(k, _)| *k == RecordKind::Interaction)
            .unwrap();
        let stored = Record::parse(RecordKind::Interaction, &doc)
            .unwrap()
            .to_document()
            .to_string();
        assert!(!stored.contains("4111 1111 1111 1111"), "{stored}");
        assert!(stored.contains("411111******1111"), "{stored}");
        let t = FreeText::parse("ticket 1251234567890, call +44 20 7946 0000", 200).unwrap();
        assert_eq!(t.as_str(), "ticket 1251234567890, call +44 20 7946 0000");
    }

    #[test]
    fn value_types_accept_good_and_refuse_bad_values() {
        assert_eq!(RecordLocator::parse(" abc123 ").unwrap().as_str(), "ABC123");
        for bad in ["ABC12", "ABC1234", "ABC-12", "ÄBC123"] {
            assert!(RecordLocator::parse(bad).is_err(), "{bad}");
        }
        for (good, canonical) in [
            ("BA117", "BA117"),
            ("ek 0005", "EK5"),
            ("U21234A", "U21234A"),
            ("3K7", "3K7"),
            ("LH400", "LH400"),
        ] {
            assert_eq!(
                FlightNumber::parse(good).unwrap().as_str(),
                canonical,
                "{good}"
            );
        }
        for bad in ["BA", "12345", "BA12345", "BA0", "B-117", "BA117AB", ""] {
            assert!(FlightNumber::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ETicketNumber::parse("176 2345678901").unwrap().as_str(),
            "1762345678901"
        );
        for bad in ["176234567890", "17623456789012", "17623456789AB"] {
            assert!(ETicketNumber::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(BagTag::parse("0125 123456").unwrap().carrier_code(), "125");
        for bad in ["012512345", "01251234567", "BA12345678"] {
            assert!(BagTag::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Rbd::parse("j").unwrap().as_str(), "J");
        for bad in ["", "JJ", "1"] {
            assert!(Rbd::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Seat::parse("1a").unwrap().as_str(), "1A");
        for bad in ["A", "100A", "01A", "12"] {
            assert!(Seat::parse(bad).is_err(), "{bad}");
        }
        assert!(
            Gate::parse("B12").is_ok()
                && Gate::parse("").is_err()
                && Gate::parse("GATE123").is_err()
        );
        let dxb = airports::parse_known("dxb").unwrap();
        assert_eq!(airports::time_zone(&dxb).unwrap().name(), "Asia/Dubai");
        assert_eq!(
            airports::parse_known("QQQ").unwrap_err(),
            "must be the IATA code of a known airport"
        );
        assert_eq!(
            airports::parse_known("DX").unwrap_err(),
            "must be a three-letter IATA airport code such as LHR"
        );
        assert!(SourceSystem::parse("Lounge-Pass").is_ok() && SourceSystem::parse("a b").is_err());
        assert_eq!(
            Cabin::parse("Premium Economy").unwrap(),
            Cabin::PremiumEconomy
        );
        assert_eq!(
            SegmentStatus::parse("involuntarily-rebooked").unwrap(),
            SegmentStatus::InvoluntarilyRebooked
        );
        assert!(SegmentStatus::parse("late").is_err());
        for k in RecordKind::ALL {
            assert_eq!(RecordKind::parse(k.as_str()).unwrap(), *k);
        }
    }

    #[test]
    fn money_is_exact_decimal_in_the_currency_minor_units() {
        let eur = CurrencyCode::parse("eur").unwrap();
        let jpy = CurrencyCode::parse("JPY").unwrap();
        let kwd = CurrencyCode::parse("KWD").unwrap();
        assert_eq!(
            Money::parse("12.5", &eur, false)
                .unwrap()
                .amount
                .to_string(),
            "12.50"
        );
        assert_eq!(
            Money::parse("12.500", &eur, false)
                .unwrap()
                .amount
                .to_string(),
            "12.50"
        );
        assert!(Money::parse("12.505", &eur, false).is_err());
        assert_eq!(
            Money::parse("1500", &jpy, false)
                .unwrap()
                .amount
                .to_string(),
            "1500"
        );
        assert!(Money::parse("1500.5", &jpy, false).is_err());
        assert_eq!(
            Money::parse("1.234", &kwd, false)
                .unwrap()
                .amount
                .to_string(),
            "1.234"
        );
        for bad in ["", "1e3", "1,50", ".5", "5.", "-", "NaN", "１２"] {
            assert!(Money::parse(bad, &eur, false).is_err(), "{bad}");
        }
        assert!(Money::parse("-5.00", &eur, false).is_err());
        assert_eq!(
            Money::parse("-5", &eur, true).unwrap().to_string(),
            "-5.00 EUR"
        );
        assert!(CurrencyCode::parse("XYZ").is_err() && CurrencyCode::parse("EURO").is_err());
        let m = Money::parse("0.1", &eur, false).unwrap();
        let sum = m.amount + m.amount + m.amount;
        assert_eq!(sum.to_string(), "0.30");
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({"amount": "0.10", "currency": "EUR"})
        );
    }

    #[test]
    fn instants_need_an_offset_and_local_times_must_not_have_one() {
        assert_eq!(
            parse_instant("2026-03-12T09:40:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-12T08:40:00+00:00"
        );
        assert!(parse_instant("2026-03-12T09:40:00").is_err());
        assert!(parse_instant("1900-03-12T09:40:00Z").is_err());
        assert!(parse_local("2026-03-12T09:40").is_ok());
        assert!(parse_local("2026-03-12T09:40:00Z").is_err());
        assert!(parse_date("2026-2-03").is_err() && parse_date("2026-02-03").is_ok());
    }

    #[test]
    fn changed_fields_name_only_what_changed() {
        let a = json!({"a": 1, "b": 2});
        let b = json!({"a": 1, "b": 3, "c": 4});
        assert_eq!(changed_fields(&a, &b), vec!["b", "c"]);
    }

    #[test]
    fn forecasts_compute_their_load_factor() {
        let (_, doc) = samples()
            .into_iter()
            .find(|(k, _)| *k == RecordKind::SegmentForecast)
            .unwrap();
        let Record::SegmentForecast(f) = Record::parse(RecordKind::SegmentForecast, &doc).unwrap()
        else {
            unreachable!()
        };
        assert!((f.load_factor_percent() - 105.0).abs() < 1e-9);
    }

    #[test]
    fn payments_keep_only_a_token_and_a_masked_card() {
        let purchase = |payment: Value| {
            json!({"source": "skyshop", "source_record_id": "P-1", "channel": "web",
                "purchased_at": "2026-03-12T11:00:00Z",
                "items": [{"sku": "S", "description": "Crisps", "quantity": 1, "unit_price": {"amount": "3.25", "currency": "EUR"}}],
                "total": {"amount": "3.25", "currency": "EUR"}, "payment": payment})
        };
        // A full card number given as the card is masked to first six / last four.
        let Record::Purchase(p) = Record::parse(
            RecordKind::Purchase,
            &purchase(
                json!({"method": "card", "token": "tok_1N3x", "card": "5555-5555-5555-4444"}),
            ),
        )
        .unwrap() else {
            unreachable!()
        };
        let pay = p.payment.unwrap();
        assert_eq!(pay.card.unwrap().as_str(), "555555******4444");
        assert_eq!(pay.token.unwrap().as_str(), "tok_1N3x");
        for masked in [
            "411111******1111",
            "4111 11XX XXXX 1111",
            "************1111",
        ] {
            assert!(MaskedCard::parse(masked).is_ok(), "{masked}");
        }
        // Too many digits shown, a PAN as the token, a card on a cash payment: refused.
        assert_pointers(
            RecordKind::Purchase,
            purchase(json!({"method": "card", "card": "4111111111**1111"})),
            &["/payment/card"],
        );
        assert_pointers(
            RecordKind::Purchase,
            purchase(json!({"method": "card", "token": "4111111111111111"})),
            &["/payment/token"],
        );
        assert_pointers(
            RecordKind::Purchase,
            purchase(json!({"method": "cash", "card": "411111******1111", "pin": "1234"})),
            &["/payment/card", "/payment/pin"],
        );
        assert_pointers(
            RecordKind::Purchase,
            purchase(json!({"method": "barter"})),
            &["/payment/method"],
        );
    }
}
