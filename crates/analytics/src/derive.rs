//! Deriving a customer's segment facts from the profile and the travel history (pure: the
//! caller streams the documents in and passes `now`).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::storage::CustomerFacts;

/// A delay counted as a disruption (the EU261 threshold for compensation on most routes).
pub const DISRUPTIVE_DELAY_MINUTES: u64 = 180;

#[derive(Default)]
struct Acc {
    facts: CustomerFacts,
    cabins: HashMap<String, u32>,
    routes: BTreeSet<String>,
    airports: BTreeSet<String>,
}

/// Accumulates facts per customer while profiles and records stream by.
pub struct Derivation {
    now: DateTime<Utc>,
    people: HashMap<String, Acc>,
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl Derivation {
    /// An empty derivation anchored at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now,
            people: HashMap::new(),
        }
    }

    fn acc(&mut self, customer: &str) -> &mut Acc {
        self.people
            .entry(customer.to_owned())
            .or_insert_with(|| Acc {
                facts: CustomerFacts {
                    customer_id: customer.to_owned(),
                    ..Default::default()
                },
                ..Default::default()
            })
    }

    /// The profile document (as stored, unsealed fields only): tier, nationality, home
    /// airport, language, seat and meal preference.
    pub fn profile(&mut self, customer: &str, profile: &Value) {
        let f = &mut self.acc(customer).facts;
        f.tier = text(profile, "loyalty_tier");
        f.nationality = text(profile, "nationality");
        f.language = text(profile, "language");
        f.home_airport = profile
            .get("location")
            .and_then(|l| text(l, "home_airport"));
        if let Some(p) = profile.get("preferences") {
            f.seat_preference = text(p, "seat");
            f.meal_preference = text(p, "meal");
            f.language = f.language.take().or_else(|| text(p, "language"));
        }
    }

    /// The customer's consent mask from the privacy register (purposes allowed now: consent
    /// given, processing not restricted). Ignored for a customer whose profile was not seen
    /// (merged away or unknown): consent alone makes no facts row.
    pub fn consent_allowed(&mut self, customer: &str, mask: i64) {
        if let Some(acc) = self.people.get_mut(customer) {
            acc.facts.consent_allowed = mask;
        }
    }

    /// A travel record: bookings give flights, routes, airports, cabin and disruptions;
    /// interactions and feedback count as interactions when they happened in the last 90 days.
    pub fn record(&mut self, customer: &str, kind: &str, occurred_at: &str, doc: &Value) {
        let now = self.now;
        let year_ago = now - Duration::days(365);
        let quarter_ago = now - Duration::days(90);
        let two_years_ago = now - Duration::days(730);
        let acc = self.acc(customer);
        match kind {
            "booking" => {
                for s in doc
                    .get("segments")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(dep) = text(s, "scheduled_departure_utc")
                        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                        .map(|t| t.with_timezone(&Utc))
                    else {
                        continue;
                    };
                    if dep > now {
                        continue;
                    }
                    let cancelled = text(s, "status").as_deref() == Some("cancelled");
                    let delayed = s
                        .get("delay_minutes")
                        .and_then(Value::as_u64)
                        .is_some_and(|m| m >= DISRUPTIVE_DELAY_MINUTES);
                    if (cancelled || delayed) && dep > year_ago {
                        acc.facts.disruptions_12m += 1;
                    }
                    if cancelled {
                        continue;
                    }
                    if dep > year_ago {
                        acc.facts.flights_12m += 1;
                    }
                    if dep > quarter_ago {
                        acc.facts.flights_90d += 1;
                    }
                    if acc.facts.last_flight_at.is_none_or(|l| l < dep) {
                        acc.facts.last_flight_at = Some(dep);
                    }
                    if let Some(cabin) = text(s, "cabin") {
                        *acc.cabins.entry(cabin).or_default() += 1;
                    }
                    if dep > two_years_ago
                        && let (Some(from), Some(to)) = (text(s, "origin"), text(s, "destination"))
                    {
                        acc.routes.insert(format!("{from}-{to}"));
                        acc.airports.insert(from);
                        acc.airports.insert(to);
                    }
                }
            }
            "interaction" | "feedback"
                if DateTime::parse_from_rfc3339(occurred_at)
                    .is_ok_and(|t| t.with_timezone(&Utc) > quarter_ago) =>
            {
                acc.facts.interactions_90d += 1;
            }
            _ => {}
        }
    }

    /// The facts of every customer seen, in customer id order.
    pub fn finish(self) -> Vec<CustomerFacts> {
        let mut out: Vec<CustomerFacts> = self
            .people
            .into_values()
            .map(|mut acc| {
                acc.facts.main_cabin = acc
                    .cabins
                    .into_iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|(c, _)| c);
                acc.facts.routes = acc.routes.into_iter().collect();
                acc.facts.airports = acc.airports.into_iter().collect();
                acc.facts
            })
            .collect();
        out.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flights_disruptions_routes_and_cabin() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let mut d = Derivation::new(now);
        d.profile(
            "c1",
            &json!({"loyalty_tier": "gold", "location": {"home_airport": "FRA"},
                    "preferences": {"seat": "aisle"}}),
        );
        let seg = |dep: &str, from: &str, to: &str, cabin: &str, extra: Value| {
            let mut s = json!({"scheduled_departure_utc": dep, "origin": from,
                               "destination": to, "cabin": cabin, "status": "flown"});
            s.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            s
        };
        d.record(
            "c1",
            "booking",
            "2026-11-01T08:00:00Z",
            &json!({"segments": [
                seg("2026-11-01T08:00:00Z", "FRA", "JFK", "business", json!({"delay_minutes": 200})),
                seg("2026-11-10T20:00:00Z", "JFK", "FRA", "business", json!({})),
                seg("2026-03-01T08:00:00Z", "FRA", "LIS", "economy", json!({"status": "cancelled"})),
                seg("2023-01-01T08:00:00Z", "FRA", "OSL", "economy", json!({})),
                seg("2027-01-01T08:00:00Z", "FRA", "DXB", "economy", json!({})),
            ]}),
        );
        d.record("c1", "feedback", "2026-11-11T08:00:00Z", &json!({}));
        d.record("c1", "interaction", "2026-01-11T08:00:00Z", &json!({}));
        d.consent_allowed("c1", 1);
        d.consent_allowed("someone-unknown", 1);
        let all = d.finish();
        assert_eq!(all.len(), 1, "consent alone makes no facts row");
        let f = &all[0];
        assert_eq!(f.tier.as_deref(), Some("gold"));
        assert_eq!(f.home_airport.as_deref(), Some("FRA"));
        assert_eq!(f.seat_preference.as_deref(), Some("aisle"));
        assert_eq!((f.flights_12m, f.flights_90d, f.disruptions_12m), (2, 2, 2));
        assert_eq!(
            f.last_flight_at,
            Some("2026-11-10T20:00:00Z".parse().unwrap())
        );
        assert_eq!(f.main_cabin.as_deref(), Some("business"));
        assert_eq!(f.routes, vec!["FRA-JFK", "JFK-FRA"]);
        assert_eq!(f.airports, vec!["FRA", "JFK"]);
        assert_eq!(f.interactions_90d, 1);
        assert!(f.allows("marketing_email") && !f.allows("marketing_sms"));
    }
}
