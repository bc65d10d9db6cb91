//! Next best action (pure): a catalogue of actions with eligibility rules (the segment rule
//! language, evaluated in memory on one customer's facts), cost, expected value, channel and a
//! contact policy; arbitration picks the action with the best net value that the customer is
//! eligible for and the contact policy allows, and explains every action it passed over.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::segment::{Bind, Op, Rule, parse};
use crate::storage::CustomerFacts;

/// How an action reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Said or offered by an agent in a conversation the customer started (no consent needed).
    Agent,
    /// A marketing e-mail (needs the marketing e-mail consent).
    Email,
    /// An outbound call by the retention team (needs the marketing e-mail consent as a proxy
    /// until a phone purpose exists).
    OutboundCall,
}

/// One action of the catalogue.
#[derive(Debug, Clone)]
pub struct Action {
    /// Stable code (`service_recovery_miles`).
    pub code: &'static str,
    /// What the agent sees.
    pub label: &'static str,
    /// Who is eligible.
    pub eligibility: Rule,
    /// Cost to the airline, minor units.
    pub cost_minor: i64,
    /// Expected value (revenue or retained value × probability), minor units.
    pub expected_value_minor: i64,
    /// The channel.
    pub channel: Channel,
    /// At most this many offers of this action per 30 days.
    pub max_per_30_days: u32,
}

/// A past offer to the customer.
#[derive(Debug, Clone)]
pub struct Contact {
    /// The action offered.
    pub action: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The contact policy over all actions.
#[derive(Debug, Clone, Copy)]
pub struct ContactPolicy {
    /// No new offer within this many days of the last one (any action).
    pub quiet_days: i64,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        Self { quiet_days: 2 }
    }
}

/// Why an action was or was not chosen.
#[derive(Debug, Clone, Serialize)]
pub struct Considered {
    /// The action.
    pub action: &'static str,
    /// Net value (expected value − cost), minor units.
    pub net_value_minor: i64,
    /// `chosen`, `not_eligible`, `no_consent`, `frequency_cap`, `quiet_period`, `lower_value`.
    pub outcome: &'static str,
}

/// The arbitration's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// The action to offer now, if any.
    pub action: Option<&'static str>,
    /// Its label.
    pub label: Option<&'static str>,
    /// Its channel.
    pub channel: Option<Channel>,
    /// A sentence for the agent.
    pub explanation: String,
    /// Every action considered, best net value first.
    pub considered: Vec<Considered>,
}

fn rule(v: serde_json::Value) -> Rule {
    parse(&v).expect("the built-in catalogue's rules are valid")
}

/// The built-in catalogue (amounts in euro cents).
pub fn catalogue() -> Vec<Action> {
    vec![
        Action {
            code: "service_recovery_voucher",
            label: "Service recovery: EUR 50 voucher",
            eligibility: rule(json!({"all": [
                {"field": "travel.disruptions_12m", "op": ">=", "value": 2}]})),
            cost_minor: 5_000,
            expected_value_minor: 30_000,
            channel: Channel::Agent,
            max_per_30_days: 1,
        },
        Action {
            code: "service_recovery_miles",
            label: "Service recovery: 5,000 miles",
            eligibility: rule(json!({"any": [
                {"field": "travel.disruptions_12m", "op": ">=", "value": 1},
                {"field": "sentiment.negative_90d", "op": ">=", "value": 1}]})),
            cost_minor: 1_500,
            expected_value_minor: 12_000,
            channel: Channel::Agent,
            max_per_30_days: 1,
        },
        Action {
            code: "retention_call",
            label: "Retention call by the loyalty team",
            eligibility: rule(json!({"all": [
                {"field": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
                {"field": "travel.days_since_last_flight", "op": ">", "value": 120}]})),
            cost_minor: 2_000,
            expected_value_minor: 25_000,
            channel: Channel::OutboundCall,
            max_per_30_days: 1,
        },
        Action {
            code: "upgrade_offer",
            label: "Paid upgrade offer on the next flight",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_12m", "op": ">=", "value": 4},
                {"field": "travel.main_cabin", "op": "in", "value": ["economy", "premium_economy"]}]})),
            cost_minor: 500,
            expected_value_minor: 9_000,
            channel: Channel::Email,
            max_per_30_days: 2,
        },
        Action {
            code: "lounge_pass",
            label: "Lounge day pass",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_90d", "op": ">=", "value": 1},
                {"field": "loyalty.tier", "op": "not_in", "value": ["gold", "platinum"]}]})),
            cost_minor: 2_500,
            expected_value_minor: 6_000,
            channel: Channel::Email,
            max_per_30_days: 1,
        },
        Action {
            code: "seat_offer",
            label: "Preferred seat offer",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_90d", "op": ">=", "value": 1}]})),
            cost_minor: 200,
            expected_value_minor: 2_500,
            channel: Channel::Email,
            max_per_30_days: 2,
        },
        Action {
            code: "meal_preorder",
            label: "Meal pre-order",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_90d", "op": ">=", "value": 1}]})),
            cost_minor: 100,
            expected_value_minor: 1_500,
            channel: Channel::Email,
            max_per_30_days: 2,
        },
        Action {
            code: "consent_request",
            label: "Ask for marketing e-mail consent",
            eligibility: rule(
                json!({"field": "consent.marketing_email", "op": "=", "value": false}),
            ),
            cost_minor: 0,
            expected_value_minor: 1_000,
            channel: Channel::Agent,
            max_per_30_days: 1,
        },
    ]
}

fn text_of(f: &CustomerFacts, name: &str) -> Option<String> {
    match name {
        "profile.home_airport" => f.home_airport.clone(),
        "profile.nationality" => f.nationality.clone(),
        "profile.age_band" => f.age_band.clone(),
        "profile.language" => f.language.clone(),
        "loyalty.tier" => f.tier.clone(),
        "travel.main_cabin" => f.main_cabin.clone(),
        "preferences.meal" => f.meal_preference.clone(),
        "preferences.seat" => f.seat_preference.clone(),
        "sentiment.last_label" => f.last_sentiment.clone(),
        _ => None,
    }
}

fn int_of(f: &CustomerFacts, name: &str, now: DateTime<Utc>) -> Option<i64> {
    let days = |t: Option<DateTime<Utc>>| t.map(|t| (now - t).num_days());
    Some(match name {
        "travel.flights_12m" => f.flights_12m,
        "travel.flights_90d" => f.flights_90d,
        "travel.spend_12m" => f.spend_12m_minor,
        "travel.disruptions_12m" => f.disruptions_12m,
        "interactions.count_90d" => f.interactions_90d,
        "sentiment.negative_90d" => f.negative_90d,
        "cases.open" => f.open_cases,
        "consent.marketing_email" => i64::from(f.consent_marketing_email),
        // Never happened: infinitely long ago.
        "travel.days_since_last_flight" => days(f.last_flight_at).unwrap_or(i64::MAX),
        "loyalty.tier_changed_days" => days(f.tier_changed_at).unwrap_or(i64::MAX),
        _ => return None,
    })
}

/// Whether a rule holds for one customer's facts — the in-memory twin of the compiled SQL
/// (the same semantics, tested against it in `tests/segments.rs`).
pub fn matches(rule: &Rule, f: &CustomerFacts, now: DateTime<Utc>) -> bool {
    match rule {
        Rule::All(rules) => rules.iter().all(|r| matches(r, f, now)),
        Rule::Any(rules) => rules.iter().any(|r| matches(r, f, now)),
        Rule::Not(r) => !matches(r, f, now),
        Rule::Cond { field, op, values } => {
            let list = match *field {
                "travel.route" => Some(&f.routes),
                "travel.airport" => Some(&f.airports),
                _ => None,
            };
            if let Some(list) = list {
                return values
                    .iter()
                    .any(|v| matches!(v, Bind::Text(t) if list.contains(t)));
            }
            if let Some(n) = int_of(f, field, now) {
                let cmp = |v: &Bind| match v {
                    Bind::Int(x) => compare(n.cmp(x), *op),
                    Bind::Text(_) => false,
                };
                return match op {
                    Op::In => values.iter().any(|v| matches!(v, Bind::Int(x) if *x == n)),
                    Op::NotIn => !values.iter().any(|v| matches!(v, Bind::Int(x) if *x == n)),
                    _ => cmp(&values[0]),
                };
            }
            // Text: a missing value matches nothing (as NULL does in SQL).
            let Some(t) = text_of(f, field) else {
                return false;
            };
            let eq = |v: &Bind| matches!(v, Bind::Text(x) if *x == t);
            match op {
                Op::Eq => eq(&values[0]),
                Op::Ne => !eq(&values[0]),
                Op::In => values.iter().any(eq),
                Op::NotIn => !values.iter().any(eq),
                _ => false,
            }
        }
    }
}

fn compare(o: std::cmp::Ordering, op: Op) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => o == Equal,
        Op::Ne => o != Equal,
        Op::Lt => o == Less,
        Op::Le => o != Greater,
        Op::Gt => o == Greater,
        Op::Ge => o != Less,
        Op::In | Op::NotIn => false,
    }
}

/// Picks the best action for a customer now.
pub fn arbitrate(
    catalogue: &[Action],
    facts: &CustomerFacts,
    history: &[Contact],
    policy: ContactPolicy,
    now: DateTime<Utc>,
) -> Decision {
    let mut ranked: Vec<&Action> = catalogue.iter().collect();
    ranked.sort_by_key(|a| std::cmp::Reverse(a.expected_value_minor - a.cost_minor));
    let last_contact = history.iter().map(|c| c.at).max();
    let quiet = last_contact.is_some_and(|t| now - t < Duration::days(policy.quiet_days));
    let month_ago = now - Duration::days(30);
    let mut chosen: Option<&Action> = None;
    let mut considered = Vec::with_capacity(ranked.len());
    for a in ranked {
        let outcome = if !matches(&a.eligibility, facts, now) {
            "not_eligible"
        } else if a.channel != Channel::Agent && !facts.consent_marketing_email {
            "no_consent"
        } else if history
            .iter()
            .filter(|c| c.action == a.code && c.at > month_ago)
            .count()
            >= a.max_per_30_days as usize
        {
            "frequency_cap"
        } else if quiet && a.channel != Channel::Agent {
            "quiet_period"
        } else if chosen.is_some() {
            "lower_value"
        } else {
            chosen = Some(a);
            "chosen"
        };
        considered.push(Considered {
            action: a.code,
            net_value_minor: a.expected_value_minor - a.cost_minor,
            outcome,
        });
    }
    let explanation = match chosen {
        Some(a) => format!(
            "{}: eligible, highest net value ({:.2}) of the actions the contact policy allows.",
            a.label,
            (a.expected_value_minor - a.cost_minor) as f64 / 100.0
        ),
        None => {
            "No action now: none is both eligible and allowed by the contact policy.".to_owned()
        }
    };
    Decision {
        action: chosen.map(|a| a.code),
        label: chosen.map(|a| a.label),
        channel: chosen.map(|a| a.channel),
        explanation,
        considered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-06T12:00:00Z".parse().unwrap()
    }

    fn disrupted() -> CustomerFacts {
        CustomerFacts {
            customer_id: "c1".into(),
            tier: Some("silver".into()),
            flights_12m: 6,
            flights_90d: 2,
            last_flight_at: Some(now() - Duration::days(10)),
            main_cabin: Some("economy".into()),
            disruptions_12m: 2,
            consent_marketing_email: true,
            ..Default::default()
        }
    }

    #[test]
    fn service_recovery_wins_after_repeated_disruption() {
        let d = arbitrate(
            &catalogue(),
            &disrupted(),
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert_eq!(d.action, Some("service_recovery_voucher"));
        assert!(d.explanation.contains("voucher"));
        assert_eq!(d.considered[0].outcome, "chosen");
        assert!(d.considered.iter().any(|c| c.outcome == "lower_value"));
    }

    #[test]
    fn caps_quiet_periods_and_consent() {
        let history = vec![Contact {
            action: "service_recovery_voucher".into(),
            at: now() - Duration::days(1),
        }];
        let d = arbitrate(
            &catalogue(),
            &disrupted(),
            &history,
            ContactPolicy::default(),
            now(),
        );
        // The voucher is capped; the next agent-channel action is allowed despite the quiet
        // period (the customer is talking to us), e-mail actions are not.
        assert_eq!(d.action, Some("service_recovery_miles"));
        let outcome = |code: &str| {
            d.considered
                .iter()
                .find(|c| c.action == code)
                .unwrap()
                .outcome
        };
        assert_eq!(outcome("service_recovery_voucher"), "frequency_cap");
        assert_eq!(outcome("upgrade_offer"), "quiet_period");

        let mut no_consent = disrupted();
        no_consent.disruptions_12m = 0;
        no_consent.consent_marketing_email = false;
        let d = arbitrate(
            &catalogue(),
            &no_consent,
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert_eq!(d.action, Some("consent_request"));
        let outcome = |code: &str| {
            d.considered
                .iter()
                .find(|c| c.action == code)
                .unwrap()
                .outcome
        };
        assert_eq!(outcome("upgrade_offer"), "no_consent");
    }

    #[test]
    fn lapsed_gold_gets_a_retention_call() {
        let f = CustomerFacts {
            tier: Some("gold".into()),
            last_flight_at: Some(now() - Duration::days(200)),
            consent_marketing_email: true,
            ..Default::default()
        };
        let d = arbitrate(&catalogue(), &f, &[], ContactPolicy::default(), now());
        assert_eq!(d.action, Some("retention_call"));
        assert_eq!(d.channel, Some(Channel::OutboundCall));
    }

    #[test]
    fn in_memory_rules_agree_with_sql_semantics_on_missing_values() {
        let f = CustomerFacts::default();
        let r = |v| parse(&v).unwrap();
        assert!(!matches(
            &r(json!({"field": "loyalty.tier", "op": "!=", "value": "gold"})),
            &f,
            now()
        ));
        assert!(matches(
            &r(json!({"field": "travel.days_since_last_flight", "op": ">", "value": 365})),
            &f,
            now()
        ));
        assert!(!matches(
            &r(json!({"field": "travel.route", "op": "=", "value": "FRA-JFK"})),
            &f,
            now()
        ));
    }
}
