//! Tests of the travel records: every bad field named by its pointer, and the samples other
//! modules' tests use.

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
        Gate::parse("B12").is_ok() && Gate::parse("").is_err() && Gate::parse("GATE123").is_err()
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
        &purchase(json!({"method": "card", "token": "tok_1N3x", "card": "5555-5555-5555-4444"})),
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
