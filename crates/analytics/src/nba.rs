//! Next best action (pure): a catalogue of actions with eligibility rules (the segment rule
//! language, evaluated in memory on one customer's facts), cost, expected value, channel and a
//! contact policy; arbitration picks the action with the best net value that the customer is
//! eligible for and the contact policy allows, and explains every action it passed over.
//!
//! A next best action is profiling (GDPR Art. 4(4)): it evaluates the customer's travel,
//! disruptions and sentiment to choose what to offer. So it is the privacy register's
//! `personalisation` purpose, which rests on consent alone (Art. 6(1)(a)): without that consent
//! given now — never asked, withdrawn, objected to (Art. 21(2)) — or while the customer's
//! processing is restricted (Art. 18), nothing is offered on any channel, the agent's included,
//! and the decision says why ([`NotPersonalised`]) and is counted
//! (`aloft_nba_not_personalised_total`).

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::segment::{Bind, Op, Rule, parse};
use crate::storage::CustomerFacts;

/// The currency of the catalogue's amounts.
pub const CURRENCY: &str = "EUR";

/// How long an offer waits for the customer's answer before it counts as expired.
pub const OFFER_TTL_DAYS: i64 = 7;

/// How an action reaches the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Said or offered by an agent in a conversation the customer started (no marketing
    /// consent needed beyond `personalisation`, which every action needs, and no quiet period:
    /// the customer is talking to us).
    Agent,
    /// A marketing e-mail.
    Email,
    /// A marketing text message.
    Sms,
    /// An app notification.
    Push,
    /// An outbound call by the loyalty team.
    OutboundCall,
}

impl Channel {
    /// Every channel.
    pub const ALL: &'static [Channel] = &[
        Channel::Agent,
        Channel::Email,
        Channel::Sms,
        Channel::Push,
        Channel::OutboundCall,
    ];

    /// The code (`outbound_call`).
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Agent => "agent",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Push => "push",
            Channel::OutboundCall => "outbound_call",
        }
    }

    /// The channel with code `code`.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.as_str() == code)
    }

    /// The purpose and channel of the privacy purpose register (`crates/privacy`) whose
    /// consent this channel needs on top of `personalisation` (which every action needs, see
    /// [`Consents::profiling`]); `None` for the agent, who answers a customer who came to us.
    /// An outbound call has no marketing purpose of its own in the register; it is made
    /// because profiling picked the customer, so it needs the `personalisation` consent.
    pub fn consent(self) -> Option<(&'static str, &'static str)> {
        match self {
            Channel::Agent => None,
            Channel::Email => Some(("marketing_email", "email")),
            Channel::Sms => Some(("marketing_sms", "sms")),
            Channel::Push => Some(("marketing_push", "push")),
            Channel::OutboundCall => Some(("personalisation", "any")),
        }
    }
}

/// The consents a customer has given, as `(purpose, channel)` codes of the purpose register.
#[derive(Debug, Clone, Default)]
pub struct Consents(pub Vec<(String, String)>);

/// The purpose of the privacy register a next best action serves: profiling to personalise
/// offers. It rests on consent alone, so it needs that consent given now.
pub const PROFILING_PURPOSE: &str = "personalisation";

/// The entry `SegmentStore::consents_of` gives, alone, for a customer who withdrew their
/// `personalisation` consent (or objected to profiling, which withdraws it: GDPR
/// Art. 21(2)–(3)): no action on any channel — the agent's in a conversation included.
pub const NO_PROFILING: (&str, &str) = ("personalisation", "objected");

/// The entry `SegmentStore::consents_of` gives, alone, for a customer whose processing is
/// restricted (Art. 18): whatever they consented to is not used while it lasts.
pub const RESTRICTED: (&str, &str) = ("processing", "restricted");

/// Why a customer gets no personalised offer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NotPersonalised {
    /// `personalisation` consent was never given (never asked counts as no consent: the
    /// purpose rests on consent alone).
    NoConsent,
    /// Withdrawn, or objected to (an objection withdraws it).
    Withdrawn,
    /// Processing restricted (Art. 18).
    Restricted,
}

impl NotPersonalised {
    /// The code (`no_consent`), also the counter's `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            NotPersonalised::NoConsent => "no_consent",
            NotPersonalised::Withdrawn => "withdrawn",
            NotPersonalised::Restricted => "restricted",
        }
    }

    /// What the agent is told, in a sentence.
    pub fn reason(self) -> &'static str {
        match self {
            NotPersonalised::NoConsent => {
                "no personalisation consent: a next best action profiles the customer, which needs their personalisation consent, never given, so no personalised offer on any channel"
            }
            NotPersonalised::Withdrawn => {
                "objected to profiling: the customer withdrew personalisation consent, so no personalised offer on any channel"
            }
            NotPersonalised::Restricted => {
                "processing restricted (GDPR Art. 18): the customer's data may not be used for offers while it lasts, so no personalised offer on any channel"
            }
        }
    }
}

impl Consents {
    /// Whether the customer may be profiled for offers at all: `personalisation` consent given
    /// now (on any channel) and processing not restricted. The markers [`RESTRICTED`] and
    /// [`NO_PROFILING`] say why not when `consents_of` found so.
    pub fn profiling(&self) -> Result<(), NotPersonalised> {
        let has = |(p, c): (&str, &str)| self.0.iter().any(|(pp, cc)| pp == p && cc == c);
        if has(RESTRICTED) {
            Err(NotPersonalised::Restricted)
        } else if has(NO_PROFILING) {
            Err(NotPersonalised::Withdrawn)
        } else if self.0.iter().any(|(p, _)| p == PROFILING_PURPOSE) {
            Ok(())
        } else {
            Err(NotPersonalised::NoConsent)
        }
    }

    /// Whether the customer may be profiled for offers at all (see [`Self::profiling`]).
    pub fn profiling_allowed(&self) -> bool {
        self.profiling().is_ok()
    }

    /// Whether an offer may be made on `channel`.
    pub fn allow(&self, channel: Channel) -> bool {
        if !self.profiling_allowed() {
            return false;
        }
        match channel.consent() {
            None => true,
            Some((purpose, ch)) => self
                .0
                .iter()
                .any(|(p, c)| p == purpose && (c == ch || c == "any")),
        }
    }
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
    /// The eligibility rule in words, for explanations.
    pub eligible_when: &'static str,
    /// Cost to the airline, minor units of [`CURRENCY`].
    pub cost_minor: i64,
    /// Expected value (revenue or retained value × probability), minor units.
    pub expected_value_minor: i64,
    /// The channels it may be offered on, preferred first.
    pub channels: &'static [Channel],
    /// At most this many offers of this action per 30 days.
    pub max_per_30_days: u32,
}

impl Action {
    /// Expected value − cost, minor units.
    pub fn net_value_minor(&self) -> i64 {
        self.expected_value_minor - self.cost_minor
    }
}

/// A past offer to the customer.
#[derive(Debug, Clone)]
pub struct Contact {
    /// The action offered.
    pub action: String,
    /// The channel it was offered on.
    pub channel: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The contact policy over all actions.
#[derive(Debug, Clone, Copy)]
pub struct ContactPolicy {
    /// No new offer outside a conversation within this many days of the last one (any action).
    pub quiet_days: i64,
}

impl Default for ContactPolicy {
    fn default() -> Self {
        Self { quiet_days: 2 }
    }
}

/// Why an action was or was not chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The best action now.
    Chosen,
    /// The customer does not meet the action's eligibility rule.
    NotEligible,
    /// Offered as often as its frequency cap allows in 30 days.
    FrequencyCap,
    /// The customer consented to none of the action's channels.
    NoConsent,
    /// Only channels outside a conversation, and the customer had an offer recently.
    QuietPeriod,
    /// Allowed, but another action is worth more.
    LowerValue,
}

impl Outcome {
    /// The code (`frequency_cap`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Chosen => "chosen",
            Outcome::NotEligible => "not_eligible",
            Outcome::FrequencyCap => "frequency_cap",
            Outcome::NoConsent => "no_consent",
            Outcome::QuietPeriod => "quiet_period",
            Outcome::LowerValue => "lower_value",
        }
    }
}

/// How one action fared.
#[derive(Debug, Clone, Serialize)]
pub struct Considered {
    /// The action's code.
    pub action: &'static str,
    /// Its label.
    pub label: &'static str,
    /// The channel it would use (when one is allowed).
    pub channel: Option<Channel>,
    /// Net value (expected value − cost), minor units.
    pub net_value_minor: i64,
    /// Chosen or why not.
    pub outcome: Outcome,
    /// The reason in a sentence (codes, counts and dates only).
    pub reason: String,
}

/// The action arbitration chose.
#[derive(Debug, Clone)]
pub struct Chosen {
    /// The action.
    pub action: &'static Action,
    /// The channel to offer it on.
    pub channel: Channel,
}

/// The arbitration's answer.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The action to offer now, if any.
    pub chosen: Option<Chosen>,
    /// Why nothing personalised may be offered at all, when that is so (then every action is
    /// `no_consent` with this reason, and the explanation says it).
    pub not_personalised: Option<NotPersonalised>,
    /// A sentence for the agent.
    pub explanation: String,
    /// Every action considered, best net value first.
    pub considered: Vec<Considered>,
}

/// `minor` units as a decimal string with two places (`-1234` → `-12.34`); integer
/// arithmetic, never float.
pub fn decimal(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    format!("{sign}{}.{:02}", m / 100, m % 100)
}

fn rule(v: serde_json::Value) -> Rule {
    parse(&v).expect("the built-in catalogue's rules are valid")
}

/// The built-in catalogue (amounts in euro cents), built once.
pub fn catalogue() -> &'static [Action] {
    static CATALOGUE: std::sync::OnceLock<Vec<Action>> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(build_catalogue)
}

/// The catalogue's action with code `code`.
pub fn action(code: &str) -> Option<&'static Action> {
    catalogue().iter().find(|a| a.code == code)
}

fn build_catalogue() -> Vec<Action> {
    vec![
        Action {
            code: "service_recovery_voucher",
            label: "Service recovery: EUR 50 voucher",
            eligibility: rule(json!({"all": [
                {"field": "travel.disruptions_12m", "op": ">=", "value": 2}]})),
            eligible_when: "two or more disruptions in 12 months",
            cost_minor: 5_000,
            expected_value_minor: 30_000,
            channels: &[Channel::Agent],
            max_per_30_days: 1,
        },
        Action {
            code: "service_recovery_miles",
            label: "Service recovery: 5,000 miles",
            eligibility: rule(json!({"any": [
                {"field": "travel.disruptions_12m", "op": ">=", "value": 1},
                {"field": "sentiment.negative_90d", "op": ">=", "value": 1}]})),
            eligible_when: "a disruption in 12 months or a negative text in 90 days",
            cost_minor: 1_500,
            expected_value_minor: 12_000,
            channels: &[Channel::Agent],
            max_per_30_days: 1,
        },
        Action {
            code: "retention_call",
            label: "Retention call by the loyalty team",
            eligibility: rule(json!({"all": [
                {"field": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
                {"field": "travel.days_since_last_flight", "op": ">", "value": 120}]})),
            eligible_when: "gold or platinum with no flight for 120 days",
            cost_minor: 2_000,
            expected_value_minor: 25_000,
            channels: &[Channel::OutboundCall],
            max_per_30_days: 1,
        },
        Action {
            code: "upgrade_offer",
            label: "Paid upgrade offer on the next flight",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_12m", "op": ">=", "value": 4},
                {"field": "travel.main_cabin", "op": "in", "value": ["economy", "premium_economy"]}]})),
            eligible_when: "four or more flights in 12 months, mostly in economy or premium economy",
            cost_minor: 500,
            expected_value_minor: 9_000,
            channels: &[Channel::Email, Channel::Push],
            max_per_30_days: 2,
        },
        Action {
            code: "lounge_pass",
            label: "Lounge day pass",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_90d", "op": ">=", "value": 1},
                {"field": "loyalty.tier", "op": "not_in", "value": ["gold", "platinum"]}]})),
            eligible_when: "a flight in 90 days and no gold or platinum tier",
            cost_minor: 2_500,
            expected_value_minor: 6_000,
            channels: &[Channel::Email, Channel::Push],
            max_per_30_days: 1,
        },
        Action {
            code: "seat_offer",
            label: "Preferred seat offer",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_90d", "op": ">=", "value": 1}]})),
            eligible_when: "a flight in 90 days",
            cost_minor: 200,
            expected_value_minor: 2_500,
            channels: &[Channel::Email, Channel::Sms, Channel::Push],
            max_per_30_days: 2,
        },
        Action {
            code: "meal_preorder",
            label: "Meal pre-order",
            eligibility: rule(json!({"all": [
                {"field": "travel.flights_90d", "op": ">=", "value": 1}]})),
            eligible_when: "a flight in 90 days",
            cost_minor: 100,
            expected_value_minor: 1_500,
            channels: &[Channel::Email, Channel::Push],
            max_per_30_days: 2,
        },
        Action {
            code: "consent_request",
            label: "Ask for marketing e-mail consent",
            eligibility: rule(
                json!({"field": "consent.marketing_email", "op": "=", "value": false}),
            ),
            eligible_when: "no marketing e-mail consent",
            cost_minor: 0,
            expected_value_minor: 1_000,
            channels: &[Channel::Agent],
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
        "loyalty.previous_tier" => f.previous_tier.clone(),
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
        // The privacy mask's bit, as the compiled SQL reads it (restrictions included).
        "consent.marketing_email" => i64::from(f.allows("marketing_email")),
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
                // Codes are compared as the row keeps them: upper case (`list_column`).
                return values.iter().any(
                    |v| matches!(v, Bind::Text(t) if list.iter().any(|l| l.eq_ignore_ascii_case(t))),
                );
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

/// Why `action` may or may not be offered to this customer now on `channel` (or on the best
/// channel it allows when `channel` is `None`): the arbitration's checks but the value
/// ranking, also what recording an offer checks again.
pub fn allowed(
    action: &Action,
    channel: Option<Channel>,
    facts: &CustomerFacts,
    consents: &Consents,
    history: &[Contact],
    policy: ContactPolicy,
    now: DateTime<Utc>,
) -> Result<Channel, (Outcome, String)> {
    if let Err(why) = consents.profiling() {
        return Err((Outcome::NoConsent, why.reason().to_owned()));
    }
    if !matches(&action.eligibility, facts, now) {
        return Err((
            Outcome::NotEligible,
            format!("not eligible: needs {}", action.eligible_when),
        ));
    }
    let month_ago = now - Duration::days(30);
    let recent = history
        .iter()
        .filter(|c| c.action == action.code && c.at > month_ago)
        .count();
    if recent >= action.max_per_30_days as usize {
        return Err((
            Outcome::FrequencyCap,
            format!(
                "capped by frequency: offered {recent} time(s) in the last 30 days, at most {}",
                action.max_per_30_days
            ),
        ));
    }
    let channels: Vec<Channel> = match channel {
        Some(c) => vec![c],
        None => action.channels.to_vec(),
    };
    let consented: Vec<Channel> = channels
        .iter()
        .copied()
        .filter(|c| consents.allow(*c))
        .collect();
    if consented.is_empty() {
        let needed: Vec<String> = channels
            .iter()
            .filter_map(|c| c.consent())
            .map(|(p, c)| format!("{p} ({c})"))
            .collect();
        return Err((
            Outcome::NoConsent,
            format!("no channel consent: needs {}", needed.join(" or ")),
        ));
    }
    let last_contact = history.iter().map(|c| c.at).max();
    let quiet_until = last_contact
        .map(|t| t + Duration::days(policy.quiet_days))
        .filter(|until| now < *until);
    match consented
        .iter()
        .copied()
        .find(|c| *c == Channel::Agent || quiet_until.is_none())
    {
        Some(c) => Ok(c),
        None => Err((
            Outcome::QuietPeriod,
            format!(
                "quiet period: the customer had an offer recently; nothing outside a conversation before {}",
                quiet_until
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                    .unwrap_or_default()
            ),
        )),
    }
}

/// Picks the best action for a customer now: of the actions the customer is eligible for and
/// the contact policy allows, the one with the highest net value (ties: catalogue order).
///
/// A decision that may offer nothing personalised ([`Consents::profiling`]) is counted in
/// `aloft_nba_not_personalised_total{reason}` — the one side effect, so the exclusion shows on
/// `/metrics` as well as in each answer.
pub fn arbitrate(
    catalogue: &'static [Action],
    facts: &CustomerFacts,
    consents: &Consents,
    history: &[Contact],
    policy: ContactPolicy,
    now: DateTime<Utc>,
) -> Decision {
    let mut ranked: Vec<&'static Action> = catalogue.iter().collect();
    ranked.sort_by_key(|a| std::cmp::Reverse(a.net_value_minor()));
    let mut chosen: Option<Chosen> = None;
    let mut considered = Vec::with_capacity(ranked.len());
    for a in ranked {
        let (channel, outcome, reason) = match allowed(
            a, None, facts, consents, history, policy, now,
        ) {
            Err((outcome, reason)) => (None, outcome, reason),
            Ok(channel) => match &chosen {
                Some(c) => (
                    Some(channel),
                    Outcome::LowerValue,
                    format!(
                        "eligible and allowed, but its net value ({} {CURRENCY}) is below {}'s",
                        decimal(a.net_value_minor()),
                        c.action.code
                    ),
                ),
                None => {
                    chosen = Some(Chosen { action: a, channel });
                    (
                        Some(channel),
                        Outcome::Chosen,
                        format!(
                            "eligible ({}) and allowed on {}; highest net value ({} {CURRENCY})",
                            a.eligible_when,
                            channel.as_str(),
                            decimal(a.net_value_minor())
                        ),
                    )
                }
            },
        };
        considered.push(Considered {
            action: a.code,
            label: a.label,
            channel,
            net_value_minor: a.net_value_minor(),
            outcome,
            reason,
        });
    }
    let not_personalised = consents.profiling().err();
    if let Some(why) = not_personalised {
        metrics::counter!("aloft_nba_not_personalised_total", "reason" => why.as_str())
            .increment(1);
    }
    let explanation = match (&chosen, not_personalised) {
        (_, Some(why)) => format!("No personalised offer: {}.", why.reason()),
        (Some(c), None) => format!(
            "{} by {}: the customer is eligible ({}), and it has the highest net value ({} {CURRENCY}) of the actions the contact policy allows.",
            c.action.label,
            c.channel.as_str().replace('_', " "),
            c.action.eligible_when,
            decimal(c.action.net_value_minor())
        ),
        (None, None) => {
            "No action now: none is both eligible and allowed by the contact policy.".to_owned()
        }
    };
    Decision {
        chosen,
        not_personalised,
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
            consent_allowed: 1,
            ..Default::default()
        }
    }

    /// Personalisation and marketing e-mail given.
    fn email() -> Consents {
        Consents(vec![
            ("marketing_email".into(), "email".into()),
            ("personalisation".into(), "any".into()),
        ])
    }

    fn personalisation_and(purpose: &str, channel: &str) -> Consents {
        Consents(vec![
            ("personalisation".into(), "any".into()),
            (purpose.into(), channel.into()),
        ])
    }

    fn outcome(d: &Decision, code: &str) -> Outcome {
        d.considered
            .iter()
            .find(|c| c.action == code)
            .unwrap()
            .outcome
    }

    #[test]
    fn service_recovery_wins_after_repeated_disruption() {
        let d = arbitrate(
            catalogue(),
            &disrupted(),
            &email(),
            &[],
            ContactPolicy::default(),
            now(),
        );
        let c = d.chosen.as_ref().unwrap();
        assert_eq!(c.action.code, "service_recovery_voucher");
        assert_eq!(c.channel, Channel::Agent);
        assert!(d.explanation.contains("voucher"), "{}", d.explanation);
        assert!(d.explanation.contains("250.00 EUR"), "{}", d.explanation);
        assert_eq!(d.considered[0].outcome, Outcome::Chosen);
        assert_eq!(d.considered.len(), catalogue().len());
        assert_eq!(outcome(&d, "upgrade_offer"), Outcome::LowerValue);
        assert_eq!(outcome(&d, "retention_call"), Outcome::NotEligible);
        assert_eq!(outcome(&d, "consent_request"), Outcome::NotEligible);
        assert!(
            d.considered
                .iter()
                .find(|c| c.action == "retention_call")
                .unwrap()
                .reason
                .contains("gold or platinum")
        );
    }

    #[test]
    fn caps_quiet_periods_and_consent() {
        let history = vec![Contact {
            action: "service_recovery_voucher".into(),
            channel: "agent".into(),
            at: now() - Duration::days(1),
        }];
        let d = arbitrate(
            catalogue(),
            &disrupted(),
            &email(),
            &history,
            ContactPolicy::default(),
            now(),
        );
        // The voucher is capped; the next agent-channel action is allowed despite the quiet
        // period (the customer is talking to us), e-mail actions are not.
        assert_eq!(
            d.chosen.as_ref().unwrap().action.code,
            "service_recovery_miles"
        );
        assert_eq!(
            outcome(&d, "service_recovery_voucher"),
            Outcome::FrequencyCap
        );
        assert_eq!(outcome(&d, "upgrade_offer"), Outcome::QuietPeriod);
        // Three days later the quiet period is over, the cap (30 days) is not.
        let d = arbitrate(
            catalogue(),
            &disrupted(),
            &email(),
            &history,
            ContactPolicy::default(),
            now() + Duration::days(3),
        );
        assert_eq!(outcome(&d, "upgrade_offer"), Outcome::LowerValue);
        assert_eq!(
            outcome(&d, "service_recovery_voucher"),
            Outcome::FrequencyCap
        );

        let mut no_consent = disrupted();
        no_consent.disruptions_12m = 0;
        no_consent.consent_allowed = 0;
        // Personalisation given, no channel consent: only the agent may ask for consent.
        let d = arbitrate(
            catalogue(),
            &no_consent,
            &Consents(vec![("personalisation".into(), "any".into())]),
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert_eq!(d.chosen.as_ref().unwrap().action.code, "consent_request");
        assert_eq!(outcome(&d, "upgrade_offer"), Outcome::NoConsent);
        assert_eq!(d.not_personalised, None);
        // Push consent and personalisation let the upgrade offer through on push.
        let d = arbitrate(
            catalogue(),
            &no_consent,
            &personalisation_and("marketing_push", "push"),
            &[],
            ContactPolicy::default(),
            now(),
        );
        let c = d.chosen.unwrap();
        assert_eq!((c.action.code, c.channel), ("upgrade_offer", Channel::Push));
    }

    /// Personalisation rests on consent alone: never asked is no consent. Channel consent
    /// alone (push here) offers nothing, the agent's actions included, and says why.
    #[test]
    fn without_personalisation_consent_nothing_is_offered_and_the_reason_is_given() {
        let push = Consents(vec![("marketing_push".into(), "push".into())]);
        assert_eq!(push.profiling(), Err(NotPersonalised::NoConsent));
        assert!(!push.allow(Channel::Push) && !push.allow(Channel::Agent));
        for consents in [push, Consents::default()] {
            let d = arbitrate(
                catalogue(),
                &disrupted(),
                &consents,
                &[],
                ContactPolicy::default(),
                now(),
            );
            assert!(d.chosen.is_none(), "{consents:?}");
            assert_eq!(d.not_personalised, Some(NotPersonalised::NoConsent));
            assert!(
                d.explanation
                    .starts_with("No personalised offer: no personalisation consent"),
                "{}",
                d.explanation
            );
            assert!(d.considered.iter().all(|c| c.outcome == Outcome::NoConsent
                && c.reason.contains("no personalisation consent")));
        }
        // A restriction stops it even with every consent given.
        let mut restricted = email();
        restricted
            .0
            .push((RESTRICTED.0.into(), RESTRICTED.1.into()));
        assert_eq!(restricted.profiling(), Err(NotPersonalised::Restricted));
        let d = arbitrate(
            catalogue(),
            &disrupted(),
            &restricted,
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert!(d.chosen.is_none());
        assert!(d.explanation.contains("Art. 18"), "{}", d.explanation);
        // An offer checked on its own is refused the same way.
        let upgrade = action("upgrade_offer").unwrap();
        let refused = allowed(
            upgrade,
            Some(Channel::Push),
            &disrupted(),
            &Consents(vec![("marketing_push".into(), "push".into())]),
            &[],
            ContactPolicy::default(),
            now(),
        )
        .unwrap_err();
        assert_eq!(refused.0, Outcome::NoConsent);
        assert!(refused.1.contains("personalisation"), "{}", refused.1);
    }

    #[test]
    fn an_objection_to_profiling_stops_every_action_on_every_channel() {
        let mut given = email();
        given.0.push(("marketing_sms".into(), "sms".into()));
        given.0.push((NO_PROFILING.0.into(), NO_PROFILING.1.into()));
        let d = arbitrate(
            catalogue(),
            &disrupted(),
            &given,
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert!(d.chosen.is_none());
        assert!(
            d.considered
                .iter()
                .all(|c| c.outcome == Outcome::NoConsent && c.reason.contains("objected")),
            "{:?}",
            d.considered
        );
        assert!(!given.allow(Channel::Agent) && !given.allow(Channel::Email));
        assert_eq!(given.profiling(), Err(NotPersonalised::Withdrawn));
        let d = arbitrate(
            catalogue(),
            &disrupted(),
            &email(),
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert!(
            d.chosen.is_some(),
            "without the objection an action is chosen"
        );
    }

    #[test]
    fn lapsed_gold_gets_a_retention_call_with_personalisation_consent() {
        let f = CustomerFacts {
            tier: Some("gold".into()),
            last_flight_at: Some(now() - Duration::days(200)),
            consent_allowed: 1,
            ..Default::default()
        };
        let consents = Consents(vec![("personalisation".into(), "any".into())]);
        let d = arbitrate(
            catalogue(),
            &f,
            &consents,
            &[],
            ContactPolicy::default(),
            now(),
        );
        let c = d.chosen.unwrap();
        assert_eq!(c.action.code, "retention_call");
        assert_eq!(c.channel, Channel::OutboundCall);
        let d = arbitrate(
            catalogue(),
            &f,
            &Consents(vec![("marketing_email".into(), "email".into())]),
            &[],
            ContactPolicy::default(),
            now(),
        );
        assert!(d.chosen.is_none(), "{}", d.explanation);
        assert_eq!(outcome(&d, "retention_call"), Outcome::NoConsent);
    }

    #[test]
    fn amounts_are_decimal_text() {
        assert_eq!(decimal(25_000), "250.00");
        assert_eq!(decimal(5), "0.05");
        assert_eq!(decimal(-1234), "-12.34");
        assert_eq!(decimal(0), "0.00");
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
