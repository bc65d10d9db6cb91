//! Timeline read latency and bulk recording throughput.
//!
//! Fills one customer with 10,000 mixed timeline events (flights, bags, interactions, feedback,
//! purchases, lounge visits) among 40,000 events of 400 other customers, bulk-recorded with
//! `record_many`, then measures p50/p99 of reading the newest 50 entries (all kinds, one kind,
//! two kinds, and a page deep in the history) over many iterations.
//!
//! ```text
//! cargo run --release -p aloft-travel --example timeline_bench -- [--iterations 2000]
//!     [--database-url postgres://postgres@127.0.0.1:5432/scratch]
//! ```
//! SQLite always runs (a fresh file in the temp directory); PostgreSQL runs when a URL is given
//! (records are written with unique source ids, so a scratch database can be reused).

use std::time::{Duration, Instant};

use aloft_kernel::{AccessContext, Database, DatabaseSettings, migrate};
use aloft_travel::{CustomerId, Record, RecordKind, TimelineKind, TimelineQuery, TravelStore};
use chrono::{DateTime, Duration as Span, Utc};
use serde_json::json;

const EVENTS: usize = 10_000;
const OTHER_CUSTOMERS: usize = 400;
const OTHER_EVENTS_EACH: usize = 100;
const BATCH: usize = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let iterations: usize = flag("--iterations")
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let dir =
            std::env::temp_dir().join(format!("aloft-timeline-bench-{}", uuid::Uuid::now_v7()));
        let sqlite = DatabaseSettings::sqlite_in(&dir);
        run("sqlite", &sqlite, iterations).await;
        let _ = std::fs::remove_dir_all(&dir);
        if let Some(url) = flag("--database-url") {
            run("postgres", &DatabaseSettings::new(url), iterations).await;
        }
    });
}

async fn run(label: &str, settings: &DatabaseSettings, iterations: usize) {
    let db = Database::connect(settings).await.expect("connect");
    migrate::run(&db).await.expect("migrate");
    let store = TravelStore::new(
        db.clone(),
        std::sync::Arc::new(aloft_travel::EphemeralKeys::new()),
    );
    let ctx = AccessContext::system("timeline-bench");
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let start: DateTime<Utc> = "2016-01-01T00:00:00Z".parse().expect("instant");

    // Build every record first (validation is not what is measured).
    let customer = CustomerId::generate();
    let mut records: Vec<(CustomerId, Record)> = Vec::new();
    let mut entries = 0;
    let mut i = 0;
    while entries < EVENTS {
        let (r, n) = mixed(&run_id, "c", i, start + Span::minutes(i as i64 * 53));
        records.push((customer, r));
        entries += n;
        i += 1;
    }
    let mut others = Vec::new();
    for c in 0..OTHER_CUSTOMERS {
        let id = CustomerId::generate();
        for j in 0..OTHER_EVENTS_EACH {
            let (r, _) = mixed(
                &run_id,
                &format!("o{c}"),
                j,
                start + Span::hours(j as i64 * 17 + c as i64),
            );
            others.push((id, r));
        }
    }
    let total = records.len() + others.len();
    let began = Instant::now();
    for chunk in records.chunks(BATCH).chain(others.chunks(BATCH)) {
        store
            .record_many(chunk.to_vec(), &ctx)
            .await
            .expect("record_many");
    }
    let elapsed = began.elapsed();
    db.analyze().await.expect("analyze");
    println!(
        "[{label}] record_many: {total} records ({} timeline entries for the measured customer) in {:.2} s = {:.0} records/s (batches of {BATCH})",
        store.timeline_len(customer).await.expect("count"),
        elapsed.as_secs_f64(),
        total as f64 / elapsed.as_secs_f64()
    );

    let newest = TimelineQuery::newest(50);
    let flights = TimelineQuery::newest(50).of_kinds(&[TimelineKind::Flight]);
    let two =
        TimelineQuery::newest(50).of_kinds(&[TimelineKind::Interaction, TimelineKind::Baggage]);
    // A page in the middle of the history: keyset pagination makes it as cheap as the first.
    let mut deep = TimelineQuery::newest(100);
    for _ in 0..50 {
        let page = store.timeline(customer, &deep).await.expect("page");
        deep.cursor = page.next;
    }
    deep.limit = 50;
    for (name, q) in [
        ("newest 50, all kinds", &newest),
        ("newest 50, flights only", &flights),
        ("newest 50, interactions + bags", &two),
        ("50 after entry 5,000", &deep),
    ] {
        let mut samples = Vec::with_capacity(iterations);
        for _ in 0..100 {
            store.timeline(customer, q).await.expect("warm-up");
        }
        for _ in 0..iterations {
            let t = Instant::now();
            let page = store.timeline(customer, q).await.expect("timeline");
            samples.push(t.elapsed());
            assert_eq!(page.entries.len(), 50);
        }
        samples.sort();
        let pct = |p: f64| {
            samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1]
        };
        println!(
            "[{label}] {name:<32} p50 {:>8} p99 {:>8} max {:>8} ({iterations} iterations)",
            ms(pct(0.50)),
            ms(pct(0.99)),
            ms(samples[samples.len() - 1])
        );
    }
    db.close().await;
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// The `i`-th record of a mixed history and how many timeline entries it makes.
fn mixed(run: &str, who: &str, i: usize, at: DateTime<Utc>) -> (Record, usize) {
    let id = format!("{run}-{who}-{i}");
    let iso = at.to_rfc3339();
    let (kind, doc, n) = match i % 6 {
        0 => {
            // A fixed local hour: arbitrary instants would sometimes fall into a DST gap, which
            // validation rightly rejects.
            let dep = at.date_naive().and_hms_opt(10, 15, 0).expect("valid time");
            let ret = dep + Span::days(7);
            let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M").to_string();
            (
                RecordKind::Booking,
                json!({"source": "amadeus", "source_record_id": id, "record_locator": "K7XQ2M", "segments": [
                    {"flight_number": "EK1", "origin": "DXB", "destination": "LHR", "scheduled_departure_local": fmt(dep),
                     "scheduled_arrival_local": fmt(dep + Span::hours(4)), "cabin": "business", "rbd": "J", "status": "flown",
                     "bag_tags": ["0176123456"]},
                    {"flight_number": "EK2", "origin": "LHR", "destination": "DXB", "scheduled_departure_local": fmt(ret),
                     "scheduled_arrival_local": fmt(ret + Span::hours(10)), "cabin": "business", "rbd": "J", "status": "delayed",
                     "delay_minutes": 40}]}),
                2,
            )
        }
        1 => (
            RecordKind::BaggageEvent,
            json!({"source": "worldtracer", "source_record_id": id, "bag_tag": "0176123456", "event": "arrived",
                "airport": "LHR", "occurred_at": iso, "flight_number": "EK1"}),
            1,
        ),
        2 => (
            RecordKind::Interaction,
            json!({"source": "genesys", "source_record_id": id, "channel": "call", "direction": "inbound",
                "occurred_at": iso, "subject": "Upgrade request", "body": "Asked about an upgrade to first.",
                "duration_seconds": 420}),
            1,
        ),
        3 => (
            RecordKind::Feedback,
            json!({"source": "medallia", "source_record_id": id, "kind": "compliment", "submitted_at": iso,
                "text": "Wonderful crew on EK1.", "rating": 5}),
            1,
        ),
        4 => (
            RecordKind::Purchase,
            json!({"source": "skyshop", "source_record_id": id, "channel": "inflight", "purchased_at": iso,
                "flight_number": "EK1", "items": [{"sku": "P-1", "description": "Perfume", "quantity": 1,
                "unit_price": {"amount": "62.00", "currency": "EUR"}}], "total": {"amount": "62.00", "currency": "EUR"}}),
            1,
        ),
        _ => (
            RecordKind::LoungeVisit,
            json!({"source": "lounge-pass", "source_record_id": id, "airport": "DXB", "lounge": "Concourse B",
                "entered_at": iso, "guests": 1}),
            1,
        ),
    };
    (Record::parse(kind, &doc).expect("valid bench record"), n)
}
