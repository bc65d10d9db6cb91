//! The dashboards' figures: counts over the dashboard facts (and the segment and compensation
//! tables) for a period and, where it applies, one route — each cell protected before it leaves
//! this module.
//!
//! A cell counts texts, passengers, flights or units, and is shown only when at least
//! [`DASHBOARD_MIN_GROUP`] distinct customers stand behind it; otherwise it reads "< 5"
//! ([`Cell::FewerThan`]). When exactly one cell of a row is hidden while the row's total is
//! shown, the smallest other cell of the row is withheld too ([`Cell::Withheld`]), so the
//! hidden one cannot be worked out by subtraction ([`protect_row`]). Rows are groups (a route, a
//! topic, a week), never a person.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use sqlx::Row as _;

use aloft_kernel::db::to_db_time;
use aloft_kernel::{Database, StorageError};

use crate::model::Cell;

/// The smallest group a dashboard cell shows (k).
pub const DASHBOARD_MIN_GROUP: u64 = 5;

/// At most this many rows per route table (largest first).
pub const ROUTE_ROWS: usize = 15;

/// What a dashboard is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// First instant (inclusive).
    pub from: DateTime<Utc>,
    /// Last instant (exclusive).
    pub to: DateTime<Utc>,
    /// One route (`FRA-JFK`), or all.
    pub route: Option<String>,
}

/// One row of a grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GridRow {
    /// Stable key (`FRA-JFK`, `delay`, `2026-11-30`).
    pub key: String,
    /// What pages show.
    pub label: String,
    /// A second line (cities of a route).
    pub detail: Option<String>,
    /// One cell per column.
    pub cells: Vec<Cell>,
}

/// A table of protected cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grid {
    /// Stable id (`service-topics`): the live updates address its cells by it.
    pub id: &'static str,
    /// Title.
    pub title: String,
    /// The first column's heading (`Route`, `Topic`, `Week`).
    pub group: &'static str,
    /// The other columns' headings.
    pub columns: Vec<&'static str>,
    /// Which column a chart draws.
    pub chart_column: usize,
    /// Rows in display order.
    pub rows: Vec<GridRow>,
    /// Rows not shown because the table is capped.
    pub more: usize,
}

impl Grid {
    /// Whether any cell is hidden.
    pub fn hides_any(&self) -> bool {
        self.rows
            .iter()
            .any(|r| r.cells.iter().any(|c| c.count().is_none()))
    }
}

/// A cell as the dashboards say it: `1,234`, `< 5`, `not shown`.
pub fn cell_text(c: Cell) -> String {
    match c {
        Cell::FewerThan(k) => format!("< {k}"),
        other => other.text(),
    }
}

/// Protects one row: `cells` are (distinct customers, figure) of the parts, `total` the row's
/// (distinct customers, figure) when the row shows one. Returns the total's cell (if any) and
/// the parts' cells.
pub fn protect_row(
    total: Option<(usize, u64)>,
    cells: &[(usize, u64)],
    k: u64,
) -> (Option<Cell>, Vec<Cell>) {
    // An empty group is nobody: its zero is shown.
    let shown = |(people, n): (usize, u64)| {
        if people == 0 || (people as u64) >= k {
            Cell::Count(n)
        } else {
            Cell::FewerThan(k)
        }
    };
    let total = total.map(shown);
    let mut parts: Vec<Cell> = cells.iter().copied().map(shown).collect();
    let hidden = parts.iter().filter(|c| c.count().is_none()).count();
    if hidden == 1
        && total.is_some_and(|t| t.count().is_some())
        && let Some(i) = parts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.count().filter(|n| *n > 0).map(|n| (n, i)))
            .min()
            .map(|(_, i)| i)
    {
        parts[i] = Cell::Withheld;
    }
    (total, parts)
}

/// Counts distinct customers and a figure per (row key, column).
#[derive(Default)]
struct Acc {
    cells: HashMap<(String, usize), (HashSet<String>, u64)>,
    rows: HashMap<String, (HashSet<String>, u64)>,
}

impl Acc {
    fn add(&mut self, row: &str, col: usize, customer: &str, n: u64) {
        let e = self.cells.entry((row.to_owned(), col)).or_default();
        e.0.insert(customer.to_owned());
        e.1 += n;
    }

    fn add_row(&mut self, row: &str, customer: &str, n: u64) {
        let e = self.rows.entry(row.to_owned()).or_default();
        e.0.insert(customer.to_owned());
        e.1 += n;
    }

    fn part(&self, row: &str, col: usize) -> (usize, u64) {
        self.cells
            .get(&(row.to_owned(), col))
            .map(|(p, n)| (p.len(), *n))
            .unwrap_or((0, 0))
    }

    fn total(&self, row: &str) -> (usize, u64) {
        self.rows
            .get(row)
            .map(|(p, n)| (p.len(), *n))
            .unwrap_or((0, 0))
    }

    /// Row keys, largest total first (ties by key).
    fn keys_by_size(&self) -> Vec<String> {
        let mut keys: Vec<(&String, u64)> = self.rows.iter().map(|(k, v)| (k, v.1)).collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        keys.into_iter().map(|(k, _)| k.clone()).collect()
    }

    /// One grid row: the total first, then `parts` columns, protected.
    fn row(&self, key: &str, label: String, detail: Option<String>, parts: usize) -> GridRow {
        let cells: Vec<(usize, u64)> = (0..parts).map(|c| self.part(key, c)).collect();
        let (total, parts) = protect_row(Some(self.total(key)), &cells, DASHBOARD_MIN_GROUP);
        let mut all = vec![total.expect("a total was given")];
        all.extend(parts);
        GridRow {
            key: key.to_owned(),
            label,
            detail,
            cells: all,
        }
    }
}

fn route_label(key: &str) -> (String, Option<String>) {
    match key.split_once('-') {
        Some((a, b)) => crate::labels::route(a, b),
        None => (key.to_owned(), None),
    }
}

/// `delay` → `Delay`; the empty topic list → `No airline topic`.
pub fn topic_label(t: &str) -> String {
    match t {
        "" => "No airline topic".into(),
        t => {
            let mut c = t.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    }
}

/// The Monday starting the week of `t`, as `2026-11-30`.
fn week_of(t: DateTime<Utc>) -> NaiveDate {
    let d = t.date_naive();
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn in_period(sql: &str, f: &Filter, time_col: &str, route: bool) -> (String, Vec<String>) {
    let mut binds = vec![to_db_time(f.from), to_db_time(f.to)];
    let mut q = format!("{sql} WHERE {time_col} >= $1 AND {time_col} < $2");
    if route && let Some(r) = &f.route {
        binds.push(r.clone());
        q.push_str(" AND route = $3");
    }
    (q, binds)
}

async fn fetch(
    db: &Database,
    sql: &str,
    binds: &[String],
) -> Result<Vec<sqlx::any::AnyRow>, StorageError> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(b.clone());
    }
    Ok(q.fetch_all(db.pool()).await?)
}

/// Sentiment and complaints: texts by topic, by route and by week.
#[derive(Debug, Clone)]
pub struct Sentiment {
    /// Texts analysed (distinct writers ≥ k, else hidden).
    pub texts: Cell,
    /// Negative texts.
    pub negative: Cell,
    /// Complaints.
    pub complaints: Cell,
    /// Share of texts that are negative, when both figures are shown (`34 %`).
    pub negative_share: Option<String>,
    /// Mean score ×1000 (shown with the texts).
    pub mean_score: Option<i64>,
    /// By topic.
    pub topics: Grid,
    /// By route.
    pub routes: Grid,
    /// By week.
    pub weeks: Grid,
}

const SENTIMENT_COLUMNS: [&str; 5] = ["Texts", "Negative", "Neutral", "Positive", "Complaints"];
const TOPICS: [&str; 9] = [
    "delay",
    "cancellation",
    "baggage",
    "staff",
    "seat",
    "food",
    "refund",
    "booking",
    "loyalty",
];

fn label_col(label: &str) -> usize {
    match label {
        "negative" => 0,
        "neutral" => 1,
        _ => 2,
    }
}

/// `part` of `whole` as a whole percentage (integer arithmetic).
pub fn percent(part: u64, whole: u64) -> Option<String> {
    (whole > 0).then(|| format!("{} %", (part * 100 + whole / 2) / whole))
}

/// The sentiment figures for `f`.
pub async fn sentiment(db: &Database, f: &Filter) -> Result<Sentiment, StorageError> {
    let (sql, binds) = in_period(
        "SELECT customer_id, occurred_at, route, label, score_milli, topics, complaint FROM insights_texts",
        f,
        "occurred_at",
        true,
    );
    let rows = fetch(db, &sql, &binds).await?;
    let (mut topics, mut routes, mut weeks) = (Acc::default(), Acc::default(), Acc::default());
    let mut all: HashSet<String> = HashSet::new();
    let (mut neg_people, mut complaint_people) = (HashSet::new(), HashSet::new());
    let (mut n, mut neg, mut complaints, mut score_sum) = (0u64, 0u64, 0u64, 0i64);
    for r in &rows {
        let customer: String = r.try_get("customer_id")?;
        let at: String = r.try_get("occurred_at")?;
        let route: Option<String> = r.try_get("route")?;
        let label: String = r.try_get("label")?;
        let score: i64 = r.try_get("score_milli")?;
        let list: String = r.try_get("topics")?;
        let complaint: i64 = r.try_get::<i64, _>("complaint").unwrap_or(0);
        let col = label_col(&label);
        n += 1;
        score_sum += score;
        all.insert(customer.clone());
        if col == 0 {
            neg += 1;
            neg_people.insert(customer.clone());
        }
        if complaint == 1 {
            complaints += 1;
            complaint_people.insert(customer.clone());
        }
        let add = |acc: &mut Acc, key: &str| {
            acc.add_row(key, &customer, 1);
            acc.add(key, col, &customer, 1);
            if complaint == 1 {
                acc.add(key, 3, &customer, 1);
            }
        };
        let mut any = false;
        for t in list.split(',').filter(|t| !t.is_empty()) {
            add(&mut topics, t);
            any = true;
        }
        if !any {
            add(&mut topics, "");
        }
        if let Some(route) = &route {
            add(&mut routes, route);
        }
        if let Ok(t) = aloft_kernel::db::from_db_time(&at) {
            add(&mut weeks, &week_of(t).to_string());
        }
    }
    let k = DASHBOARD_MIN_GROUP;
    let topic_rows: Vec<GridRow> = TOPICS
        .iter()
        .copied()
        .chain([""])
        .filter(|t| topics.rows.contains_key(*t))
        .map(|t| topics.row(t, topic_label(t), None, 4))
        .collect();
    let route_keys = routes.keys_by_size();
    let route_rows: Vec<GridRow> = route_keys
        .iter()
        .take(ROUTE_ROWS)
        .map(|key| {
            let (label, detail) = route_label(key);
            routes.row(key, label, detail, 4)
        })
        .collect();
    let mut week_keys: Vec<&String> = weeks.rows.keys().collect();
    week_keys.sort();
    let week_rows = week_keys
        .into_iter()
        .map(|w| weeks.row(w, format!("Week of {w}"), None, 4))
        .collect();
    let texts = if all.is_empty() || all.len() as u64 >= k {
        Cell::Count(n)
    } else {
        Cell::FewerThan(k)
    };
    let negative = if neg_people.len() as u64 >= k || neg == 0 {
        Cell::Count(neg)
    } else {
        Cell::FewerThan(k)
    };
    let complaints_cell = if complaint_people.len() as u64 >= k || complaints == 0 {
        Cell::Count(complaints)
    } else {
        Cell::FewerThan(k)
    };
    let grid = |id, title: &str, group, rows, more| Grid {
        id,
        title: title.into(),
        group,
        columns: SENTIMENT_COLUMNS.to_vec(),
        chart_column: 1,
        rows,
        more,
    };
    Ok(Sentiment {
        negative_share: match (texts, negative) {
            (Cell::Count(t), Cell::Count(ng)) => percent(ng, t),
            _ => None,
        },
        mean_score: texts
            .count()
            .filter(|t| *t > 0)
            .map(|t| score_sum / t as i64),
        texts,
        negative,
        complaints: complaints_cell,
        topics: grid(
            "sentiment-topics",
            "Texts by airline topic",
            "Topic",
            topic_rows,
            0,
        ),
        routes: grid(
            "sentiment-routes",
            "Texts by route",
            "Route",
            route_rows,
            route_keys.len().saturating_sub(ROUTE_ROWS),
        ),
        weeks: grid("sentiment-weeks", "Texts by week", "Week", week_rows, 0),
    })
}

/// Disruption exposure: passengers on cancelled or ≥ 180 min late flights.
#[derive(Debug, Clone)]
pub struct Exposure {
    /// Distinct passengers disrupted.
    pub passengers: Cell,
    /// Share of the period's travellers who were disrupted.
    pub share: Option<String>,
    /// By route.
    pub routes: Grid,
    /// By week.
    pub weeks: Grid,
}

const EXPOSURE_COLUMNS: [&str; 4] = [
    "Passengers disrupted",
    "Cancelled (passenger flights)",
    "Delayed ≥ 3 h (passenger flights)",
    "Travellers on the route",
];

/// Disruption exposure for `f`.
pub async fn exposure(db: &Database, f: &Filter) -> Result<Exposure, StorageError> {
    let (sql, binds) = in_period(
        "SELECT customer_id, departed_at, route, status FROM insights_flights",
        f,
        "departed_at",
        true,
    );
    let rows = fetch(db, &sql, &binds).await?;
    let (mut routes, mut weeks) = (Acc::default(), Acc::default());
    let (mut travellers, mut disrupted) = (HashSet::new(), HashSet::new());
    for r in &rows {
        let customer: String = r.try_get("customer_id")?;
        let at: String = r.try_get("departed_at")?;
        let route: String = r.try_get("route")?;
        let status: String = r.try_get("status")?;
        travellers.insert(customer.clone());
        // Column 2: everyone who flew (or was booked on) the route.
        routes.add(&route, 2, &customer, 1);
        if status == "flown" {
            continue;
        }
        disrupted.insert(customer.clone());
        let col = if status == "cancelled" { 0 } else { 1 };
        routes.add_row(&route, &customer, 1);
        routes.add(&route, col, &customer, 1);
        if let Ok(t) = aloft_kernel::db::from_db_time(&at) {
            let w = week_of(t).to_string();
            weeks.add_row(&w, &customer, 1);
            weeks.add(&w, col, &customer, 1);
        }
    }
    let k = DASHBOARD_MIN_GROUP;
    let passengers = if disrupted.len() as u64 >= k || disrupted.is_empty() {
        Cell::Count(disrupted.len() as u64)
    } else {
        Cell::FewerThan(k)
    };
    let route_keys = routes.keys_by_size();
    let route_rows: Vec<GridRow> = route_keys
        .iter()
        .take(ROUTE_ROWS)
        .map(|key| {
            let (label, detail) = route_label(key);
            // Total = distinct disrupted passengers (people, not flights).
            let (people, _) = routes.total(key);
            let mut row = routes.row(key, label, detail, 3);
            let shown = |n: usize| {
                if n as u64 >= k {
                    Cell::Count(n as u64)
                } else {
                    Cell::FewerThan(k)
                }
            };
            row.cells[0] = shown(people);
            // Travellers are people too.
            row.cells[3] = shown(routes.part(key, 2).0);
            row
        })
        .collect();
    let mut week_keys: Vec<&String> = weeks.rows.keys().collect();
    week_keys.sort();
    let week_rows = week_keys
        .into_iter()
        .map(|w| {
            let (people, _) = weeks.total(w);
            let mut row = weeks.row(w, format!("Week of {w}"), None, 2);
            row.cells[0] = if people as u64 >= k {
                Cell::Count(people as u64)
            } else {
                Cell::FewerThan(k)
            };
            row
        })
        .collect();
    Ok(Exposure {
        share: match passengers {
            Cell::Count(p) if travellers.len() as u64 >= k => percent(p, travellers.len() as u64),
            _ => None,
        },
        passengers,
        routes: Grid {
            id: "exposure-routes",
            title: "Disruption exposure by route".into(),
            group: "Route",
            columns: EXPOSURE_COLUMNS.to_vec(),
            chart_column: 0,
            rows: route_rows,
            more: route_keys.len().saturating_sub(ROUTE_ROWS),
        },
        weeks: Grid {
            id: "exposure-weeks",
            title: "Disruption exposure by week".into(),
            group: "Week",
            columns: EXPOSURE_COLUMNS[..3].to_vec(),
            chart_column: 0,
            rows: week_rows,
            more: 0,
        },
    })
}

/// Compensation proposals (the compensation domain's table, read as counts only).
#[derive(Debug, Clone)]
pub struct Claims {
    /// Proposals made in the period.
    pub proposals: Cell,
    /// By status.
    pub statuses: Grid,
}

fn status_label(s: &str) -> String {
    match s {
        "pending" => "Pending decision".into(),
        "approved" => "Approved".into(),
        "rejected" => "Rejected".into(),
        "paid" => "Paid".into(),
        "awaiting_facts" => "Awaiting facts".into(),
        "not_owed" => "Not owed".into(),
        other => topic_label(other).replace('_', " "),
    }
}

/// Compensation proposals created in the period, by status (route filter not applied: a
/// proposal names a flight, not a route).
pub async fn claims(db: &Database, f: &Filter) -> Result<Claims, StorageError> {
    let rows = fetch(
        db,
        "SELECT customer_id, status, disruption_id FROM compensation_proposals \
         WHERE created_at >= $1 AND created_at < $2",
        &[to_db_time(f.from), to_db_time(f.to)],
    )
    .await?;
    let mut acc = Acc::default();
    let mut people = HashSet::new();
    for r in &rows {
        let customer: String = r.try_get("customer_id")?;
        let status: String = r.try_get("status")?;
        let disruption: String = r.try_get("disruption_id")?;
        people.insert(customer.clone());
        acc.add_row(&status, &customer, 1);
        let col = if disruption.starts_with("claim:") {
            1
        } else {
            0
        };
        acc.add(&status, col, &customer, 1);
    }
    let keys = acc.keys_by_size();
    let rows = keys
        .iter()
        .map(|s| acc.row(s, status_label(s), None, 2))
        .collect();
    let k = DASHBOARD_MIN_GROUP;
    Ok(Claims {
        proposals: if people.len() as u64 >= k || people.is_empty() {
            Cell::Count(acc.rows.values().map(|v| v.1).sum())
        } else {
            Cell::FewerThan(k)
        },
        statuses: Grid {
            id: "claims-status",
            title: "Compensation proposals by status".into(),
            group: "Status",
            columns: vec![
                "Proposals",
                "From disruption reports",
                "Passengers' own claims",
            ],
            chart_column: 0,
            rows,
            more: 0,
        },
    })
}

/// Purchases and preferences by route, for the in-flight retailer.
#[derive(Debug, Clone)]
pub struct Retail {
    /// Distinct travellers in the period.
    pub travellers: Cell,
    /// Distinct buyers in the period.
    pub buyers: Cell,
    /// Units sold.
    pub units: Cell,
    /// Sales by route: buyers, units, travellers.
    pub routes: Grid,
    /// Sales by category.
    pub categories: Grid,
    /// Top products.
    pub products: Grid,
    /// Preference mix by route.
    pub preferences: Grid,
    /// Special meals stated by travellers.
    pub meals: Grid,
}

/// Purchase and preference mix for `f`.
pub async fn retail(db: &Database, f: &Filter) -> Result<Retail, StorageError> {
    let k = DASHBOARD_MIN_GROUP;
    let (sql, binds) = in_period(
        "SELECT customer_id, route, category, product, product_label, units FROM insights_sales",
        f,
        "occurred_at",
        true,
    );
    let sales = fetch(db, &sql, &binds).await?;
    let (sql, binds) = in_period(
        "SELECT customer_id, route, status, seat_preference, meal_preference FROM insights_flights",
        f,
        "departed_at",
        true,
    );
    let flights = fetch(db, &sql, &binds).await?;
    let (mut by_route, mut cats, mut prods, mut prefs, mut meals) = (
        Acc::default(),
        Acc::default(),
        Acc::default(),
        Acc::default(),
        Acc::default(),
    );
    let (mut travellers, mut buyers, mut units) = (HashSet::new(), HashSet::new(), 0u64);
    let mut product_names: BTreeMap<String, String> = BTreeMap::new();
    let mut cat_names: BTreeMap<String, String> = BTreeMap::new();
    for r in &sales {
        let customer: String = r.try_get("customer_id")?;
        let route: Option<String> = r.try_get("route")?;
        let category: String = r.try_get("category")?;
        let product: Option<String> = r.try_get("product")?;
        let label: Option<String> = r.try_get("product_label")?;
        let n = u64::try_from(r.try_get::<i64, _>("units")?).unwrap_or(0);
        buyers.insert(customer.clone());
        units += n;
        if let Some(route) = &route {
            by_route.add_row(route, &customer, n);
            by_route.add(route, 0, &customer, n);
        }
        cats.add_row(&category, &customer, n);
        cats.add(&category, 0, &customer, n);
        cat_names.entry(category.clone()).or_insert_with(|| {
            let (kind, value) = category.split_once('.').unwrap_or(("", &category));
            match kind {
                "ancillary" => crate::labels::ancillary(value).1,
                "shop" => crate::labels::channel(value).1,
                _ => category.clone(),
            }
        });
        if let Some(p) = &product {
            prods.add_row(p, &customer, n);
            prods.add(p, 0, &customer, n);
            product_names
                .entry(p.clone())
                .or_insert_with(|| label.clone().unwrap_or_else(|| p.clone()));
        }
    }
    for r in &flights {
        let customer: String = r.try_get("customer_id")?;
        let route: String = r.try_get("route")?;
        let status: String = r.try_get("status")?;
        if status == "cancelled" {
            continue;
        }
        let seat: Option<String> = r.try_get("seat_preference")?;
        let meal: Option<String> = r.try_get("meal_preference")?;
        travellers.insert(customer.clone());
        by_route.add(&route, 1, &customer, 0);
        prefs.add_row(&route, &customer, 0);
        match seat.as_deref() {
            Some("window") => prefs.add(&route, 0, &customer, 0),
            Some("aisle") => prefs.add(&route, 1, &customer, 0),
            _ => {}
        }
        if let Some(m) = &meal {
            prefs.add(&route, 2, &customer, 0);
            meals.add_row(m, &customer, 0);
            meals.add(m, 0, &customer, 0);
        }
    }
    let people = |n: usize| {
        if n == 0 || n as u64 >= k {
            Cell::Count(n as u64)
        } else {
            Cell::FewerThan(k)
        }
    };
    // Sales by route: buyers (people), units, travellers, buyers per 100 travellers.
    let mut route_keys: Vec<String> = by_route
        .cells
        .keys()
        .map(|(r, _)| r.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    route_keys.sort_by(|a, b| {
        by_route
            .part(b, 1)
            .0
            .cmp(&by_route.part(a, 1).0)
            .then_with(|| a.cmp(b))
    });
    let route_rows: Vec<GridRow> = route_keys
        .iter()
        .take(ROUTE_ROWS)
        .map(|key| {
            let (label, detail) = route_label(key);
            let (b_people, b_units) = by_route.part(key, 0);
            let (t_people, _) = by_route.part(key, 1);
            let shown = b_people as u64 >= k && t_people as u64 >= k;
            GridRow {
                key: key.clone(),
                label,
                detail,
                cells: vec![
                    people(t_people),
                    people(b_people),
                    if b_people as u64 >= k {
                        Cell::Count(b_units)
                    } else {
                        Cell::FewerThan(k)
                    },
                    if shown {
                        Cell::Count(((b_people * 100 + t_people / 2) / t_people.max(1)) as u64)
                    } else {
                        Cell::FewerThan(k)
                    },
                ],
            }
        })
        .collect();
    let simple = |acc: &Acc, names: &dyn Fn(&str) -> String, cap: usize| -> (Vec<GridRow>, usize) {
        let keys = acc.keys_by_size();
        let rows = keys
            .iter()
            .take(cap)
            .map(|key| {
                let (p, n) = acc.total(key);
                GridRow {
                    key: key.clone(),
                    label: names(key),
                    detail: None,
                    cells: vec![
                        people(p),
                        if p as u64 >= k {
                            Cell::Count(n)
                        } else {
                            Cell::FewerThan(k)
                        },
                    ],
                }
            })
            .collect();
        (rows, keys.len().saturating_sub(cap))
    };
    let (cat_rows, _) = simple(
        &cats,
        &|c| cat_names.get(c).cloned().unwrap_or_else(|| c.to_owned()),
        100,
    );
    let (prod_rows, prod_more) = simple(
        &prods,
        &|p| {
            product_names
                .get(p)
                .cloned()
                .unwrap_or_else(|| p.to_owned())
        },
        ROUTE_ROWS,
    );
    let mut pref_keys = prefs.keys_by_size();
    pref_keys.sort_by(|a, b| {
        prefs
            .total(b)
            .0
            .cmp(&prefs.total(a).0)
            .then_with(|| a.cmp(b))
    });
    let pref_rows: Vec<GridRow> = pref_keys
        .iter()
        .take(ROUTE_ROWS)
        .map(|key| {
            let (label, detail) = route_label(key);
            let total = prefs.total(key).0;
            let mut cells = vec![people(total)];
            for c in 0..3 {
                cells.push(people(prefs.part(key, c).0));
            }
            GridRow {
                key: key.clone(),
                label,
                detail,
                cells,
            }
        })
        .collect();
    let mut meal_keys = meals.keys_by_size();
    meal_keys.sort_by(|a, b| {
        meals
            .total(b)
            .0
            .cmp(&meals.total(a).0)
            .then_with(|| a.cmp(b))
    });
    let meal_rows = meal_keys
        .iter()
        .map(|m| GridRow {
            key: m.clone(),
            label: crate::labels::meal(m),
            detail: None,
            cells: vec![people(meals.total(m).0)],
        })
        .collect();
    Ok(Retail {
        travellers: people(travellers.len()),
        buyers: people(buyers.len()),
        units: if buyers.len() as u64 >= k {
            Cell::Count(units)
        } else {
            Cell::FewerThan(k)
        },
        routes: Grid {
            id: "retail-routes",
            title: "Sales by route".into(),
            group: "Route",
            columns: vec!["Travellers", "Buyers", "Units", "Buyers per 100 travellers"],
            chart_column: 1,
            rows: route_rows,
            more: route_keys.len().saturating_sub(ROUTE_ROWS),
        },
        categories: Grid {
            id: "retail-categories",
            title: "Sales by category".into(),
            group: "Category",
            columns: vec!["Buyers", "Units"],
            chart_column: 1,
            rows: cat_rows,
            more: 0,
        },
        products: Grid {
            id: "retail-products",
            title: "Top products".into(),
            group: "Product",
            columns: vec!["Buyers", "Units"],
            chart_column: 1,
            rows: prod_rows,
            more: prod_more,
        },
        preferences: Grid {
            id: "retail-preferences",
            title: "Preference mix by route".into(),
            group: "Route",
            columns: vec![
                "Travellers",
                "Prefer window",
                "Prefer aisle",
                "State a special meal",
            ],
            chart_column: 3,
            rows: pref_rows,
            more: pref_keys.len().saturating_sub(ROUTE_ROWS),
        },
        meals: Grid {
            id: "retail-meals",
            title: "Special meals stated by the period's travellers".into(),
            group: "Meal",
            columns: vec!["Travellers"],
            chart_column: 0,
            rows: meal_rows,
            more: 0,
        },
    })
}

/// Saved segments and how many customers each holds now (names are the marketers' own labels,
/// not people).
pub async fn segments(db: &Database) -> Result<Grid, StorageError> {
    let rows = sqlx::query(
        "SELECT s.id, s.name, COUNT(m.customer_id) AS members FROM analytics_segments s \
         LEFT JOIN analytics_segment_members m ON m.segment_id = s.id \
         GROUP BY s.id, s.name ORDER BY members DESC, s.name",
    )
    .fetch_all(db.pool())
    .await?;
    let k = DASHBOARD_MIN_GROUP;
    let mut out = Vec::new();
    for r in &rows {
        let id: String = r.try_get("id")?;
        let name: String = r.try_get("name")?;
        let n = u64::try_from(r.try_get::<i64, _>("members")?).unwrap_or(0);
        out.push(GridRow {
            key: id,
            label: name,
            detail: None,
            cells: vec![if n >= k || n == 0 {
                Cell::Count(n)
            } else {
                Cell::FewerThan(k)
            }],
        });
    }
    Ok(Grid {
        id: "segment-sizes",
        title: "Saved segments".into(),
        group: "Segment",
        columns: vec!["Customers now"],
        chart_column: 0,
        rows: out,
        more: 0,
    })
}

/// The routes with facts in the last two years, for the route filter's choices.
pub async fn known_routes(db: &Database) -> Result<Vec<String>, StorageError> {
    let since = to_db_time(aloft_kernel::db::now() - Duration::days(730));
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT route FROM insights_flights WHERE departed_at >= $1 ORDER BY route",
    )
    .bind(since)
    .fetch_all(db.pool())
    .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_hidden_part_takes_the_smallest_shown_one_with_it() {
        let (total, parts) = protect_row(Some((20, 30)), &[(12, 20), (3, 4), (6, 6)], 5);
        assert_eq!(total, Some(Cell::Count(30)));
        assert_eq!(
            parts,
            vec![Cell::Count(20), Cell::FewerThan(5), Cell::Withheld]
        );
        // Two hidden parts protect each other.
        let (_, parts) = protect_row(Some((20, 30)), &[(12, 20), (3, 4), (2, 6)], 5);
        assert_eq!(
            parts,
            vec![Cell::Count(20), Cell::FewerThan(5), Cell::FewerThan(5)]
        );
        // A hidden total hides nothing more.
        let (total, parts) = protect_row(Some((4, 4)), &[(4, 4)], 5);
        assert_eq!(total, Some(Cell::FewerThan(5)));
        assert_eq!(parts, vec![Cell::FewerThan(5)]);
        // An empty part is nobody: its zero is shown.
        let (_, parts) = protect_row(Some((9, 9)), &[(9, 9), (0, 0)], 5);
        assert_eq!(parts, vec![Cell::Count(9), Cell::Count(0)]);
    }

    #[test]
    fn small_numbers_read_less_than_k() {
        assert_eq!(cell_text(Cell::FewerThan(5)), "< 5");
        assert_eq!(cell_text(Cell::Count(1234)), "1,234");
        assert_eq!(percent(1, 3).as_deref(), Some("33 %"));
        assert_eq!(topic_label("delay"), "Delay");
        assert_eq!(
            week_of("2026-12-06T10:00:00Z".parse().unwrap()).to_string(),
            "2026-11-30"
        );
    }
}
