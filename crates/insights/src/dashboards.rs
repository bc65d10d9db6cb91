//! The role dashboards (issue 22, item 5): `/insights/service` (customer affairs: sentiment and
//! complaints by topic, route and week, disruption exposure, compensation proposals),
//! `/insights/routes` (the in-flight retailer: purchases and the preference mix by route) and
//! `/insights/cmp` (the CMP manager's overview). The data analyst sees all three.
//!
//! Each page filters by period (`from`, `to`: dates, `to` inclusive; a bad or reversed period is
//! a 422 naming the field) and, where it applies, one route. Figures are counts over groups, each
//! cell protected ([`crate::figures`]: fewer than 5 customers reads "< 5"). The page works
//! without script; with it, `/insights/live.js` opens the page's `…/live` stream
//! (`text/event-stream`, same permission and filters) and swaps in each section as the server
//! re-renders it after an event ([`crate::live::LiveHub`]); keep-alive comments every 15 s; the
//! stream ends at shutdown.

use std::convert::Infallible;
use std::time::Duration;

use aloft_authz::{Access, Permission, Principal, RoutePolicy, current_principal};
use aloft_kernel::{ApiError, Database, FieldError};
use aloft_web::kit::{self, BarChart, Column, Crumb, DataTable, Field, FieldKind, FormErrors, Tab};
use aloft_web::{NavEntry, layout, page};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use http::{StatusCode, header};
use maud::{Markup, html};
use serde::Deserialize;

use crate::figures::{self, DASHBOARD_MIN_GROUP, Filter, Grid, cell_text};
use crate::live::LiveHub;
use crate::model::Cell;
use crate::pages::SECTION;
use crate::permissions::{
    COMPENSATION_READ, DISRUPTION_READ, OVERVIEW_READ, RETAIL_READ, SENTIMENT_READ,
};
use crate::storage::InsightsStore;

/// The script that keeps a dashboard live (ours, compiled in; no CDN).
pub const SCRIPT_PATH: &str = "/insights/live.js";
const SCRIPT: &str = include_str!("../assets/live.js");

/// One dashboard.
#[derive(Debug)]
pub struct View {
    /// `/insights/service`.
    pub path: &'static str,
    /// `/insights/service/live`.
    pub live: &'static str,
    /// The page title.
    pub title: &'static str,
    /// Who may open it (and its stream).
    pub permission: Permission,
    /// What it is for (subtitle, navigation summary).
    pub summary: &'static str,
    /// Whether the route filter applies.
    pub by_route: bool,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Service,
    Routes,
    Cmp,
}

/// Customer affairs (and marketing, the analyst): sentiment, complaints, disruption,
/// compensation.
pub const SERVICE: View = View {
    path: "/insights/service",
    live: "/insights/service/live",
    title: "Service dashboard",
    permission: SENTIMENT_READ,
    summary: "Sentiment and complaints by topic, route and week; disruption exposure; compensation proposals.",
    by_route: true,
    kind: Kind::Service,
};

/// The in-flight retailer (and the analyst): purchases and preferences by route.
pub const ROUTES: View = View {
    path: "/insights/routes",
    live: "/insights/routes/live",
    title: "Retail by route",
    permission: RETAIL_READ,
    summary: "What travellers buy on each route and the seat and meal preferences they state.",
    by_route: true,
    kind: Kind::Routes,
};

/// The CMP manager (and the analyst): the platform at a glance.
pub const CMP: View = View {
    path: "/insights/cmp",
    live: "/insights/cmp/live",
    title: "CMP overview",
    permission: OVERVIEW_READ,
    summary: "The platform at a glance: customers, sentiment, complaints, disruption exposure, compensation and segments.",
    by_route: false,
    kind: Kind::Cmp,
};

/// Every dashboard.
pub const VIEWS: [&View; 3] = [&SERVICE, &ROUTES, &CMP];

/// Who may open each route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/insights/service",
        Access::Permission(SENTIMENT_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/insights/service/live",
        Access::Permission(SENTIMENT_READ),
    ),
    RoutePolicy::new("GET", "/insights/routes", Access::Permission(RETAIL_READ)),
    RoutePolicy::new(
        "GET",
        "/insights/routes/live",
        Access::Permission(RETAIL_READ),
    ),
    RoutePolicy::new("GET", "/insights/cmp", Access::Permission(OVERVIEW_READ)),
    RoutePolicy::new(
        "GET",
        "/insights/cmp/live",
        Access::Permission(OVERVIEW_READ),
    ),
    RoutePolicy::new("GET", SCRIPT_PATH, Access::Staff),
];

/// The navigation entries, one per dashboard.
pub fn navigation() -> Vec<NavEntry> {
    VIEWS
        .iter()
        .enumerate()
        .map(|(i, v)| NavEntry {
            section: SECTION,
            href: v.path,
            label: v.title,
            summary: v.summary,
            access: Access::Permission(v.permission),
            order: 61 + i as u16,
        })
        .collect()
}

/// What the dashboards need.
#[derive(Clone, Debug)]
pub struct DashState {
    /// The database (facts and counts).
    pub db: Database,
    /// The snapshots (the CMP overview's population figures).
    pub store: InsightsStore,
    /// Change notices and shutdown.
    pub hub: LiveHub,
}

/// The routes.
pub fn routes(state: DashState) -> Router {
    Router::new()
        .route(SERVICE.path, get(|s, q| dashboard(s, q, &SERVICE)))
        .route(SERVICE.live, get(|s, q| live(s, q, &SERVICE)))
        .route(ROUTES.path, get(|s, q| dashboard(s, q, &ROUTES)))
        .route(ROUTES.live, get(|s, q| live(s, q, &ROUTES)))
        .route(CMP.path, get(|s, q| dashboard(s, q, &CMP)))
        .route(CMP.live, get(|s, q| live(s, q, &CMP)))
        .route(
            SCRIPT_PATH,
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    SCRIPT,
                )
            }),
        )
        .with_state(state)
}

/// The filter as typed.
#[derive(Debug, Deserialize, Default, Clone)]
pub struct DashQuery {
    /// First day, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day (inclusive), `YYYY-MM-DD`.
    #[serde(default)]
    pub to: Option<String>,
    /// `FRA-JFK`, or empty for all.
    #[serde(default)]
    pub route: Option<String>,
}

/// The longest period a dashboard covers.
pub const MAX_DAYS: i64 = 731;

/// Parses the filter; every problem names its field (`/from`, `/to`, `/route`). Default: the
/// last 30 days, all routes.
pub fn parse_filter(q: &DashQuery, now: DateTime<Utc>) -> Result<Filter, Vec<FieldError>> {
    let mut errors = Vec::new();
    let day = |v: &Option<String>, name: &str, errors: &mut Vec<FieldError>| {
        let v = v.as_deref().map(str::trim).filter(|v| !v.is_empty())?;
        match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(
                    format!("/{name}"),
                    "must be a date (YYYY-MM-DD)",
                ));
                None
            }
        }
    };
    let from = day(&q.from, "from", &mut errors);
    let to = day(&q.to, "to", &mut errors);
    let route = q
        .route
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_ascii_uppercase);
    if let Some(r) = &route {
        let ok = r.len() == 7
            && r.as_bytes()[3] == b'-'
            && r[..3]
                .bytes()
                .chain(r[4..].bytes())
                .all(|b| b.is_ascii_uppercase());
        if !ok {
            errors.push(FieldError::new(
                "/route",
                "must be a route as two airport codes, like FRA-JFK",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let end = to
        .and_then(|d| d.succ_opt())
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .unwrap_or(now);
    let start = from
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .unwrap_or(end - Days::days(30));
    if start >= end {
        return Err(vec![FieldError::new(
            "/to",
            "must be on or after the from date",
        )]);
    }
    if end - start > Days::days(MAX_DAYS) {
        return Err(vec![FieldError::new(
            "/from",
            "must be at most two years before the to date",
        )]);
    }
    Ok(Filter {
        from: start,
        to: end,
        route,
    })
}

/// What the principal may see on a dashboard (taken in the handler: a stream outlives it).
#[derive(Debug, Clone, Copy)]
struct Sees {
    sentiment: bool,
    disruption: bool,
    compensation: bool,
}

impl Sees {
    fn of(p: Option<&Principal>) -> Self {
        let can = |perm| p.is_some_and(|p| p.can(perm));
        Self {
            sentiment: can(SENTIMENT_READ),
            disruption: can(DISRUPTION_READ),
            compensation: can(COMPENSATION_READ),
        }
    }
}

fn cell(c: Cell) -> Markup {
    match c {
        Cell::Count(_) => html! { (cell_text(c)) },
        Cell::FewerThan(k) => {
            html! { span.muted title={ "fewer than " (k) " customers" } { (cell_text(c)) } }
        }
        Cell::Withheld => {
            html! { span.muted title="withheld so that a smaller group cannot be worked out" { "not shown" } }
        }
    }
}

/// A grid's card: a bar chart of its chart column (shown cells only) and the full table.
fn grid_card(g: &Grid, unit: &str, empty: &str) -> Markup {
    let bars: Vec<(String, u64)> = g
        .rows
        .iter()
        .filter_map(|r| {
            r.cells
                .get(g.chart_column)
                .and_then(|c| c.count())
                .map(|n| (r.label.clone(), n))
        })
        .take(10)
        .collect();
    let mut columns = vec![Column::new(g.group)];
    columns.extend(g.columns.iter().map(|c| Column::new(*c).numeric()));
    let rows: Vec<Vec<Markup>> = g
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![html! {
                (r.label) @if let Some(d) = &r.detail { br; small.muted { (d) } }
            }];
            row.extend(r.cells.iter().map(|c| cell(*c)));
            row
        })
        .collect();
    let caption = if g.more > 0 {
        format!(
            "{} (largest {} of {})",
            g.title,
            g.rows.len(),
            g.rows.len() + g.more
        )
    } else {
        g.title.clone()
    };
    html! {
        @if g.rows.is_empty() {
            (kit::empty_state(&g.title, empty, None))
        } @else {
            div.dash-body {
                @if bars.iter().any(|(_, n)| *n > 0) {
                    (BarChart {
                        title: format!("{}: {}", g.title, g.columns.get(g.chart_column).copied().unwrap_or("")),
                        unit: unit.into(),
                        bars,
                    }.render())
                }
                div {
                    (DataTable::new(caption, columns).rows(rows).id(format!("{}-table", g.id)).render())
                    @if g.hides_any() {
                        p.muted.insight-note {
                            "“< " (DASHBOARD_MIN_GROUP) "”: fewer than " (DASHBOARD_MIN_GROUP)
                            " customers behind the figure, so it is not shown; “not shown”: withheld so that such a figure cannot be worked out from the row's total."
                        }
                    }
                }
            }
        }
    }
}

fn section(id: &str, title: &str, body: Markup) -> Markup {
    kit::panel(id, title, body)
}

/// The sections of a dashboard, each as (element id, inner markup), for `f` as `sees` allows.
/// The page wraps each in its element; the live stream sends the inner markup again.
async fn sections(
    state: &DashState,
    view: &View,
    f: &Filter,
    sees: Sees,
) -> Result<Vec<(String, Markup)>, ApiError> {
    let db = &state.db;
    let mut out: Vec<(String, Markup)> = Vec::new();
    let mut stats: Vec<(&str, String)> = Vec::new();
    match view.kind {
        Kind::Service | Kind::Cmp => {
            let s = if sees.sentiment || view.kind == Kind::Cmp {
                Some(figures::sentiment(db, f).await?)
            } else {
                None
            };
            let e = if sees.disruption || view.kind == Kind::Cmp {
                Some(figures::exposure(db, f).await?)
            } else {
                None
            };
            let c = if sees.compensation || view.kind == Kind::Cmp {
                Some(figures::claims(db, f).await?)
            } else {
                None
            };
            if view.kind == Kind::Cmp
                && let Ok(Some(snap)) = state.store.latest().await
            {
                stats.push(("Customers", snap.population.text()));
                stats.push(("Travellers (all time)", snap.travellers.text()));
            }
            if let Some(s) = &s {
                stats.push(("Texts analysed", cell_text(s.texts)));
                stats.push((
                    "Negative",
                    s.negative_share
                        .clone()
                        .unwrap_or_else(|| cell_text(s.negative)),
                ));
                stats.push(("Complaints", cell_text(s.complaints)));
            }
            if let Some(e) = &e {
                stats.push(("Passengers disrupted", cell_text(e.passengers)));
            }
            if let Some(c) = &c {
                stats.push(("Compensation proposals", cell_text(c.proposals)));
            }
            if let Some(s) = &s {
                if view.kind == Kind::Service {
                    out.push((
                        "dash-topics".into(),
                        section(
                            "dash-topics-panel",
                            "Sentiment and complaints by topic",
                            grid_card(&s.topics, "negative texts", "No text in the period."),
                        ),
                    ));
                    out.push((
                        "dash-routes".into(),
                        section(
                            "dash-routes-panel",
                            "Sentiment and complaints by route",
                            grid_card(
                                &s.routes,
                                "negative texts",
                                "No text about a known route in the period.",
                            ),
                        ),
                    ));
                }
                out.push((
                    "dash-weeks".into(),
                    section(
                        "dash-weeks-panel",
                        "Sentiment and complaint trend",
                        grid_card(&s.weeks, "negative texts", "No text in the period."),
                    ),
                ));
            }
            if let Some(e) = &e {
                out.push((
                    "dash-exposure".into(),
                    section(
                        "dash-exposure-panel",
                        "Disruption exposure",
                        html! {
                            p { "Passengers booked on flights that were cancelled or arrived at least 3 hours late, by route and by week of departure."
                                @if let Some(share) = &e.share { " " strong { (share) } " of the period's travellers were disrupted." } }
                            (grid_card(&e.routes, "passengers", "No disrupted flight in the period."))
                            @if view.kind == Kind::Service { (grid_card(&e.weeks, "passengers", "No disrupted flight in the period.")) }
                        },
                    ),
                ));
            }
            if let Some(c) = &c {
                out.push((
                    "dash-claims".into(),
                    section(
                        "dash-claims-panel",
                        "Compensation proposals",
                        html! {
                            p.muted { "Proposals created in the period (all routes: a proposal names a flight, not a route)." }
                            (grid_card(&c.statuses, "proposals", "No compensation proposal in the period."))
                        },
                    ),
                ));
            }
            if view.kind == Kind::Cmp {
                let g = figures::segments(db).await?;
                stats.push(("Saved segments", g.rows.len().to_string()));
                out.push((
                    "dash-segments".into(),
                    section(
                        "dash-segments-panel",
                        "Segment sizes",
                        grid_card(&g, "customers", "No saved segment yet."),
                    ),
                ));
            }
        }
        Kind::Routes => {
            let r = figures::retail(db, f).await?;
            stats.push(("Travellers", cell_text(r.travellers)));
            stats.push(("Buyers", cell_text(r.buyers)));
            stats.push(("Units sold", cell_text(r.units)));
            out.push((
                "dash-sales-routes".into(),
                section("dash-sales-routes-panel", "Sales by route", html! {
                    p.muted { "Buyers of ancillaries and shop items for or on a flight of the route; travellers who flew it in the period." }
                    (grid_card(&r.routes, "buyers", "No sale in the period."))
                }),
            ));
            out.push((
                "dash-sales-mix".into(),
                section(
                    "dash-sales-mix-panel",
                    "Purchase mix",
                    html! {
                        (grid_card(&r.categories, "units", "No sale in the period."))
                        (grid_card(&r.products, "units", "No product sold in the period."))
                    },
                ),
            ));
            out.push((
                "dash-preferences".into(),
                section("dash-preferences-panel", "Preference mix by route", html! {
                    p.muted { "Seat and special-meal preferences the period's travellers state in their profiles." }
                    (grid_card(&r.preferences, "travellers", "No traveller in the period."))
                    (grid_card(&r.meals, "travellers", "No special meal stated by the period's travellers."))
                }),
            ));
        }
    }
    let headline = html! {
        (kit::stats(&stats.iter().map(|(l, v)| (*l, v.clone(), None)).collect::<Vec<_>>()))
    };
    out.insert(0, ("dash-headline".into(), headline));
    Ok(out)
}

fn period_text(f: &Filter) -> String {
    let last = f.to - Days::microseconds(1);
    format!(
        "{} to {} (UTC){}",
        f.from.format("%-d %b %Y"),
        last.format("%-d %b %Y"),
        f.route
            .as_deref()
            .map(|r| format!(", route {}", r.replace('-', " → ")))
            .unwrap_or_default()
    )
}

fn tabs(current: &View) -> Markup {
    let p = current_principal();
    let mut items = Vec::new();
    if p.as_ref()
        .is_some_and(|p| p.can(crate::permissions::AGGREGATES_READ))
    {
        items.push(Tab {
            label: "Overview",
            href: "/insights",
            current: false,
        });
    }
    for v in VIEWS {
        if p.as_ref().is_some_and(|p| p.can(v.permission)) {
            items.push(Tab {
                label: v.title,
                href: v.path,
                current: v.path == current.path,
            });
        }
    }
    kit::tabs("Dashboards", &items)
}

async fn dashboard(
    State(state): State<DashState>,
    Query(q): Query<DashQuery>,
    view: &'static View,
) -> Result<Response, ApiError> {
    let now = aloft_kernel::db::now();
    let mut errors = FormErrors::new();
    let filter = match parse_filter(&q, now) {
        Ok(f) => f,
        Err(list) => {
            for e in list {
                errors.add(e.pointer.trim_start_matches('/'), e.detail);
            }
            parse_filter(&DashQuery::default(), now).expect("the default period is valid")
        }
    };
    let principal = current_principal();
    let sees = Sees::of(principal.as_ref());
    let parts = sections(&state, view, &filter, sees).await?;
    let routes = if view.by_route {
        figures::known_routes(&state.db).await?
    } else {
        vec![]
    };
    let shown_to = filter.to - Days::microseconds(1);
    let from_value = q
        .from
        .clone()
        .filter(|_| errors.of("from").is_none())
        .unwrap_or_else(|| filter.from.format("%Y-%m-%d").to_string());
    let to_value =
        q.to.clone()
            .filter(|_| errors.of("to").is_none())
            .unwrap_or_else(|| shown_to.format("%Y-%m-%d").to_string());
    let route_value = q
        .route
        .clone()
        .filter(|_| errors.of("route").is_none())
        .unwrap_or_default()
        .to_ascii_uppercase();
    let mut route_options = vec![(String::new(), "All routes".to_owned())];
    for r in &routes {
        route_options.push((r.clone(), r.replace('-', " → ")));
    }
    if !route_value.is_empty() && !routes.contains(&route_value) {
        route_options.push((route_value.clone(), route_value.replace('-', " → ")));
    }
    let live_src = format!(
        "{}?{}",
        view.live,
        serde_urlencoded_pairs(&[
            ("from", filter.from.format("%Y-%m-%d").to_string()),
            ("to", shown_to.format("%Y-%m-%d").to_string()),
            ("route", filter.route.clone().unwrap_or_default()),
        ])
    );
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(page(
        status,
        layout(
            view.title,
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    view.title,
                    Some(html! { (view.summary) " Pseudonymised: counts of groups only, no names, ids or contacts; a figure with fewer than " (DASHBOARD_MIN_GROUP) " customers behind it reads “< " (DASHBOARD_MIN_GROUP) "”." }),
                    None,
                ))
                (tabs(view))
                @if !errors.is_empty() { (kit::form::error_summary(&errors)) }
                (kit::filter_bar(
                    view.path,
                    "Period and route",
                    html! {
                        (Field::new("from", "From (UTC)", FieldKind::Input("date")).value(Some(from_value)).render(&errors))
                        (Field::new("to", "To (UTC, inclusive)", FieldKind::Input("date")).value(Some(to_value)).render(&errors))
                        @if view.by_route {
                            (Field::new("route", "Route", FieldKind::Select(route_options)).value(Some(route_value)).render(&errors))
                        }
                    },
                    view.path,
                ))
                div.dash-live data-live-src=(live_src) {
                    p.muted {
                        "Figures for " (period_text(&filter)) ", as of " time datetime=(now.to_rfc3339()) { (now.format("%H:%M UTC")) } ". "
                        span #dash-live-status role="status" { "Reload the page for newer figures." }
                    }
                    @for (id, inner) in &parts {
                        div id=(id) { (inner) }
                    }
                }
                script src=(SCRIPT_PATH) defer {}
            },
        ),
    ))
}

/// `a=1&b=2`, percent-encoding what needs it.
fn serde_urlencoded_pairs(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            let enc: String = v
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{k}={enc}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// How long a burst of events is gathered before the figures are recomputed.
const SETTLE: Duration = Duration::from_millis(300);

async fn live(
    State(state): State<DashState>,
    Query(q): Query<DashQuery>,
    view: &'static View,
) -> Response {
    let filter = match parse_filter(&q, aloft_kernel::db::now()) {
        Ok(f) => f,
        Err(list) => return ApiError::Invalid(list).into_response(),
    };
    let sees = Sees::of(current_principal().as_ref());
    let changes = state.hub.subscribe();
    let stop = state.hub.stopping();
    struct Feed {
        state: DashState,
        filter: Filter,
        sees: Sees,
        changes: tokio::sync::watch::Receiver<u64>,
        stop: tokio::sync::watch::Receiver<bool>,
        greeted: bool,
    }
    let feed = Feed {
        state,
        filter,
        sees,
        changes,
        stop,
        greeted: false,
    };
    let stream = futures_util::stream::unfold(feed, move |mut feed| async move {
        if *feed.stop.borrow() {
            return None;
        }
        if !feed.greeted {
            feed.greeted = true;
            feed.changes.borrow_and_update();
            let ev = Event::default().event("ready").data("listening");
            return Some((Ok::<Event, Infallible>(ev), feed));
        }
        tokio::select! {
            r = feed.changes.changed() => { if r.is_err() { return None; } }
            _ = feed.stop.changed() => return None,
        }
        tokio::select! {
            _ = tokio::time::sleep(SETTLE) => {}
            _ = feed.stop.changed() => return None,
        }
        feed.changes.borrow_and_update();
        let at = aloft_kernel::db::now();
        let ev = match sections(&feed.state, view, &feed.filter, feed.sees).await {
            Ok(parts) => {
                let map: serde_json::Map<String, serde_json::Value> = parts
                    .into_iter()
                    .map(|(id, m)| (id, serde_json::Value::String(m.into_string())))
                    .collect();
                Event::default().event("figures").data(
                    serde_json::json!({
                        "at": at.format("%H:%M:%S UTC").to_string(),
                        "sections": map,
                    })
                    .to_string(),
                )
            }
            Err(_) => Event::default()
                .event("unavailable")
                .data("the figures cannot be read just now"),
        };
        Some((Ok(ev), feed))
    });
    Sse::new(stream)
        .keep_alive(
            KeepAlive::new()
                .interval(Duration::from_secs(15))
                .text("keep-alive"),
        )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: &str, to: &str, route: &str) -> DashQuery {
        DashQuery {
            from: Some(from.into()),
            to: Some(to.into()),
            route: Some(route.into()),
        }
    }

    #[test]
    fn filters_name_the_field_at_fault() {
        let now: DateTime<Utc> = "2026-12-06T12:00:00Z".parse().unwrap();
        let f = parse_filter(&q("2026-11-01", "2026-11-30", "fra-jfk"), now).unwrap();
        assert_eq!(f.route.as_deref(), Some("FRA-JFK"));
        assert_eq!(
            f.to,
            "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let e = parse_filter(&q("2026-11-30", "2026-11-01", ""), now).unwrap_err();
        assert_eq!(e[0].pointer, "/to");
        let e = parse_filter(&q("30/11/2026", "2026-11-01", "FRAJFK"), now).unwrap_err();
        let pointers: Vec<_> = e.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, vec!["/from", "/route"]);
        let e = parse_filter(&q("2020-01-01", "2026-11-01", ""), now).unwrap_err();
        assert_eq!(e[0].pointer, "/from");
        let d = parse_filter(&DashQuery::default(), now).unwrap();
        assert_eq!((d.to - d.from).num_days(), 30);
        assert_eq!(serde_urlencoded_pairs(&[("a", "x y".into())]), "a=x%20y");
    }
}
