//! The supervisor dashboard (`/cases/dashboard`): the backlog by queue and state, the open cases
//! whose first-response or resolution clock is at risk or breached, and SLA attainment by queue
//! and by case type over a period.
//!
//! Every figure is one GROUP BY over `cases` on either backend, never a loop over cases: with a
//! million cases the page still costs a few aggregate scans. "At risk" is what the SLA sweep has
//! recorded (the warning flag, raised once 75 % of a clock's business time is used; the business
//! calendar cannot be evaluated in SQL); "breached" is the breach flag or a due instant already
//! past; a clock that stopped past its target left the `<clock>:missed` flag, so attainment
//! counts misses the sweep never saw. Aggregates only: no customer data, nothing to audit.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use http::StatusCode;
use maud::{Markup, html};
use serde::Deserialize;
use sqlx::Row;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::StorageError;
use aloft_kernel::db::to_db_time;
use aloft_web::kit::{self, Column, Crumb, DataTable, Field, FieldKind, FormErrors, Tone, chart};
use aloft_web::{layout, page};

use crate::model::{Category, QUEUES};
use crate::pages::SECTION;
use crate::permissions::CASE_SUPERVISE;
use crate::service::Cases;

/// Who may open the dashboard: supervisors (`case.supervise`), not every agent.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "GET",
    "/cases/dashboard",
    Access::Permission(CASE_SUPERVISE),
)];

/// The page route.
pub fn routes(cases: Cases) -> Router {
    Router::new()
        .route("/cases/dashboard", get(dashboard_page))
        .with_state(cases)
}

/// Open cases of one queue in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BacklogRow {
    /// Queue name.
    pub queue: String,
    /// Workflow state.
    pub state: String,
    /// Open cases.
    pub open: i64,
}

/// Open cases of one queue whose SLA is at risk or breached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskRow {
    /// Queue name.
    pub queue: String,
    /// Past the warning point of first response or resolution, not breached.
    pub at_risk: i64,
    /// First response or resolution breached.
    pub breached: i64,
}

/// SLA attainment of one group (a queue or a case type) over the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttainmentRow {
    /// The queue or category name.
    pub key: String,
    /// Cases first answered in the period.
    pub first_responses: i64,
    /// Of which within the first-response target.
    pub first_responses_met: i64,
    /// Cases resolved in the period.
    pub resolutions: i64,
    /// Of which within the resolution target.
    pub resolutions_met: i64,
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Open cases by queue and state.
    pub backlog: Vec<BacklogRow>,
    /// At risk and breached, by queue (queues with any).
    pub risk: Vec<RiskRow>,
    /// Attainment by queue.
    pub by_queue: Vec<AttainmentRow>,
    /// Attainment by case type.
    pub by_category: Vec<AttainmentRow>,
}

/// Whether a flag is among a case's `sla_flags` (a JSON array of strings).
fn flag(name: &str) -> String {
    format!("sla_flags LIKE '%\"{name}\"%'")
}

impl Cases {
    /// The dashboard's figures at `now`, attainment over `[from, to)`.
    pub async fn dashboard(
        &self,
        now: DateTime<Utc>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Dashboard, StorageError> {
        let pool = self.db.pool();
        let backlog = sqlx::query(
            "SELECT queue, state, COUNT(*) AS n FROM cases WHERE is_open = 1 \
             GROUP BY queue, state ORDER BY queue, state",
        )
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(BacklogRow {
                queue: r.try_get("queue")?,
                state: r.try_get("state")?,
                open: r.try_get("n")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;

        let fr_breached = format!(
            "(first_responded_at IS NULL AND ({} OR first_response_due < $1))",
            flag("first_response:breached")
        );
        let res_breached = format!(
            "(resolved_at IS NULL AND ({} OR resolution_due < $1))",
            flag("resolution:breached")
        );
        let warned = format!(
            "((first_responded_at IS NULL AND {}) OR (resolved_at IS NULL AND {}))",
            flag("first_response:warning"),
            flag("resolution:warning")
        );
        let risk = sqlx::query(&format!(
            "SELECT queue, \
             SUM(CASE WHEN {fr_breached} OR {res_breached} THEN 0 WHEN {warned} THEN 1 ELSE 0 END) AS at_risk, \
             SUM(CASE WHEN {fr_breached} OR {res_breached} THEN 1 ELSE 0 END) AS breached \
             FROM cases WHERE is_open = 1 GROUP BY queue ORDER BY queue"
        ))
        .bind(to_db_time(now))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(RiskRow {
                queue: r.try_get("queue")?,
                at_risk: r.try_get("at_risk")?,
                breached: r.try_get("breached")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?
        .into_iter()
        .filter(|r| r.at_risk > 0 || r.breached > 0)
        .collect();

        let by_queue = self.attainment("queue", from, to).await?;
        let by_category = self.attainment("category", from, to).await?;
        Ok(Dashboard {
            backlog,
            risk,
            by_queue,
            by_category,
        })
    }

    /// Attainment grouped by `key` (a column name of ours, never input).
    async fn attainment(
        &self,
        key: &'static str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<AttainmentRow>, StorageError> {
        let fr = "(first_responded_at >= $1 AND first_responded_at < $2)";
        let res = "(resolved_at >= $1 AND resolved_at < $2)";
        let fr_missed = format!(
            "({} OR {})",
            flag("first_response:breached"),
            flag("first_response:missed")
        );
        let res_missed = format!(
            "({} OR {})",
            flag("resolution:breached"),
            flag("resolution:missed")
        );
        let rows = sqlx::query(&format!(
            "SELECT {key} AS k, \
             SUM(CASE WHEN {fr} THEN 1 ELSE 0 END) AS fr_total, \
             SUM(CASE WHEN {fr} AND NOT {fr_missed} THEN 1 ELSE 0 END) AS fr_met, \
             SUM(CASE WHEN {res} THEN 1 ELSE 0 END) AS res_total, \
             SUM(CASE WHEN {res} AND NOT {res_missed} THEN 1 ELSE 0 END) AS res_met \
             FROM cases WHERE {fr} OR {res} GROUP BY {key} ORDER BY {key}"
        ))
        .bind(to_db_time(from))
        .bind(to_db_time(to))
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok(AttainmentRow {
                    key: r.try_get("k")?,
                    first_responses: r.try_get("fr_total")?,
                    first_responses_met: r.try_get("fr_met")?,
                    resolutions: r.try_get("res_total")?,
                    resolutions_met: r.try_get("res_met")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?)
    }
}

/// The share `met / total` as a percentage with one decimal (`87.5 %`), in integer arithmetic
/// (rounded half up); `—` when nothing was due.
pub fn percent(met: i64, total: i64) -> String {
    if total <= 0 {
        return "—".to_owned();
    }
    let tenths = (met * 2000 + total) / (total * 2);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// The reporting period from the `from`/`to` dates (both inclusive, `YYYY-MM-DD`); the last 30
/// days to `today` when absent. Errors name the field.
pub fn period(
    from: Option<&str>,
    to: Option<&str>,
    today: NaiveDate,
) -> Result<(NaiveDate, NaiveDate), FormErrors> {
    let mut errors = FormErrors::new();
    let mut date = |name: &str, v: Option<&str>, default: NaiveDate| match v
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => Some(default),
        Some(v) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(name, "Enter a date as YYYY-MM-DD, for example 2026-03-01.");
                None
            }
        },
    };
    let to_d = date("to", to, today);
    let from_d = date("from", from, today - Duration::days(29));
    if let (Some(f), Some(t)) = (from_d, to_d) {
        if f > t {
            errors.add("to", "The end of the period must not be before its start.");
        }
        if errors.is_empty() {
            return Ok((f, t));
        }
    }
    Err(errors)
}

/// The dashboard's query.
#[derive(Debug, Deserialize)]
struct Params {
    from: Option<String>,
    to: Option<String>,
}

fn queue_label(name: &str) -> String {
    QUEUES
        .iter()
        .find(|q| q.name == name)
        .map_or_else(|| name.to_owned(), |q| q.label.to_owned())
}

fn category_label(name: &str) -> String {
    Category::parse(name).map_or_else(|| name.to_owned(), |c| c.label().to_owned())
}

fn attainment_table(
    caption: &str,
    first: &str,
    id: &str,
    rows: &[(String, &AttainmentRow)],
) -> Markup {
    DataTable::new(
        caption,
        vec![
            Column::new(first),
            Column::new("First responses"),
            Column::new("Within target"),
            Column::new("First-response attainment"),
            Column::new("Resolutions"),
            Column::new("Within target"),
            Column::new("Resolution attainment"),
        ],
    )
    .id(id)
    .rows(
        rows.iter()
            .map(|(label, r)| {
                vec![
                    html! { (label) },
                    html! { (r.first_responses) },
                    html! { (r.first_responses_met) },
                    html! { (percent(r.first_responses_met, r.first_responses)) },
                    html! { (r.resolutions) },
                    html! { (r.resolutions_met) },
                    html! { (percent(r.resolutions_met, r.resolutions)) },
                ]
            })
            .collect(),
    )
    .render()
}

fn view(d: &Dashboard, from: &str, to: &str, errors: &FormErrors) -> Markup {
    let open: i64 = d.backlog.iter().map(|r| r.open).sum();
    let at_risk: i64 = d.risk.iter().map(|r| r.at_risk).sum();
    let breached: i64 = d.risk.iter().map(|r| r.breached).sum();
    let sum = |f: fn(&AttainmentRow) -> i64| d.by_queue.iter().map(f).sum::<i64>();
    let fr = percent(sum(|r| r.first_responses_met), sum(|r| r.first_responses));
    let res = percent(sum(|r| r.resolutions_met), sum(|r| r.resolutions));
    let mut per_queue: Vec<(String, u64)> = Vec::new();
    for r in &d.backlog {
        let label = queue_label(&r.queue);
        match per_queue.iter_mut().find(|(l, _)| *l == label) {
            Some((_, n)) => *n += r.open.max(0) as u64,
            None => per_queue.push((label, r.open.max(0) as u64)),
        }
    }
    let backlog_chart = chart::BarChart {
        title: "Open cases by queue".to_owned(),
        unit: "open cases".to_owned(),
        bars: per_queue,
    };
    let backlog_table = DataTable::new(
        "Open cases by queue and state",
        vec![Column::new("Queue"), Column::new("State"), Column::new("Open cases")],
    )
    .id("backlog")
    .rows(
        d.backlog
            .iter()
            .map(|r| {
                vec![
                    html! { a href={ "/cases?view=queue&queue=" (r.queue) } { (queue_label(&r.queue)) } },
                    html! { (r.state.replace('_', " ")) },
                    html! { (r.open) },
                ]
            })
            .collect(),
    )
    .render();
    let risk_table = DataTable::new(
        "Open cases at risk of SLA breach and breached, by queue",
        vec![Column::new("Queue"), Column::new("At risk"), Column::new("Breached")],
    )
    .id("sla-risk")
    .rows(
        d.risk
            .iter()
            .map(|r| {
                vec![
                    html! { a href={ "/cases?view=queue&queue=" (r.queue) } { (queue_label(&r.queue)) } },
                    html! { (r.at_risk) },
                    html! { (r.breached) },
                ]
            })
            .collect(),
    )
    .render();
    let attainment_chart = chart::BarChart {
        title: "Resolved within target, by queue (per cent)".to_owned(),
        unit: "per cent".to_owned(),
        bars: d
            .by_queue
            .iter()
            .filter(|r| r.resolutions > 0)
            .map(|r| {
                (
                    queue_label(&r.key),
                    ((r.resolutions_met * 100 + r.resolutions / 2) / r.resolutions).max(0) as u64,
                )
            })
            .collect(),
    };
    let queues: Vec<(String, &AttainmentRow)> = d
        .by_queue
        .iter()
        .map(|r| (queue_label(&r.key), r))
        .collect();
    let types: Vec<(String, &AttainmentRow)> = d
        .by_category
        .iter()
        .map(|r| (category_label(&r.key), r))
        .collect();
    html! {
        (kit::page_header(&[Crumb { label: "Home", href: "/" }, Crumb { label: "Cases", href: "/cases" }], "Case dashboard",
            Some(html! { "Backlog, SLA risk and attainment, by queue." }), None))
        (kit::stats(&[
            ("Open cases", open.to_string(), None),
            ("At risk of SLA breach", at_risk.to_string(), Some("/cases?view=at_risk")),
            ("SLA breached", breached.to_string(), None),
            ("First responses within target", fr, None),
            ("Resolved within target", res, None),
        ]))
        section aria-labelledby="backlog-title" {
            h2 #backlog-title { "Backlog" }
            @if d.backlog.is_empty() {
                (kit::empty_state("No open cases", "Every case is resolved or closed.", None))
            } @else {
                (backlog_chart.render())
                (backlog_table)
            }
        }
        section aria-labelledby="risk-title" {
            h2 #risk-title { "SLA at risk and breached" }
            p { "At risk: three quarters of the first-response or resolution time used. Breached: the target is missed." }
            @if d.risk.is_empty() {
                (kit::empty_state("Nothing at risk", "No open case is near or past its SLA target.", None))
            } @else {
                (risk_table)
            }
        }
        section aria-labelledby="attainment-title" {
            h2 #attainment-title { "SLA attainment" }
            (kit::error_summary(errors))
            (kit::filter_bar("/cases/dashboard", "Choose the period", html! {
                (Field::new("from", "From", FieldKind::Input("date")).value(Some(from)).render(errors))
                (Field::new("to", "To (inclusive)", FieldKind::Input("date")).value(Some(to)).render(errors))
            }, "/cases/dashboard"))
            @if !errors.is_empty() {
                (kit::notice("Choose a valid period to see the attainment.", Tone::Warn))
            } @else if queues.is_empty() {
                (kit::empty_state("Nothing answered or resolved", "No case was first answered or resolved in this period.", None))
            } @else {
                @if !attainment_chart.bars.is_empty() {
                    (attainment_chart.render())
                }
                (attainment_table("SLA attainment by queue", "Queue", "attainment-queue", &queues))
                (attainment_table("SLA attainment by case type", "Case type", "attainment-type", &types))
            }
        }
    }
}

/// `GET /cases/dashboard`: the supervisor dashboard; 422 naming `from` or `to` on a bad date.
async fn dashboard_page(State(cases): State<Cases>, Query(q): Query<Params>) -> Response {
    let now = aloft_kernel::db::now();
    let today = now.date_naive();
    let (status, errors, (from, to)) = match period(q.from.as_deref(), q.to.as_deref(), today) {
        Ok(p) => (StatusCode::OK, FormErrors::new(), p),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            e,
            (today - Duration::days(29), today),
        ),
    };
    let start = from.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let end = (to + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let shown = |v: &Option<String>, d: NaiveDate| {
        if errors.is_empty() {
            d.to_string()
        } else {
            v.clone().unwrap_or_default()
        }
    };
    let (from_s, to_s) = (shown(&q.from, from), shown(&q.to, to));
    match cases.dashboard(now, start, end).await {
        Ok(d) => page(
            status,
            layout("Case dashboard", SECTION, view(&d, &from_s, &to_s, &errors)),
        ),
        Err(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            layout(
                "Case dashboard",
                SECTION,
                kit::notice("The dashboard cannot be read right now.", Tone::Bad),
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_rounds_half_up_with_one_decimal() {
        assert_eq!(percent(0, 0), "—");
        assert_eq!(percent(1, 3), "33.3 %");
        assert_eq!(percent(2, 3), "66.7 %");
        assert_eq!(percent(7, 8), "87.5 %");
        assert_eq!(percent(4, 4), "100.0 %");
    }

    #[test]
    fn the_period_defaults_to_30_days_and_names_a_bad_field() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        let (f, t) = period(None, None, today).unwrap();
        assert_eq!(
            (f.to_string(), t.to_string()),
            ("2026-11-07".into(), "2026-12-06".into())
        );
        let e = period(Some("2026-13-01"), None, today).unwrap_err();
        assert!(e.of("from").is_some() && e.of("to").is_none());
        let e = period(Some("2026-12-01"), Some("2026-11-01"), today).unwrap_err();
        assert!(e.of("to").is_some());
        assert!(period(Some("2026-11-01"), Some("2026-11-01"), today).is_ok());
    }
}
