//! The airline's goodwill policy (issue 20, item 3), pure: what the airline gives on top of the
//! law — miles or a voucher by tier for delays below the legal threshold, meal vouchers, lounge
//! access — as a **decision table** the CMP manager edits without a deploy.
//!
//! A table is an ordered list of rows. Each row has conditions (loyalty tiers, disruption kinds,
//! a range of delay at the final destination, whether the law already owes compensation) and one
//! benefit. The hit policy is "first match per benefit kind": for each kind of benefit (miles,
//! voucher, meal voucher, lounge access) the first matching row gives it, so a passenger gets at
//! most one of each and the order of the rows is the order of precedence — the rule a person
//! reading the table expects. Every award names the row that gave it.
//!
//! [`simulate`] replays the facts of past disruptions under the current and a proposed version:
//! how many passengers would receive something, the total cost per benefit and currency, and how
//! many passengers' awards change — what a manager needs to see before publishing.

use std::collections::BTreeMap;

use aloft_kernel::FieldError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The loyalty tiers a condition may name (the customers domain's tiers, and `none`).
pub const TIERS: &[&str] = &["none", "blue", "silver", "gold", "platinum"];
/// The disruption kinds a condition may name.
pub const KINDS: &[&str] = &["delay", "cancellation"];
/// The benefit kinds, in the order they are shown.
pub const BENEFITS: &[&str] = &["miles", "voucher", "meal_voucher", "lounge_access"];
/// Rows a table may hold (a page a person can still read).
pub const MAX_ROWS: usize = 50;

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// What the row is for, shown with every award it gives (`Gold: 2 h+ delay`).
    pub name: String,
    /// Tiers it applies to (empty: every tier).
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Disruption kinds it applies to (empty: both).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Least delay at the final destination, minutes (delays only; `null`: no lower bound).
    #[serde(default)]
    pub min_delay_minutes: Option<i64>,
    /// Delay below this many minutes (`null`: no upper bound).
    #[serde(default)]
    pub max_delay_minutes: Option<i64>,
    /// `true`: only when the law owes compensation; `false`: only when it does not; `null`: either.
    #[serde(default)]
    pub legally_owed: Option<bool>,
    /// `miles`, `voucher`, `meal_voucher` or `lounge_access`.
    pub benefit: String,
    /// Miles (a whole number) or the voucher's amount (a decimal string); `null` for lounge access.
    #[serde(default)]
    pub amount: Option<String>,
    /// The voucher's currency (ISO 4217); `null` for miles and lounge access.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A decision table: its rows in order of precedence.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Table {
    /// The rows.
    pub rows: Vec<Row>,
}

/// What is known about one passenger of a disrupted flight when goodwill is decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Loyalty tier (`none` without one).
    pub tier: String,
    /// `delay` or `cancellation`.
    pub kind: String,
    /// Delay at the final destination, minutes (`null` for a cancellation or when not known).
    pub delay_minutes: Option<i64>,
    /// Whether a passenger-rights regime owes compensation.
    pub legally_owed: bool,
}

/// One benefit given, and the row that gave it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Award {
    /// The benefit kind.
    pub benefit: String,
    /// Miles or the amount (`null` for lounge access).
    pub amount: Option<String>,
    /// The currency of a voucher.
    pub currency: Option<String>,
    /// The row's name.
    pub rule: String,
}

impl Row {
    fn matches(&self, f: &Facts) -> bool {
        let listed = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        let delay_ok = match (
            f.delay_minutes,
            self.min_delay_minutes,
            self.max_delay_minutes,
        ) {
            (_, None, None) => true,
            (None, _, _) => false,
            (Some(d), min, max) => min.is_none_or(|m| d >= m) && max.is_none_or(|m| d < m),
        };
        listed(&self.tiers, &f.tier)
            && listed(&self.kinds, &f.kind)
            && delay_ok
            && self.legally_owed.is_none_or(|o| o == f.legally_owed)
    }
}

/// What `table` gives a passenger with `facts`: the first matching row of each benefit kind.
pub fn decide(table: &Table, facts: &Facts) -> Vec<Award> {
    let mut given: Vec<Award> = Vec::new();
    for row in &table.rows {
        if given.iter().any(|a| a.benefit == row.benefit) || !row.matches(facts) {
            continue;
        }
        given.push(Award {
            benefit: row.benefit.clone(),
            amount: row.amount.clone(),
            currency: row.currency.clone(),
            rule: row.name.clone(),
        });
    }
    given
}

/// Reads a table from JSON (`{"rows": [...]}`), naming every bad field by its JSON pointer.
///
/// # Errors
/// Every problem found.
pub fn parse(v: &Value) -> Result<Table, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(rows) = v.get("rows").and_then(Value::as_array) else {
        return Err(vec![FieldError::new(
            "/rows",
            "is required: a list of rows",
        )]);
    };
    if rows.len() > MAX_ROWS {
        errors.push(FieldError::new(
            "/rows",
            format!("holds at most {MAX_ROWS} rows"),
        ));
    }
    let mut table = Table::default();
    for (i, row) in rows.iter().enumerate() {
        let at = |k: &str| format!("/rows/{i}/{k}");
        let row: Row = match serde_json::from_value(row.clone()) {
            Ok(r) => r,
            Err(e) => {
                errors.push(FieldError::new(
                    format!("/rows/{i}"),
                    format!("is not a row: {e}"),
                ));
                continue;
            }
        };
        if row.name.trim().is_empty() || row.name.len() > 80 {
            errors.push(FieldError::new(
                at("name"),
                "is required (at most 80 characters)",
            ));
        }
        for t in &row.tiers {
            if !TIERS.contains(&t.as_str()) {
                errors.push(FieldError::new(
                    at("tiers"),
                    format!("must be among {}", TIERS.join(", ")),
                ));
            }
        }
        for k in &row.kinds {
            if !KINDS.contains(&k.as_str()) {
                errors.push(FieldError::new(
                    at("kinds"),
                    "must be among delay, cancellation",
                ));
            }
        }
        for (k, v) in [
            ("min_delay_minutes", row.min_delay_minutes),
            ("max_delay_minutes", row.max_delay_minutes),
        ] {
            if v.is_some_and(|m| !(0..=7 * 24 * 60).contains(&m)) {
                errors.push(FieldError::new(
                    at(k),
                    "must be between 0 and 10080 minutes",
                ));
            }
        }
        if let (Some(a), Some(b)) = (row.min_delay_minutes, row.max_delay_minutes)
            && a >= b
        {
            errors.push(FieldError::new(
                at("max_delay_minutes"),
                "must be more than the least delay",
            ));
        }
        match row.benefit.as_str() {
            "miles" => {
                if !row
                    .amount
                    .as_deref()
                    .and_then(|a| a.parse::<u32>().ok())
                    .is_some_and(|m| (1..=1_000_000).contains(&m))
                {
                    errors.push(FieldError::new(
                        at("amount"),
                        "must be a whole number of miles, 1 to 1,000,000",
                    ));
                }
                if row.currency.is_some() {
                    errors.push(FieldError::new(at("currency"), "must be empty for miles"));
                }
            }
            "voucher" | "meal_voucher" => {
                if !row
                    .amount
                    .as_deref()
                    .and_then(|a| a.parse::<Decimal>().ok())
                    .is_some_and(|d| d > Decimal::ZERO && d.scale() <= 2)
                {
                    errors.push(FieldError::new(
                        at("amount"),
                        "must be a positive amount with at most two decimals",
                    ));
                }
                if !row
                    .currency
                    .as_deref()
                    .is_some_and(|c| c.len() == 3 && c.chars().all(|c| c.is_ascii_uppercase()))
                {
                    errors.push(FieldError::new(
                        at("currency"),
                        "is required: an ISO 4217 code such as EUR",
                    ));
                }
            }
            "lounge_access" => {
                if row.amount.is_some() || row.currency.is_some() {
                    errors.push(FieldError::new(
                        at("amount"),
                        "must be empty for lounge access",
                    ));
                }
            }
            _ => errors.push(FieldError::new(
                at("benefit"),
                "must be miles, voucher, meal_voucher or lounge_access",
            )),
        }
        table.rows.push(row);
    }
    if errors.is_empty() {
        Ok(table)
    } else {
        Err(errors)
    }
}

/// What a version would have given over past disruptions, next to the current one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Simulation {
    /// Passengers × flights replayed.
    pub passengers: usize,
    /// Of those, given something under the proposed version.
    pub awarded: usize,
    /// Of those, given something under the current version.
    pub awarded_now: usize,
    /// Passengers whose awards differ between the two versions.
    pub changed: usize,
    /// Total cost under the proposed version, by benefit and unit (`miles` or a currency):
    /// `{"voucher EUR": "1250.00", "miles": "30000", "lounge_access": "12"}`.
    pub cost: BTreeMap<String, String>,
    /// The same under the current version.
    pub cost_now: BTreeMap<String, String>,
}

fn add_cost(totals: &mut BTreeMap<String, Decimal>, awards: &[Award]) {
    for a in awards {
        let (key, amount) = match (a.benefit.as_str(), &a.currency) {
            ("lounge_access", _) => ("lounge_access".to_owned(), Decimal::ONE),
            (b, Some(c)) => (
                format!("{b} {c}"),
                a.amount
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default(),
            ),
            (b, None) => (
                b.to_owned(),
                a.amount
                    .as_deref()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or_default(),
            ),
        };
        *totals.entry(key).or_default() += amount;
    }
}

/// Replays `facts` under `current` and `proposed`.
pub fn simulate(current: &Table, proposed: &Table, facts: &[Facts]) -> Simulation {
    let mut out = Simulation {
        passengers: facts.len(),
        ..Simulation::default()
    };
    let (mut cost, mut cost_now) = (BTreeMap::new(), BTreeMap::new());
    for f in facts {
        let new = decide(proposed, f);
        let now = decide(current, f);
        out.awarded += usize::from(!new.is_empty());
        out.awarded_now += usize::from(!now.is_empty());
        let key = |a: &[Award]| {
            a.iter()
                .map(|x| (x.benefit.clone(), x.amount.clone(), x.currency.clone()))
                .collect::<Vec<_>>()
        };
        out.changed += usize::from(key(&new) != key(&now));
        add_cost(&mut cost, &new);
        add_cost(&mut cost_now, &now);
    }
    let text = |m: BTreeMap<String, Decimal>| {
        m.into_iter()
            .map(|(k, v)| (k, v.normalize().to_string()))
            .collect()
    };
    out.cost = text(cost);
    out.cost_now = text(cost_now);
    out
}

/// The policy shipped before a manager edits it: miles for Gold and Platinum members whose
/// flight arrived 1–3 h late (below the EU261 threshold), a meal voucher for every delay of
/// 2 h or more, lounge access for Gold and Platinum on cancellations.
pub fn default_table() -> Table {
    let row = |name: &str,
               tiers: &[&str],
               kinds: &[&str],
               min,
               max,
               owed,
               benefit: &str,
               amount: Option<&str>,
               currency: Option<&str>| Row {
        name: name.into(),
        tiers: tiers.iter().map(|s| (*s).into()).collect(),
        kinds: kinds.iter().map(|s| (*s).into()).collect(),
        min_delay_minutes: min,
        max_delay_minutes: max,
        legally_owed: owed,
        benefit: benefit.into(),
        amount: amount.map(Into::into),
        currency: currency.map(Into::into),
    };
    Table {
        rows: vec![
            row(
                "Platinum: 1–3 h late, nothing owed by law",
                &["platinum"],
                &["delay"],
                Some(60),
                Some(180),
                Some(false),
                "miles",
                Some("10000"),
                None,
            ),
            row(
                "Gold: 1–3 h late, nothing owed by law",
                &["gold"],
                &["delay"],
                Some(60),
                Some(180),
                Some(false),
                "miles",
                Some("5000"),
                None,
            ),
            row(
                "Any passenger: 2 h or more late",
                &[],
                &["delay"],
                Some(120),
                None,
                None,
                "meal_voucher",
                Some("15.00"),
                Some("EUR"),
            ),
            row(
                "Gold and Platinum: cancelled",
                &["gold", "platinum"],
                &["cancellation"],
                None,
                None,
                None,
                "lounge_access",
                None,
                None,
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn facts(tier: &str, kind: &str, delay: Option<i64>, owed: bool) -> Facts {
        Facts {
            tier: tier.into(),
            kind: kind.into(),
            delay_minutes: delay,
            legally_owed: owed,
        }
    }

    #[test]
    fn the_first_matching_row_of_each_benefit_gives_it_and_is_named() {
        let t = default_table();
        let gold_150 = decide(&t, &facts("gold", "delay", Some(150), false));
        assert_eq!(
            gold_150
                .iter()
                .map(|a| (a.benefit.as_str(), a.amount.as_deref()))
                .collect::<Vec<_>>(),
            [("miles", Some("5000")), ("meal_voucher", Some("15.00"))]
        );
        assert_eq!(gold_150[0].rule, "Gold: 1–3 h late, nothing owed by law");
        // At 3 h the law owes compensation: the miles stop, the meal voucher stays.
        let gold_200 = decide(&t, &facts("gold", "delay", Some(200), true));
        assert_eq!(
            gold_200
                .iter()
                .map(|a| a.benefit.as_str())
                .collect::<Vec<_>>(),
            ["meal_voucher"]
        );
        assert!(decide(&t, &facts("blue", "delay", Some(90), false)).is_empty());
        assert!(
            decide(&t, &facts("gold", "delay", None, false))
                .iter()
                .all(|a| a.benefit != "miles"),
            "an unknown delay matches no delay range"
        );
        assert_eq!(
            decide(&t, &facts("platinum", "cancellation", None, true))[0].benefit,
            "lounge_access"
        );
        // Precedence: with two miles rows matching, the first wins.
        let mut two = t.clone();
        two.rows.insert(
            0,
            Row {
                name: "Everyone late".into(),
                tiers: vec![],
                kinds: vec![],
                min_delay_minutes: Some(60),
                max_delay_minutes: None,
                legally_owed: None,
                benefit: "miles".into(),
                amount: Some("500".into()),
                currency: None,
            },
        );
        assert_eq!(
            decide(&two, &facts("gold", "delay", Some(90), false))[0]
                .amount
                .as_deref(),
            Some("500")
        );
    }

    #[test]
    fn a_bad_table_names_every_field() {
        let bad = json!({"rows": [
            {"name": "", "tiers": ["diamond"], "benefit": "miles", "amount": "lots"},
            {"name": "v", "benefit": "voucher", "amount": "10.005", "min_delay_minutes": 120, "max_delay_minutes": 60},
            {"name": "x", "benefit": "caviar"}
        ]});
        let pointers: Vec<String> = parse(&bad)
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert_eq!(
            pointers,
            [
                "/rows/0/name",
                "/rows/0/tiers",
                "/rows/0/amount",
                "/rows/1/max_delay_minutes",
                "/rows/1/amount",
                "/rows/1/currency",
                "/rows/2/benefit"
            ]
        );
        let good = serde_json::to_value(default_table()).unwrap();
        assert_eq!(parse(&good).unwrap(), default_table());
        assert_eq!(parse(&json!({})).unwrap_err()[0].pointer, "/rows");
    }

    #[test]
    fn a_simulation_counts_passengers_cost_and_changes() {
        let current = default_table();
        let mut proposed = current.clone();
        proposed.rows[1].amount = Some("8000".into()); // Gold miles up
        proposed.rows.remove(3); // no lounge on cancellations
        let past = [
            facts("gold", "delay", Some(90), false),
            facts("gold", "delay", Some(150), false),
            facts("blue", "delay", Some(150), false),
            facts("gold", "cancellation", None, true),
            facts("blue", "delay", Some(30), false),
        ];
        let s = simulate(&current, &proposed, &past);
        assert_eq!(
            (s.passengers, s.awarded_now, s.awarded, s.changed),
            (5, 4, 3, 3)
        );
        assert_eq!(s.cost_now["miles"], "10000");
        assert_eq!(s.cost["miles"], "16000");
        assert_eq!(s.cost["meal_voucher EUR"], "30");
        assert_eq!(s.cost_now["lounge_access"], "1");
        assert!(!s.cost.contains_key("lounge_access"));
    }
}
