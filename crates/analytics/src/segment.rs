//! The segment rule language: JSON rules over a customer's facts, validated field by field and
//! compiled to one SQL condition for both backends.
//!
//! ```json
//! {"all": [
//!   {"field": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
//!   {"field": "travel.flights_12m", "op": ">=", "value": 4},
//!   {"not": {"field": "travel.days_since_last_flight", "op": "<", "value": 90}},
//!   {"any": [{"field": "travel.route", "op": "=", "value": "FRA-JFK"},
//!            {"field": "sentiment.negative_90d", "op": ">", "value": 0}]}
//! ]}
//! ```
//!
//! A rule is a condition (`field`, `op`, `value`) or a group (`all`, `any`, `not`). Fields come
//! from a fixed catalogue ([`FIELDS`]) that maps each to a typed column of the facts table
//! (`analytics_customer_facts`, one row per customer kept current from events), to a list kept
//! on that row (routes, airports: `|FRA-JFK|JFK-FRA|`, matched with `LIKE`), or to a purpose of
//! the privacy register, checked on the row's consent mask exactly as audiences check it.
//! Values are always bound parameters; only catalogue column names, operators and register
//! bits are spliced into the SQL, so no rule can inject. Recency is compiled against a `now`
//! the caller passes in (no clock here).
//!
//! Every condition reads the one facts row, so a count is one scan of one table with no join
//! (a semi-join over per-customer route rows doubled the count's time over 1,000,000
//! customers; BENCHMARKS.md "Segment count preview").

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// The type of a field's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Free text compared exactly (codes: airports, tiers, cabins).
    Text,
    /// A whole number (counts).
    Integer,
    /// Money in the airline's reporting currency, compared in minor units (cents).
    Money,
    /// Days since an instant (compiled to a comparison of the instant with `now − days`).
    DaysSince,
    /// Yes or no.
    Boolean,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Money => "amount (a decimal number or string, e.g. \"1250.00\")",
            FieldType::DaysSince => "whole number of days",
            FieldType::Boolean => "true or false",
        }
    }
}

/// Where a field lives.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A column of `analytics_customer_facts`.
    Column(&'static str),
    /// A list column of `analytics_customer_facts` holding codes between bars
    /// (`|FRA-JFK|JFK-FRA|`, `|` when empty): true when any of the rule's codes is in it.
    /// Codes are upper-case letters, digits and `-` (checked by [`parse`]), so a code can never
    /// be a `LIKE` wildcard or a bar, and SQLite's case-blind `LIKE` agrees with PostgreSQL's.
    List(&'static str),
    /// A purpose of the privacy register (`aloft_privacy::PURPOSES`): true when the customer
    /// may be used for it now — consent given and processing not restricted (GDPR Art. 18,
    /// Art. 21) — by the row's `consent_allowed` mask, the same check audiences make
    /// (`aloft_privacy::store::consent_allowed_sql`), never the consent state alone.
    Consent(&'static str),
}

/// A field a rule may name.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The name used in rules (`loyalty.tier`).
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// Where it is stored.
    pub source: Source,
    /// What it means, for the segment builder's field list.
    pub label: &'static str,
}

/// The catalogue of segmentable facts: profile, loyalty, travel history, preferences,
/// interactions, sentiment, cases and consent.
pub const FIELDS: &[Field] = &[
    Field {
        name: "profile.home_airport",
        ty: FieldType::Text,
        source: Source::Column("home_airport"),
        label: "Home airport (IATA)",
    },
    Field {
        name: "profile.nationality",
        ty: FieldType::Text,
        source: Source::Column("nationality"),
        label: "Nationality (ISO 3166)",
    },
    Field {
        name: "profile.age_band",
        ty: FieldType::Text,
        source: Source::Column("age_band"),
        label: "Age band (e.g. 35-44)",
    },
    Field {
        name: "profile.language",
        ty: FieldType::Text,
        source: Source::Column("language"),
        label: "Preferred language",
    },
    Field {
        name: "loyalty.tier",
        ty: FieldType::Text,
        source: Source::Column("tier"),
        label: "Loyalty tier",
    },
    Field {
        name: "loyalty.previous_tier",
        ty: FieldType::Text,
        source: Source::Column("previous_tier"),
        label: "Loyalty tier before its last change (gold for a gold member moved to silver)",
    },
    Field {
        name: "loyalty.tier_changed_days",
        ty: FieldType::DaysSince,
        source: Source::Column("tier_changed_at"),
        label: "Days since the tier last changed",
    },
    Field {
        name: "travel.flights_12m",
        ty: FieldType::Integer,
        source: Source::Column("flights_12m"),
        label: "Flights in the last 12 months",
    },
    Field {
        name: "travel.flights_90d",
        ty: FieldType::Integer,
        source: Source::Column("flights_90d"),
        label: "Flights in the last 90 days",
    },
    Field {
        name: "travel.days_since_last_flight",
        ty: FieldType::DaysSince,
        source: Source::Column("last_flight_at"),
        label: "Days since the last flight",
    },
    Field {
        name: "travel.main_cabin",
        ty: FieldType::Text,
        source: Source::Column("main_cabin"),
        label: "Cabin flown most (first, business, premium, economy)",
    },
    Field {
        name: "travel.spend_12m",
        ty: FieldType::Money,
        source: Source::Column("spend_12m_minor"),
        label: "Spend in the last 12 months",
    },
    Field {
        name: "travel.disruptions_12m",
        ty: FieldType::Integer,
        source: Source::Column("disruptions_12m"),
        label: "Disruptions experienced in the last 12 months",
    },
    Field {
        name: "travel.route",
        ty: FieldType::Text,
        source: Source::List("routes_list"),
        label: "Route flown in the last 24 months (FRA-JFK)",
    },
    Field {
        name: "travel.airport",
        ty: FieldType::Text,
        source: Source::List("airports_list"),
        label: "Airport flown from or to in the last 24 months",
    },
    Field {
        name: "preferences.meal",
        ty: FieldType::Text,
        source: Source::Column("meal_preference"),
        label: "Meal preference",
    },
    Field {
        name: "preferences.seat",
        ty: FieldType::Text,
        source: Source::Column("seat_preference"),
        label: "Seat preference (aisle, window)",
    },
    Field {
        name: "interactions.count_90d",
        ty: FieldType::Integer,
        source: Source::Column("interactions_90d"),
        label: "Interactions in the last 90 days",
    },
    Field {
        name: "sentiment.negative_90d",
        ty: FieldType::Integer,
        source: Source::Column("negative_90d"),
        label: "Negative texts in the last 90 days",
    },
    Field {
        name: "sentiment.last_label",
        ty: FieldType::Text,
        source: Source::Column("last_sentiment"),
        label: "Sentiment of the latest text",
    },
    Field {
        name: "cases.open",
        ty: FieldType::Integer,
        source: Source::Column("open_cases"),
        label: "Open cases",
    },
    Field {
        name: "consent.marketing_email",
        ty: FieldType::Boolean,
        source: Source::Consent("marketing_email"),
        label: "May get marketing e-mail (consent given, processing not restricted)",
    },
];

/// Looks a field up by its rule name.
pub fn field(name: &str) -> Option<&'static Field> {
    FIELDS.iter().find(|f| f.name == name)
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in` a list
    In,
    /// `not_in` a list
    NotIn,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "=" | "eq" => Op::Eq,
            "!=" | "ne" => Op::Ne,
            "<" | "lt" => Op::Lt,
            "<=" | "le" => Op::Le,
            ">" | "gt" => Op::Gt,
            ">=" | "ge" => Op::Ge,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::NotIn => "NOT IN",
        }
    }

    fn ordered(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }

    /// "More than N days ago" is an instant *before* now − N days: the comparison flips.
    fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            other => other,
        }
    }
}

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    /// Text (also instants, RFC 3339 UTC).
    Text(String),
    /// A whole number (also money in minor units and booleans as 0/1).
    Int(i64),
}

/// A validated rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Every sub-rule holds (an empty `all` holds for everyone).
    All(Vec<Rule>),
    /// At least one sub-rule holds (an empty `any` holds for no one).
    Any(Vec<Rule>),
    /// The sub-rule does not hold.
    Not(Box<Rule>),
    /// A comparison of a field with values (one, or a list for `in`/`not_in`).
    Cond {
        /// The catalogue field.
        field: &'static str,
        /// The operator.
        op: Op,
        /// The typed values.
        values: Vec<Bind>,
    },
}

/// A rule problem at a JSON pointer inside the rule document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// RFC 6901 pointer, e.g. `/all/1/field`.
    pub pointer: String,
    /// What is wrong, naming the field or type.
    pub detail: String,
}

const MAX_DEPTH: usize = 8;
const MAX_CONDITIONS: usize = 100;

/// Parses and validates a rule document, collecting every problem (not only the first).
pub fn parse(doc: &Value) -> Result<Rule, Vec<RuleError>> {
    let mut errors = Vec::new();
    let mut count = 0;
    let rule = parse_at(doc, "", 0, &mut count, &mut errors);
    if count > MAX_CONDITIONS {
        errors.push(RuleError {
            pointer: String::new(),
            detail: format!("a segment has at most {MAX_CONDITIONS} conditions"),
        });
    }
    match rule {
        Some(rule) if errors.is_empty() => Ok(rule),
        _ => Err(errors),
    }
}

fn err(errors: &mut Vec<RuleError>, pointer: String, detail: impl Into<String>) {
    errors.push(RuleError {
        pointer,
        detail: detail.into(),
    });
}

fn parse_at(
    v: &Value,
    at: &str,
    depth: usize,
    count: &mut usize,
    errors: &mut Vec<RuleError>,
) -> Option<Rule> {
    if depth > MAX_DEPTH {
        err(
            errors,
            at.to_owned(),
            format!("rules nest at most {MAX_DEPTH} deep"),
        );
        return None;
    }
    let Some(obj) = v.as_object() else {
        err(
            errors,
            at.to_owned(),
            "expected a rule: an object with all, any, not or field",
        );
        return None;
    };
    for group in ["all", "any"] {
        if let Some(list) = obj.get(group) {
            if obj.len() != 1 {
                err(
                    errors,
                    at.to_owned(),
                    format!("a group has only the key {group:?}"),
                );
            }
            let Some(items) = list.as_array() else {
                err(errors, format!("{at}/{group}"), "expected a list of rules");
                return None;
            };
            let rules: Vec<Option<Rule>> = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    parse_at(item, &format!("{at}/{group}/{i}"), depth + 1, count, errors)
                })
                .collect();
            let rules: Option<Vec<Rule>> = rules.into_iter().collect();
            return rules.map(|r| {
                if group == "all" {
                    Rule::All(r)
                } else {
                    Rule::Any(r)
                }
            });
        }
    }
    if let Some(inner) = obj.get("not") {
        if obj.len() != 1 {
            err(errors, at.to_owned(), "a group has only the key \"not\"");
        }
        return parse_at(inner, &format!("{at}/not"), depth + 1, count, errors)
            .map(|r| Rule::Not(Box::new(r)));
    }
    *count += 1;
    for key in obj.keys() {
        if !matches!(key.as_str(), "field" | "op" | "value") {
            err(
                errors,
                format!("{at}/{key}"),
                format!("unknown key {key:?} (a condition has field, op and value)"),
            );
        }
    }
    let field = match obj.get("field").and_then(Value::as_str) {
        None => {
            err(
                errors,
                format!("{at}/field"),
                "missing: the field to compare, e.g. \"loyalty.tier\"",
            );
            None
        }
        Some(name) => match field(name) {
            Some(f) => Some(f),
            None => {
                err(
                    errors,
                    format!("{at}/field"),
                    format!("unknown field {name:?}"),
                );
                None
            }
        },
    };
    let op = match obj.get("op").and_then(Value::as_str) {
        None => {
            err(
                errors,
                format!("{at}/op"),
                "missing: one of =, !=, <, <=, >, >=, in, not_in",
            );
            None
        }
        Some(s) => match Op::parse(s) {
            Some(op) => Some(op),
            None => {
                err(
                    errors,
                    format!("{at}/op"),
                    format!("unknown operator {s:?} (=, !=, <, <=, >, >=, in, not_in)"),
                );
                None
            }
        },
    };
    let (field, op) = (field?, op?);
    if op.ordered() && matches!(field.ty, FieldType::Text | FieldType::Boolean) {
        err(
            errors,
            format!("{at}/op"),
            format!(
                "{} is {}: compare it with =, !=, in or not_in",
                field.name,
                field.ty.name()
            ),
        );
        return None;
    }
    if matches!(field.source, Source::List(_)) && !matches!(op, Op::Eq | Op::In) {
        err(
            errors,
            format!("{at}/op"),
            format!("{} is a list: use = or in", field.name),
        );
        return None;
    }
    let value_at = format!("{at}/value");
    let Some(value) = obj.get("value") else {
        err(errors, value_at, format!("missing: a {}", field.ty.name()));
        return None;
    };
    let values: Vec<(String, &Value)> = if matches!(op, Op::In | Op::NotIn) {
        match value.as_array() {
            Some(items) if !items.is_empty() && items.len() <= 500 => items
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("{value_at}/{i}"), v))
                .collect(),
            _ => {
                err(
                    errors,
                    value_at,
                    format!(
                        "expected a list of 1 to 500 values, each a {}",
                        field.ty.name()
                    ),
                );
                return None;
            }
        }
    } else {
        vec![(value_at, value)]
    };
    let list = matches!(field.source, Source::List(_));
    let mut binds = Vec::with_capacity(values.len());
    for (pointer, v) in values {
        match typed(field.ty, v) {
            Some(Bind::Text(code)) if list => match list_code(&code) {
                Some(code) => binds.push(Bind::Text(code)),
                None => err(
                    errors,
                    pointer,
                    format!(
                        "{} takes a code of letters, digits and - (e.g. FRA-JFK or FRA)",
                        field.name
                    ),
                ),
            },
            Some(b) => binds.push(b),
            None => err(
                errors,
                pointer,
                format!("{} takes a {}", field.name, field.ty.name()),
            ),
        }
    }
    (binds.len()
        == if matches!(op, Op::In | Op::NotIn) {
            value.as_array().map_or(0, Vec::len)
        } else {
            1
        })
    .then_some(Rule::Cond {
        field: field.name,
        op,
        values: binds,
    })
}

fn typed(ty: FieldType, v: &Value) -> Option<Bind> {
    match ty {
        FieldType::Text => v
            .as_str()
            .filter(|s| !s.trim().is_empty() && s.len() <= 200)
            .map(|s| Bind::Text(s.trim().to_owned())),
        FieldType::Integer | FieldType::DaysSince => v
            .as_i64()
            .filter(|n| (0..=1_000_000).contains(n))
            .map(Bind::Int),
        FieldType::Boolean => v.as_bool().map(|b| Bind::Int(i64::from(b))),
        FieldType::Money => {
            let text = match v {
                Value::String(s) => s.trim().to_owned(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            money_minor(&text).map(Bind::Int)
        }
    }
}

/// A list code as stored (upper case): letters, digits and `-`, at most 20 characters; `None`
/// for anything else (a `%`, `_` or `|` would change what the `LIKE` matches).
pub fn list_code(s: &str) -> Option<String> {
    (s.len() <= 20 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .then(|| s.to_ascii_uppercase())
}

/// "1250", "1250.5", "1250.50" → 125050; refuses more than two decimals, signs and exponents.
fn money_minor(s: &str) -> Option<i64> {
    let (units, cents) = match s.split_once('.') {
        Some((u, c)) if !c.is_empty() && c.len() <= 2 => (u, c),
        Some(_) => return None,
        None => (s, ""),
    };
    if units.is_empty()
        || !units.bytes().all(|b| b.is_ascii_digit())
        || !cents.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let units: i64 = units.parse().ok().filter(|u| *u < 1_000_000_000)?;
    let cents: i64 = if cents.is_empty() {
        0
    } else {
        format!("{cents:0<2}").parse().ok()?
    };
    Some(units * 100 + cents)
}

/// A compiled rule: a condition on the facts table aliased `f`, and its parameters in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    /// The SQL condition (parenthesised).
    pub sql: String,
    /// Parameters in the order they appear.
    pub binds: Vec<Bind>,
}

/// Compiles a validated rule. `param(n)` renders the n-th (1-based) parameter of the backend
/// (`Backend::param`); `first` is the number of the first parameter (after the caller's own);
/// `now` anchors "days since".
pub fn compile(
    rule: &Rule,
    now: DateTime<Utc>,
    first: usize,
    param: &dyn Fn(usize) -> String,
) -> Compiled {
    let mut c = Compiled {
        sql: String::new(),
        binds: Vec::new(),
    };
    let mut next = first;
    emit(rule, now, &mut next, param, &mut c);
    c
}

fn emit(
    rule: &Rule,
    now: DateTime<Utc>,
    next: &mut usize,
    param: &dyn Fn(usize) -> String,
    c: &mut Compiled,
) {
    let bind = |b: Bind, c: &mut Compiled, next: &mut usize| {
        c.binds.push(b);
        let p = param(*next);
        *next += 1;
        p
    };
    match rule {
        Rule::All(rules) | Rule::Any(rules) => {
            let (joiner, empty) = if matches!(rule, Rule::All(_)) {
                (" AND ", "1 = 1")
            } else {
                (" OR ", "1 = 0")
            };
            if rules.is_empty() {
                c.sql.push_str(empty);
                return;
            }
            c.sql.push('(');
            for (i, r) in rules.iter().enumerate() {
                if i > 0 {
                    c.sql.push_str(joiner);
                }
                emit(r, now, next, param, c);
            }
            c.sql.push(')');
        }
        Rule::Not(inner) => {
            c.sql.push_str("NOT (");
            emit(inner, now, next, param, c);
            c.sql.push(')');
        }
        Rule::Cond {
            field: name,
            op,
            values,
        } => {
            let f = field(name).expect("validated field");
            match f.source {
                Source::List(col) => {
                    let likes: Vec<String> = values
                        .iter()
                        .map(|v| {
                            let Bind::Text(code) = v else {
                                unreachable!("validated")
                            };
                            let p = bind(Bind::Text(format!("%|{code}|%")), c, next);
                            format!("f.{col} LIKE {p}")
                        })
                        .collect();
                    c.sql.push_str(&format!("({})", likes.join(" OR ")));
                }
                Source::Consent(purpose) => {
                    let p = aloft_privacy::purpose(purpose).expect("catalogue purposes exist");
                    let allowed = aloft_privacy::store::consent_allowed_sql(p, "f");
                    let given: Vec<bool> = values.iter().map(|v| *v == Bind::Int(1)).collect();
                    let accepts = |b: bool| match op {
                        Op::Eq => given[0] == b,
                        Op::Ne => given[0] != b,
                        Op::In => given.contains(&b),
                        Op::NotIn => !given.contains(&b),
                        _ => false,
                    };
                    c.sql.push_str(&match (accepts(true), accepts(false)) {
                        (true, true) => "1 = 1".to_owned(),
                        (false, false) => "1 = 0".to_owned(),
                        (true, false) => allowed,
                        (false, true) => format!("NOT ({allowed})"),
                    });
                }
                Source::Column(col) if f.ty == FieldType::DaysSince => {
                    // Days since X op N  ⇔  X flipped-op (now − N days); never-happened (NULL)
                    // counts as infinitely long ago.
                    let Bind::Int(days) = values[0] else {
                        unreachable!("validated")
                    };
                    let cutoff = (now - Duration::days(days))
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    let p = bind(Bind::Text(cutoff), c, next);
                    let cmp = format!("f.{col} {} {p}", op.flipped().sql());
                    let never_matches = matches!(op, Op::Gt | Op::Ge | Op::Ne);
                    if never_matches {
                        c.sql.push_str(&format!("(f.{col} IS NULL OR {cmp})"));
                    } else {
                        c.sql.push_str(&format!("(f.{col} IS NOT NULL AND {cmp})"));
                    }
                }
                Source::Column(col) => {
                    if matches!(op, Op::In | Op::NotIn) {
                        let ps: Vec<String> =
                            values.iter().map(|v| bind(v.clone(), c, next)).collect();
                        c.sql
                            .push_str(&format!("f.{col} {} ({})", op.sql(), ps.join(", ")));
                    } else {
                        let p = bind(values[0].clone(), c, next);
                        c.sql.push_str(&format!("f.{col} {} {p}", op.sql()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pg(n: usize) -> String {
        format!("${n}")
    }

    fn now() -> DateTime<Utc> {
        "2026-12-06T12:00:00Z".parse().unwrap()
    }

    #[test]
    fn compiles_groups_lists_and_recency() {
        let rule = parse(&json!({"all": [
            {"field": "loyalty.tier", "op": "in", "value": ["gold", "platinum"]},
            {"field": "travel.flights_12m", "op": ">=", "value": 4},
            {"not": {"field": "travel.days_since_last_flight", "op": "<", "value": 90}},
            {"any": [{"field": "travel.route", "op": "=", "value": "FRA-JFK"},
                     {"field": "travel.spend_12m", "op": ">", "value": "1250.5"}]}
        ]}))
        .unwrap();
        let c = compile(&rule, now(), 2, &pg);
        assert_eq!(
            c.sql,
            "(f.tier IN ($2, $3) AND f.flights_12m >= $4 AND NOT ((f.last_flight_at IS NOT NULL AND f.last_flight_at > $5)) AND ((f.routes_list LIKE $6) OR f.spend_12m_minor > $7))"
        );
        assert_eq!(
            c.binds,
            vec![
                Bind::Text("gold".into()),
                Bind::Text("platinum".into()),
                Bind::Int(4),
                Bind::Text("2026-09-07T12:00:00Z".into()),
                Bind::Text("%|FRA-JFK|%".into()),
                Bind::Int(125_050),
            ]
        );
    }

    #[test]
    fn consent_is_the_privacy_mask_and_lists_take_codes() {
        let sql = |rule: serde_json::Value| compile(&parse(&rule).unwrap(), now(), 1, &pg).sql;
        let email = |op: &str, value: serde_json::Value| {
            sql(json!({"field": "consent.marketing_email", "op": op, "value": value}))
        };
        // Restricted or objecting people are out of the mask's bit (privacy keeps it), so a
        // segment on consent leaves them out as an audience does.
        assert_eq!(email("=", json!(true)), "(f.consent_allowed & 1) <> 0");
        assert_eq!(
            email("=", json!(false)),
            "NOT ((f.consent_allowed & 1) <> 0)"
        );
        assert_eq!(email("!=", json!(false)), "(f.consent_allowed & 1) <> 0");
        assert_eq!(email("in", json!([true, false])), "1 = 1");
        assert_eq!(email("not_in", json!([true, false])), "1 = 0");
        assert_eq!(
            sql(json!({"field": "travel.airport", "op": "in", "value": ["fra", "JFK"]})),
            "(f.airports_list LIKE $1 OR f.airports_list LIKE $2)"
        );
        let c = compile(
            &parse(&json!({"field": "travel.route", "op": "=", "value": " fra-jfk "})).unwrap(),
            now(),
            1,
            &pg,
        );
        assert_eq!(c.binds, vec![Bind::Text("%|FRA-JFK|%".into())]);
        for bad in ["FRA%", "FRA_JFK", "FRA|JFK", "FRA JFK"] {
            let errors =
                parse(&json!({"field": "travel.route", "op": "=", "value": bad})).unwrap_err();
            assert_eq!(errors[0].pointer, "/value", "{bad}");
        }
    }

    #[test]
    fn never_flown_counts_as_long_ago() {
        let rule =
            parse(&json!({"field": "travel.days_since_last_flight", "op": ">", "value": 365}))
                .unwrap();
        let c = compile(&rule, now(), 1, &|_| "?".to_owned());
        assert_eq!(c.sql, "(f.last_flight_at IS NULL OR f.last_flight_at < ?)");
    }

    #[test]
    fn every_problem_is_named_by_pointer() {
        let errors = parse(&json!({"all": [
            {"field": "loyalty.teir", "op": "=", "value": "gold"},
            {"field": "travel.flights_12m", "op": ">=", "value": "four"},
            {"field": "loyalty.tier", "op": ">", "value": "gold"},
            {"field": "travel.spend_12m", "op": ">", "value": "12.345"},
            {"field": "profile.home_airport", "op": "in", "value": ["FRA", 7]},
            {"field": "consent.marketing_email", "op": "=", "value": true, "colour": "red"}
        ]}))
        .unwrap_err();
        let got: Vec<(&str, &str)> = errors
            .iter()
            .map(|e| (e.pointer.as_str(), e.detail.as_str()))
            .collect();
        assert_eq!(got[0], ("/all/0/field", "unknown field \"loyalty.teir\""));
        assert_eq!(got[1].0, "/all/1/value");
        assert!(got[1].1.contains("integer"), "{got:?}");
        assert_eq!(got[2].0, "/all/2/op");
        assert_eq!(got[3].0, "/all/3/value");
        assert_eq!(got[4].0, "/all/4/value/1");
        assert_eq!(got[5].0, "/all/5/colour");
        assert_eq!(got.len(), 6);
    }

    #[test]
    fn empty_groups_and_limits() {
        let all = compile(&parse(&json!({"all": []})).unwrap(), now(), 1, &pg);
        assert_eq!(all.sql, "1 = 1");
        let any = compile(&parse(&json!({"any": []})).unwrap(), now(), 1, &pg);
        assert_eq!(any.sql, "1 = 0");
        let mut deep = json!({"field": "cases.open", "op": ">", "value": 0});
        for _ in 0..10 {
            deep = json!({"not": deep});
        }
        assert!(parse(&deep).is_err());
        assert!(parse(&json!([1])).is_err());
    }

    #[test]
    fn money_parsing() {
        assert_eq!(money_minor("1250"), Some(125_000));
        assert_eq!(money_minor("0.05"), Some(5));
        assert_eq!(money_minor("-1"), None);
        assert_eq!(money_minor("1e3"), None);
        assert_eq!(money_minor("1."), None);
    }
}
