//! Survivorship: which value the golden profile keeps, field by field, when two profiles of the
//! same passenger are merged. Pure rules, no IO.
//!
//! For every profile field (and every service preference on its own):
//! 1. a value beats no value;
//! 2. equal values are simply kept;
//! 3. the value from the **higher-priority source** wins (the loyalty programme and staff
//!    entries in Aloft outrank a booking channel's copy of a name or an e-mail address);
//! 4. at equal priority, a value that **completes** the other wins: a full given name over its
//!    initial (`J` → `John`), an address or device with more parts filled in;
//! 5. otherwise the **more recently** updated profile's value wins (people change their
//!    e-mail and phone; the newer one is likelier right);
//! 6. a tie keeps the survivor's value.
//!
//! Compound values (address, device, location) are kept or replaced whole: mixing the street of
//! one address with the postcode of another would make an address nobody lives at. Standing
//! special service requests are the union of both (a wheelchair request must not be lost).
//! Every choice is reported with the rule that decided it (field names and rules only, never
//! values), so the merge can be explained and audited.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use aloft_kernel::FieldError;

use crate::model::{PROFILE_FIELDS, Profile};

/// One of the two profiles being merged, with what the rules weigh.
#[derive(Debug, Clone)]
pub struct Contender<'a> {
    /// The profile.
    pub profile: &'a Profile,
    /// The source system the profile came from (`aloft` when staff or the API created it).
    pub source: &'a str,
    /// That source's priority: higher wins.
    pub priority: u8,
    /// When the profile last changed.
    pub updated_at: DateTime<Utc>,
}

/// Which of the two profiles a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The profile that keeps its id.
    Survivor,
    /// The profile merged into it.
    Absorbed,
    /// Both (a union of lists).
    Both,
}

/// The rule that decided a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Only one profile had a value.
    OnlyValue,
    /// Both had the same value.
    Same,
    /// The higher-priority source won.
    SourcePriority,
    /// The value that completes the other won.
    Completeness,
    /// The more recently updated profile won.
    Recency,
    /// A tie: the survivor's value was kept.
    Tie,
    /// Both lists were combined.
    Union,
}

/// How one field of the golden profile was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldChoice {
    /// The field (`email`, `preferences.meal`…).
    pub field: String,
    /// Where the kept value came from.
    pub kept: Side,
    /// Why.
    pub rule: Rule,
}

/// The golden profile of `survivor` merged with `absorbed`, and how each field was chosen
/// (fields neither profile has are not listed). Fails only if the combination is not a valid
/// profile (for example a passport expiry kept without its number would still be valid; an
/// invalid result means a rule is wrong, and the merge is refused rather than stored).
pub fn survive(
    survivor: &Contender<'_>,
    absorbed: &Contender<'_>,
    today: NaiveDate,
) -> Result<(Profile, Vec<FieldChoice>), Vec<FieldError>> {
    let a = object(survivor.profile);
    let b = object(absorbed.profile);
    let mut golden = Map::new();
    let mut choices = Vec::new();
    for &field in PROFILE_FIELDS {
        if field == "preferences" {
            let pa = a
                .get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let pb = b
                .get(field)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            let mut prefs = Map::new();
            let mut names: Vec<&String> = pa.keys().chain(pb.keys()).collect();
            names.sort();
            names.dedup();
            for name in names {
                let path = format!("preferences.{name}");
                let (value, choice) = if name == "special_service_requests" {
                    union(&path, pa.get(name), pb.get(name))
                } else {
                    choose(&path, pa.get(name), pb.get(name), survivor, absorbed)
                };
                if let Some(v) = value {
                    prefs.insert(name.clone(), v);
                }
                choices.extend(choice);
            }
            golden.insert(field.into(), Value::Object(prefs));
            continue;
        }
        let (value, choice) = choose(field, a.get(field), b.get(field), survivor, absorbed);
        if let Some(v) = value {
            golden.insert(field.into(), v);
        }
        choices.extend(choice);
    }
    let profile = Profile::parse(&Value::Object(golden), today)?;
    Ok((profile, choices))
}

fn object(p: &Profile) -> Map<String, Value> {
    match p.to_document() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| match v {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    })
}

fn choose(
    field: &str,
    a: Option<&Value>,
    b: Option<&Value>,
    survivor: &Contender<'_>,
    absorbed: &Contender<'_>,
) -> (Option<Value>, Option<FieldChoice>) {
    let pick = |kept: Side, rule: Rule| {
        let value = match kept {
            Side::Absorbed => b,
            _ => a,
        };
        (
            value.cloned(),
            Some(FieldChoice {
                field: field.to_owned(),
                kept,
                rule,
            }),
        )
    };
    match (present(a), present(b)) {
        (None, None) => (None, None),
        (Some(_), None) => pick(Side::Survivor, Rule::OnlyValue),
        (None, Some(_)) => pick(Side::Absorbed, Rule::OnlyValue),
        (Some(x), Some(y)) if x == y => pick(Side::Survivor, Rule::Same),
        (Some(x), Some(y)) => {
            if survivor.priority != absorbed.priority {
                let kept = if survivor.priority > absorbed.priority {
                    Side::Survivor
                } else {
                    Side::Absorbed
                };
                return pick(kept, Rule::SourcePriority);
            }
            if completes(y, x) {
                return pick(Side::Absorbed, Rule::Completeness);
            }
            if completes(x, y) {
                return pick(Side::Survivor, Rule::Completeness);
            }
            match absorbed.updated_at.cmp(&survivor.updated_at) {
                std::cmp::Ordering::Greater => pick(Side::Absorbed, Rule::Recency),
                std::cmp::Ordering::Less => pick(Side::Survivor, Rule::Recency),
                std::cmp::Ordering::Equal => pick(Side::Survivor, Rule::Tie),
            }
        }
    }
}

/// Whether `fuller` completes `other`: a longer name starting with the other (`J` → `John`,
/// `Ann` → `Ann-Marie`), or an object with every part of the other and more.
fn completes(fuller: &Value, other: &Value) -> bool {
    match (fuller, other) {
        (Value::String(f), Value::String(o)) => {
            let (f, o) = (f.to_lowercase(), o.trim_end_matches('.').to_lowercase());
            f.len() > o.len() && f.starts_with(&o)
        }
        (Value::Object(f), Value::Object(o)) => {
            f.len() > o.len()
                && o.iter()
                    .all(|(k, v)| f.get(k) == Some(v) || present(Some(v)).is_none())
        }
        _ => false,
    }
}

fn union(
    field: &str,
    a: Option<&Value>,
    b: Option<&Value>,
) -> (Option<Value>, Option<FieldChoice>) {
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let (la, lb) = (list(a), list(b));
    if la.is_empty() && lb.is_empty() {
        return (None, None);
    }
    let mut all = la.clone();
    for v in &lb {
        if !all.contains(v) {
            all.push(v.clone());
        }
    }
    let kept = match (la.is_empty(), all.len() > la.len()) {
        (true, _) => Side::Absorbed,
        (false, true) => Side::Both,
        (false, false) => Side::Survivor,
    };
    let rule = if kept == Side::Both {
        Rule::Union
    } else if la.is_empty() {
        Rule::OnlyValue
    } else {
        Rule::Same
    };
    (
        Some(Value::Array(all)),
        Some(FieldChoice {
            field: field.to_owned(),
            kept,
            rule,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn profile(doc: Value) -> Profile {
        Profile::parse(&doc, NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).unwrap()
    }

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
    }

    fn merged(
        a: &Profile,
        pa: u8,
        da: u32,
        b: &Profile,
        pb: u8,
        db: u32,
    ) -> (Value, Vec<FieldChoice>) {
        let (p, c) = survive(
            &Contender {
                profile: a,
                source: "a",
                priority: pa,
                updated_at: at(da),
            },
            &Contender {
                profile: b,
                source: "b",
                priority: pb,
                updated_at: at(db),
            },
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
        )
        .unwrap();
        (p.to_document(), c)
    }

    fn rule_of(choices: &[FieldChoice], field: &str) -> (Side, Rule) {
        let c = choices.iter().find(|c| c.field == field).unwrap();
        (c.kept, c.rule)
    }

    #[test]
    fn a_value_beats_none_and_equal_values_stay() {
        let a = profile(json!({"first_name": "Ann", "last_name": "Lee"}));
        let b =
            profile(json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}));
        let (doc, choices) = merged(&a, 1, 1, &b, 1, 2);
        assert_eq!(doc["email"], "ann@example.com");
        assert_eq!(
            rule_of(&choices, "email"),
            (Side::Absorbed, Rule::OnlyValue)
        );
        assert_eq!(
            rule_of(&choices, "first_name"),
            (Side::Survivor, Rule::Same)
        );
    }

    #[test]
    fn source_priority_beats_recency() {
        let a = profile(
            json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@loyalty.example"}),
        );
        let b =
            profile(json!({"first_name": "Ann", "last_name": "Lee", "email": "ann@gds.example"}));
        let (doc, choices) = merged(&a, 3, 1, &b, 1, 20);
        assert_eq!(doc["email"], "ann@loyalty.example");
        assert_eq!(
            rule_of(&choices, "email"),
            (Side::Survivor, Rule::SourcePriority)
        );
        let (doc, _) = merged(&a, 1, 1, &b, 3, 2);
        assert_eq!(doc["email"], "ann@gds.example");
    }

    #[test]
    fn completeness_then_recency_at_equal_priority() {
        let a = profile(json!({"first_name": "J", "last_name": "Smith", "phone": "+441234567890"}));
        let b =
            profile(json!({"first_name": "John", "last_name": "Smith", "phone": "+447700900123"}));
        // The survivor changed more recently, but "John" completes "J".
        let (doc, choices) = merged(&a, 1, 20, &b, 1, 1);
        assert_eq!(doc["first_name"], "John");
        assert_eq!(
            rule_of(&choices, "first_name"),
            (Side::Absorbed, Rule::Completeness)
        );
        // Two different phone numbers: the newer profile's wins.
        assert_eq!(doc["phone"], "+441234567890");
        assert_eq!(rule_of(&choices, "phone"), (Side::Survivor, Rule::Recency));
        let (doc, _) = merged(&a, 1, 1, &b, 1, 20);
        assert_eq!(doc["phone"], "+447700900123");
    }

    #[test]
    fn preferences_one_by_one_and_service_requests_united() {
        let a = profile(json!({"first_name": "Ann", "last_name": "Lee",
            "preferences": {"seat": "aisle", "special_service_requests": ["WCHR"]}}));
        let b = profile(json!({"first_name": "Ann", "last_name": "Lee",
            "preferences": {"meal": "VGML", "special_service_requests": ["WCHR", "DEAF"]}}));
        let (doc, choices) = merged(&a, 1, 1, &b, 1, 2);
        assert_eq!(doc["preferences"]["seat"], "aisle");
        assert_eq!(doc["preferences"]["meal"], "VGML");
        assert_eq!(
            doc["preferences"]["special_service_requests"],
            json!(["WCHR", "DEAF"])
        );
        assert_eq!(
            rule_of(&choices, "preferences.special_service_requests"),
            (Side::Both, Rule::Union)
        );
    }

    #[test]
    fn addresses_are_kept_whole() {
        let a = profile(json!({"first_name": "Ann", "last_name": "Lee",
            "address": {"line1": "1 High Street", "city": "London", "country": "GB"}}));
        let b = profile(json!({"first_name": "Ann", "last_name": "Lee",
            "address": {"line1": "9 Rue de Rivoli", "city": "Paris", "postal_code": "75001", "country": "FR"}}));
        let (doc, _) = merged(&a, 1, 2, &b, 1, 1);
        assert_eq!(doc["address"], a.to_document()["address"]);
    }
}
