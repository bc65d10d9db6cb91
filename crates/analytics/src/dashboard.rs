//! The marketing manager's dashboard (`/analytics/marketing`): how big the saved segments are
//! now, what the next best actions did in a period (offered and accepted by action) and what
//! audiences were released with how many people left out for lack of consent. Counts only —
//! no customer is named, so nothing is audited. Charts are the kit's server-drawn SVG, each
//! with the table of its numbers.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Duration;
use maud::html;

use aloft_authz::{Access, RoutePolicy};
use aloft_web::kit::chart::BarChart;
use aloft_web::kit::{self, Column, Crumb, DataTable, Field, FieldKind, FormErrors, Tone};
use aloft_web::{layout, page};

use crate::audience::Audiences;
use crate::offers::Offers;
use crate::permissions::{OFFER_REPORT, SEGMENT_BUILD};
use crate::routes::{Period, period};
use crate::segment_pages::SECTION;
use crate::storage::SegmentStore;

/// The dashboard's path.
pub const PATH: &str = "/analytics/marketing";

/// The insights domain's permission for sentiment and complaint trends (`crates/insights`),
/// named here only to decide whether to link its service dashboard: no link that answers 403.
const SERVICE_DASHBOARD_READ: aloft_authz::Permission =
    aloft_authz::Permission::new("insights.sentiment.read");

/// Who may open it: segment builders (the offers part also needs `offer.report`).
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "GET",
    PATH,
    Access::Permission(SEGMENT_BUILD),
)];

#[derive(Clone)]
struct Dash {
    store: SegmentStore,
    offers: Offers,
    audiences: Audiences,
}

/// The route.
pub fn routes(store: SegmentStore, offers: Offers, audiences: Audiences) -> Router {
    Router::new().route(PATH, get(dashboard)).with_state(Dash {
        store,
        offers,
        audiences,
    })
}

async fn dashboard(State(d): State<Dash>, Query(p): Query<Period>) -> Response {
    let now = aloft_kernel::db::now();
    let mut errors = FormErrors::new();
    let (from, to) = match period(&p, now) {
        Ok(range) => range,
        Err(list) => {
            for e in list {
                errors.add(e.pointer.trim_start_matches('/'), e.detail);
            }
            (now - Duration::days(30), now)
        }
    };
    let show_offers = aloft_authz::current_principal().is_some_and(|p| p.can(OFFER_REPORT));
    let show_service =
        aloft_authz::current_principal().is_some_and(|p| p.can(SERVICE_DASHBOARD_READ));
    let (segments, sizes, exports) = match (
        d.store.saved_segments().await,
        d.store.sizes().await,
        d.audiences.exports(from, to, 50).await,
    ) {
        (Ok(s), Ok(n), Ok(e)) => (s, n, e),
        _ => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(
                    "Marketing dashboard",
                    SECTION,
                    kit::notice(
                        "The dashboard is unavailable right now; try again shortly.",
                        Tone::Bad,
                    ),
                ),
            );
        }
    };
    let lines = if show_offers {
        d.offers.report(from, to, now).await.ok()
    } else {
        None
    };
    let name_of = |id: &str| {
        segments
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    let mut bars: Vec<(String, u64)> = segments
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                u64::try_from(sizes.get(&s.id).copied().unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect();
    bars.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let released: i64 = exports.iter().map(|e| e.released).sum();
    let excluded: i64 = exports.iter().map(|e| e.excluded_no_consent).sum();
    let shown_to = to - Duration::microseconds(1);
    let from_value = p
        .from
        .clone()
        .filter(|_| errors.of("from").is_none())
        .or_else(|| Some(from.format("%Y-%m-%d").to_string()));
    let to_value =
        p.to.clone()
            .filter(|_| errors.of("to").is_none())
            .or_else(|| Some(shown_to.format("%Y-%m-%d").to_string()));
    let period_text = format!(
        "{} to {} (UTC)",
        from.format("%d %b %Y"),
        shown_to.format("%d %b %Y")
    );
    let exports_table = DataTable::new(
        format!("Audiences released from {period_text}, newest first"),
        vec![
            Column::new("Segment"),
            Column::new("Purpose"),
            Column::new("To"),
            Column::new("Members").numeric(),
            Column::new("Released").numeric(),
            Column::new("Excluded: no consent").numeric(),
            Column::new("Excluded: no contact").numeric(),
            Column::new("When (UTC)"),
        ],
    )
    .id("audience-exports")
    .rows(
        exports
            .iter()
            .map(|e| {
                vec![
                    html! { a href={ "/segments/" (e.segment_id) } { (name_of(&e.segment_id)) } },
                    html! { (e.purpose) },
                    html! { (if e.kind == "nats" { "marketing platform" } else { "CSV" }) },
                    html! { (e.members) },
                    html! { (e.released) },
                    html! { (e.excluded_no_consent) },
                    html! { (e.excluded_no_contact) },
                    html! { time datetime=(e.exported_at) { (e.exported_at.get(..16).unwrap_or(&e.exported_at).replace('T', " ")) } },
                ]
            })
            .collect(),
    );
    page(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        layout(
            "Marketing dashboard",
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    "Marketing dashboard",
                    Some(html! { "Segment sizes now; offers and audiences in the period. Counts only: no customer is named." }),
                    Some(html! { a.button href="/segments/new" { "New segment" } }),
                ))
                @if !errors.is_empty() { (kit::form::error_summary(&errors)) }
                (kit::filter_bar(
                    PATH,
                    "Period",
                    html! {
                        (Field::new("from", "From (UTC)", FieldKind::Input("date")).value(from_value).render(&errors))
                        (Field::new("to", "To (UTC, inclusive)", FieldKind::Input("date")).value(to_value).render(&errors))
                    },
                    PATH,
                ))
                (kit::stats(&[
                    ("Saved segments", segments.len().to_string(), None),
                    ("Audience members released", released.to_string(), None),
                    ("Left out: no consent", excluded.to_string(), None),
                ]))
                section #dashboard-segments aria-labelledby="dash-segments-title" {
                    h2 #dash-segments-title { "Segment sizes" }
                    @if bars.is_empty() {
                        (kit::empty_state("No saved segment yet", "Saved segments appear here with their sizes.", Some(html! { a href="/segments/new" { "New segment" } })))
                    } @else {
                        (BarChart { title: "Customers per saved segment, now".into(), unit: "customers".into(), bars }.render())
                    }
                }
                @if let Some(lines) = &lines {
                    section #dashboard-offers aria-labelledby="dash-offers-title" {
                        h2 #dash-offers-title { "Offers by action" }
                        (BarChart {
                            title: format!("Offers made from {period_text}, by action"),
                            unit: "offers".into(),
                            bars: lines.iter().map(|l| (l.label.clone(), u64::try_from(l.offered).unwrap_or(0))).collect(),
                        }.render())
                        (BarChart {
                            title: format!("Offers accepted from {period_text}, by action"),
                            unit: "accepted".into(),
                            bars: lines.iter().map(|l| (l.label.clone(), u64::try_from(l.accepted).unwrap_or(0))).collect(),
                        }.render())
                        p { a href="/offers/report" { "The full report by action" } }
                    }
                }
                @if show_service {
                    p #dashboard-service {
                        "Sentiment and complaints by route and topic, and disruption exposure: "
                        a href="/insights/service" { "the service dashboard" } "."
                    }
                }
                section aria-labelledby="dash-exports-title" {
                    h2 #dash-exports-title { "Audiences released" }
                    @if exports.is_empty() {
                        (kit::empty_state("No audience released in the period", "Exports and publications of a segment's audience appear here with how many people were left out for lack of consent.", None))
                    } @else {
                        (exports_table.render())
                    }
                }
            },
        ),
    )
}
