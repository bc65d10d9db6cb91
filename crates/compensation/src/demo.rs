//! Demo data: a few of the demo travellers' recent flights reported as disrupted (two long
//! delays for technical faults, one cancellation at short notice for lack of crew), processed
//! like any disruption, so `aloft serve --demo` shows proposals approved, queued and waiting.
//! Idempotent by construction: processing the same disruption again proposes nothing.

use aloft_kernel::AccessContext;
use aloft_module::{DemoContext, DemoData};
use chrono::{DateTime, Duration};
use futures_util::future::BoxFuture;
use serde_json::{Value, json};

use crate::model;
use crate::service::Compensation;

/// The licensing country of the demo airlines, by designator prefix.
fn carrier_country(flight: &str) -> &'static str {
    match flight.get(..2) {
        Some("LH") => "DE",
        Some("EK") => "AE",
        Some("AF") => "FR",
        Some("AC") => "CA",
        _ => "GB",
    }
}

/// The demo-data loader.
pub struct Demo(pub Compensation);

impl Demo {
    async fn run(&self, demo: &DemoContext) -> anyhow::Result<Option<String>> {
        let flights = self
            .0
            .travel()
            .flights_departing(
                demo.now - Duration::days(40),
                demo.now - Duration::days(2),
                3,
            )
            .await?;
        let ctx = AccessContext::system("demo");
        // The suggested goodwill policy in force, so the demo disruptions show awards too
        // (idempotent: only when no version exists yet).
        if self.0.goodwill_versions().await?.is_empty() {
            let v = self
                .0
                .save_goodwill(
                    &ctx,
                    &crate::goodwill::default_table(),
                    Some("Suggested policy"),
                )
                .await?;
            self.0.simulate_goodwill(&ctx, v).await?;
            self.0.publish_goodwill(&ctx, v).await?;
        }
        let (mut reported, mut created) = (0, 0);
        for (i, (flight, date)) in flights.into_iter().enumerate() {
            let key = format!("{flight} {date}");
            let manifest = self.0.travel().flight_manifest(&key, None).await?;
            let Some(segment) = manifest.iter().find_map(|p| {
                p.booking
                    .get("segments")
                    .and_then(Value::as_array)?
                    .iter()
                    .find(|s| s.get("flight_number").and_then(Value::as_str) == Some(&flight))
                    .cloned()
            }) else {
                continue;
            };
            let at = |k: &str| {
                segment
                    .get(k)
                    .and_then(Value::as_str)
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            };
            let (Some(departure), Some(arrival)) =
                (at("scheduled_departure_utc"), at("scheduled_arrival_utc"))
            else {
                continue;
            };
            let mut event = json!({
                "flight": flight, "date": date.to_string(),
                "operating_carrier_country": carrier_country(&flight),
                "operating_carrier_large": true,
            });
            if i == 2 {
                event["kind"] = "cancellation".into();
                event["cause"] = "crew_shortage".into();
                event["notice_days"] = 1.into();
            } else {
                let late = Duration::minutes(if i == 0 { 215 } else { 380 });
                event["kind"] = "delay".into();
                event["cause"] = "technical".into();
                event["actual_departure"] = (departure + late).to_rfc3339().into();
                event["actual_arrival"] = (arrival + late).to_rfc3339().into();
            }
            let Ok(disruption) = model::parse_disruption(&event) else {
                continue;
            };
            let out = self.0.process(&ctx, &disruption, &event).await?;
            reported += 1;
            created += out.created;
        }
        Ok((created > 0)
            .then(|| format!("compensation: {reported} disrupted flights, {created} proposals")))
    }
}

impl DemoData for Demo {
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(self.run(demo))
    }
}
