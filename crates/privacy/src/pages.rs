//! The Consent tab of the customer 360° page (current consents, the full history with source
//! and proof, and the agent's form to record a consent given by phone or at the desk), and the
//! form's handler; and the DPO console (`/privacy`: open requests overdue first with their
//! deadlines, consent per purpose, each request's page with its steps and the forms that move
//! and extend it, links to the customer's audit trail). Reads are audited like the API's.

use aloft_authz::{Access, RoutePolicy, current_principal};
use aloft_kernel::{AccessContext, ApiError};
use aloft_vocab::CustomerId;
use aloft_web::kit::{self, Column, DataTable, Field, FieldKind, FormData, FormErrors, Tone};
use aloft_web::{Placement, RecordView, Section, layout, page};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, html};

use crate::model::{PURPOSES, SOURCES, parse_change};
use crate::permissions::{CONSENT_READ, CONSENT_WRITE, HOLDS_MANAGE, REQUESTS_MANAGE};
use crate::requests::{
    CHANNELS, RequestKind, Urgency, parse_extension, parse_new, parse_transition,
};
use crate::service::{Filter, PrivacyRequest, RequestError, Requests};
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

// ---------------------------------------------------------------------------------------------
// The DPO console
// ---------------------------------------------------------------------------------------------

/// The privacy section of the workspace (the DPO console).
pub const CONSOLE: Section = Section::new("privacy");

/// Who may open the DPO console: the holder of `privacy.requests.manage` (the data privacy
/// officer alone).
pub const CONSOLE_POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/privacy", Access::Permission(REQUESTS_MANAGE)),
    RoutePolicy::new(
        "POST",
        "/privacy/requests",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/privacy/requests/{id}",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/requests/{id}/transition",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/requests/{id}/extension",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/requests/{id}/lift",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new("POST", "/privacy/holds", Access::Permission(HOLDS_MANAGE)),
    RoutePolicy::new(
        "POST",
        "/privacy/retention/run",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/holds/lift",
        Access::Permission(HOLDS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/shares",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/privacy/shares/{id}/csv",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/dp/budgets",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/dp/releases",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/partners",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/privacy/dp/budgets/raise",
        Access::Permission(REQUESTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/privacy/records-of-processing.csv",
        Access::Permission(REQUESTS_MANAGE),
    ),
];

/// The console's routes.
pub fn console_routes(requests: Requests) -> axum::Router {
    axum::Router::new()
        .route("/privacy", get(console))
        .route("/privacy/requests", post(open_form))
        .route("/privacy/requests/{id}", get(request_page))
        .route("/privacy/requests/{id}/transition", post(transition_form))
        .route("/privacy/requests/{id}/extension", post(extension_form))
        .route("/privacy/requests/{id}/lift", post(lift_form))
        .route("/privacy/holds", post(place_hold_post))
        .route("/privacy/retention/run", post(retention_run_post))
        .route("/privacy/records-of-processing.csv", get(records_csv))
        .route("/privacy/holds/lift", post(lift_hold_post))
        .route("/privacy/shares", post(share_post))
        .route("/privacy/shares/{id}/csv", get(share_csv))
        .route("/privacy/dp/budgets", post(budget_post))
        .route("/privacy/dp/releases", post(dp_release_post))
        .route("/privacy/partners", post(partner_post))
        .route("/privacy/dp/budgets/raise", post(raise_post))
        .with_state(requests)
}

fn urgency_badge(u: Urgency) -> Markup {
    match u {
        Urgency::Overdue => kit::badge("Overdue", Tone::Bad),
        Urgency::DueSoon => kit::badge("Due soon", Tone::Warn),
        Urgency::OnTrack => kit::badge("On track", Tone::Good),
        Urgency::Closed => kit::badge("Closed", Tone::Neutral),
    }
}

fn deadline_cell(r: &PrivacyRequest) -> Markup {
    html! {
        (urgency_badge(r.urgency)) " "
        time datetime=(r.deadline) { (r.deadline) }
        @if r.extended { " " (kit::badge("extended", Tone::Info)) }
    }
}

fn unavailable(title: &str) -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            title,
            CONSOLE,
            kit::notice(
                "Privacy requests cannot be read right now. Try again in a moment.",
                Tone::Bad,
            ),
        ),
    )
}

fn open_request_form(data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let kinds: Vec<(String, String)> = RequestKind::ALL
        .iter()
        .map(|k| (k.as_str().to_owned(), k.label().to_owned()))
        .collect();
    let channels: Vec<(String, String)> = CHANNELS
        .iter()
        .map(|c| (c.to_string(), c.replace('_', " ")))
        .collect();
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    html! {
        form method="post" action="/privacy/requests" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::text("customer_id", "Customer id").hint("The id of the person's profile (from their customer page)").value(value("customer_id")).required().render(errors))
            (Field::new("kind", "What the person asks for", FieldKind::Select(kinds)).value(value("kind")).required().render(errors))
            (Field::new("channel", "How it arrived", FieldKind::Select(channels)).value(value("channel").or(Some("email".into()))).required().render(errors))
            (Field::new("details", "What they wrote", FieldKind::TextArea).value(value("details")).render(errors))
            button type="submit" { "Open request" }
        }
    }
}

/// `GET /privacy/records-of-processing.csv`: the register, with the registered partners.
async fn records_csv(State(requests): State<Requests>) -> Response {
    match crate::sharing::partners(requests.consents().db()).await {
        Ok(partners) => crate::routes::records_csv_response(&partners),
        Err(_) => unavailable("Privacy"),
    }
}

fn records_section(partners: &[crate::sharing::Partner]) -> Markup {
    let r = crate::records::register(partners);
    html! {
        section aria-labelledby="records-h" {
            h2 #records-h { "Records of processing" }
            p {
                "Generated from the purpose register and the retention policies the system enforces (GDPR Art. 30). "
                a href="/privacy/records-of-processing.csv" download { "Download as CSV" }
                " · JSON at " code { "/api/v1/privacy/records-of-processing" }
            }
            (DataTable::new("Purposes of processing with lawful bases, data categories and recipients", vec![
                Column::new("Purpose"), Column::new("Lawful basis"), Column::new("Data categories"), Column::new("Recipients"),
            ])
            .id("records-purposes")
            .rows(r.purposes.iter().map(|p| vec![
                html! { (p.description) " " small.muted { "(" (p.purpose) ")" } },
                html! { (p.lawful_bases.join(", ").replace('_', " ")) @if p.required_by_law { " " (kit::badge("required by law", Tone::Info)) } },
                html! { (p.data_categories.join(", ")) },
                html! { (p.recipients.join(", ")) },
            ]).collect())
            .render())
            (DataTable::new("Retention periods as the daily job applies them", vec![
                Column::new("Data category"), Column::new("Kept (months)").numeric(), Column::new("Then"), Column::new("Why"),
            ])
            .id("records-retention")
            .rows(r.retention.iter().map(|p| vec![
                html! { (p.category) },
                html! { (p.months) },
                html! { (p.then) },
                html! { (p.reason) },
            ]).collect())
            .render())
            (DataTable::new("What the register states against what the system enforces", vec![
                Column::new("About"), Column::new("Stated"), Column::new("Enforced"),
            ])
            .id("records-consistency")
            .rows(r.consistency.iter().map(|c| vec![
                html! { @if c.consistent { (kit::badge("consistent", Tone::Good)) } @else { (kit::badge("not enforced", Tone::Bad)) } " " (c.subject) },
                html! { (c.stated) },
                html! { (c.enforced) },
            ]).collect())
            .render())
            (DataTable::new("Anonymised and aggregated disclosures to partners", vec![
                Column::new("Release"), Column::new("Attributes"), Column::new("Safeguard"),
            ])
            .id("records-disclosures")
            .rows(r.disclosures.iter().map(|d| vec![
                html! { (d.description) " " small.muted { "(" (d.kind) ")" } },
                html! { (d.attributes.join(", ").replace('_', " ")) },
                html! { (d.safeguard) },
            ]).collect())
            .render())
        }
    }
}

/// What the console shows besides requests: holds, past runs and the holds' forms.
struct Extra {
    partners: Vec<crate::sharing::Partner>,
    shares: Vec<crate::sharing::Share>,
    budgets: Vec<crate::dp::Budget>,
    holds: Vec<crate::holds::Hold>,
    runs: Vec<crate::retention::PastRun>,
    hold_form: Markup,
    lift_form: Markup,
    /// Whether the viewer may place and lift legal holds (`privacy.holds.manage`).
    can_hold: bool,
    share_form: Markup,
    budget_form: Markup,
    release_form: Markup,
    partner_form: Markup,
    raise_form: Markup,
}

fn place_hold_form(data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let mut cats: Vec<(String, String)> =
        vec![(String::new(), "— a person (give the customer id) —".into())];
    cats.extend(
        crate::holds::categories()
            .into_iter()
            .map(|c| (c.to_owned(), format!("all {c}"))),
    );
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    html! {
        form method="post" action="/privacy/holds" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::text("hold_customer_id", "Customer id").hint("The person whose data must be kept; leave empty to hold a whole data category").value(value("hold_customer_id")).render(errors))
            (Field::new("hold_category", "Or a data category", FieldKind::Select(cats)).value(value("hold_category")).render(errors))
            (Field::new("hold_reason", "Why it must be kept", FieldKind::TextArea).hint("The claim, investigation or audit; erasure is refused while the hold stands").value(value("hold_reason")).required().render(errors))
            (Field::text("hold_reference", "Matter reference").value(value("hold_reference")).render(errors))
            button type="submit" { "Place hold" }
        }
    }
}

fn lift_hold_form(
    holds: &[crate::holds::Hold],
    data: Option<&FormData>,
    errors: &FormErrors,
) -> Markup {
    let options: Vec<(String, String)> = holds
        .iter()
        .filter(|h| h.active)
        .map(|h| {
            let on = h
                .customer_id
                .as_deref()
                .map(|c| format!("person {c}"))
                .or_else(|| h.category.as_deref().map(|c| format!("all {c}")))
                .unwrap_or_default();
            (
                h.id.clone(),
                format!(
                    "{on}, placed {}",
                    h.placed_at.get(..10).unwrap_or(&h.placed_at)
                ),
            )
        })
        .collect();
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    html! {
        @if !options.is_empty() {
            form method="post" action="/privacy/holds/lift" {
                (aloft_web::csrf_field())
                (kit::error_summary(errors))
                (Field::new("lift_hold_id", "Hold", FieldKind::Select(options)).value(value("lift_hold_id")).required().render(errors))
                (Field::new("lift_hold_reason", "Why it can end", FieldKind::TextArea).value(value("lift_hold_reason")).required().render(errors))
                button type="submit" { "Lift hold" }
            }
        }
    }
}

/// The console's views, each at its own address (`/privacy?tab=…`), so the officer sees one
/// concern at a time instead of one page of everything; the counts above them stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleTab {
    /// Open requests, recording one, any customer's audit trail.
    Requests,
    /// Consent per purpose.
    Consent,
    /// Retention (dry run, runs) and legal holds.
    Retention,
    /// Partners, anonymised shares and privacy budgets.
    Partners,
    /// The records of processing.
    Records,
}

impl ConsoleTab {
    /// Every view, in the order of the tabs.
    pub const ALL: [ConsoleTab; 5] = [
        ConsoleTab::Requests,
        ConsoleTab::Consent,
        ConsoleTab::Retention,
        ConsoleTab::Partners,
        ConsoleTab::Records,
    ];

    /// The tab's name in the address.
    pub fn code(self) -> &'static str {
        match self {
            ConsoleTab::Requests => "requests",
            ConsoleTab::Consent => "consent",
            ConsoleTab::Retention => "retention",
            ConsoleTab::Partners => "partners",
            ConsoleTab::Records => "records",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ConsoleTab::Requests => "Requests",
            ConsoleTab::Consent => "Consent",
            ConsoleTab::Retention => "Retention and holds",
            ConsoleTab::Partners => "Partners and budgets",
            ConsoleTab::Records => "Records of processing",
        }
    }

    fn href(self) -> &'static str {
        match self {
            ConsoleTab::Requests => "/privacy",
            ConsoleTab::Consent => "/privacy?tab=consent",
            ConsoleTab::Retention => "/privacy?tab=retention",
            ConsoleTab::Partners => "/privacy?tab=partners",
            ConsoleTab::Records => "/privacy?tab=records",
        }
    }

    /// The view named by `?tab=` (requests when absent or unknown).
    pub fn from_query(code: Option<&str>) -> ConsoleTab {
        ConsoleTab::ALL
            .into_iter()
            .find(|t| Some(t.code()) == code)
            .unwrap_or(ConsoleTab::Requests)
    }
}

fn console_body(
    open: &[PrivacyRequest],
    stats: &[crate::service::PurposeStats],
    retention: &crate::retention::RetentionReport,
    form: Markup,
    extra: Extra,
    tab: ConsoleTab,
) -> Markup {
    let mut open: Vec<&PrivacyRequest> = open.iter().collect();
    // Overdue first, then due soon, then the rest; oldest deadline first within each.
    open.sort_by(|a, b| (a.urgency, &a.deadline).cmp(&(b.urgency, &b.deadline)));
    let overdue = open
        .iter()
        .filter(|r| r.urgency == Urgency::Overdue)
        .count();
    let soon = open
        .iter()
        .filter(|r| r.urgency == Urgency::DueSoon)
        .count();
    html! {
        (kit::page_header(&[], "Privacy", Some(html! { "Data-subject requests to their statutory deadline, and consent per purpose." }), None))
        (kit::stats(&[
            ("Open requests", open.len().to_string(), Some("#requests-h")),
            ("Overdue", overdue.to_string(), None),
            ("Due within 7 days", soon.to_string(), None),
        ]))
        (kit::tabs("Privacy console", &ConsoleTab::ALL.iter().map(|t| kit::Tab {
            label: t.label(),
            href: t.href(),
            current: *t == tab,
        }).collect::<Vec<_>>()))
        @if tab == ConsoleTab::Requests {
        section aria-labelledby="requests-h" {
            h2 #requests-h { "Open requests" }
            @if open.is_empty() {
                (kit::empty_state("No open request", "Requests opened here, by phone or letter, or by passengers in self-service appear with their deadline.", None))
            } @else {
                (DataTable::new("Open data-subject requests, overdue first", vec![
                    Column::new("Deadline"), Column::new("Request"), Column::new("State"),
                    Column::new("Received (UTC)"), Column::new("Channel"), Column::new("Person"),
                ])
                .id("privacy-requests")
                .rows(open.iter().map(|r| vec![
                    deadline_cell(r),
                    html! { a href={ "/privacy/requests/" (r.id) } { (r.kind.label()) } },
                    html! { (r.state.label()) },
                    html! { time datetime=(r.received_at) { (r.received_at.get(..10).unwrap_or(&r.received_at)) } },
                    html! { (r.channel.replace('_', " ")) },
                    html! {
                        a href={ "/customers/" (r.customer_id) } { "Profile" } " · "
                        a href={ "/audit?record=" (r.customer_id) } { "Audit trail" }
                    },
                ]).collect())
                .render())
            }
        }
        section aria-labelledby="audit-lookup-h" {
            h2 #audit-lookup-h { "Audit trail of a customer" }
            form method="get" action="/audit" {
                (Field::text("record", "Customer id").hint("Every access to and change of the person's data, with who, when and why; find the id on the customer's profile").required().render(&FormErrors::new()))
                button.button type="submit" { "Show the audit trail" }
            }
        }
        }
        @if tab == ConsoleTab::Consent {
        section aria-labelledby="consent-stats-h" {
            h2 #consent-stats-h { "Consent per purpose" }
            (DataTable::new("People with consent given or withdrawn now, per purpose", vec![
                Column::new("Purpose"), Column::new("Given").numeric(), Column::new("Withdrawn").numeric(),
            ])
            .id("consent-stats")
            .rows(stats.iter().map(|s| vec![
                html! { (label_of(&s.purpose)) " " small.muted { "(" (s.purpose) ")" } },
                html! { (s.given) },
                html! { (s.withdrawn) },
            ]).collect())
            .render())
        }
        }
        @if tab == ConsoleTab::Retention {
        section aria-labelledby="retention-h" {
            h2 #retention-h { "Retention" }
            p { "Applied once a day. What a run now would change (dry run), per data category; people whose processing is restricted, and data under a legal hold, are held." }
            (DataTable::new("Retention policies and what a run now would do", vec![
                Column::new("Data category"), Column::new("Kept (months)").numeric(), Column::new("Then"),
                Column::new("Due now").numeric(), Column::new("Held").numeric(), Column::new("Of which legal hold").numeric(),
            ])
            .id("retention")
            .rows(retention.policies.iter().map(|l| vec![
                html! { (l.category) },
                html! { (l.months) },
                html! { (if l.action == "delete" { "deleted" } else { "text removed" }) },
                html! { (l.rows) },
                html! { (l.held) },
                html! { (l.legal_hold) },
            ]).collect())
            .render())
            form method="post" action="/privacy/retention/run" {
                (aloft_web::csrf_field())
                p.muted { "The daily job applies the policies at night; run them now after a policy or a hold changed. The run is recorded below and in the audit trail." }
                button.button type="submit" { "Apply retention now" }
            }
            h3 #retention-runs-h { "Past runs" }
            @if extra.runs.is_empty() {
                (kit::empty_state("No run yet", "The daily job's runs, and runs started through the API, appear here with what they changed.", None))
            } @else {
                (DataTable::new("Past retention runs, newest first", vec![
                    Column::new("When (UTC)"), Column::new("By"), Column::new("Rows changed").numeric(),
                    Column::new("Rows held").numeric(), Column::new("Per category"),
                ])
                .id("retention-runs")
                .rows(extra.runs.iter().map(|r| vec![
                    html! { time datetime=(r.at) { (r.at.get(..16).unwrap_or(&r.at).replace('T', " ")) } },
                    html! { (r.actor) },
                    html! { (r.rows) },
                    html! { (r.held) },
                    html! { (r.policies.iter().map(|p| format!("{}: {}", p.category, p.rows)).collect::<Vec<_>>().join("; ")) },
                ]).collect())
                .render())
            }
        }
        @if extra.can_hold {
        section aria-labelledby="holds-h" {
            h2 #holds-h { "Legal holds" }
            p { "Data under a hold is kept past its retention period, and a held person cannot be erased (GDPR Art. 17(3)(e)) until the hold is lifted." }
            @if extra.holds.is_empty() {
                (kit::empty_state("No active hold", "Place a hold when a claim, an investigation or an audit needs a person's data or a whole data category kept.", None))
            } @else {
                (DataTable::new("Active legal holds, newest first", vec![
                    Column::new("On"), Column::new("Reason"), Column::new("Matter"),
                    Column::new("Placed (UTC)"), Column::new("By"),
                ])
                .id("privacy-holds")
                .rows(extra.holds.iter().map(|h| vec![
                    html! {
                        @if let Some(c) = &h.customer_id {
                            a href={ "/customers/" (c) } { "Person " (c) }
                        } @else {
                            "All " (h.category.as_deref().unwrap_or(""))
                        }
                    },
                    html! { (h.reason) },
                    html! { (h.reference) },
                    html! { time datetime=(h.placed_at) { (h.placed_at.get(..10).unwrap_or(&h.placed_at)) } },
                    html! { (h.placed_by) },
                ]).collect())
                .render())
            }
            h3 #place-hold-h { "Place a hold" }
            (extra.hold_form)
            @if extra.holds.iter().any(|h| h.active) {
                h3 #lift-hold-h { "Lift a hold" }
                (extra.lift_form)
            }
        }
        }
        }
        @if tab == ConsoleTab::Partners {
        section aria-labelledby="partners-h" {
            h2 #partners-h { "Partners" }
            p { "Only registered partners receive shares and counts, each with one lifetime privacy budget; a name is unique whatever its case or spacing. They are the recipients of partner sharing in the records of processing." }
            @if extra.partners.is_empty() {
                (kit::empty_state("No partner registered", "Register a partner below before releasing anything to it.", None))
            } @else {
                (DataTable::new("Registered partners", vec![
                    Column::new("Partner"), Column::new("Contact"), Column::new("Agreement"), Column::new("Registered"),
                ])
                .id("privacy-partners")
                .rows(extra.partners.iter().map(|p| vec![
                    html! { (p.name) },
                    html! { (p.contact) },
                    html! { (p.agreement_ref) },
                    html! { time datetime=(p.created_at) { (p.created_at.get(..10).unwrap_or(&p.created_at)) } },
                ]).collect())
                .render())
            }
            h3 #partner-form-h { "Register a partner" }
            (extra.partner_form)
        }
        section aria-labelledby="shares-h" {
            h2 #shares-h { "Partner shares" }
            p { "Anonymised insights released to partners: only people who consented to partner sharing, quasi-identifiers generalised (age band, region, travel frequency), groups smaller than k or less diverse than l suppressed. Each share is audited with what was released; its CSV is kept exactly as the partner received it." }
            @if extra.shares.is_empty() {
                (kit::empty_state("No share yet", "Shares released to partners appear here with their k, l and counts.", None))
            } @else {
                (DataTable::new("Shares released to partners, newest first", vec![
                    Column::new("When (UTC)"), Column::new("Partner"), Column::new("k").numeric(), Column::new("l").numeric(),
                    Column::new("Sensitive attribute"), Column::new("People released").numeric(),
                    Column::new("Suppressed").numeric(), Column::new("Excluded (no consent)").numeric(),
                    Column::new("Released file"),
                ])
                .id("partner-shares")
                .rows(extra.shares.iter().map(|s| vec![
                    html! { time datetime=(s.created_at) { (s.created_at.get(..16).unwrap_or(&s.created_at).replace('T', " ")) } },
                    html! { (s.partner) },
                    html! { (s.k) },
                    html! { (s.l) },
                    html! { (s.sensitive.replace('_', " ")) },
                    html! { (s.released) },
                    html! { (s.suppressed) },
                    html! { (s.excluded_no_consent) },
                    html! { a href={ "/privacy/shares/" (s.id) "/csv" } download { "CSV" span.visually-hidden { " of the share to " (s.partner) } } },
                ]).collect())
                .render())
            }
            h3 #share-form-h { "Release a share" }
            (extra.share_form)
        }
        section aria-labelledby="budgets-h" {
            h2 #budgets-h { "Privacy budgets" }
            p { "Differentially private counts (Laplace mechanism) released to partners spend their lifetime budget ε; a release that would exceed it is refused. A budget is set once; raising it needs a reason and is audited." }
            @if extra.budgets.is_empty() {
                (kit::empty_state("No budget set", "Set a partner's budget below before releasing counts to them.", None))
            } @else {
                (DataTable::new("Privacy budget per partner", vec![
                    Column::new("Partner"), Column::new("Lifetime budget ε").numeric(), Column::new("Spent ε").numeric(),
                    Column::new("Remaining ε").numeric(), Column::new("Releases").numeric(),
                ])
                .id("privacy-budgets")
                .rows(extra.budgets.iter().map(|b| vec![
                    html! { (b.partner) },
                    html! { (b.epsilon_total) },
                    html! { (b.epsilon_spent) },
                    html! { (b.epsilon_remaining) },
                    html! { (b.releases) },
                ]).collect())
                .render())
            }
            h3 #budget-form-h { "Set a partner's lifetime budget" }
            (extra.budget_form)
            @if !extra.budgets.is_empty() {
                h3 #raise-form-h { "Raise a partner's budget" }
                (extra.raise_form)
            }
            h3 #release-form-h { "Release differentially private counts" }
            (extra.release_form)
        }
        }
        @if tab == ConsoleTab::Records {
        (records_section(&extra.partners))
        }
        @if tab == ConsoleTab::Requests {
        section aria-labelledby="open-request-h" {
            h2 #open-request-h { "Record a request" }
            (form)
        }
        }
    }
}

async fn console_page(
    requests: &Requests,
    ctx: &AccessContext,
    status: StatusCode,
    form: Markup,
) -> Response {
    console_page_with(requests, ctx, status, form, Forms::default(), None).await
}

impl Forms {
    /// The view holding the form that failed, if one did.
    fn tab(&self) -> Option<ConsoleTab> {
        if self.tab.is_some() {
            self.tab
        } else if self.hold.is_some() {
            Some(ConsoleTab::Retention)
        } else if self.share.is_some()
            || self.budget.is_some()
            || self.release.is_some()
            || self.partner.is_some()
            || self.raise.is_some()
        {
            Some(ConsoleTab::Partners)
        } else {
            None
        }
    }
}

/// The console's section forms as submitted, when one failed (the others are shown empty).
#[derive(Default)]
struct Forms {
    /// The view asked for (`GET /privacy?tab=`); otherwise the one of the form that failed.
    tab: Option<ConsoleTab>,
    hold: Option<Markup>,
    share: Option<Markup>,
    budget: Option<Markup>,
    release: Option<Markup>,
    partner: Option<Markup>,
    raise: Option<Markup>,
}

/// The console, with the request form and, when one failed, the hold forms as submitted.
async fn console_page_with(
    requests: &Requests,
    ctx: &AccessContext,
    status: StatusCode,
    form: Markup,
    forms: Forms,
    lift: Option<(&FormData, &FormErrors)>,
) -> Response {
    let db = requests.consents().db();
    let (Ok(shares), Ok(budgets), Ok(partners)) = (
        crate::sharing::list(db).await,
        crate::dp::budgets(db).await,
        crate::sharing::partners(db).await,
    ) else {
        return unavailable("Privacy");
    };
    let (Ok(open), Ok(stats), Ok(retention), Ok(holds), Ok(runs)) = (
        requests.list(Filter::Open, None, ctx).await,
        requests.consent_stats().await,
        crate::retention::dry_run(db, aloft_kernel::db::now()).await,
        crate::holds::list(db, true).await,
        crate::retention::past_runs(db, 20).await,
    ) else {
        return unavailable("Privacy");
    };
    let lift_form = match lift {
        Some((d, e)) => lift_hold_form(&holds, Some(d), e),
        None => lift_hold_form(&holds, None, &FormErrors::new()),
    };
    // The view: the one whose form failed, else the one asked for (requests by default; the
    // request form's errors come back there).
    let tab = match (forms.tab(), lift.is_some()) {
        (Some(t), _) => t,
        (None, true) => ConsoleTab::Retention,
        (None, false) => ConsoleTab::Requests,
    };
    let no_errors = FormErrors::new();
    let extra = Extra {
        can_hold: current_principal().is_some_and(|p| p.can(HOLDS_MANAGE)),
        share_form: forms.share.unwrap_or_else(|| share_form(None, &no_errors)),
        budget_form: forms
            .budget
            .unwrap_or_else(|| budget_form(None, &no_errors)),
        release_form: forms
            .release
            .unwrap_or_else(|| release_form(&budgets, None, &no_errors)),
        partner_form: forms
            .partner
            .unwrap_or_else(|| partner_form(None, &no_errors)),
        raise_form: forms
            .raise
            .unwrap_or_else(|| raise_form(&budgets, None, &no_errors)),
        partners,
        shares,
        budgets,
        hold_form: forms
            .hold
            .unwrap_or_else(|| place_hold_form(None, &no_errors)),
        lift_form,
        holds,
        runs,
    };
    page(
        status,
        layout(
            "Privacy",
            CONSOLE,
            console_body(&open, &stats, &retention, form, extra, tab),
        ),
    )
}

/// `POST /privacy/holds`: places a legal hold from the console's form.
async fn place_hold_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut doc = serde_json::Map::new();
    for (form, field) in [
        ("hold_customer_id", "customer_id"),
        ("hold_category", "category"),
        ("hold_reason", "reason"),
        ("hold_reference", "reference"),
    ] {
        if let Some(v) = data.text(form).map(str::trim).filter(|v| !v.is_empty()) {
            doc.insert(field.into(), v.into());
        }
    }
    let again = |errors: FormErrors| {
        let data = &data;
        let requests = &requests;
        let ctx = &ctx;
        async move {
            console_page_with(
                requests,
                ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                open_request_form(None, &FormErrors::new()),
                Forms {
                    hold: Some(place_hold_form(Some(data), &errors)),
                    ..Forms::default()
                },
                None,
            )
            .await
        }
    };
    let new = match crate::holds::parse_new(&serde_json::Value::Object(doc)) {
        Ok(n) => n,
        Err(errs) => {
            let mut errors = FormErrors::new();
            for e in errs {
                let f = e.pointer.trim_start_matches('/');
                errors.add(&format!("hold_{f}"), e.detail);
            }
            return again(errors).await;
        }
    };
    match crate::holds::place(requests.consents().db(), &new, &ctx).await {
        Ok(_) => kit::redirect_with_notice("/privacy?tab=retention#holds-h", "Legal hold placed."),
        Err(crate::holds::HoldError::UnknownCustomer) => {
            let mut errors = FormErrors::new();
            errors.add("hold_customer_id", "No customer has this id.");
            again(errors).await
        }
        Err(_) => unavailable("Privacy"),
    }
}

/// `POST /privacy/holds/lift`: lifts a legal hold from the console's form.
/// `POST /privacy/retention/run`: applies the retention policies now (as the daily job does,
/// recorded as a run of the officer and audited), then back to the console with what changed.
async fn retention_run_post(State(requests): State<Requests>, ctx: AccessContext) -> Response {
    match crate::retention::apply(requests.consents().db(), aloft_kernel::db::now(), &ctx).await {
        Ok(report) => {
            let changed: u64 = report.policies.iter().map(|p| p.rows).sum();
            let held: u64 = report.policies.iter().map(|p| p.held).sum();
            kit::redirect_with_notice(
                "/privacy?tab=retention#retention-runs-h",
                &format!("Retention applied: {changed} rows removed or cleared, {held} held."),
            )
        }
        Err(_) => unavailable("Privacy"),
    }
}

async fn lift_hold_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let id = data
        .text("lift_hold_id")
        .map(str::trim)
        .unwrap_or("")
        .to_owned();
    let mut doc = serde_json::Map::new();
    if let Some(r) = data
        .text("lift_hold_reason")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        doc.insert("reason".into(), r.into());
    }
    let mut errors = FormErrors::new();
    let reason = match crate::holds::parse_lift(&serde_json::Value::Object(doc)) {
        Ok(r) => Some(r),
        Err(_) => {
            errors.add(
                "lift_hold_reason",
                "Give the reason the data need no longer be kept.",
            );
            None
        }
    };
    if let Some(reason) = reason {
        match crate::holds::lift(requests.consents().db(), &id, &reason, &ctx).await {
            Ok(_) => {
                return kit::redirect_with_notice(
                    "/privacy?tab=retention#holds-h",
                    "Legal hold lifted.",
                );
            }
            Err(crate::holds::HoldError::NotFound) => {
                errors.add("lift_hold_id", "Choose an active hold.")
            }
            Err(crate::holds::HoldError::AlreadyLifted) => {
                errors.add("lift_hold_id", "This hold was lifted already.")
            }
            Err(_) => return unavailable("Privacy"),
        }
    }
    console_page_with(
        &requests,
        &ctx,
        StatusCode::UNPROCESSABLE_ENTITY,
        open_request_form(None, &FormErrors::new()),
        Forms::default(),
        Some((&data, &errors)),
    )
    .await
}

/// `GET /privacy[?tab=requests|consent|retention|partners|records]`: the DPO console.
async fn console(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let tab = ConsoleTab::from_query(q.get("tab").map(String::as_str));
    console_page_with(
        &requests,
        &ctx,
        StatusCode::OK,
        open_request_form(None, &FormErrors::new()),
        Forms {
            tab: Some(tab),
            ..Forms::default()
        },
        None,
    )
    .await
}

fn form_errors(errs: Vec<aloft_kernel::FieldError>) -> FormErrors {
    let mut errors = FormErrors::new();
    for e in errs {
        let field = e.pointer.trim_start_matches('/');
        let field = field.split('/').next().unwrap_or(field).to_owned();
        errors.add(&field, e.detail);
    }
    errors
}

/// `POST /privacy/requests`: opens a request from the console's form.
async fn open_form(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut doc = serde_json::Map::new();
    for name in ["customer_id", "kind", "channel", "details"] {
        if let Some(v) = data.text(name).map(str::trim).filter(|v| !v.is_empty()) {
            doc.insert(name.into(), v.into());
        }
    }
    let result = match parse_new(&serde_json::Value::Object(doc)) {
        Ok(new) => requests.open(&new, None, &ctx).await,
        Err(errs) => {
            let errors = form_errors(errs);
            return console_page(
                &requests,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                open_request_form(Some(&data), &errors),
            )
            .await;
        }
    };
    match result {
        Ok(r) => kit::redirect_with_notice(
            &format!("/privacy/requests/{}", r.id),
            &format!("Request opened; answer by {}.", r.deadline),
        ),
        Err(RequestError::UnknownCustomer) => {
            let mut errors = FormErrors::new();
            errors.add("customer_id", "No customer has this id.");
            console_page(
                &requests,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                open_request_form(Some(&data), &errors),
            )
            .await
        }
        Err(_) => unavailable("Privacy"),
    }
}

fn move_form(r: &PrivacyRequest, data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let moves: Vec<(String, String)> = r
        .state
        .next()
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect();
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    let hint = match r.kind {
        RequestKind::Access | RequestKind::Portability => {
            "Completing produces the export of everything held about the person (JSON and CSV)."
        }
        RequestKind::Erasure => {
            "Completing erases the person everywhere: the data key is destroyed and records deleted or pseudonymised. It cannot be undone."
        }
        RequestKind::Restriction => {
            "Completing restricts processing: every purpose not required by law is refused from then on."
        }
        RequestKind::Objection => {
            "Completing withdraws the consents of the purposes objected to (by default all marketing and personalisation)."
        }
        RequestKind::Rectification => {
            "Correct the profile first (customer page), then complete naming the fields corrected."
        }
    };
    html! {
        form method="post" action={ "/privacy/requests/" (r.id) "/transition" } {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            p.hint { (hint) }
            (Field::new("to", "Move to", FieldKind::Select(moves)).value(value("to")).required().render(errors))
            (Field::new("note", "Note", FieldKind::TextArea).hint("How the identity was verified, or what was done").value(value("note")).render(errors))
            (Field::text("reason", "Reason for a refusal").hint("Told to the person (Art. 12(4))").value(value("reason")).render(errors))
            @if r.kind == RequestKind::Objection {
                (Field::text("purposes", "Purposes objected to").hint("Codes separated by commas; empty for all marketing and personalisation").value(value("purposes")).render(errors))
            }
            @if r.kind == RequestKind::Rectification {
                (Field::text("corrected_fields", "Fields corrected").hint("Profile field names separated by commas (email, last_name)").value(value("corrected_fields")).render(errors))
            }
            button type="submit" { "Move request" }
        }
    }
}

fn extension_form_markup(r: &PrivacyRequest, errors: &FormErrors) -> Markup {
    html! {
        form method="post" action={ "/privacy/requests/" (r.id) "/extension" } {
            (aloft_web::csrf_field())
            (Field::text("reason", "Why more time is needed").hint("Told to the person within the first month (Art. 12(3))").required().render(errors))
            button.secondary type="submit" { "Extend by two months" }
        }
    }
}

fn request_body(r: &PrivacyRequest, moves: Markup, extension: Option<Markup>) -> Markup {
    let title = r.kind.label();
    html! {
        (kit::page_header(&[kit::Crumb { label: "Privacy", href: "/privacy" }], title, Some(html! { "Received " (r.received_at.get(..10).unwrap_or(&r.received_at)) " by " (r.channel.replace('_', " ")) }), None))
        (kit::facts(&[
            ("State", html! { (r.state.label()) }),
            ("Deadline", deadline_cell(r)),
            ("Extension", if r.extended { html! { (r.extension_reason) } } else { html! { "None" } }),
            ("Person", html! { a href={ "/customers/" (r.customer_id) } { "Customer profile" } " · " a href={ "/audit?record=" (r.customer_id) } { "Audit trail of this customer" } }),
            ("What they wrote", if r.details.is_empty() { kit::or_dash(None::<&str>) } else { html! { (r.details) } }),
        ]))
        @if r.outcome.as_object().is_some_and(|o| !o.is_empty()) {
            section aria-labelledby="outcome-h" {
                h2 #outcome-h { "What was done" }
                pre { code { (serde_json::to_string_pretty(&r.outcome).unwrap_or_default()) } }
                @if matches!(r.kind, RequestKind::Access | RequestKind::Portability) {
                    p { a href={ "/api/v1/customers/" (r.customer_id) "/export" } { "Export (JSON)" } " · " a href={ "/api/v1/customers/" (r.customer_id) "/export?format=csv" } { "Export (CSV)" } }
                }
            }
        }
        @if !r.state.is_closed() {
            section aria-labelledby="move-h" {
                h2 #move-h { "Move the request" }
                (moves)
            }
        }
        @if r.kind == RequestKind::Restriction
            && r.state == crate::requests::RequestState::Completed
            && !r.steps.iter().any(|s| s.to == "restriction_lifted")
        {
            section aria-labelledby="lift-h" {
                h2 #lift-h { "Lift the restriction" }
                p { "Tell the person first (Art. 18(3)). Processing for every purpose they consented to resumes." }
                form method="post" action={ "/privacy/requests/" (r.id) "/lift" } {
                    (aloft_web::csrf_field())
                    (Field::text("lift_reason", "Why the restriction ends").hint("As told to the person").required().render(&FormErrors::new()))
                    button.secondary type="submit" { "Lift the restriction" }
                }
            }
        }
        @if let Some(x) = extension {
            section aria-labelledby="extend-h" {
                h2 #extend-h { "Extend the deadline" }
                (x)
            }
        }
        section aria-labelledby="steps-h" {
            h2 #steps-h { "Steps" }
            (DataTable::new("Every step of the request, oldest first", vec![
                Column::new("When (UTC)"), Column::new("From"), Column::new("To"), Column::new("By"), Column::new("Note"),
            ])
            .id("request-steps")
            .rows(r.steps.iter().map(|s| vec![
                html! { time datetime=(s.at) { (s.at.get(..16).unwrap_or(&s.at).replace('T', " ")) } },
                html! { (s.from.replace('_', " ")) },
                html! { (s.to.replace('_', " ")) },
                html! { (s.actor) },
                html! { (s.note) },
            ]).collect())
            .render())
        }
    }
}

fn request_response(
    status: StatusCode,
    r: &PrivacyRequest,
    data: Option<&FormData>,
    errors: &FormErrors,
    extension_errors: &FormErrors,
) -> Response {
    let can_extend = !r.extended && !r.state.is_closed() && r.urgency != Urgency::Overdue;
    page(
        status,
        layout(
            r.kind.label(),
            CONSOLE,
            request_body(
                r,
                move_form(r, data, errors),
                can_extend.then(|| extension_form_markup(r, extension_errors)),
            ),
        ),
    )
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            "Request not found",
            CONSOLE,
            kit::empty_state(
                "No such request",
                "It may have been mistyped.",
                Some(html! { a href="/privacy" { "Back to the privacy console" } }),
            ),
        ),
    )
}

/// `GET /privacy/requests/{id}`: one request with its steps and forms (read audited).
async fn request_page(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Response {
    match requests.get(&id, &ctx).await {
        Ok(r) => request_response(
            StatusCode::OK,
            &r,
            None,
            &FormErrors::new(),
            &FormErrors::new(),
        ),
        Err(RequestError::NotFound) => not_found(),
        Err(_) => unavailable("Privacy request"),
    }
}

fn list_of(data: &FormData, name: &str) -> Option<serde_json::Value> {
    let v = data.text(name)?.trim();
    if v.is_empty() {
        return None;
    }
    Some(
        v.split(',')
            .map(|s| serde_json::Value::String(s.trim().to_owned()))
            .collect(),
    )
}

/// `POST /privacy/requests/{id}/transition`: the move form.
async fn transition_form(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let r = match requests.get(&id, &ctx).await {
        Ok(r) => r,
        Err(RequestError::NotFound) => return not_found(),
        Err(_) => return unavailable("Privacy request"),
    };
    let data = FormData::from_pairs(pairs);
    let mut doc = serde_json::Map::new();
    for name in ["to", "note", "reason"] {
        if let Some(v) = data.text(name).map(str::trim).filter(|v| !v.is_empty()) {
            doc.insert(name.into(), v.into());
        }
    }
    for name in ["purposes", "corrected_fields"] {
        if let Some(v) = list_of(&data, name) {
            doc.insert(name.into(), v);
        }
    }
    let t = match parse_transition(&serde_json::Value::Object(doc), r.kind) {
        Ok(t) => t,
        Err(errs) => {
            return request_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &r,
                Some(&data),
                &form_errors(errs),
                &FormErrors::new(),
            );
        }
    };
    match requests.transition(&id, &t, &ctx).await {
        Ok(m) => kit::redirect_with_notice(
            &format!("/privacy/requests/{id}"),
            &format!("Request moved to {}.", m.request.state.label()),
        ),
        Err(
            e @ (RequestError::Illegal { .. } | RequestError::CustomerGone | RequestError::Busy),
        ) => {
            let mut errors = FormErrors::new();
            errors.add("to", format!("Not possible: {e}."));
            request_response(
                StatusCode::CONFLICT,
                &r,
                Some(&data),
                &errors,
                &FormErrors::new(),
            )
        }
        Err(_) => unavailable("Privacy request"),
    }
}

/// `POST /privacy/requests/{id}/extension`: the extension form.
async fn extension_form(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let r = match requests.get(&id, &ctx).await {
        Ok(r) => r,
        Err(RequestError::NotFound) => return not_found(),
        Err(_) => return unavailable("Privacy request"),
    };
    let data = FormData::from_pairs(pairs);
    let mut doc = serde_json::Map::new();
    if let Some(v) = data.text("reason") {
        doc.insert("reason".into(), v.into());
    }
    let reason = match parse_extension(&serde_json::Value::Object(doc)) {
        Ok(x) => x,
        Err(errs) => {
            return request_response(
                StatusCode::UNPROCESSABLE_ENTITY,
                &r,
                None,
                &FormErrors::new(),
                &form_errors(errs),
            );
        }
    };
    match requests.extend(&id, &reason, &ctx).await {
        Ok(x) => kit::redirect_with_notice(
            &format!("/privacy/requests/{id}"),
            &format!("Deadline extended to {}.", x.deadline),
        ),
        Err(RequestError::Extension(e)) => {
            let mut errors = FormErrors::new();
            errors.add("reason", format!("Not possible: {e}."));
            request_response(StatusCode::CONFLICT, &r, None, &FormErrors::new(), &errors)
        }
        Err(_) => unavailable("Privacy request"),
    }
}

/// `POST /privacy/requests/{id}/lift`: lifts the restriction a completed restriction request
/// placed.
async fn lift_form(
    State(requests): State<Requests>,
    ctx: AccessContext,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let r = match requests.get(&id, &ctx).await {
        Ok(r) => r,
        Err(RequestError::NotFound) => return not_found(),
        Err(_) => return unavailable("Privacy request"),
    };
    let data = FormData::from_pairs(pairs);
    let reason = data.text("lift_reason").map(str::trim).unwrap_or("");
    let Some(customer) = CustomerId::parse(&r.customer_id) else {
        return not_found();
    };
    if reason.is_empty() || r.kind != RequestKind::Restriction {
        return kit::redirect_with_notice(
            &format!("/privacy/requests/{id}"),
            "Not lifted: give the reason the person was told.",
        );
    }
    match requests.lift_restriction(customer, reason, &ctx).await {
        Ok(_) => {
            kit::redirect_with_notice(&format!("/privacy/requests/{id}"), "Restriction lifted.")
        }
        Err(RequestError::NotRestricted) => kit::redirect_with_notice(
            &format!("/privacy/requests/{id}"),
            "Nothing to lift: the processing is not restricted.",
        ),
        Err(_) => unavailable("Privacy request"),
    }
}

/// The form of a k-anonymous share (`POST /privacy/shares`); the API's defaults filled in.
fn share_form(data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let value =
        |n: &str, default: &str| Some(data.and_then(|d| d.text(n)).unwrap_or(default).to_owned());
    let sensitive = vec![
        ("meal_preference".to_owned(), "Meal preference".to_owned()),
        ("cabin".to_owned(), "Cabin flown most".to_owned()),
    ];
    html! {
        form method="post" action="/privacy/shares" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::text("share_partner", "Partner").hint("A registered partner's name (see Partners above)").value(value("share_partner", "")).required().render(errors))
            (Field::text("share_k", "k (smallest group released)").hint("A whole number from 2 to 1000: every released group holds at least k people").value(value("share_k", "5")).required().render(errors))
            (Field::text("share_l", "l (distinct sensitive values per group)").hint("A whole number from 1 to k").value(value("share_l", "2")).required().render(errors))
            (Field::new("share_sensitive", "Sensitive attribute", FieldKind::Select(sensitive)).value(value("share_sensitive", "meal_preference")).render(errors))
            (Field::text("share_max_suppression_percent", "Most people suppressed (%)").hint("0 to 50: the generalisation is coarsened until at most this share of people is left out").value(value("share_max_suppression_percent", "10")).required().render(errors))
            button type="submit" { "Release share" }
        }
    }
}

/// The form that sets a partner's total budget ε (`POST /privacy/dp/budgets`).
fn budget_form(data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    html! {
        form method="post" action="/privacy/dp/budgets" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::text("budget_partner", "Partner").hint("A registered partner's name").value(value("budget_partner")).required().render(errors))
            (Field::text("budget_epsilon", "Lifetime budget ε").hint("A decimal from 0.01 to 100, at most three decimals; set once — a raise needs a reason and is audited").value(value("budget_epsilon")).required().render(errors))
            button type="submit" { "Set budget" }
        }
    }
}

/// The form of a differentially private release (`POST /privacy/dp/releases`): a partner with a
/// budget, the dimension and ε.
fn release_form(
    budgets: &[crate::dp::Budget],
    data: Option<&FormData>,
    errors: &FormErrors,
) -> Markup {
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    let mut partners = vec![(
        String::new(),
        "— choose a partner with a budget —".to_owned(),
    )];
    partners.extend(budgets.iter().map(|b| {
        (
            b.partner_id.clone(),
            format!("{} (ε {} remaining)", b.partner, b.epsilon_remaining),
        )
    }));
    let dimensions = vec![
        ("age_band".to_owned(), "Age band".to_owned()),
        (
            "region".to_owned(),
            "World region of the home airport".to_owned(),
        ),
        ("travel_frequency".to_owned(), "Flights a year".to_owned()),
    ];
    html! {
        form method="post" action="/privacy/dp/releases" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::new("dp_partner", "Partner", FieldKind::Select(partners)).value(value("dp_partner")).required().render(errors))
            (Field::new("dp_dimension", "Counts per", FieldKind::Select(dimensions)).value(value("dp_dimension")).render(errors))
            (Field::text("dp_epsilon", "ε spent by this release").hint("A decimal from 0.01 to 5; smaller is more private and noisier").value(value("dp_epsilon")).required().render(errors))
            button type="submit" { "Release counts" }
        }
    }
}

/// The form that registers a partner (`POST /privacy/partners`).
fn partner_form(data: Option<&FormData>, errors: &FormErrors) -> Markup {
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    html! {
        form method="post" action="/privacy/partners" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::text("partner_name", "Name").hint("At most 100 characters; unique whatever its case or spacing").value(value("partner_name")).required().render(errors))
            (Field::text("partner_contact", "Privacy contact at the partner").hint("Whom to contact about the data, e.g. an e-mail address").value(value("partner_contact")).required().render(errors))
            (Field::text("partner_agreement_ref", "Legal agreement").hint("The reference of the data-sharing agreement the disclosures rest on").value(value("partner_agreement_ref")).required().render(errors))
            button type="submit" { "Register partner" }
        }
    }
}

/// The form that raises a partner's lifetime budget (`POST /privacy/dp/budgets/raise`).
fn raise_form(
    budgets: &[crate::dp::Budget],
    data: Option<&FormData>,
    errors: &FormErrors,
) -> Markup {
    let value = |n: &str| data.and_then(|d| d.text(n)).map(str::to_owned);
    let mut partners = vec![(String::new(), "— choose a partner —".to_owned())];
    partners.extend(budgets.iter().map(|b| {
        (
            b.partner_id.clone(),
            format!("{} (lifetime ε {})", b.partner, b.epsilon_total),
        )
    }));
    html! {
        form method="post" action="/privacy/dp/budgets/raise" {
            (aloft_web::csrf_field())
            (kit::error_summary(errors))
            (Field::new("raise_partner", "Partner", FieldKind::Select(partners)).value(value("raise_partner")).required().render(errors))
            (Field::text("raise_epsilon", "Raise by ε").hint("A decimal from 0.01 to 100; what was spent stays spent").value(value("raise_epsilon")).required().render(errors))
            (Field::new("raise_reason", "Why", FieldKind::TextArea).hint("10 to 500 characters, e.g. the amended agreement; kept in the audit trail").value(value("raise_reason")).required().render(errors))
            button type="submit" { "Raise budget" }
        }
    }
}

/// `POST /privacy/partners`: registers a partner from the console's form.
async fn partner_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut errors = FormErrors::new();
    let doc = form_document(
        &data,
        &[
            ("partner_name", "name"),
            ("partner_contact", "contact"),
            ("partner_agreement_ref", "agreement_ref"),
        ],
        &[],
        &mut errors,
    );
    let status = match crate::sharing::parse_partner(&doc) {
        Ok(new) => {
            match crate::sharing::register_partner(requests.consents().db(), &new, &ctx).await {
                Ok(p) => {
                    return kit::redirect_with_notice(
                        "/privacy?tab=partners#partners-h",
                        &format!("Partner {} registered.", p.name),
                    );
                }
                Err(crate::sharing::ShareError::DuplicatePartner) => {
                    errors.add(
                        "partner_name",
                        "A partner with this name is registered already.",
                    );
                    StatusCode::CONFLICT
                }
                Err(_) => return unavailable("Privacy"),
            }
        }
        Err(errs) => {
            add_errors(&mut errors, "partner", errs);
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    console_again(
        &requests,
        &ctx,
        status,
        Forms {
            partner: Some(partner_form(Some(&data), &errors)),
            ..Forms::default()
        },
    )
    .await
}

/// `POST /privacy/dp/budgets/raise`: raises a partner's lifetime budget, with a reason.
async fn raise_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut errors = FormErrors::new();
    let doc = form_document(
        &data,
        &[
            ("raise_partner", "partner"),
            ("raise_epsilon", "epsilon"),
            ("raise_reason", "reason"),
        ],
        &[],
        &mut errors,
    );
    let db = requests.consents().db();
    let status = match crate::dp::parse_raise(&doc) {
        Ok(raise) => match crate::dp::raise_budget(db, &raise, &ctx).await {
            Ok(b) => {
                return kit::redirect_with_notice(
                    "/privacy?tab=partners#budgets-h",
                    &format!(
                        "Lifetime budget of {} raised to ε {}: {} remaining.",
                        b.partner, b.epsilon_total, b.epsilon_remaining
                    ),
                );
            }
            Err(crate::dp::DpError::UnknownPartner | crate::dp::DpError::NoBudget) => {
                errors.add(
                    "raise_partner",
                    "Choose a registered partner with a budget.",
                );
                StatusCode::UNPROCESSABLE_ENTITY
            }
            Err(_) => return unavailable("Privacy"),
        },
        Err(errs) => {
            add_errors(&mut errors, "raise", errs);
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    let budgets = crate::dp::budgets(db).await.unwrap_or_default();
    console_again(
        &requests,
        &ctx,
        status,
        Forms {
            raise: Some(raise_form(&budgets, Some(&data), &errors)),
            ..Forms::default()
        },
    )
    .await
}

/// The form's fields as the API's JSON: `(form field, API field)`; a number field that is not a
/// whole number is an error on its form field (the API would say "must be an integer").
fn form_document(
    data: &FormData,
    text: &[(&str, &str)],
    integers: &[(&str, &str)],
    errors: &mut FormErrors,
) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    for (form, field) in text {
        if let Some(v) = data.text(form).map(str::trim).filter(|v| !v.is_empty()) {
            doc.insert((*field).into(), v.into());
        }
    }
    for (form, field) in integers {
        if let Some(v) = data.text(form).map(str::trim).filter(|v| !v.is_empty()) {
            match v.parse::<i64>() {
                Ok(n) => {
                    doc.insert((*field).into(), n.into());
                }
                Err(_) => errors.add(form, "Give a whole number."),
            }
        }
    }
    serde_json::Value::Object(doc)
}

/// The API's field errors on the form's fields (`/k` → `share_k`).
fn add_errors(errors: &mut FormErrors, prefix: &str, errs: Vec<aloft_kernel::FieldError>) {
    for e in errs {
        let f = e.pointer.trim_start_matches('/');
        let f = if f.is_empty() { "partner" } else { f };
        errors.add(&format!("{prefix}_{f}"), e.detail);
    }
}

/// The console again with one section's form as submitted and its errors.
async fn console_again(
    requests: &Requests,
    ctx: &AccessContext,
    status: StatusCode,
    forms: Forms,
) -> Response {
    console_page_with(
        requests,
        ctx,
        status,
        open_request_form(None, &FormErrors::new()),
        forms,
        None,
    )
    .await
}

/// `POST /privacy/shares`: releases a k-anonymous, l-diverse share from the console's form.
async fn share_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut errors = FormErrors::new();
    let doc = form_document(
        &data,
        &[
            ("share_partner", "partner"),
            ("share_sensitive", "sensitive"),
        ],
        &[
            ("share_k", "k"),
            ("share_l", "l"),
            ("share_max_suppression_percent", "max_suppression_percent"),
        ],
        &mut errors,
    );
    let parsed = crate::sharing::parse_request(&doc);
    let req = match parsed {
        Ok(r) if errors.is_empty() => r,
        Ok(_) => {
            return console_again(
                &requests,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Forms {
                    share: Some(share_form(Some(&data), &errors)),
                    ..Forms::default()
                },
            )
            .await;
        }
        Err(errs) => {
            add_errors(&mut errors, "share", errs);
            return console_again(
                &requests,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Forms {
                    share: Some(share_form(Some(&data), &errors)),
                    ..Forms::default()
                },
            )
            .await;
        }
    };
    match crate::sharing::release(requests.consents().db(), &req, &ctx).await {
        Err(crate::sharing::ShareError::UnknownPartner) => {
            errors.add(
                "share_partner",
                "Not a registered partner: register the partner first, or give its registered name.",
            );
            console_again(
                &requests,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Forms {
                    share: Some(share_form(Some(&data), &errors)),
                    ..Forms::default()
                },
            )
            .await
        }
        Ok((share, _)) => kit::redirect_with_notice(
            "/privacy?tab=partners#shares-h",
            &format!(
                "Share released to {}: {} people in {} groups (k {}, l {}); {} suppressed, {} without consent left out.",
                share.partner,
                share.released,
                share.classes,
                share.k,
                share.l,
                share.suppressed,
                share.excluded_no_consent
            ),
        ),
        Err(_) => unavailable("Privacy"),
    }
}

/// `GET /privacy/shares/{id}/csv`: the file a share released, exactly as the partner got it.
async fn share_csv(State(requests): State<Requests>, Path(id): Path<String>) -> Response {
    use axum::response::IntoResponse;
    match crate::sharing::released_csv(requests.consents().db(), &id).await {
        Ok(Some(csv)) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/csv; charset=utf-8".to_owned(),
                ),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"share-{id}.csv\""),
                ),
            ],
            csv,
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(_) => unavailable("Privacy"),
    }
}

/// `POST /privacy/dp/budgets`: sets a partner's differential-privacy budget.
async fn budget_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut errors = FormErrors::new();
    let doc = form_document(
        &data,
        &[("budget_partner", "partner"), ("budget_epsilon", "epsilon")],
        &[],
        &mut errors,
    );
    match crate::dp::parse_budget(&doc) {
        Ok((partner, eps)) => {
            let refused = |status: StatusCode, field: &str, msg: String| {
                let mut errors = FormErrors::new();
                errors.add(field, msg);
                let (requests, ctx, data) = (&requests, &ctx, &data);
                async move {
                    console_again(
                        requests,
                        ctx,
                        status,
                        Forms {
                            budget: Some(budget_form(Some(data), &errors)),
                            ..Forms::default()
                        },
                    )
                    .await
                }
            };
            match crate::dp::set_budget(requests.consents().db(), &partner, eps, &ctx).await {
                Ok(b) => kit::redirect_with_notice(
                    "/privacy?tab=partners#budgets-h",
                    &format!(
                        "Lifetime budget of {} set to ε {}.",
                        b.partner, b.epsilon_total
                    ),
                ),
                Err(crate::dp::DpError::UnknownPartner) => {
                    refused(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "budget_partner",
                        "Not a registered partner: register the partner first, or give its registered name.".into(),
                    )
                    .await
                }
                Err(crate::dp::DpError::AlreadySet { total }) => {
                    refused(
                        StatusCode::CONFLICT,
                        "budget_epsilon",
                        format!("This partner's lifetime budget is already ε {total}; it cannot be set again, only raised with a reason (POST /api/v1/privacy/dp/budgets/raise)."),
                    )
                    .await
                }
                Err(_) => unavailable("Privacy"),
            }
        }
        Err(errs) => {
            add_errors(&mut errors, "budget", errs);
            console_again(
                &requests,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                Forms {
                    budget: Some(budget_form(Some(&data), &errors)),
                    ..Forms::default()
                },
            )
            .await
        }
    }
}

/// `POST /privacy/dp/releases`: releases noisy counts and spends the partner's budget; a
/// partner without a budget, or a release the budget cannot pay for, is refused naming the
/// field (409), nothing released.
async fn dp_release_post(
    State(requests): State<Requests>,
    ctx: AccessContext,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let data = FormData::from_pairs(pairs);
    let mut errors = FormErrors::new();
    let doc = form_document(
        &data,
        &[
            ("dp_partner", "partner"),
            ("dp_dimension", "dimension"),
            ("dp_epsilon", "epsilon"),
        ],
        &[],
        &mut errors,
    );
    let db = requests.consents().db();
    let failed = |status: StatusCode, errors: FormErrors| {
        let (requests, ctx, data) = (&requests, &ctx, &data);
        async move {
            let budgets = crate::dp::budgets(requests.consents().db())
                .await
                .unwrap_or_default();
            console_again(
                requests,
                ctx,
                status,
                Forms {
                    release: Some(release_form(&budgets, Some(data), &errors)),
                    ..Forms::default()
                },
            )
            .await
        }
    };
    let req = match crate::dp::parse_release(&doc) {
        Ok(r) => r,
        Err(errs) => {
            add_errors(&mut errors, "dp", errs);
            return failed(StatusCode::UNPROCESSABLE_ENTITY, errors).await;
        }
    };
    match crate::dp::release(db, &req, &ctx).await {
        Ok(r) => kit::redirect_with_notice(
            "/privacy?tab=partners#budgets-h",
            &format!(
                "Released to {} ({}, ε {}): {}. ε {} of the budget remains. {} people without consent were left out (not sent to the partner).",
                r.partner,
                r.dimension.replace('_', " "),
                r.epsilon,
                r.counts
                    .iter()
                    .map(|(bin, n)| format!("{bin} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.budget.epsilon_remaining,
                r.excluded_no_consent
            ),
        ),
        Err(crate::dp::DpError::UnknownPartner) => {
            errors.add("dp_partner", "Not a registered partner.");
            failed(StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
        Err(crate::dp::DpError::NoBudget) => {
            errors.add(
                "dp_partner",
                "This partner has no privacy budget; set one first.",
            );
            failed(StatusCode::CONFLICT, errors).await
        }
        Err(crate::dp::DpError::Exhausted { needed, remaining }) => {
            errors.add(
                "dp_epsilon",
                format!("ε {needed} exceeds the {remaining} left of the partner's budget; nothing was released."),
            );
            failed(StatusCode::CONFLICT, errors).await
        }
        Err(_) => unavailable("Privacy"),
    }
}
