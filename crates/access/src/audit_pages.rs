//! The audit trail in the web UI, for the data privacy officer and security operations: search by
//! record, actor or action (newest first), and verify the hash chain on demand.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use maud::html;
use serde::Deserialize;

use aloft_kernel::audit::{self, AuditAction, AuditFilter};
use aloft_kernel::db::Database;

/// The audit section of the workspace.
pub const SECTION: Section = Section::new("audit");
use aloft_web::{Section, layout, page};

/// Only those who answer for security and privacy read the trail.
pub const POLICY: &[aloft_authz::RoutePolicy] = {
    use crate::permissions::AUDIT_READ;
    use aloft_authz::{Access, RoutePolicy};
    &[
        RoutePolicy::new("GET", "/audit", Access::Permission(AUDIT_READ)),
        RoutePolicy::new("GET", "/audit/verify", Access::Permission(AUDIT_READ)),
    ]
};

/// What the audit pages work with: the trail's database and every action the application
/// records (the filter offers them by name).
#[derive(Clone)]
struct Trail {
    db: Database,
    actions: std::sync::Arc<Vec<AuditAction>>,
}

/// `/audit` and `/audit/verify`, offering `actions` in the filter.
pub fn routes(db: Database, mut actions: Vec<AuditAction>) -> Router {
    actions.sort();
    actions.dedup();
    Router::new()
        .route("/audit", get(search_page))
        .route("/audit/verify", get(verify_page))
        .with_state(Trail {
            db,
            actions: std::sync::Arc::new(actions),
        })
}

#[derive(Debug, Default, Deserialize)]
struct Form {
    #[serde(default)]
    resource_id: String,
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    action: String,
}

fn non_empty(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

async fn search_page(State(trail): State<Trail>, Query(form): Query<Form>) -> Response {
    let db = trail.db;
    let filter = AuditFilter {
        resource_id: non_empty(&form.resource_id),
        actor_id: non_empty(&form.actor_id),
        action: non_empty(&form.action),
        limit: 200,
    };
    let found = audit::search(&db, &filter).await;
    let status = if found.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let markup = html! {
        h1 { "Audit trail" }
        p { "Every read and change of customer data: who, when, which record and fields (names only), from where. "
            a href="/audit/verify" { "Verify the chain" } }
        form method="get" action="/audit" {
            div.grid {
                div {
                    label for="resource_id" { "Record id (customer id)" }
                    input #resource_id name="resource_id" value=(form.resource_id) autocomplete="off";
                }
                div {
                    label for="actor_id" { "Actor" }
                    input #actor_id name="actor_id" value=(form.actor_id) autocomplete="off";
                }
                div {
                    label for="action" { "Action" }
                    select #action name="action" {
                        option value="" { "Any" }
                        @for a in trail.actions.iter() {
                            option value=(a.as_str()) selected[form.action == a.as_str()] { (a.as_str()) }
                        }
                    }
                }
            }
            button type="submit" { "Search" }
        }
        section aria-label="Audit records" {
            @match &found {
                Err(_) => p role="alert" { "The audit trail cannot be read right now. Please try again in a moment." },
                Ok(records) if records.is_empty() => p { "No audit record matches." },
                Ok(records) => {
                    p { (records.len()) " record(s), newest first" @if records.len() == 200 { " (the newest 200 shown; narrow the search)" } "." }
                    div.table-wrap {
                        table {
                            caption.muted { "Audit records" }
                            thead { tr {
                                th scope="col" { "#" } th scope="col" { "When (UTC)" } th scope="col" { "Actor" }
                                th scope="col" { "Role" } th scope="col" { "Action" } th scope="col" { "Record" }
                                th scope="col" { "Fields" } th scope="col" { "Outcome" } th scope="col" { "Client" }
                                th scope="col" { "Request id" }
                            } }
                            tbody {
                                @for r in records {
                                    tr {
                                        td { (r.sequence) }
                                        td { (r.occurred_at) }
                                        td { (r.actor_id) }
                                        td { (r.actor_role) }
                                        td { (r.action) }
                                        td {
                                            @match (&r.resource_type[..], &r.resource_id) {
                                                ("customer", Some(id)) => a href={ "/customers/" (id) } { (id) },
                                                (_, Some(id)) => (id),
                                                _ => "—",
                                            }
                                        }
                                        td { (r.fields.join(", ")) }
                                        td { (r.outcome) }
                                        td { (r.client_address.as_deref().unwrap_or("—")) }
                                        td { small { (r.request_id) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(status, layout("Audit trail", SECTION, markup))
}

async fn verify_page(State(trail): State<Trail>) -> Response {
    let db = trail.db;
    let (status, markup) = match audit::verify(&db).await {
        Ok(Ok(n)) => (
            StatusCode::OK,
            html! {
                h1 { "Audit chain verified" }
                p role="status" { "All " (n) " record(s) are intact: every hash and every link checks out." }
            },
        ),
        Ok(Err(broken)) => (
            StatusCode::OK,
            html! {
                h1 { "Audit chain broken" }
                p role="alert" { (broken.to_string()) ". Records from this one on cannot be trusted; preserve the database and investigate." }
                p { a href={ "/audit?resource_id=" } { "Search the trail" } }
            },
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            html! {
                h1 { "Cannot verify now" }
                p role="alert" { "The audit trail cannot be read right now. Please try again in a moment." }
            },
        ),
    };
    page(
        status,
        layout(
            "Audit chain",
            SECTION,
            html! { (markup) p { a href="/audit" { "Back to the audit trail" } } },
        ),
    )
}
