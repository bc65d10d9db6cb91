//! The development mail catcher: when no SMTP server is configured, the `mail.send` job keeps
//! each message instead of sending it, and these pages list and show what was kept, so
//! developers and testers see exactly what a customer would have received.
//!
//! The pages show recipients and full texts, so they need [`MAIL_CATCHER_READ`]; in production
//! (an SMTP server configured) nothing is kept for them and they list nothing.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use http::StatusCode;
use maud::html;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::db::{Database, to_db_time};
use aloft_web::{Section, layout, page};

use crate::permissions::MAIL_CATCHER_READ;

/// The catcher's section of the workspace.
pub const SECTION: Section = Section::new("mail");

/// How many kept messages the list shows.
const LIST_LIMIT: i64 = 200;

/// Who may open the catcher's pages.
pub const CATCHER_POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/mail/catcher",
        Access::Permission(MAIL_CATCHER_READ),
    ),
    RoutePolicy::new(
        "GET",
        "/mail/catcher/{id}",
        Access::Permission(MAIL_CATCHER_READ),
    ),
];

/// `/mail/catcher` (the list) and `/mail/catcher/{id}` (one message).
pub fn catcher_routes(db: Database) -> Router {
    Router::new()
        .route("/mail/catcher", get(list_page))
        .route("/mail/catcher/{id}", get(message_page))
        .with_state(db)
}

const UNAVAILABLE: &str = "The kept mail cannot be read right now. Please try again in a moment.";

async fn list_page(State(db): State<Database>) -> Response {
    let found = crate::caught(&db, LIST_LIMIT).await;
    let status = if found.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let markup = html! {
        h1 { "Mail catcher" }
        p { "No SMTP server is configured, so outgoing mail is kept here instead of being sent. Newest first." }
        section aria-label="Kept mail" {
            @match &found {
                Err(_) => p role="alert" { (UNAVAILABLE) },
                Ok(messages) if messages.is_empty() => p { "No mail has been kept." },
                Ok(messages) => {
                    p { (messages.len()) " message(s)" @if messages.len() as i64 == LIST_LIMIT { " (the newest " (LIST_LIMIT) " shown)" } "." }
                    div.table-wrap {
                        table {
                            caption.muted { "Kept mail" }
                            thead { tr {
                                th scope="col" { "Kept at (UTC)" }
                                th scope="col" { "To" }
                                th scope="col" { "Subject" }
                                th scope="col" { "Template" }
                                th scope="col" { "Language" }
                            } }
                            tbody {
                                @for m in messages {
                                    tr {
                                        td { (m.delivered_at.map(to_db_time).unwrap_or_default()) }
                                        td { (m.to) }
                                        td { a href={ "/mail/catcher/" (m.id) } { (m.subject) } }
                                        td { (m.template) }
                                        td { (m.language) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(status, layout("Mail catcher", SECTION, markup))
}

async fn message_page(State(db): State<Database>, Path(id): Path<String>) -> Response {
    let (status, title, markup) = match crate::caught_one(&db, &id).await {
        Ok(Some(m)) => (
            StatusCode::OK,
            m.subject.clone(),
            html! {
                h1 { (m.subject) }
                dl {
                    dt { "To" } dd { (m.to) }
                    dt { "Template" } dd { (m.template) " (" (m.language) ")" }
                    dt { "Queued at (UTC)" } dd { (to_db_time(m.queued_at)) }
                    dt { "Idempotency key" } dd { code { (m.idempotency_key) } }
                }
                section aria-labelledby="text-part" {
                    h2 #text-part { "Plain text" }
                    pre { (m.text) }
                }
                @if let Some(html_body) = &m.html {
                    section aria-labelledby="html-part" {
                        h2 #html-part { "HTML (source)" }
                        pre { code { (html_body) } }
                    }
                }
            },
        ),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "Not found".to_owned(),
            html! {
                h1 { "No such kept message" }
                p { "The catcher kept no message with this id." }
            },
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable".to_owned(),
            html! {
                h1 { "Cannot show the message now" }
                p role="alert" { (UNAVAILABLE) }
            },
        ),
    };
    page(
        status,
        layout(
            &title,
            SECTION,
            html! { (markup) p { a href="/mail/catcher" { "Back to the mail catcher" } } },
        ),
    )
}
