//! The customer timeline (the 360° view): one chronological list per customer across flights,
//! bags, purchases, interactions, feedback, lounge visits and chauffeur rides (cases and
//! compensation will join as further kinds).
//!
//! The timeline is a *projection*: [`project`] turns a stored record into zero or more
//! [`TimelineEntry`]s (a booking yields one `flight` entry per segment, a forecast none). Storage
//! replaces a record's entries whenever the record changes, so the timeline never needs to read
//! the records to list them.
//!
//! Invariants:
//! - Summaries are safe to show to anyone who may see the customer's timeline and are stored in
//!   the clear: built from codes, statuses and amounts only — never message bodies, feedback
//!   text or addresses, which stay (encrypted) in the record. An interaction's PAN-redacted
//!   subject is the entry's `detail`, stored encrypted and joined to the line on read.
//! - Order is newest first by `(occurred_at, entry_id)`, a total order, so keyset pages never
//!   repeat or skip an entry.
//! - Pure: no IO.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use uuid::Uuid;

use aloft_kernel::FieldError;

use crate::model::{
    AncillaryStatus, BaggageEventType, CustomerId, Direction, InteractionChannel, PostOrderType,
    PurchaseChannel, Record, RecordKind, SegmentStatus,
};

/// What a timeline entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimelineKind {
    /// A flight segment of a booking.
    Flight,
    /// An ancillary service.
    Ancillary,
    /// A purchase.
    Purchase,
    /// A shipment or invoice.
    PostOrder,
    /// A call, e-mail, chat or conversation.
    Interaction,
    /// A complaint, compliment or suggestion.
    Feedback,
    /// A lounge visit.
    LoungeVisit,
    /// A chauffeur ride.
    ChauffeurRide,
    /// A bag scan or status.
    Baggage,
}

impl TimelineKind {
    /// Every kind, in display order.
    pub const ALL: &'static [TimelineKind] = &[
        TimelineKind::Flight,
        TimelineKind::Ancillary,
        TimelineKind::Purchase,
        TimelineKind::PostOrder,
        TimelineKind::Interaction,
        TimelineKind::Feedback,
        TimelineKind::LoungeVisit,
        TimelineKind::ChauffeurRide,
        TimelineKind::Baggage,
    ];

    /// The wire and storage text.
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Flight => "flight",
            TimelineKind::Ancillary => "ancillary",
            TimelineKind::Purchase => "purchase",
            TimelineKind::PostOrder => "post_order",
            TimelineKind::Interaction => "interaction",
            TimelineKind::Feedback => "feedback",
            TimelineKind::LoungeVisit => "lounge_visit",
            TimelineKind::ChauffeurRide => "chauffeur_ride",
            TimelineKind::Baggage => "baggage",
        }
    }

    /// Parses the wire text (case-insensitive).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        Self::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == t)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

impl fmt::Display for TimelineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for TimelineKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The record an entry was projected from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordRef {
    /// Aloft's id of the stored record.
    pub record_id: Uuid,
    /// The record's kind.
    pub record_kind: RecordKind,
}

/// One line of a customer's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    /// Stable id: the record id and the entry's position within the record (`<uuid>.00`). Stays
    /// the same when the record is updated, and breaks ties between equal instants.
    pub entry_id: String,
    /// Whose timeline.
    pub customer_id: CustomerId,
    /// When it happened (UTC; a flight's scheduled departure).
    pub occurred_at: DateTime<Utc>,
    /// What kind of entry.
    pub kind: TimelineKind,
    /// One line for people, safe to show (see the module invariants). On read, the entry's
    /// decrypted [`TimelineEntry::detail`] is appended to it.
    pub summary: String,
    /// Words a person wrote that belong in the line (an interaction's subject): stored
    /// encrypted under the customer's data key, never in the clear beside the summary.
    #[serde(skip)]
    pub detail: Option<String>,
    /// The source record.
    pub record: RecordRef,
    /// For a flight entry: where and on which flight the passenger departs, the keys of the
    /// row scopes of check-in agents (station) and cabin crew (flight). Written, never read
    /// back into entries.
    #[serde(skip)]
    pub flight: Option<FlightKey>,
}

/// The row-scope keys of a flight entry (migration `0018_timeline_flight_keys.sql`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlightKey {
    /// The departure airport (IATA code).
    pub station: String,
    /// The flight designator and its local departure date at the origin: `BA117 2026-03-12`,
    /// the way crew rosters name a flight.
    pub flight: String,
}

impl FlightKey {
    /// The key of a flight designator departing `origin` on local date `date`.
    pub fn new(origin: &str, flight_number: &str, date: chrono::NaiveDate) -> Self {
        Self {
            station: origin.to_owned(),
            flight: format!("{flight_number} {date}"),
        }
    }
}

impl TimelineEntry {
    /// The line as shown: the summary, then the detail if any.
    pub fn line(&self) -> String {
        match &self.detail {
            Some(d) => format!("{} · {d}", self.summary),
            None => self.summary.clone(),
        }
    }
}

/// The id of the `ordinal`-th entry of a record.
pub fn entry_id(record_id: Uuid, ordinal: usize) -> String {
    format!("{}.{ordinal:02}", record_id.hyphenated())
}

/// The ids of a record's entries are exactly those in `[start, end)` of this pair (byte
/// order): `<record id>.` up to `<record id>/` (`/` follows `.`). The timeline has no index on
/// `record_id`; a record's entries are this range of its primary key.
pub fn entry_range(record_id: &str) -> (String, String) {
    (format!("{record_id}."), format!("{record_id}/"))
}

/// The SQL condition on the entries of one record, given the two ends of [`entry_range`] as
/// parameters `first` and `first + 1`.
pub fn of_record(backend: aloft_kernel::Backend, first: usize) -> String {
    format!(
        "(entry_id >= {} AND entry_id < {})",
        backend.param(first),
        backend.param(first + 1)
    )
}

/// Renders the deletion of the timeline entries of `records` (by id): each record's entries are
/// the [`entry_range`] of the primary key; up to 250 records per statement.
pub fn delete_entries_of(into: &mut aloft_kernel::Statements, records: &[String]) {
    for chunk in records.chunks(250) {
        let backend = into.backend();
        let ranges: Vec<String> = (0..chunk.len())
            .map(|i| of_record(backend, 2 * i + 1))
            .collect();
        into.push(
            format!("DELETE FROM timeline WHERE {}", ranges.join(" OR ")),
            |v| {
                for record in chunk {
                    let (start, end) = entry_range(record);
                    v.bind(start).bind(end);
                }
            },
        );
    }
}

/// The timeline entries of a record: one per flight segment of a booking, none for a segment
/// forecast (flight-level data, not about one customer), one for every other record.
pub fn project(customer_id: CustomerId, record_id: Uuid, record: &Record) -> Vec<TimelineEntry> {
    let reference = RecordRef {
        record_id,
        record_kind: record.kind(),
    };
    let entry = |ordinal: usize, occurred_at: DateTime<Utc>, kind, summary: String| TimelineEntry {
        entry_id: entry_id(record_id, ordinal),
        customer_id,
        occurred_at,
        kind,
        summary,
        detail: None,
        record: reference.clone(),
        flight: None,
    };
    let one = |kind, summary: String| vec![entry(0, record.occurred_at(), kind, summary)];
    match record {
        Record::Booking(b) => b
            .segments
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let status = match s.status {
                    SegmentStatus::Delayed => {
                        format!("delayed {} min", s.delay_minutes.unwrap_or(0))
                    }
                    SegmentStatus::OnTime => "on time".into(),
                    SegmentStatus::NoShow => "no-show".into(),
                    SegmentStatus::InvoluntarilyRebooked => "involuntarily rebooked".into(),
                    other => other.as_str().into(),
                };
                let mut summary = format!(
                    "{} {} → {} · {} ({}) · {status} · PNR {}",
                    s.flight_number,
                    s.origin,
                    s.destination,
                    s.cabin.as_str().replace('_', " "),
                    s.rbd,
                    b.record_locator
                );
                if !s.bag_tags.is_empty() {
                    let n = s.bag_tags.len();
                    summary.push_str(&format!(" · {n} bag{}", if n == 1 { "" } else { "s" }));
                }
                TimelineEntry {
                    flight: Some(FlightKey::new(
                        s.origin.as_str(),
                        s.flight_number.as_str(),
                        s.scheduled_departure.local.date(),
                    )),
                    ..entry(i, s.scheduled_departure.utc, TimelineKind::Flight, summary)
                }
            })
            .collect(),
        Record::Ancillary(a) => {
            let mut s = format!("{} ancillary", capitalise(a.ancillary_type.as_str()));
            if let Some(f) = &a.flight_number {
                s.push_str(&format!(" on {f}"));
            }
            s.push_str(match a.status {
                AncillaryStatus::Pending => " · pending",
                AncillaryStatus::Fulfilled => " · fulfilled",
                AncillaryStatus::ServiceDisruption => " · service disruption",
            });
            if let Some(p) = &a.price {
                s.push_str(&format!(" · {p}"));
            }
            one(TimelineKind::Ancillary, s)
        }
        Record::Purchase(p) => {
            let mut s = match p.channel {
                PurchaseChannel::Inflight => "In-flight purchase".to_string(),
                PurchaseChannel::Web => "Web purchase".to_string(),
            };
            if let Some(f) = &p.flight_number {
                s.push_str(&format!(" on {f}"));
            }
            let n: u32 = p.items.iter().map(|i| i.quantity).sum();
            s.push_str(&format!(
                " · {n} item{} · {}",
                if n == 1 { "" } else { "s" },
                p.total
            ));
            one(TimelineKind::Purchase, s)
        }
        Record::PostOrder(o) => {
            let mut s = match o.post_order_type {
                PostOrderType::Invoice => format!("Invoice for order {}", o.order_reference),
                PostOrderType::Shipment => format!("Shipment for order {}", o.order_reference),
            };
            if let Some(st) = o.status {
                s.push_str(&format!(" · {st}"));
            }
            if let Some(a) = &o.amount {
                s.push_str(&format!(" · {a}"));
            }
            one(TimelineKind::PostOrder, s)
        }
        Record::Interaction(i) => {
            let channel = match i.channel {
                InteractionChannel::Call => "call",
                InteractionChannel::Email => "e-mail",
                InteractionChannel::Chat => "chat",
                InteractionChannel::InPerson => "conversation",
            };
            let direction = match i.direction {
                Direction::Inbound => "Inbound",
                Direction::Outbound => "Outbound",
            };
            let mut s = format!("{direction} {channel}");
            if let Some(d) = i.duration_seconds {
                s.push_str(&format!(" · {} min", d.div_ceil(60)));
            }
            let mut entries = one(TimelineKind::Interaction, s);
            entries[0].detail = i.subject.as_ref().map(|subject| subject.excerpt(80));
            entries
        }
        Record::Feedback(f) => {
            let mut s = capitalise(f.kind.as_str());
            if let Some(r) = f.rating {
                s.push_str(&format!(" · rating {r}/5"));
            }
            if let Some(fl) = &f.flight_number {
                s.push_str(&format!(" · {fl}"));
            }
            one(TimelineKind::Feedback, s)
        }
        Record::LoungeVisit(l) => {
            let mut s = format!("Lounge visit at {}", l.airport);
            if l.guests > 0 {
                let g = l.guests;
                s.push_str(&format!(" · {g} guest{}", if g == 1 { "" } else { "s" }));
            }
            if let Some(left) = l.left_at {
                let minutes = (left - l.entered_at).num_minutes();
                s.push_str(&format!(" · {minutes} min"));
            }
            one(TimelineKind::LoungeVisit, s)
        }
        Record::ChauffeurRide(c) => {
            let mut s = "Chauffeur ride".to_string();
            if let Some(a) = &c.airport {
                s.push_str(&format!(" ({a})"));
            }
            s.push_str(&format!(" · {}", c.status.as_str().replace('_', " ")));
            one(TimelineKind::ChauffeurRide, s)
        }
        Record::BaggageEvent(e) => {
            let what = match e.event {
                BaggageEventType::Checked => "checked in",
                BaggageEventType::Loaded => "loaded",
                BaggageEventType::Transferred => "transferred",
                BaggageEventType::Arrived => "arrived",
                BaggageEventType::Delayed => "delayed",
                BaggageEventType::Mishandled => "mishandled",
                BaggageEventType::Delivered => "delivered",
            };
            let mut s = format!("Bag {} {what} at {}", e.bag_tag, e.airport);
            if let Some(f) = &e.flight_number {
                s.push_str(&format!(" · {f}"));
            }
            one(TimelineKind::Baggage, s)
        }
        Record::SegmentForecast(_) => Vec::new(),
    }
}

fn capitalise(s: &str) -> String {
    let s = s.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => s,
    }
}

/// A position in a timeline: continue strictly after (older than) this entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineCursor {
    /// The last entry's instant.
    pub occurred_at: DateTime<Utc>,
    /// The last entry's id.
    pub entry_id: String,
}

impl TimelineCursor {
    /// The cursor after `entry`.
    pub fn after(entry: &TimelineEntry) -> Self {
        Self {
            occurred_at: entry.occurred_at,
            entry_id: entry.entry_id.clone(),
        }
    }

    /// The opaque text form for URLs (callers must not interpret it).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.occurred_at.timestamp_micros(), self.entry_id)
    }

    /// Parses [`TimelineCursor::encode`]'s output.
    pub fn decode(s: &str) -> Option<Self> {
        let (micros, id) = s.trim().split_once('.')?;
        let occurred_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        let (uuid, ordinal) = id.rsplit_once('.')?;
        let ok = Uuid::try_parse(uuid).is_ok()
            && ordinal.len() >= 2
            && ordinal.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Self {
            occurred_at,
            entry_id: id.to_owned(),
        })
    }
}

/// Largest page.
pub const MAX_LIMIT: u32 = 100;
/// Page size when none is asked for.
pub const DEFAULT_LIMIT: u32 = 50;

/// Which part of a timeline to read: newest first, optionally only some kinds and a date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineQuery {
    /// Only these kinds (empty: all).
    pub kinds: Vec<TimelineKind>,
    /// Only entries at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Continue after this entry (from a previous page).
    pub cursor: Option<TimelineCursor>,
    /// Page size, 1–[`MAX_LIMIT`].
    pub limit: u32,
}

impl Default for TimelineQuery {
    fn default() -> Self {
        Self::newest(DEFAULT_LIMIT)
    }
}

impl TimelineQuery {
    /// The newest `limit` entries of every kind.
    pub fn newest(limit: u32) -> Self {
        Self {
            kinds: Vec::new(),
            from: None,
            to: None,
            cursor: None,
            limit: limit.clamp(1, MAX_LIMIT),
        }
    }

    /// The same query restricted to `kinds`.
    pub fn of_kinds(mut self, kinds: &[TimelineKind]) -> Self {
        self.kinds = kinds.to_vec();
        self
    }

    /// The page size to use (clamped to 1–[`MAX_LIMIT`]).
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_LIMIT)
    }

    /// The query from URL parameters (`kinds=flight,baggage&from=…&to=…&cursor=…&limit=50`),
    /// reporting every invalid parameter as `#name`.
    pub fn from_params(
        kinds: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        cursor: Option<&str>,
        limit: Option<&str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut q = Self::default();
        if let Some(list) = kinds.filter(|s| !s.trim().is_empty()) {
            for part in list.split(',') {
                match TimelineKind::parse(part) {
                    Ok(k) if !q.kinds.contains(&k) => q.kinds.push(k),
                    Ok(_) => {}
                    Err(e) => errors.push(FieldError::new("#kinds", e)),
                }
            }
        }
        let mut instant = |name: &str, value: Option<&str>| {
            let v = value.filter(|s| !s.trim().is_empty())?;
            crate::model::parse_instant(v)
                .map_err(|e| errors.push(FieldError::new(format!("#{name}"), e)))
                .ok()
        };
        q.from = instant("from", from);
        q.to = instant("to", to);
        if let (Some(f), Some(t)) = (q.from, q.to)
            && t <= f
        {
            errors.push(FieldError::new("#to", "must be after from"));
        }
        if let Some(c) = cursor.filter(|s| !s.trim().is_empty()) {
            match TimelineCursor::decode(c) {
                Some(c) => q.cursor = Some(c),
                None => errors.push(FieldError::new(
                    "#cursor",
                    "is not a cursor returned by a previous page",
                )),
            }
        }
        if let Some(l) = limit.filter(|s| !s.trim().is_empty()) {
            match l.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => q.limit = n,
                _ => errors.push(FieldError::new(
                    "#limit",
                    format!("must be a whole number from 1 to {MAX_LIMIT}"),
                )),
            }
        }
        if errors.is_empty() {
            Ok(q)
        } else {
            Err(errors)
        }
    }
}

/// One page of a timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelinePage {
    /// Entries, newest first.
    pub entries: Vec<TimelineEntry>,
    /// Where the next (older) page starts, if there is one.
    pub next: Option<TimelineCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::samples;

    fn entries_of(kind: RecordKind) -> Vec<TimelineEntry> {
        let (_, doc) = samples().into_iter().find(|(k, _)| *k == kind).unwrap();
        let record = Record::parse(kind, &doc).unwrap();
        project(CustomerId::generate(), Uuid::now_v7(), &record)
    }

    #[test]
    fn a_booking_projects_one_flight_entry_per_segment() {
        let e = entries_of(RecordKind::Booking);
        assert_eq!(e.len(), 2);
        assert!(e.iter().all(|e| e.kind == TimelineKind::Flight));
        assert_eq!(
            e[0].summary,
            "BA117 LHR → JFK · economy (Y) · delayed 95 min · PNR K7XQ2M · 1 bag"
        );
        assert_eq!(e[0].occurred_at.to_rfc3339(), "2026-03-12T09:40:00+00:00");
        assert!(e[0].entry_id.ends_with(".00") && e[1].entry_id.ends_with(".01"));
        assert_eq!(
            e[1].summary,
            "BA112 JFK → LHR · premium economy (W) · scheduled · PNR K7XQ2M"
        );
    }

    #[test]
    fn every_customer_record_projects_a_safe_summary() {
        let expect = [
            (
                RecordKind::Ancillary,
                TimelineKind::Ancillary,
                "Wifi ancillary on BA117 · service disruption · 14.90 GBP",
            ),
            (
                RecordKind::Purchase,
                TimelineKind::Purchase,
                "In-flight purchase on BA117 · 3 items · 68.50 EUR",
            ),
            (
                RecordKind::PostOrder,
                TimelineKind::PostOrder,
                "Invoice for order W-1001 · paid · 1500 JPY",
            ),
            (
                RecordKind::Interaction,
                TimelineKind::Interaction,
                "Inbound call · 11 min · Delayed flight BA117",
            ),
            (
                RecordKind::Feedback,
                TimelineKind::Feedback,
                "Complaint · rating 2/5 · BA117",
            ),
            (
                RecordKind::LoungeVisit,
                TimelineKind::LoungeVisit,
                "Lounge visit at LHR · 1 guest · 90 min",
            ),
            (
                RecordKind::ChauffeurRide,
                TimelineKind::ChauffeurRide,
                "Chauffeur ride (LHR) · completed",
            ),
            (
                RecordKind::BaggageEvent,
                TimelineKind::Baggage,
                "Bag 0125123456 mishandled at JFK · BA117",
            ),
        ];
        for (record_kind, kind, summary) in expect {
            let e = entries_of(record_kind);
            assert_eq!(e.len(), 1, "{record_kind}");
            assert_eq!(e[0].kind, kind);
            assert_eq!(e[0].line(), summary);
            assert_eq!(e[0].record.record_kind, record_kind);
        }
        // Bodies, feedback text and addresses never reach the timeline.
        let all: String = samples()
            .into_iter()
            .flat_map(|(k, doc)| {
                project(
                    CustomerId::generate(),
                    Uuid::now_v7(),
                    &Record::parse(k, &doc).unwrap(),
                )
            })
            .map(|e| e.summary)
            .collect();
        for private in ["compensation", "Wi-Fi never", "Home address", "411111"] {
            assert!(!all.contains(private), "{private}");
        }
        assert!(entries_of(RecordKind::SegmentForecast).is_empty());
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let e = &entries_of(RecordKind::Booking)[1];
        let c = TimelineCursor::after(e);
        assert_eq!(TimelineCursor::decode(&c.encode()), Some(c));
        for bad in [
            "",
            "x",
            "123",
            "123.nope.00",
            "abc.0190a0e4-5f5e-7000-8000-000000000000.00",
        ] {
            assert_eq!(TimelineCursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn queries_from_parameters_report_every_bad_parameter() {
        let q = TimelineQuery::from_params(
            Some("flight,baggage,flight"),
            Some("2026-01-01T00:00:00Z"),
            Some("2026-02-01T00:00:00Z"),
            None,
            Some("20"),
        )
        .unwrap();
        assert_eq!(q.kinds, vec![TimelineKind::Flight, TimelineKind::Baggage]);
        assert_eq!(q.limit, 20);
        let errs: Vec<String> = TimelineQuery::from_params(
            Some("flight,parcels"),
            Some("2026-02-01T00:00:00Z"),
            Some("2026-01-01T00:00:00Z"),
            Some("garbage"),
            Some("101"),
        )
        .unwrap_err()
        .into_iter()
        .map(|e| e.pointer)
        .collect();
        assert_eq!(errs, vec!["#kinds", "#to", "#cursor", "#limit"]);
        assert_eq!(TimelineQuery::default().limit, DEFAULT_LIMIT);
        assert_eq!(TimelineQuery::newest(1_000).page_size(), MAX_LIMIT);
    }
}
