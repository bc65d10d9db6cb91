//! The sample source files in `data/samples/` parse as documented: every valid event yields a
//! record, and exactly the rows marked invalid in `data/samples/README.md` are rejected, with
//! the documented pointers. (The importer will map event types the same way.)

use std::collections::BTreeMap;

use aloft_travel::{Record, RecordKind};
use serde_json::{Value, json};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/samples");

/// Event type → record kind, as documented in the samples README.
fn kind_of(event_type: &str) -> RecordKind {
    match event_type.rsplit('.').next().unwrap_or("") {
        "pnr" => RecordKind::Booking,
        "ancillary" => RecordKind::Ancillary,
        "forecast" => RecordKind::SegmentForecast,
        "purchase" => RecordKind::Purchase,
        "post_order" => RecordKind::PostOrder,
        "call" | "message" | "session" => RecordKind::Interaction,
        "feedback" => RecordKind::Feedback,
        "visit" => RecordKind::LoungeVisit,
        "ride" => RecordKind::ChauffeurRide,
        "event" => RecordKind::BaggageEvent,
        other => panic!("undocumented event type {other}"),
    }
}

fn expected_rejections() -> BTreeMap<&'static str, Vec<&'static str>> {
    BTreeMap::from([
        (
            "gds-amadeus-0003",
            vec!["/record_locator", "/segments/0/origin", "/segments/0/cabin"],
        ),
        (
            "gds-amadeus-0006",
            vec![
                "/segments/0/scheduled_departure_local",
                "/segments/0/delay_minutes",
            ],
        ),
        (
            "loyalty-0003",
            vec!["/kind", "/submitted_at", "/text", "/rating"],
        ),
        ("partners-webshop-0004", vec!["/items/0/unit_price/amount"]),
        (
            "voice-genesys-0002",
            vec!["/channel", "/occurred_at", "/duration_seconds"],
        ),
        ("email-zendesk-0002", vec!["/attachments", "/occurred_at"]),
        ("chat-livechat-0002", vec!["/record_locator"]),
        (
            "inflight-skyshop-0002",
            vec!["/flight_number", "/total/amount"],
        ),
        ("lounges-0002", vec!["/left_at", "/guests"]),
        ("chauffeur-0003", vec!["/pickup", "/status"]),
        ("baggage-worldtracer-0005", vec!["/bag_tag", "/event"]),
    ])
}

#[test]
fn ndjson_samples_parse_and_reject_exactly_the_marked_events() {
    let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut accepted = 0;
    let mut files = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("ndjson") {
            continue;
        }
        files += 1;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            assert_eq!(event["specversion"], "1.0");
            let kind = kind_of(event["type"].as_str().unwrap());
            match Record::parse(kind, &event["data"]) {
                Ok(record) => {
                    accepted += 1;
                    // No card number survives into a stored document.
                    let doc = record.to_document().to_string();
                    assert!(
                        !doc.contains("4111 1111") && !doc.contains("5555 5555"),
                        "{doc}"
                    );
                }
                Err(errs) => {
                    let mut pointers: Vec<String> = errs.into_iter().map(|e| e.pointer).collect();
                    pointers.sort();
                    rejected.insert(event["id"].as_str().unwrap().to_owned(), pointers);
                }
            }
        }
    }
    assert_eq!(files, 11);
    let expected: BTreeMap<String, Vec<String>> = expected_rejections()
        .into_iter()
        .map(|(id, mut p)| {
            p.sort();
            (id.to_owned(), p.into_iter().map(String::from).collect())
        })
        .collect();
    assert_eq!(rejected, expected);
    assert_eq!(accepted, 20);
}

#[test]
fn csv_booking_rows_group_into_bookings_and_bad_rows_are_rejected() {
    let text = std::fs::read_to_string(format!("{DIR}/bookings.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut bookings: BTreeMap<String, Value> = BTreeMap::new();
    for line in lines {
        let row: BTreeMap<&str, &str> = header.iter().copied().zip(line.split(',')).collect();
        let mut segment = serde_json::Map::new();
        for column in [
            "flight_number",
            "origin",
            "destination",
            "scheduled_departure_local",
            "scheduled_arrival_local",
            "cabin",
            "rbd",
            "ticket_number",
            "seat",
            "gate",
            "status",
        ] {
            if !row[column].is_empty() {
                segment.insert(column.into(), json!(row[column]));
            }
        }
        if let Ok(n) = row["delay_minutes"].parse::<u32>() {
            segment.insert("delay_minutes".into(), json!(n));
        }
        if !row["bag_tags"].is_empty() {
            segment.insert(
                "bag_tags".into(),
                json!(row["bag_tags"].split(';').collect::<Vec<_>>()),
            );
        }
        let booking = bookings
            .entry(row["source_record_id"].to_owned())
            .or_insert_with(|| {
                json!({"source": row["source"], "source_record_id": row["source_record_id"],
                "record_locator": row["record_locator"], "segments": []})
            });
        booking["segments"]
            .as_array_mut()
            .unwrap()
            .push(Value::Object(segment));
    }
    let mut rejected = BTreeMap::new();
    for (id, doc) in &bookings {
        if let Err(errs) = Record::parse(RecordKind::Booking, doc) {
            let mut p: Vec<String> = errs.into_iter().map(|e| e.pointer).collect();
            p.sort();
            rejected.insert(id.clone(), p);
        }
    }
    assert_eq!(bookings.len(), 5);
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        rejected,
        BTreeMap::from([
            (
                "X1-BAD-ROW".to_string(),
                strings(&[
                    "/record_locator",
                    "/segments/0/cabin",
                    "/segments/0/destination",
                    "/segments/0/flight_number",
                    "/segments/0/rbd",
                    "/segments/0/scheduled_arrival_local",
                    "/segments/0/status",
                    "/segments/0/ticket_number",
                ])
            ),
            (
                "X2-BAD-ROW".to_string(),
                strings(&[
                    "/segments/0/bag_tags/0",
                    "/segments/0/delay_minutes",
                    "/segments/0/destination",
                    "/segments/0/scheduled_departure_local",
                ])
            ),
        ])
    );
}
