//! The passenger's consent page in the portal (`/my/consent`; issue 21, item 1 self-service):
//! every purpose with its current state per channel, the notice text and its version, the
//! history; giving or withdrawing per purpose and channel (recorded with source `self_service`
//! and the session as proof); the "my data" button that opens an access request, and the
//! passenger's requests with their deadlines.
//!
//! Like every portal page: the passenger permission, the customer id only from the session's
//! row scope (never from the form), every read audited before it is shown.

use aloft_authz::{Access, RoutePolicy, current_principal};
use aloft_customers::permissions::{OWN_PROFILE, OWN_RECORD};
use aloft_kernel::AccessContext;
use aloft_vocab::CustomerId;
use aloft_web::kit::{self, Column, DataTable, FormData, Tone};
use aloft_web::portal::layout;
use aloft_web::{HomePanel, PortalEntry, csrf_field, page};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use crate::model::{Kind, PURPOSES, parse_change};
use crate::requests::{NewRequest, RequestKind};
use crate::service::{Filter, Requests};
use crate::store::ConsentRecord;

const OWN: Access = Access::Permission(OWN_PROFILE);
const TAB: &str = "/my/consent";

/// Who may open the pages: the signed-in passenger.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/my/consent", OWN),
    RoutePolicy::new("POST", "/my/consent", OWN),
    RoutePolicy::new("POST", "/my/consent/data-request", OWN),
];

/// The pages.
pub fn routes(requests: Requests) -> Router {
    Router::new()
        .route("/my/consent", get(show).post(change))
        .route("/my/consent/data-request", post(data_request))
        .with_state(requests)
}

/// The portal tab.
pub fn entries() -> Vec<PortalEntry> {
    vec![PortalEntry {
        label: "Consents",
        href: TAB,
        order: 60,
    }]
}

/// The overview panel: a pointer to the page (no data, so nothing to audit).
pub fn panels() -> Vec<HomePanel> {
    vec![HomePanel::new("my-consents", OWN, 60, |_| async {
        kit::panel(
            "my-consents",
            "My consents",
            html! {
                p { "Choose what we may use your data for, and ask for a copy of everything we hold about you." }
                p { a href=(TAB) { "Your privacy choices" } }
            },
        )
    })]
}

/// The signed-in passenger's customer id (from the session's row scope only).
fn own() -> Option<CustomerId> {
    current_principal().and_then(|p| p.scope.value_of(OWN_RECORD).and_then(CustomerId::parse))
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Your privacy",
            TAB,
            kit::notice(
                "Your privacy choices cannot be shown just now. Please try again in a moment.",
                Tone::Bad,
            ),
        ),
    )
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            "Your privacy",
            TAB,
            kit::empty_state("No profile", "Your account has no profile yet.", None),
        ),
    )
}

fn state_words(r: Option<&ConsentRecord>) -> Markup {
    match r {
        Some(r) if r.granted => kit::badge("On", Tone::Good),
        Some(_) => kit::badge("Off", Tone::Neutral),
        None => kit::badge("Not chosen — off", Tone::Neutral),
    }
}

fn toggle(purpose: &str, channel: &str, on: bool, label: &str) -> Markup {
    let what = if on { "Turn off" } else { "Turn on" };
    html! {
        form.inline method="post" action=(TAB) {
            (csrf_field())
            input type="hidden" name="purpose" value=(purpose);
            input type="hidden" name="channel" value=(channel);
            input type="hidden" name="granted" value=(if on { "false" } else { "true" });
            button.secondary type="submit" aria-label={ (what) ": " (label) " (" (channel) ")" } { (what) }
        }
    }
}

/// `GET /my/consent`: the page.
async fn show(State(requests): State<Requests>, ctx: AccessContext) -> Response {
    let Some(id) = own() else {
        return not_found();
    };
    let (consents, mine) = match (
        requests.consents().consents(id, &ctx).await,
        requests.list(Filter::All, Some(id), &ctx).await,
    ) {
        (Ok(c), Ok(m)) => (c, m),
        (Err(crate::store::ConsentError::UnknownCustomer), _) => return not_found(),
        _ => return unavailable(),
    };
    let body = html! {
        (kit::page_header(&[], "Your privacy", Some(html! { "What we may use your data for. Change it any time; every change is kept as a record." }), None))
        section aria-labelledby="choices-h" {
            h2 #choices-h { "Your choices" }
            @for p in PURPOSES {
                article.purpose aria-labelledby={ "p-" (p.code) } {
                    h3 id={ "p-" (p.code) } { (p.description) }
                    p { (p.notices.last().map(|n| n.1).unwrap_or("")) }
                    p { small.muted { "Notice version " (p.current_notice()) " · " (if p.kind == Kind::Subscription { "subscription" } else { "consent" }) } }
                    ul {
                        @for ch in p.channels {
                            @let current = consents.current.iter().find(|r| r.purpose == p.code && r.channel == *ch);
                            @let on = current.is_some_and(|r| r.granted);
                            li {
                                (if *ch == "any" { "All channels" } else { ch }) ": " (state_words(current)) " "
                                (toggle(p.code, ch, on, p.description))
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="my-data-h" {
            h2 #my-data-h { "Your data" }
            p { "Ask for a copy of everything we hold about you. We answer within one month." }
            form method="post" action="/my/consent/data-request" {
                (csrf_field())
                button type="submit" { "Request my data" }
            }
            @if !mine.is_empty() {
                (DataTable::new("Your requests about your data", vec![Column::new("Request"), Column::new("Status"), Column::new("We answer by")])
                    .id("my-requests")
                    .rows(mine.iter().map(|r| vec![
                        html! { (r.kind.label()) },
                        html! { (r.state.label()) },
                        html! { time datetime=(r.deadline) { (r.deadline) } },
                    ]).collect())
                    .render())
            }
        }
        @if !consents.history.is_empty() {
            section aria-labelledby="history-h" {
                h2 #history-h { "History" }
                (DataTable::new("Every choice recorded, newest first", vec![
                    Column::new("When (UTC)"), Column::new("Purpose"), Column::new("Channel"), Column::new("Choice"), Column::new("Notice"), Column::new("Where"),
                ])
                .id("my-consent-history")
                .rows(consents.history.iter().map(|r| vec![
                    html! { time datetime=(r.recorded_at) { (r.recorded_at.get(..16).unwrap_or(&r.recorded_at).replace('T', " ")) } },
                    html! { (crate::model::purpose(&r.purpose).map_or(r.purpose.as_str(), |p| p.description)) },
                    html! { (r.channel) },
                    html! { (if r.granted { "On" } else { "Off" }) },
                    html! { (r.notice_version) },
                    html! { (r.source.replace('_', " ")) },
                ]).collect())
                .render())
            }
        }
    };
    page(StatusCode::OK, layout("Your privacy", TAB, body))
}

/// The proof of a self-service change: the session (its id hash, never the secret) and the
/// request that carried it.
fn proof(ctx: &AccessContext) -> String {
    let session = current_principal()
        .and_then(|p| p.session)
        .unwrap_or_else(|| "token".into());
    format!("self-service session {session}, request {}", ctx.request_id)
}

/// `POST /my/consent`: gives or withdraws one purpose on one channel.
async fn change(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(id) = own() else {
        return not_found();
    };
    let data = FormData::from_pairs(pairs);
    let mut doc = serde_json::Map::new();
    for name in ["purpose", "channel"] {
        if let Some(v) = data.text(name) {
            doc.insert(name.into(), v.into());
        }
    }
    match data.text("granted") {
        Some("true") => doc.insert("granted".into(), true.into()),
        Some("false") => doc.insert("granted".into(), false.into()),
        _ => None,
    };
    doc.insert("source".into(), "self_service".into());
    doc.insert("proof".into(), proof(&ctx).into());
    let Ok(change) = parse_change(&serde_json::Value::Object(doc)) else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            layout(
                "Your privacy",
                TAB,
                html! {
                    (kit::notice("That choice is not one we offer. Nothing was changed.", Tone::Bad))
                    p { a href=(TAB) { "Back to your privacy choices" } }
                },
            ),
        );
    };
    match requests.consents().record(id, &change, &ctx).await {
        Ok(_) => kit::redirect_with_notice(
            TAB,
            if change.granted {
                "Turned on. Thank you."
            } else {
                "Turned off."
            },
        ),
        Err(_) => unavailable(),
    }
}

/// `POST /my/consent/data-request`: opens an access request; the signed-in session verifies
/// the identity, so it starts as `identity_verified`.
async fn data_request(State(requests): State<Requests>, ctx: AccessContext) -> Response {
    let Some(id) = own() else {
        return not_found();
    };
    // One open request is enough: a second click (or a script) does not open another.
    match requests.list(Filter::Open, Some(id), &ctx).await {
        Ok(open) => {
            if let Some(r) = open.iter().find(|r| r.kind == RequestKind::Access) {
                return kit::redirect_with_notice(
                    TAB,
                    &format!(
                        "We are already working on your request; we answer by {}.",
                        r.deadline
                    ),
                );
            }
        }
        Err(_) => return unavailable(),
    }
    let new = NewRequest {
        customer_id: id.to_string(),
        kind: RequestKind::Access,
        channel: "self_service",
        details: String::new(),
    };
    match requests
        .open(&new, Some("signed in to self-service"), &ctx)
        .await
    {
        Ok(r) => kit::redirect_with_notice(
            TAB,
            &format!(
                "We received your request and will answer by {}.",
                r.deadline
            ),
        ),
        Err(crate::service::RequestError::UnknownCustomer) => not_found(),
        Err(_) => unavailable(),
    }
}
