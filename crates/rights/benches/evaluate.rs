//! One claim judged in-process (target: ≤ 50 µs median): the LH400 delay, parsed from
//! JSON and evaluated under every regime that applies; and a two-leg cancellation into Canada
//! evaluated under all four regimes.

#![allow(missing_docs)] // criterion_group! generates an undocumented function.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use serde_json::json;

use aloft_rights::{Rules, evaluate_json};

fn bench(c: &mut Criterion) {
    let rules = Rules::default_rules();
    let delay = json!({
      "itinerary": [{"flight": "LH400", "operating_carrier": "LH", "operating_carrier_country": "DE",
         "operating_carrier_large": true, "from": "FRA", "to": "JFK", "cabin": "economy",
         "scheduled_departure": "2026-07-01T10:00:00+02:00", "scheduled_arrival": "2026-07-01T12:40:00-04:00",
         "actual_departure": "2026-07-01T13:20:00+02:00", "actual_arrival": "2026-07-01T16:05:00-04:00"}],
      "disruption": {"kind": "delay", "cause": "technical", "notice_days": null, "rerouting": null,
         "volunteer": false, "downgraded_to": null, "fare_paid": null, "baggage": null},
      "regimes": null
    });
    let connection = json!({
      "itinerary": [
        {"flight": "LH1026", "operating_carrier": "LH", "operating_carrier_country": "DE",
         "operating_carrier_large": true, "from": "CDG", "to": "FRA", "cabin": "economy",
         "scheduled_departure": "2026-07-01T07:00:00+02:00", "scheduled_arrival": "2026-07-01T08:10:00+02:00"},
        {"flight": "AC873", "operating_carrier": "AC", "operating_carrier_country": "CA",
         "operating_carrier_large": true, "from": "FRA", "to": "YYZ", "cabin": "business",
         "scheduled_departure": "2026-07-01T10:00:00+02:00", "scheduled_arrival": "2026-07-01T12:30:00-04:00"}],
      "disruption": {"kind": "cancellation", "cause": "crew_shortage", "notice_days": 3,
         "rerouting": {"departure": "2026-07-01T15:00:00+02:00", "arrival": "2026-07-01T18:10:00-04:00"},
         "volunteer": false, "downgraded_to": null, "fare_paid": null, "baggage": null},
      "regimes": ["EU261", "UK261", "APPR", "MONTREAL"]
    });
    c.bench_function("evaluate LH400 delay (parse + judge)", |b| {
        b.iter(|| evaluate_json(black_box(&delay), &rules).unwrap())
    });
    c.bench_function("evaluate two-leg cancellation, four regimes", |b| {
        b.iter(|| evaluate_json(black_box(&connection), &rules).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
