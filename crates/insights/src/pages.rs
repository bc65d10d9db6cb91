//! `/insights` and its sub-pages, the CSV downloads and the start-page panels. Every page reads
//! the newest snapshot (no query over customers or travel records) and says when it was taken.
//! Nothing on these pages identifies a person: groups below k read "fewer than k", and no
//! figure links to a customer.

use std::sync::Arc;

use aloft_authz::{Access, Principal, RoutePolicy, current_principal};
use aloft_kernel::{AccessContext, ApiError, Auditor};
use aloft_web::kit::{self, BarChart, Column, Crumb, DataTable, Field, FieldKind, FormErrors, Tab};
use aloft_web::{HomePanel, Section, layout, page};
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use maud::{Markup, html};
use serde::Deserialize;

use crate::model::{Cell, Snapshot, Table};
use crate::permissions::{AGGREGATES_READ, POPULATION_READ, RETAIL_READ, TRAVEL_READ};
use crate::storage::{InsightsStore, tables};

/// The navigation section of the insights pages.
pub const SECTION: Section = Section::new("insights");

/// Who may open each route.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/insights", Access::Permission(AGGREGATES_READ)),
    RoutePolicy::new(
        "GET",
        "/insights/customers",
        Access::Permission(POPULATION_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/insights/customers.csv",
        Access::Permission(POPULATION_READ),
    ),
    RoutePolicy::new("GET", "/insights/travel", Access::Permission(TRAVEL_READ)),
    RoutePolicy::new(
        "GET",
        "/insights/travel.csv",
        Access::Permission(TRAVEL_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/insights/purchases",
        Access::Permission(RETAIL_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/insights/purchases.csv",
        Access::Permission(RETAIL_READ),
    ),
];

/// What the pages need.
#[derive(Clone, Debug)]
pub struct PagesState {
    /// The snapshots.
    pub store: InsightsStore,
    /// Records CSV downloads.
    pub auditor: Option<Auditor>,
}

/// One area of the insights: a sub-page with its tables.
struct Area {
    slug: &'static str,
    title: &'static str,
    intro: &'static str,
    permission: aloft_authz::Permission,
    tables: &'static [&'static str],
    /// The overview's link to the area.
    link: &'static str,
}

const CUSTOMERS: Area = Area {
    slug: "customers",
    title: "Customers",
    intro: "Who the customers are: loyalty tier, age band, nationality, home airport and standing special service requests.",
    permission: POPULATION_READ,
    link: "All customer aggregates",
    tables: &[
        tables::TIER.id,
        tables::AGE.id,
        tables::NATIONALITY.id,
        tables::HOME_AIRPORT.id,
        tables::SSR.id,
    ],
};

const TRAVEL: Area = Area {
    slug: "travel",
    title: "Travel",
    intro: "Where and how customers fly: routes, cabins and months of departure (cancelled flights not counted). Travellers are distinct customers; flights count every booked flight.",
    permission: TRAVEL_READ,
    link: "All travel aggregates",
    tables: &[tables::ROUTE.id, tables::CABIN.id, tables::MONTH.id],
};

const PURCHASES: Area = Area {
    slug: "purchases",
    title: "Purchases and preferences",
    intro: "What customers buy in the shops and as ancillaries, and the preference mix they state: seat, special meal and drink.",
    permission: RETAIL_READ,
    link: "All purchase and preference aggregates",
    tables: &[
        tables::CATEGORY.id,
        tables::PRODUCT.id,
        tables::MEAL_ORDER.id,
        tables::SEAT.id,
        tables::MEAL.id,
        tables::DRINK.id,
    ],
};

const AREAS: [&Area; 3] = [&CUSTOMERS, &TRAVEL, &PURCHASES];

/// The routes.
pub fn page_routes(state: PagesState) -> Router {
    Router::new()
        .route("/insights", get(overview))
        .route(
            "/insights/customers",
            get(|s, q| area_page(s, q, &CUSTOMERS)),
        )
        .route(
            "/insights/customers.csv",
            get(|s, c, q| csv(s, c, q, &CUSTOMERS)),
        )
        .route("/insights/travel", get(|s, q| area_page(s, q, &TRAVEL)))
        .route("/insights/travel.csv", get(|s, c, q| csv(s, c, q, &TRAVEL)))
        .route(
            "/insights/purchases",
            get(|s, q| area_page(s, q, &PURCHASES)),
        )
        .route(
            "/insights/purchases.csv",
            get(|s, c, q| csv(s, c, q, &PURCHASES)),
        )
        .with_state(state)
}

/// "as of 06:30 UTC, 6 Dec 2026".
fn as_of(s: &Snapshot) -> String {
    s.computed_at.format("%H:%M UTC, %-d %b %Y").to_string()
}

fn subtitle(s: Option<&Snapshot>, k: u64) -> Markup {
    html! {
        @match s {
            Some(s) => {
                "As of " time datetime=(s.computed_at.to_rfc3339()) { (as_of(s)) } ". "
                "Pseudonymised: no names, ids or contacts; groups of fewer than " (s.min_group) " customers are not shown."
            }
            None => { "Pseudonymised aggregates; groups of fewer than " (k) " customers are not shown." }
        }
    }
}

fn can(p: Option<&Principal>, perm: aloft_authz::Permission) -> bool {
    p.is_some_and(|p| p.can(perm))
}

fn area_tabs(current: Option<&str>) -> Markup {
    let principal = current_principal();
    let mut items = vec![Tab {
        label: "Overview",
        href: "/insights",
        current: current.is_none(),
    }];
    let hrefs = [
        "/insights/customers",
        "/insights/travel",
        "/insights/purchases",
    ];
    for (area, href) in AREAS.iter().zip(hrefs) {
        if can(principal.as_ref(), area.permission) {
            items.push(Tab {
                label: area.title,
                href,
                current: current == Some(area.slug),
            });
        }
    }
    kit::tabs("Insights", &items)
}

fn not_yet() -> Markup {
    kit::empty_state(
        "The first snapshot is being computed",
        "Aggregates are computed in the background when Aloft starts and every few minutes after. Reload this page in a minute.",
        Some(html! { a href="" { "Reload" } }),
    )
}

/// The visible groups of `t` as bars (at most `n`): hidden groups have no bar.
fn bars(t: &Table, n: usize) -> BarChart {
    bars_titled(t, n, t.title.clone())
}

fn bars_titled(t: &Table, n: usize, title: String) -> BarChart {
    BarChart {
        title,
        unit: t.people_label.to_lowercase(),
        bars: t
            .rows
            .iter()
            .filter_map(|r| r.people.count().map(|c| (r.label.clone(), c)))
            .take(n)
            .collect(),
    }
}

fn hidden_note(t: &Table) -> Markup {
    let (s, w) = (t.suppressed(), t.withheld());
    let k = t.rows.iter().find_map(|r| match r.people {
        Cell::FewerThan(k) => Some(k),
        _ => None,
    });
    html! {
        @if s + w > 0 {
            p.muted.insight-note {
                "Hidden: " (s) " group" @if s != 1 { "s" }
                @if let Some(k) = k { " of fewer than " (k) " " (t.people_label.to_lowercase()) }
                @if w > 0 { ", and " (w) " more withheld so that " @if s == 1 { "it" } @else { "they" } " cannot be worked out from the totals" }
                "."
            }
        }
    }
}

fn cell(c: Cell) -> Markup {
    match c {
        Cell::Count(_) => html! { (c.text()) },
        _ => html! { span.muted { (c.text()) } },
    }
}

/// A table's card: a chart of the largest visible groups, the table of `rows` groups, the note
/// on hidden groups and the CSV link.
fn table_card(t: &Table, area: &Area, rows: usize, by_name: bool) -> Markup {
    let mut shown: Vec<&crate::model::Row> = t.rows.iter().collect();
    if by_name {
        shown.sort_by(|a, b| a.label.cmp(&b.label));
    }
    let total = shown.len();
    // A dimension with its own order (tiers, age bands, months) is read whole.
    if !t.ordered {
        shown.truncate(rows);
    }
    let mut columns = vec![
        Column::new("Group"),
        Column::new(t.people_label.clone()).numeric(),
    ];
    if let Some(v) = &t.volume_label {
        columns.push(Column::new(v.clone()).numeric());
    }
    let body: Vec<Vec<Markup>> = shown
        .iter()
        .map(|r| {
            let mut row = vec![
                html! { (r.label) @if let Some(d) = &r.detail { br; small.muted { (d) } } },
                cell(r.people),
            ];
            if t.volume_label.is_some() {
                row.push(r.volume.map(cell).unwrap_or_else(|| html! {}));
            }
            row
        })
        .collect();
    let anchor = t.id.replace('.', "-");
    let visible = t.rows.iter().filter(|r| r.people.count().is_some()).count();
    let caption = if total > shown.len() {
        format!("{} of {} groups", shown.len(), total)
    } else {
        format!("All {total} group{}", if total == 1 { "" } else { "s" })
    };
    kit::panel(
        &anchor,
        &t.title,
        html! {
            @if t.rows.is_empty() {
                (kit::empty_state("Nothing to count yet", "No customer has data for this table yet.", None))
            } @else {
                div.insight-body {
                    @if visible > 0 {
                        @if t.ordered {
                            (bars_titled(t, 24, format!("{} per group", t.people_label)).render())
                        } @else {
                            (bars_titled(t, 8, format!("Largest groups ({})", t.people_label.to_lowercase())).render())
                        }
                    }
                    div {
                        (DataTable::new(caption, columns).rows(body).id(format!("{anchor}-table")).render())
                        (hidden_note(t))
                    }
                }
            }
            p { a href={ "/insights/" (area.slug) ".csv?table=" (t.id) } download { "Download CSV" span.visually-hidden { " of " (t.title) } } }
        },
    )
}

#[derive(Debug, Deserialize, Default)]
struct ViewQuery {
    #[serde(default)]
    rows: Option<String>,
    #[serde(default)]
    order: Option<String>,
}

async fn overview(State(state): State<PagesState>) -> Result<Response, ApiError> {
    let snapshot = state.store.latest().await?;
    let principal = current_principal();
    let p = principal.as_ref();
    let body = match &snapshot {
        None => not_yet(),
        Some(s) => html! {
            (kit::stats(&[
                ("Customers", s.population.text(), None),
                ("Travellers", s.travellers.text(), None),
                ("Flights booked", s.flights.text(), None),
                ("Buyers", s.buyers.text(), None),
            ]))
            div.panels {
                @for area in AREAS {
                    @if can(p, area.permission) {
                        div.panel-slot {
                            (kit::panel(&format!("insights-{}", area.slug), area.title, html! {
                                p { (area.intro) }
                                @if let Some(t) = s.table(area.tables[0]) {
                                    (bars(t, 5).render())
                                    (hidden_note(t))
                                }
                                p { a href={ "/insights/" (area.slug) } { (area.link) } }
                            }))
                        }
                    }
                }
            }
        },
    };
    Ok(page(
        StatusCode::OK,
        layout(
            "Insights",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Insights", Some(subtitle(snapshot.as_deref(), state.store.min_group())), None))
                (area_tabs(None))
                (body)
            },
        ),
    ))
}

async fn area_page(
    State(state): State<PagesState>,
    Query(q): Query<ViewQuery>,
    area: &'static Area,
) -> Result<Response, ApiError> {
    let snapshot = state.store.latest().await?;
    let rows = match q.rows.as_deref() {
        Some("25") => 25,
        Some("100") => 100,
        Some("all") => usize::MAX,
        _ => 10,
    };
    let rows_value = match rows {
        25 => "25",
        100 => "100",
        usize::MAX => "all",
        _ => "10",
    };
    let by_name = q.order.as_deref() == Some("name");
    let path = format!("/insights/{}", area.slug);
    let none = FormErrors::new();
    let filters = kit::filter_bar(
        &path,
        "Table view",
        html! {
            (Field::new("rows", "Rows per table", FieldKind::Select(vec![
                ("10".into(), "10".into()), ("25".into(), "25".into()), ("100".into(), "100".into()), ("all".into(), "All".into()),
            ])).value(Some(rows_value)).render(&none))
            (Field::new("order", "Order", FieldKind::Select(vec![
                ("size".into(), "Largest first".into()), ("name".into(), "By name".into()),
            ])).value(Some(if by_name { "name" } else { "size" })).render(&none))
        },
        &path,
    );
    let body = match &snapshot {
        None => not_yet(),
        Some(s) => html! {
            p { (area.intro) }
            (filters)
            nav.insight-toc aria-label="Tables on this page" {
                ul {
                    @for id in area.tables {
                        @if let Some(t) = s.table(id) {
                            li { a href={ "#" (t.id.replace('.', "-")) } { (t.title) } }
                        }
                    }
                }
            }
            div.panels {
                @for id in area.tables {
                    @if let Some(t) = s.table(id) { div."panel-slot".wide { (table_card(t, area, rows, by_name)) } }
                }
            }
        },
    };
    Ok(page(
        StatusCode::OK,
        layout(
            area.title,
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }, Crumb { label: "Insights", href: "/insights" }],
                    area.title,
                    Some(subtitle(snapshot.as_deref(), state.store.min_group())),
                    None,
                ))
                (area_tabs(Some(area.slug)))
                (body)
            },
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct CsvQuery {
    table: String,
}

async fn csv(
    State(state): State<PagesState>,
    ctx: AccessContext,
    Query(q): Query<CsvQuery>,
    area: &'static Area,
) -> Result<Response, ApiError> {
    if !area.tables.contains(&q.table.as_str()) {
        return Err(ApiError::NotFound("aggregate table"));
    }
    let snapshot = state
        .store
        .latest()
        .await?
        .ok_or(ApiError::NotFound("aggregate table"))?;
    let table = snapshot
        .table(&q.table)
        .ok_or(ApiError::NotFound("aggregate table"))?;
    if let Some(a) = &state.auditor {
        a.record_all(vec![ctx.entry(
            crate::events::audit::EXPORTED,
            "insights_table",
            Some(format!("{}@{}", table.id, snapshot.id)),
            vec![],
            "success",
        )])
        .await
        .map_err(|_| {
            ApiError::Unavailable("the audit trail cannot record the download; try again".into())
        })?;
    }
    let name = format!(
        "aloft-{}-{}.csv",
        table.id.replace('.', "-"),
        snapshot.computed_at.format("%Y%m%dT%H%MZ")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        table.to_csv(),
    )
        .into_response())
}

/// The start-page panels: the population with its tiers (marketing, analysts, loyalty), the top
/// routes (marketing, analysts), and the purchase and preference mix (retail, analysts).
pub fn home_panels(store: InsightsStore) -> Vec<HomePanel> {
    let population = {
        let store = store.clone();
        HomePanel::new(
            "insights-population",
            Access::Permission(POPULATION_READ),
            50,
            move |_p| {
                let store = store.clone();
                async move {
                    panel_body(&store, "insights-population", "Customer population", ("/insights/customers", "All customer aggregates"), |s| {
                    html! {
                        (kit::stats(&[("Customers", s.population.text(), None), ("Travellers", s.travellers.text(), None)]))
                        @if let Some(t) = s.table(tables::TIER.id) { (bars(t, 6).render()) (hidden_note(t)) }
                    }
                })
                .await
                }
            },
        )
    };
    let routes = {
        let store = store.clone();
        HomePanel::new(
            "insights-routes",
            Access::Permission(TRAVEL_READ),
            51,
            move |_p| {
                let store = store.clone();
                async move {
                    panel_body(&store, "insights-routes", "Top routes", ("/insights/travel", "All travel aggregates"), |s| {
                    html! { @if let Some(t) = s.table(tables::ROUTE.id) { (bars(t, 5).render()) (hidden_note(t)) } }
                })
                .await
                }
            },
        )
    };
    let purchases = {
        let store = store.clone();
        HomePanel::new(
            "insights-purchases",
            Access::Permission(RETAIL_READ),
            52,
            move |_p| {
                let store = store.clone();
                async move {
                    panel_body(&store, "insights-purchases", "Purchase mix", ("/insights/purchases", "All purchase aggregates"), |s| {
                    html! {
                        (kit::stats(&[("Buyers", s.buyers.text(), None)]))
                        @if let Some(t) = s.table(tables::CATEGORY.id) { (bars(t, 6).render()) (hidden_note(t)) }
                        @if let Some(t) = s.table(tables::PRODUCT.id) { (bars(t, 5).render()) }
                    }
                })
                .await
                }
            },
        )
    };
    let preferences =
        HomePanel::new(
            "insights-preferences",
            Access::Permission(RETAIL_READ),
            53,
            move |_p| {
                let store = store.clone();
                async move {
                    panel_body(
                    &store,
                    "insights-preferences",
                    "Preference mix",
                    ("/insights/purchases#preferences-seat", "All preference aggregates"),
                    |s| {
                        html! {
                            @if let Some(t) = s.table(tables::SEAT.id) { (bars(t, 5).render()) }
                            @if let Some(t) = s.table(tables::MEAL.id) { (bars(t, 5).render()) }
                            @if let Some(t) = s.table(tables::DRINK.id) { (bars(t, 5).render()) }
                        }
                    },
                )
                .await
                }
            },
        );
    vec![population, routes, purchases, preferences]
}

async fn panel_body(
    store: &InsightsStore,
    id: &str,
    title: &str,
    (href, link): (&str, &str),
    body: impl FnOnce(&Arc<Snapshot>) -> Markup,
) -> Markup {
    let content = match store.latest().await {
        Ok(Some(s)) => html! {
            p.muted { "As of " (as_of(&s)) "; groups under " (s.min_group) " not shown." }
            (body(&s))
            p { a href=(href) { (link) } }
        },
        Ok(None) => {
            html! { p { "The first snapshot of the aggregates is being computed; it appears here within a minute." } }
        }
        Err(_) => html! { p role="status" { "The aggregates cannot be read just now." } },
    };
    kit::panel(id, title, content)
}
