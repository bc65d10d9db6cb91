//! Demo data with a real signal: three years of flights for demo customers who have no other
//! travel history, in which **disruptions make defection likelier** — each month a customer
//! stops flying with probability 1.5 % plus 9 % for every disruption (cancellation or a delay
//! of three hours or more) in the 12 months before, at most 60 %. Disruptions bring complaints
//! rated 1–2 and calls; flights bring on-board purchases. Then a model is trained on it, so the
//! 360° page's "Retention risk" tab and the model page show something real. The same seed
//! gives the same history; records go through the travel domain's validation and storage like
//! any source feed (source `churn-demo`).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use aloft_kernel::AccessContext;
use aloft_module::{DemoContext, DemoData};
use aloft_travel::model::{CustomerId, Record, RecordKind};

use crate::storage::ChurnStore;

/// The source system name of the demo records.
pub const SOURCE: &str = "churn-demo";
/// How many customers get the planted history.
pub const CUSTOMERS: i64 = 800;
/// Customers skipped first: the demo travellers (the population's first 2,000 by id), whose
/// history the travel domain's demo already made.
const SKIP: i64 = 2_000;

const ROUTES: &[(&str, &str, &str)] = &[
    ("LHR", "MAD", "IB3163"),
    ("LIS", "LHR", "TP1350"),
    ("DUB", "LHR", "EI152"),
    ("LHR", "LIS", "TP1351"),
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        // splitmix64, as the travel demo.
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % n.max(1)
    }
}

fn utc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The planted history of demo customer `i`: (kind, document) in time order.
pub fn history(seed: u64, i: u64, now: DateTime<Utc>) -> Vec<(RecordKind, Value)> {
    let mut rng = Rng(seed ^ 0xC4_u64.wrapping_mul(i.wrapping_add(1)) ^ (i << 20));
    let freq = 30 + rng.below(45);
    let midnight = now - Duration::seconds(now.timestamp().rem_euclid(86_400));
    let start = midnight - Duration::days(36 * 30);
    let mut disruptions: Vec<DateTime<Utc>> = Vec::new();
    let mut out = Vec::new();
    for month in 0..36 {
        // Daytime departures (06:00–19:20 UTC): local times then never fall into a
        // daylight-saving gap, which validation refuses.
        let t = start
            + Duration::days(30 * month + rng.below(28) as i64)
            + Duration::minutes(6 * 60 + 5 * rng.below(160) as i64);
        if t > now - Duration::days(1) {
            break;
        }
        let recent = disruptions
            .iter()
            .filter(|d| **d > t - Duration::days(365))
            .count() as u64;
        // Tenths of a percent: 1.5 % + 9 % per recent disruption, at most 60 %.
        if rng.below(1_000) < (15 + 90 * recent).min(600) {
            break;
        }
        if rng.below(100) >= freq {
            continue;
        }
        let (origin, destination, flight) = ROUTES[rng.below(ROUTES.len() as u64) as usize];
        let id = format!("{i}-{month}");
        let roll = rng.below(100);
        let (status, delay) = match roll {
            0..=6 => ("cancelled", 0),
            7..=14 => ("delayed", 180 + rng.below(240) as i64),
            15..=29 => ("delayed", 15 + rng.below(60) as i64),
            _ => ("flown", 0),
        };
        let disrupted = roll <= 14;
        let local = t.format("%Y-%m-%dT%H:%M").to_string();
        let arrival = (t + Duration::minutes(150))
            .format("%Y-%m-%dT%H:%M")
            .to_string();
        let mut segment = json!({
            "flight_number": flight, "origin": origin, "destination": destination,
            "scheduled_departure_local": local, "scheduled_arrival_local": arrival,
            "cabin": "economy", "rbd": "Y", "status": status,
        });
        if delay > 0 {
            segment["delay_minutes"] = json!(delay);
        }
        out.push((
            RecordKind::Booking,
            json!({
                "source": SOURCE, "source_record_id": format!("{id}-booking"),
                "record_locator": format!("C{:05}", (i * 37 + month as u64) % 100_000),
                "booked_at": utc(t - Duration::days(20)),
                "segments": [segment],
            }),
        ));
        if disrupted {
            disruptions.push(t);
            if rng.below(10) < 7 {
                out.push((RecordKind::Feedback, json!({
                    "source": SOURCE, "source_record_id": format!("{id}-feedback"), "kind": "complaint",
                    "submitted_at": utc(t + Duration::days(1)),
                    "text": "Nobody helped us after the disruption and nothing was put right.",
                    "rating": 1 + rng.below(2), "flight_number": flight,
                })));
            }
            if rng.below(10) < 8 {
                out.push((RecordKind::Interaction, json!({
                    "source": SOURCE, "source_record_id": format!("{id}-call"), "channel": "call",
                    "direction": "inbound", "occurred_at": utc(t + Duration::hours(3)),
                    "subject": format!("{flight} {status}: rebooking and compensation questions"),
                    "duration_seconds": 300 + rng.below(600),
                })));
            }
        } else if rng.below(100) < 5 {
            out.push((RecordKind::Feedback, json!({
                "source": SOURCE, "source_record_id": format!("{id}-feedback"), "kind": "compliment",
                "submitted_at": utc(t + Duration::days(1)),
                "text": "Friendly crew and a smooth flight.", "rating": 5, "flight_number": flight,
            })));
        }
        if status != "cancelled" && rng.below(10) < 4 {
            let qty = 1 + rng.below(3);
            out.push((RecordKind::Purchase, json!({
                "source": SOURCE, "source_record_id": format!("{id}-shop"), "channel": "inflight",
                "purchased_at": utc(t + Duration::minutes(60)), "flight_number": flight,
                "items": [{"sku": "DF-104", "description": "Duty-free fragrance", "quantity": qty,
                    "unit_price": {"amount": "39.00", "currency": "EUR"}}],
                "total": {"amount": format!("{}.00", 39 * qty), "currency": "EUR"},
            })));
        }
    }
    out
}

/// The churn module's demo-data hook.
pub struct Demo {
    /// Where models go.
    pub store: ChurnStore,
    /// Where the planted history is recorded.
    pub travel: aloft_travel::TravelStore,
}

impl Demo {
    async fn record(&self, demo: &DemoContext) -> anyhow::Result<usize> {
        let db = self.store.database();
        let already: Option<String> =
            sqlx::query_scalar("SELECT id FROM travel_records WHERE source = $1 LIMIT 1")
                .bind(SOURCE)
                .fetch_optional(db.pool())
                .await?;
        if already.is_some() {
            return Ok(0);
        }
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM customers WHERE merged_into IS NULL ORDER BY id LIMIT $1 OFFSET $2",
        )
        .bind(CUSTOMERS)
        .bind(SKIP)
        .fetch_all(db.pool())
        .await?;
        let customers: Vec<CustomerId> = if ids.len() >= 200 {
            ids.iter().filter_map(|s| CustomerId::parse(s)).collect()
        } else {
            demo.travellers.clone()
        };
        let ctx = AccessContext::system("demo");
        let mut batch = Vec::new();
        let mut created = 0;
        for (i, c) in customers.iter().enumerate() {
            for (kind, doc) in history(demo.seed, i as u64, demo.now) {
                let record = Record::parse(kind, &doc).map_err(|e| {
                    anyhow::anyhow!("churn demo record does not validate: {e:?} {doc}")
                })?;
                batch.push((*c, record));
            }
            if batch.len() >= 1_000 || i + 1 == customers.len() {
                let recorded = self
                    .travel
                    .record_many(std::mem::take(&mut batch), &ctx)
                    .await
                    .map_err(|e| anyhow::anyhow!("churn demo records: {e:?}"))?;
                created += recorded.len();
            }
        }
        Ok(created)
    }
}

impl DemoData for Demo {
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            let records = self.record(demo).await?;
            if self.store.latest().await?.is_some() {
                return Ok((records > 0).then(|| format!("churn: {records} demo records")));
            }
            let ctx = AccessContext::system("demo");
            let start = std::time::Instant::now();
            Ok(Some(
                match self.store.train_and_store(demo.now, &ctx).await {
                    Ok(m) => format!(
                        "churn: {records} demo records with a planted signal; defection model v{} trained in {:.2} s (validation AUC {:.3}, Brier {:.4}, {} + {} customers)",
                        m.version,
                        start.elapsed().as_secs_f64(),
                        m.model.metrics.auc,
                        m.model.metrics.brier,
                        m.model.metrics.train_rows,
                        m.model.metrics.validation_rows
                    ),
                    Err(e) => format!("churn: {records} demo records; no defection model: {e}"),
                },
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_demo_record_validates_and_is_deterministic() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        for i in 0..CUSTOMERS as u64 {
            let h = history(42, i, now);
            assert_eq!(h, history(42, i, now));
            for (kind, doc) in &h {
                if let Err(e) = Record::parse(*kind, doc) {
                    panic!("customer {i}: {kind:?} {doc}: {e:?}");
                }
            }
        }
    }

    /// The planted signal survives the whole path — validation, the stored document, the
    /// history reader — and the model finds it.
    #[test]
    fn the_demo_history_teaches_the_model_that_disruptions_drive_defection() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let people: Vec<crate::features::History> = (0..CUSTOMERS as u64)
            .map(|i| {
                let mut h = crate::features::History::default();
                for (kind, doc) in history(42, i, now) {
                    let r = Record::parse(kind, &doc).unwrap();
                    crate::storage::add_record(
                        &mut h,
                        r.kind().as_str(),
                        &utc(r.occurred_at()),
                        &r.to_document(),
                        &|_| false,
                    );
                }
                h
            })
            .collect();
        let m = crate::model::train(&people, now, Default::default()).unwrap();
        assert!(m.metrics.auc >= 0.7, "AUC {}", m.metrics.auc);
        let w: f64 = m
            .coefficients()
            .iter()
            .filter(|c| crate::features::DISRUPTION_FEATURES.contains(&c.feature.as_str()))
            .map(|c| c.weight)
            .sum();
        assert!(w > 0.0, "{:?}", m.coefficients());
        println!(
            "demo: AUC {:.3}, Brier {:.4} (base {:.4}), rows {} + {}",
            m.metrics.auc,
            m.metrics.brier,
            m.metrics.brier_baseline,
            m.metrics.train_rows,
            m.metrics.validation_rows
        );
    }
}
