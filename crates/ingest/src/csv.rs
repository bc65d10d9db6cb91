//! The flat booking export (`data/samples/bookings.csv`): one row per flight segment, grouped by
//! `source_record_id` into booking documents (segments in `segment` order), with identity hint
//! columns `loyalty_number` and `passenger_name`.
//!
//! Each booking becomes a [`SourceEvent`] like an NDJSON `com.airline.booking.pnr` event, so the
//! same pipeline validates and links it. Its event id is derived from the booking's content
//! (`csv:<source>:<source_record_id>:<hash>`): re-importing an unchanged file is recognised by
//! event id, while a corrected row yields a new id and updates the booking.
//!
//! Rejections name the CSV **column** and the **row** of the offending segment, translated from
//! the booking document's JSON pointer by [`CsvBooking::locate`].

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use aloft_travel::RecordKind;

use crate::envelope::{IdentityHints, Rejection, SourceEvent};

/// The CloudEvents `type` given to bookings read from CSV.
pub const CSV_EVENT_TYPE: &str = "com.airline.booking.pnr";

/// Columns every booking export must have.
pub const REQUIRED_COLUMNS: &[&str] = &[
    "source_record_id",
    "record_locator",
    "segment",
    "flight_number",
    "origin",
    "destination",
    "scheduled_departure_local",
    "scheduled_arrival_local",
    "cabin",
    "rbd",
    "status",
];

/// Segment columns copied as strings when not empty.
const SEGMENT_TEXT_COLUMNS: &[&str] = &[
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
];

/// Why a CSV file cannot be read at all (as opposed to rows that are rejected).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    /// The header lacks required columns.
    #[error("the CSV header lacks the columns: {0}")]
    MissingColumns(String),
    /// The file is not CSV.
    #[error("unreadable CSV: {0}")]
    Malformed(String),
}

/// One booking assembled from its rows.
#[derive(Debug, Clone)]
pub struct CsvBooking {
    /// The booking as a source event.
    pub event: SourceEvent,
    /// The 1-based line of each segment row, in segment order.
    pub segment_lines: Vec<u64>,
}

impl CsvBooking {
    /// Translates a rejection of this booking's event (pointer into the event, `/data/...`) into
    /// the CSV's terms: the row of the segment concerned, the column, and the pointer inside the
    /// booking document.
    pub fn locate(&self, mut r: Rejection) -> Rejection {
        let first = self.segment_lines.first().copied().unwrap_or(r.position);
        r.position = first;
        if let Some(inner) = r.pointer.strip_prefix("/data") {
            let parts: Vec<&str> = inner.split('/').skip(1).collect();
            match parts.as_slice() {
                ["segments", i, field, ..] => {
                    if let Some(line) = i
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| self.segment_lines.get(i))
                    {
                        r.position = *line;
                    }
                    r.column = Some((*field).to_owned());
                }
                [field, ..] if !field.is_empty() => r.column = Some((*field).to_owned()),
                _ => {}
            }
            r.pointer = inner.to_owned();
        } else if r.pointer == "/loyaltynumber" {
            r.column = Some("loyalty_number".into());
        } else if r.pointer == "/passengername" {
            r.column = Some("passenger_name".into());
        }
        r
    }
}

/// The result of reading a booking export.
#[derive(Debug, Default)]
pub struct CsvBatch {
    /// Bookings, in order of their first row.
    pub bookings: Vec<CsvBooking>,
    /// Rows that could not become part of a booking (bad segment number, delay, inconsistent
    /// rows), each naming line and column; their whole booking is rejected with them.
    pub rejections: Vec<Rejection>,
    /// Data rows read.
    pub rows: u64,
}

/// FNV-1a, 64 bits: a stable content fingerprint for derived event ids (not a security hash).
pub(crate) fn fingerprint(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Reads a booking export. `default_source` fills an empty or missing `source` column (the
/// `--source` of `aloft import`).
pub fn read_bookings(text: &str, default_source: Option<&str>) -> Result<CsvBatch, CsvError> {
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| CsvError::Malformed(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !header.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(CsvError::MissingColumns(missing.join(", ")));
    }
    struct Group {
        rows: Vec<(u64, u32, Map<String, Value>)>,
        source: String,
        record_locator: String,
        hints: IdentityHints,
        bad: bool,
    }
    let mut order: Vec<String> = Vec::new();
    let mut groups: HashMap<String, Group> = HashMap::new();
    let mut batch = CsvBatch::default();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                batch.rows += 1;
                batch
                    .rejections
                    .push(Rejection::new(line, None, "", "unreadable CSV row"));
                continue;
            }
        };
        batch.rows += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let cell = |name: &str| -> &str {
            header
                .iter()
                .position(|h| h == name)
                .and_then(|i| record.get(i))
                .map(str::trim)
                .unwrap_or("")
        };
        let reject = |column: &str, reason: &str, id: Option<&str>| {
            let mut r = Rejection::new(line, id, format!("/{column}"), reason);
            r.column = Some(column.to_owned());
            r
        };
        let srid = cell("source_record_id").to_owned();
        if srid.is_empty() {
            let r = reject(
                "source_record_id",
                "the source record id is required (it groups the rows of a booking)",
                None,
            );
            batch.rejections.push(r);
            continue;
        }
        let source = match cell("source") {
            "" => default_source.unwrap_or("").to_owned(),
            s => s.to_owned(),
        };
        let mut row_errors = Vec::new();
        let segment = match cell("segment").parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                row_errors.push(reject(
                    "segment",
                    "must be the segment's number, 1 or more",
                    None,
                ));
                0
            }
        };
        let mut seg = Map::new();
        for column in SEGMENT_TEXT_COLUMNS {
            let v = cell(column);
            if !v.is_empty() {
                seg.insert((*column).into(), json!(v));
            }
        }
        match cell("delay_minutes") {
            "" => {}
            v => match v.parse::<u32>() {
                Ok(n) => {
                    seg.insert("delay_minutes".into(), json!(n));
                }
                Err(_) => row_errors.push(reject(
                    "delay_minutes",
                    "must be a whole number of minutes",
                    None,
                )),
            },
        }
        match cell("bag_tags") {
            "" => {}
            v => {
                let tags: Vec<&str> = v.split(';').map(str::trim).collect();
                seg.insert("bag_tags".into(), json!(tags));
            }
        }
        let g = groups.entry(srid.clone()).or_insert_with(|| {
            order.push(srid.clone());
            let mut hints = IdentityHints::default();
            hints.set("loyaltynumber", cell("loyalty_number"));
            hints.set("passengername", cell("passenger_name"));
            Group {
                rows: Vec::new(),
                source: source.clone(),
                record_locator: cell("record_locator").to_owned(),
                hints,
                bad: false,
            }
        });
        if g.source != source {
            row_errors.push(reject(
                "source",
                "all rows of a booking must name the same source",
                None,
            ));
        }
        if g.record_locator != cell("record_locator") {
            row_errors.push(reject(
                "record_locator",
                "all rows of a booking must have the same record locator",
                None,
            ));
        }
        if g.rows.iter().any(|(_, s, _)| *s == segment) && segment != 0 {
            row_errors.push(reject(
                "segment",
                "this segment number appears twice in the booking",
                None,
            ));
        }
        if !row_errors.is_empty() {
            g.bad = true;
        }
        batch.rejections.extend(row_errors);
        g.rows.push((line, segment, seg));
    }
    for srid in order {
        let Some(mut g) = groups.remove(&srid) else {
            continue;
        };
        if g.bad {
            // Rejected with its rows above; a partial booking would be wrong.
            continue;
        }
        g.rows.sort_by_key(|(line, seg, _)| (*seg, *line));
        let segment_lines: Vec<u64> = g.rows.iter().map(|(l, _, _)| *l).collect();
        let segments: Vec<Value> = g
            .rows
            .into_iter()
            .map(|(_, _, s)| Value::Object(s))
            .collect();
        let mut data = Map::new();
        if !g.source.is_empty() {
            data.insert("source".into(), json!(g.source));
        }
        data.insert("source_record_id".into(), json!(srid));
        if !g.record_locator.is_empty() {
            data.insert("record_locator".into(), json!(g.record_locator));
        }
        data.insert("segments".into(), Value::Array(segments));
        let data = Value::Object(data);
        let hash = fingerprint(&format!(
            "{data}|{:?}|{:?}",
            g.hints.loyalty_number, g.hints.passenger_name
        ));
        let event = SourceEvent {
            position: segment_lines[0],
            id: format!("csv:{}:{srid}:{hash:016x}", g.source),
            source: format!("/csv/{}", g.source),
            event_type: CSV_EVENT_TYPE.into(),
            kind: RecordKind::Booking,
            hints: g.hints,
            data,
        };
        batch.bookings.push(CsvBooking {
            event,
            segment_lines,
        });
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "source,source_record_id,record_locator,segment,flight_number,origin,destination,scheduled_departure_local,scheduled_arrival_local,cabin,rbd,ticket_number,seat,gate,status,delay_minutes,bag_tags,loyalty_number,passenger_name";

    #[test]
    fn rows_group_in_segment_order_and_pointers_become_columns() {
        let text = format!(
            "{HEAD}\nx,B1,ABC123,2,BA2,JFK,LHR,2026-03-20T18:30,2026-03-21T06:35,economy,Y,,,,scheduled,,,AL1,SMITH/JOHNMR\n,B1,ABC123,1,BA1,LHR,JFK,2026-03-12T09:40,2026-03-12T12:35,economy,Y,,,,delayed,12,0125123456;0125123457,AL1,SMITH/JOHNMR\n"
        );
        let b = read_bookings(&text, Some("x")).unwrap();
        assert!(b.rejections.is_empty(), "{:?}", b.rejections);
        assert_eq!(b.rows, 2);
        let booking = &b.bookings[0];
        assert_eq!(booking.segment_lines, [3, 2]);
        assert_eq!(booking.event.data["segments"][0]["flight_number"], "BA1");
        assert_eq!(booking.event.data["segments"][0]["delay_minutes"], 12);
        assert_eq!(
            booking.event.data["segments"][0]["bag_tags"][1],
            "0125123457"
        );
        let r = booking.locate(Rejection::new(
            2,
            Some("e"),
            "/data/segments/1/cabin",
            "bad",
        ));
        assert_eq!((r.position, r.column.as_deref()), (2, Some("cabin")));
        assert_eq!(r.pointer, "/segments/1/cabin");
        // The id depends on the content only.
        let again = read_bookings(&text, Some("x")).unwrap();
        assert_eq!(again.bookings[0].event.id, booking.event.id);
    }

    #[test]
    fn structural_row_problems_reject_the_booking_with_the_column() {
        let text = format!(
            "{HEAD}\nx,B1,ABC123,one,BA1,LHR,JFK,2026-03-12T09:40,2026-03-12T12:35,economy,Y,,,,delayed,soon,,,\n"
        );
        let b = read_bookings(&text, None).unwrap();
        assert!(b.bookings.is_empty());
        let cols: Vec<_> = b
            .rejections
            .iter()
            .map(|r| r.column.clone().unwrap())
            .collect();
        assert_eq!(cols, ["segment", "delay_minutes"]);
        assert!(matches!(
            read_bookings("a,b\n1,2\n", None),
            Err(CsvError::MissingColumns(_))
        ));
    }
}
