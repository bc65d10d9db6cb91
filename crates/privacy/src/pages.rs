//! The Consent tab of the customer 360° page (current consents, the full history with source
//! and proof, and the agent's form to record a consent given by phone or at the desk), and the
//! form's handler. Reads are audited like the API's.

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::{AccessContext, ApiError};
use aloft_vocab::CustomerId;
use aloft_web::kit::{self, Column, DataTable, Field, FieldKind, FormData, FormErrors, Tone};
use aloft_web::{Placement, RecordView, Section, layout, page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use maud::{Markup, html};

use crate::model::{PURPOSES, SOURCES, parse_change};
use crate::permissions::{CONSENT_READ, CONSENT_WRITE};
use crate::store::{ConsentRecord, ConsentStore};

const SECTION: Section = Section::new("customers");

/// Who may call each page route.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "POST",
    "/customers/{id}/consents",
    Access::Permission(CONSENT_WRITE),
)];

/// The page routes.
pub fn routes(store: ConsentStore) -> axum::Router {
    axum::Router::new()
        .route("/customers/{id}/consents", post(record_form))
        .with_state(store)
}

/// The Consent tab.
pub fn record_views(store: ConsentStore) -> Vec<RecordView> {
    vec![RecordView::new(
        "customer",
        "consent",
        "Consent",
        Access::Permission(CONSENT_READ),
        60,
        Placement::Tab,
        move |p, id, _| {
            let s = store.clone();
            async move {
                let can_write = p.can(CONSENT_WRITE);
                consent_tab(&s, &id, can_write).await
            }
        },
    )]
}

fn label_of(code: &str) -> &str {
    PURPOSES
        .iter()
        .find(|p| p.code == code)
        .map(|p| p.description)
        .unwrap_or(code)
}

fn state_badge(granted: bool) -> Markup {
    if granted {
        kit::badge("Given", Tone::Good)
    } else {
        kit::badge("Withdrawn", Tone::Neutral)
    }
}

fn history_table(history: &[ConsentRecord]) -> Markup {
    DataTable::new(
        "Every consent given or withdrawn, newest first (never overwritten)",
        vec![
            Column::new("When (UTC)"),
            Column::new("Purpose"),
            Column::new("Channel"),
            Column::new("State"),
            Column::new("Lawful basis"),
            Column::new("Notice"),
            Column::new("Source"),
            Column::new("Proof"),
        ],
    )
    .id("consent-history")
    .rows(
        history
            .iter()
            .map(|r| {
                vec![
                    html! { time datetime=(r.recorded_at) { (r.recorded_at.get(..16).unwrap_or(&r.recorded_at).replace('T', " ")) } },
                    html! { (label_of(&r.purpose)) },
                    html! { (r.channel) },
                    state_badge(r.granted),
                    html! { (r.lawful_basis) },
                    html! { (r.notice_version) },
                    html! { (r.source) },
                    html! { (r.proof) },
                ]
            })
            .collect(),
    )
    .render()
}

fn form(customer: &str, data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let purposes: Vec<(String, String)> = PURPOSES
        .iter()
        .map(|p| (p.code.to_owned(), p.description.to_owned()))
        .collect();
    let mut channels: Vec<(String, String)> =
        vec![("".into(), "The purpose's usual channel".into())];
    for c in ["email", "sms", "push", "any"] {
        channels.push((c.into(), c.into()));
    }
    let sources: Vec<(String, String)> = SOURCES
        .iter()
        .map(|s| (s.to_string(), s.replace('_', " ")))
        .collect();
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    html! {
        form method="post" action={ "/customers/" (customer) "/consents" } {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::new("purpose", "Purpose", FieldKind::Select(purposes)).value(value("purpose")).required().render(errors))
            (Field::new("channel", "Channel", FieldKind::Select(channels)).value(value("channel")).render(errors))
            (Field::new("granted", "Consent", FieldKind::Select(vec![("true".into(), "Given".into()), ("false".into(), "Withdrawn".into())])).value(value("granted")).required().render(errors))
            (Field::new("source", "Where the passenger said so", FieldKind::Select(sources)).value(value("source").or(Some("contact_centre".into()))).required().render(errors))
            (Field::text("proof", "Proof").hint("A reference to the evidence: call recording, form or letter number").value(value("proof")).required().render(errors))
            button type="submit" { "Record consent" }
        }
    }
}

async fn consent_tab(store: &ConsentStore, id: &str, can_write: bool) -> Markup {
    let Some(customer) = CustomerId::parse(id) else {
        return kit::empty_state("No such customer", "", None);
    };
    let ctx = AccessContext::current();
    let Ok(consents) = store.consents(customer, &ctx).await else {
        return kit::notice(
            "Consents cannot be loaded right now. Try again in a moment.",
            Tone::Bad,
        );
    };
    html! {
        section aria-labelledby="consent-now" {
            h2 #consent-now { "Consent now" }
            @if consents.current.is_empty() {
                (kit::empty_state("No consent recorded", "Without a consent given, this passenger is left out of marketing, partner sharing, personalisation and analytics audiences.", None))
            } @else {
                (DataTable::new("The latest consent per purpose and channel", vec![Column::new("Purpose"), Column::new("Channel"), Column::new("State"), Column::new("Since (UTC)")])
                    .id("consent-current")
                    .rows(consents.current.iter().map(|r| vec![
                        html! { (label_of(&r.purpose)) },
                        html! { (r.channel) },
                        state_badge(r.granted),
                        html! { (r.recorded_at.get(..10).unwrap_or(&r.recorded_at)) },
                    ]).collect()))
            }
        }
        @if can_write {
            section aria-labelledby="consent-record" {
                h2 #consent-record { "Record a consent" }
                (form(id, None, &FormErrors::new()))
            }
        }
        @if !consents.history.is_empty() {
            section aria-labelledby="consent-history-h" {
                h2 #consent-history-h { "History" }
                (history_table(&consents.history))
            }
        }
    }
}

async fn record_form(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let customer = CustomerId::parse(&id).ok_or(ApiError::NotFound("customer"))?;
    let data = FormData::from_pairs(pairs);
    let mut doc = serde_json::Map::new();
    for name in ["purpose", "channel", "source", "proof"] {
        if let Some(v) = data.text(name).filter(|v| !v.trim().is_empty()) {
            doc.insert(name.into(), serde_json::Value::String(v.to_owned()));
        }
    }
    match data.text("granted") {
        Some("true") => doc.insert("granted".into(), true.into()),
        Some("false") => doc.insert("granted".into(), false.into()),
        _ => None,
    };
    let change = match parse_change(&serde_json::Value::Object(doc)) {
        Ok(c) => c,
        Err(errs) => {
            let mut errors = FormErrors::new();
            for e in errs {
                errors.add(e.pointer.trim_start_matches('/'), e.detail);
            }
            return Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    "Record a consent",
                    SECTION,
                    html! {
                        nav aria-label="Breadcrumb" { a href="/customers" { "Customers" } " › " a href={ "/customers/" (customer) "?tab=consent" } { "Profile" } }
                        h1 { "Record a consent" }
                        (form(&id, Some(&data), &errors))
                    },
                ),
            ));
        }
    };
    store.record(customer, &change, &ctx).await?;
    Ok(kit::redirect_with_notice(
        &format!("/customers/{customer}?tab=consent"),
        "Consent recorded.",
    ))
}
