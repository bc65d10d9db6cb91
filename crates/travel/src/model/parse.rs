//! Parsing travel records from JSON: every bad field reported with its JSON pointer and a
//! sentence, the rest of the record still read.

use super::*;

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// The travel record reader: the platform's field reader with the fields every record kind
/// shares (its source) and money.
pub(super) type Fields<'a, 'e> = FieldReader<'a, 'e>;

/// Travel-specific reads on a [`Fields`].
pub(super) trait TravelFields {
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

pub(super) fn parse_booking(r: &mut Fields<'_, '_>) -> Option<Booking> {
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

pub(super) fn parse_segment(r: &mut Fields<'_, '_>) -> Option<Segment> {
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

pub(super) fn parse_ancillary(r: &mut Fields<'_, '_>) -> Option<Ancillary> {
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

pub(super) fn parse_purchase(r: &mut Fields<'_, '_>) -> Option<Purchase> {
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

pub(super) fn parse_post_order(r: &mut Fields<'_, '_>) -> Option<PostOrder> {
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

pub(super) fn parse_interaction(r: &mut Fields<'_, '_>) -> Option<Interaction> {
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

pub(super) fn parse_feedback(r: &mut Fields<'_, '_>) -> Option<Feedback> {
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

pub(super) fn parse_lounge_visit(r: &mut Fields<'_, '_>) -> Option<LoungeVisit> {
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

pub(super) fn parse_chauffeur_ride(r: &mut Fields<'_, '_>) -> Option<ChauffeurRide> {
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

pub(super) fn parse_baggage_event(r: &mut Fields<'_, '_>) -> Option<BaggageEvent> {
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

pub(super) fn parse_segment_forecast(r: &mut Fields<'_, '_>) -> Option<SegmentForecast> {
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
