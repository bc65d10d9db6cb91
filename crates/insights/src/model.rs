//! The aggregates and the rules that keep them pseudonymised (pure: no IO).
//!
//! An aggregate table counts the **distinct customers** in each group (a route flown twelve
//! times by one person is one traveller, so repeat behaviour cannot single anyone out), and may
//! carry a volume beside (flights, orders, units). Before a table is stored:
//!
//! - every group with fewer than `k` customers is **suppressed**: its counts are replaced by
//!   "fewer than k" ([`Cell::FewerThan`]) — the group's name stays, its size does not;
//! - if exactly one group of a table is suppressed, the smallest shown group is **withheld**
//!   too ([`Cell::Withheld`]), so the suppressed count cannot be worked out by subtracting the
//!   shown groups from a total shown elsewhere (complementary suppression);
//! - headline figures below `k` are suppressed the same way.
//!
//! No table has a row per customer, no key is an id, a name or a contact, and tables are not
//! cross-tabulated (a filter that split one table by another would let counts be differenced).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The default smallest group shown (k of k-anonymity).
pub const DEFAULT_MIN_GROUP: u64 = 10;

/// One figure of an aggregate, as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Cell {
    /// The exact figure (the group has at least k customers).
    Count(u64),
    /// The group has fewer than this many customers (k): not shown.
    FewerThan(u64),
    /// Not shown, although the group is large enough: showing it would let a suppressed group
    /// be worked out from a total.
    Withheld,
}

impl Cell {
    /// The figure, if it may be shown.
    pub fn count(self) -> Option<u64> {
        match self {
            Cell::Count(n) => Some(n),
            _ => None,
        }
    }

    /// A headline figure: shown if at least `k`, else "fewer than k".
    pub fn headline(n: u64, k: u64) -> Cell {
        if n >= k {
            Cell::Count(n)
        } else {
            Cell::FewerThan(k)
        }
    }

    /// As a page or a CSV file says it.
    pub fn text(self) -> String {
        match self {
            Cell::Count(n) => group_digits(n),
            Cell::FewerThan(k) => format!("fewer than {k}"),
            Cell::Withheld => "not shown".into(),
        }
    }
}

/// `12345` → `12,345`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One group of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Stable key (`gold`, `LHR-JFK`, `2026-03`, a SKU).
    pub key: String,
    /// What pages show (`Gold`, `LHR → JFK`).
    pub label: String,
    /// A second line for the label, when it helps (`London – New York`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Distinct customers in the group.
    pub people: Cell,
    /// The volume beside (flights, orders, units), when the table has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume: Option<Cell>,
}

/// An aggregate table, already protected (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Stable id (`population.tier`), also the CSV file's name.
    pub id: String,
    /// Its title (`Customers by loyalty tier`).
    pub title: String,
    /// What `people` counts (`Customers`, `Travellers`, `Buyers`).
    pub people_label: String,
    /// What `volume` counts, when there is one (`Flights`, `Orders`, `Units`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_label: Option<String>,
    /// The groups, in display order (largest first, or the dimension's own order).
    pub rows: Vec<Row>,
    /// Whether the rows follow the dimension's own order (tiers, age bands, months) rather than
    /// size.
    #[serde(default)]
    pub ordered: bool,
}

impl Table {
    /// How many groups are suppressed (fewer than k).
    pub fn suppressed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.people, Cell::FewerThan(_)))
            .count()
    }

    /// How many groups are withheld to protect a suppressed one.
    pub fn withheld(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.people == Cell::Withheld)
            .count()
    }

    /// The table as CSV (RFC 4180, header line first); hidden figures as their words.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut header = vec!["group", "key", self.people_label.as_str()];
        if let Some(v) = &self.volume_label {
            header.push(v);
        }
        out.push_str(
            &header
                .iter()
                .map(|h| csv_field(h))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
        for r in &self.rows {
            let plain = |c: Cell| match c {
                Cell::Count(n) => n.to_string(),
                other => other.text(),
            };
            let mut fields = vec![csv_field(&r.label), csv_field(&r.key), plain(r.people)];
            if self.volume_label.is_some() {
                fields.push(r.volume.map(plain).unwrap_or_default());
            }
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }
}

/// A CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` is neutralised so that a
/// spreadsheet does not run it as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// How a table's rows are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Largest group first (ties by key).
    Largest,
    /// By key (months, ordered codes given as `01-blue`…).
    Key,
}

/// Counts distinct customers (and a volume) per group of one dimension, as records stream by.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    groups: HashMap<String, Group>,
}

#[derive(Debug, Default, Clone)]
struct Group {
    label: String,
    detail: Option<String>,
    people: HashSet<u32>,
    volume: u64,
}

impl Tally {
    /// An empty tally.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts `person` (an index the caller gives each customer, never stored) in group `key`
    /// with `volume` more of the table's volume.
    pub fn add(&mut self, key: &str, label: impl FnOnce() -> String, person: u32, volume: u64) {
        self.add_detailed(key, || (label(), None), person, volume);
    }

    /// [`Tally::add`] with a second line for the label.
    pub fn add_detailed(
        &mut self,
        key: &str,
        label: impl FnOnce() -> (String, Option<String>),
        person: u32,
        volume: u64,
    ) {
        let g = match self.groups.get_mut(key) {
            Some(g) => g,
            None => self.groups.entry(key.to_owned()).or_insert_with(|| {
                let (label, detail) = label();
                Group {
                    label,
                    detail,
                    ..Group::default()
                }
            }),
        };
        g.people.insert(person);
        g.volume += volume;
    }

    /// Distinct customers over every group.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The protected table: groups ordered, suppressed below `k`, complementary suppression
    /// applied. `volume_label` `None` leaves the volume out.
    pub fn into_table(self, spec: &TableSpec, k: u64) -> Table {
        let mut groups: Vec<(String, Group)> = self.groups.into_iter().collect();
        match spec.order {
            Order::Largest => groups.sort_by(|a, b| {
                b.1.people
                    .len()
                    .cmp(&a.1.people.len())
                    .then_with(|| a.0.cmp(&b.0))
            }),
            Order::Key => groups.sort_by(|a, b| a.0.cmp(&b.0)),
        }
        let has_volume = spec.volume_label.is_some();
        let details: Vec<Option<String>> = groups.iter().map(|(_, g)| g.detail.clone()).collect();
        let mut rows = protect(
            groups
                .into_iter()
                .map(|(key, g)| {
                    let people = g.people.len() as u64;
                    (key, g.label, people, has_volume.then_some(g.volume))
                })
                .collect(),
            k,
        );
        for (row, detail) in rows.iter_mut().zip(details) {
            row.detail = detail;
        }
        if spec.free_text {
            let before = rows.len();
            rows.retain(|r| !matches!(r.people, Cell::FewerThan(_)));
            let hidden = before - rows.len();
            if hidden > 0 {
                rows.push(Row {
                    key: "other".into(),
                    label: format!(
                        "{hidden} other answer{}, each given by fewer than {k}",
                        if hidden == 1 { "" } else { "s" }
                    ),
                    detail: None,
                    people: Cell::FewerThan(k),
                    volume: has_volume.then_some(Cell::Withheld),
                });
            }
        }
        Table {
            id: spec.id.into(),
            title: spec.title.into(),
            people_label: spec.people_label.into(),
            volume_label: spec.volume_label.map(str::to_owned),
            rows,
            ordered: spec.order == Order::Key,
        }
    }
}

/// What a table is: its id, title, labels and order.
#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// Stable id.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// What its people count is.
    pub people_label: &'static str,
    /// What its volume is, if any.
    pub volume_label: Option<&'static str>,
    /// Row order.
    pub order: Order,
    /// The groups are what people wrote (a drink), not codes: a group too small to show keeps
    /// no name either (what one person wrote may say who they are); all such groups become one
    /// row, "other answers".
    pub free_text: bool,
}

/// Suppresses groups below `k` and applies complementary suppression (see the module
/// documentation). Input: (key, label, distinct people, volume) in display order.
pub fn protect(groups: Vec<(String, String, u64, Option<u64>)>, k: u64) -> Vec<Row> {
    let mut rows: Vec<Row> = groups
        .into_iter()
        .map(|(key, label, people, volume)| {
            if people < k {
                Row {
                    key,
                    label,
                    detail: None,
                    people: Cell::FewerThan(k),
                    volume: volume.map(|_| Cell::Withheld),
                }
            } else {
                Row {
                    key,
                    label,
                    detail: None,
                    people: Cell::Count(people),
                    volume: volume.map(Cell::Count),
                }
            }
        })
        .collect();
    let suppressed = rows
        .iter()
        .filter(|r| matches!(r.people, Cell::FewerThan(_)))
        .count();
    if suppressed == 1 {
        // The smallest shown group (the last of equals), so the least information is lost.
        let smallest = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.people.count().map(|n| (n, i)))
            .min_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(&a.1)))
            .map(|(_, i)| i);
        if let Some(i) = smallest {
            rows[i].people = Cell::Withheld;
            rows[i].volume = rows[i].volume.map(|_| Cell::Withheld);
        }
    }
    rows
}

/// Age bands, in order (key, label).
pub const AGE_BANDS: &[(&str, &str)] = &[
    ("a-0-17", "Under 18"),
    ("b-18-24", "18–24"),
    ("c-25-34", "25–34"),
    ("d-35-44", "35–44"),
    ("e-45-54", "45–54"),
    ("f-55-64", "55–64"),
    ("g-65", "65 and over"),
];

/// The key of "not stated" groups (sorts after every ordered key).
pub const NOT_STATED: &str = "zz-not-stated";

/// The age band (key, label) of someone born on `born`, on `today`.
pub fn age_band(born: NaiveDate, today: NaiveDate) -> (&'static str, &'static str) {
    let mut age = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    let i = match age {
        ..=17 => 0,
        18..=24 => 1,
        25..=34 => 2,
        35..=44 => 3,
        45..=54 => 4,
        55..=64 => 5,
        _ => 6,
    };
    AGE_BANDS[i]
}

/// A month key (`2026-03`) and label (`Mar 2026`) of an instant.
pub fn month(t: DateTime<Utc>) -> (String, String) {
    (t.format("%Y-%m").to_string(), t.format("%b %Y").to_string())
}

/// A drink as people write it, folded so that spellings of the same drink meet
/// (`  sparkling WATER ` → `Sparkling water`); `None` for empty or overlong text, which is more
/// likely a note than a drink.
pub fn drink_key(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let joined = words.join(" ").to_lowercase();
    if joined.is_empty() || joined.chars().count() > 40 {
        return None;
    }
    let mut chars = joined.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

/// A snapshot of every aggregate, as the background job stores it and pages read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// UUIDv7.
    pub id: String,
    /// When it was computed (pages say "as of HH:MM UTC").
    pub computed_at: DateTime<Utc>,
    /// The smallest group shown (k).
    pub min_group: u64,
    /// Customers (golden profiles; merged ones not counted twice).
    pub population: Cell,
    /// Customers with at least one booked flight.
    pub travellers: Cell,
    /// Flights booked (segments, cancelled ones excepted).
    pub flights: Cell,
    /// Customers with at least one purchase or ancillary.
    pub buyers: Cell,
    /// Every table.
    pub tables: Vec<Table>,
}

impl Snapshot {
    /// The table with this id.
    pub fn table(&self, id: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: TableSpec = TableSpec {
        id: "t",
        title: "T",
        people_label: "Customers",
        volume_label: Some("Flights"),
        order: Order::Largest,
        free_text: false,
    };

    fn tally(groups: &[(&str, u32)]) -> Tally {
        let mut t = Tally::new();
        let mut person = 0;
        for (key, n) in groups {
            for _ in 0..*n {
                person += 1;
                t.add(key, || key.to_uppercase(), person, 2);
            }
        }
        t
    }

    #[test]
    fn groups_below_k_are_suppressed_and_one_more_is_withheld_when_alone() {
        let t = tally(&[("a", 30), ("b", 12), ("c", 11), ("d", 3)]).into_table(&SPEC, 10);
        let people: Vec<Cell> = t.rows.iter().map(|r| r.people).collect();
        assert_eq!(
            people,
            [
                Cell::Count(30),
                Cell::Count(12),
                Cell::Withheld,
                Cell::FewerThan(10)
            ]
        );
        assert_eq!(t.rows[0].volume, Some(Cell::Count(60)));
        assert_eq!(t.rows[2].volume, Some(Cell::Withheld));
        assert_eq!(t.rows[3].volume, Some(Cell::Withheld));
        assert_eq!((t.suppressed(), t.withheld()), (1, 1));
        assert_eq!(t.rows[3].label, "D", "the group's name stays");
    }

    #[test]
    fn two_suppressed_groups_need_no_withholding_and_k_is_configurable() {
        let t = tally(&[("a", 30), ("b", 4), ("c", 1)]).into_table(&SPEC, 10);
        assert_eq!(t.withheld(), 0);
        assert_eq!(t.suppressed(), 2);
        let t = tally(&[("a", 30), ("b", 4), ("c", 1)]).into_table(&SPEC, 3);
        assert_eq!(t.rows[2].people, Cell::FewerThan(3), "k is the table's k");
        assert_eq!(
            t.rows[1].people,
            Cell::Withheld,
            "alone below k, c would be 35 - 30 - b: b is withheld"
        );
        assert_eq!(t.rows[0].people, Cell::Count(30));
    }

    #[test]
    fn what_fewer_than_k_people_wrote_is_not_shown_even_as_a_name() {
        let spec = TableSpec {
            free_text: true,
            ..SPEC
        };
        let t = tally(&[
            ("Water", 20),
            ("Tea", 15),
            ("my name is ana", 1),
            ("rare gin", 2),
        ])
        .into_table(&spec, 10);
        let labels: Vec<&str> = t.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "WATER",
                "TEA",
                "2 other answers, each given by fewer than 10"
            ]
        );
        assert_eq!(t.rows[2].people, Cell::FewerThan(10));
        assert!(!t.to_csv().to_lowercase().contains("ana"));
    }

    #[test]
    fn a_person_counts_once_per_group_however_often_they_appear() {
        let mut t = Tally::new();
        for _ in 0..50 {
            t.add("LHR-JFK", || "LHR → JFK".into(), 7, 1);
        }
        let table = t.into_table(&SPEC, 10);
        assert_eq!(table.rows[0].people, Cell::FewerThan(10));
        assert_eq!(
            table.rows[0].volume,
            Some(Cell::Withheld),
            "fifty flights of one person stay hidden"
        );
    }

    #[test]
    fn csv_says_what_is_hidden_and_defuses_formulas() {
        let t = tally(&[("a", 30), ("=cmd", 2), ("b", 2)]).into_table(&SPEC, 10);
        let csv = t.to_csv();
        assert!(
            csv.starts_with("group,key,Customers,Flights\r\nA,a,30,60\r\n"),
            "{csv}"
        );
        assert!(csv.contains("'=CMD,'=cmd,fewer than 10,not shown"), "{csv}");
    }

    #[test]
    fn age_bands_turn_on_the_birthday() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let born = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(age_band(born(2008, 12, 6), today).1, "18–24");
        assert_eq!(age_band(born(2008, 12, 7), today).1, "Under 18");
        assert_eq!(age_band(born(1961, 1, 1), today).1, "65 and over");
        assert_eq!(age_band(born(1991, 6, 1), today).1, "35–44");
    }

    #[test]
    fn drinks_fold_and_digits_group() {
        assert_eq!(
            drink_key("  sparkling WATER ").as_deref(),
            Some("Sparkling water")
        );
        assert_eq!(drink_key("   "), None);
        assert_eq!(group_digits(1_234_567), "1,234,567");
        assert_eq!(group_digits(999), "999");
        assert_eq!(Cell::headline(9, 10), Cell::FewerThan(10));
    }
}
