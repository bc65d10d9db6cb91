//! The passenger's cases in the portal (`/my/cases`; issue 19, item 7): the list of their
//! cases, a form to open one (category, subject, description, optionally one of their own
//! bookings), each case's status and conversation, a reply, closing it, and rating the
//! resolution once. The overview panel lists their open cases.
//!
//! Like every portal page: the passenger permission, the customer id only from the session's
//! row scope (another customer's case answers 404, as if it did not exist), every read audited
//! before it is shown, and only what is meant for the passenger shown of the timeline
//! ([`crate::selfservice::passenger_view`]).

use aloft_authz::{Access, RoutePolicy, current_principal};
use aloft_customers::permissions::{OWN_PROFILE, OWN_RECORD};
use aloft_kernel::AccessContext;
use aloft_vocab::CustomerId;
use aloft_web::kit::{
    self, Column, DataTable, FeedItem, Field, FieldKind, FormData, FormErrors, Tone,
    redirect_with_notice,
};
use aloft_web::portal::layout;
use aloft_web::{HomePanel, PortalEntry, csrf_field, page};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use maud::{Markup, html};

use crate::model::{Category, Workflow};
use crate::selfservice::{PassengerEntry, RatingRefused};
use crate::service::{Case, CaseError, Cases, Opened, short_ref};

const OWN: Access = Access::Permission(OWN_PROFILE);
const TAB: &str = "/my/cases";

/// Who may open the pages: the signed-in passenger.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/my/cases", OWN),
    RoutePolicy::new("POST", "/my/cases", OWN),
    RoutePolicy::new("GET", "/my/cases/new", OWN),
    RoutePolicy::new("GET", "/my/cases/{id}", OWN),
    RoutePolicy::new("POST", "/my/cases/{id}/reply", OWN),
    RoutePolicy::new("POST", "/my/cases/{id}/close", OWN),
    RoutePolicy::new("POST", "/my/cases/{id}/rating", OWN),
];

/// The pages.
pub fn routes(cases: Cases) -> Router {
    Router::new()
        .route("/my/cases", get(list).post(create))
        .route("/my/cases/new", get(new_form))
        .route("/my/cases/{id}", get(detail))
        .route("/my/cases/{id}/reply", post(reply))
        .route("/my/cases/{id}/close", post(close))
        .route("/my/cases/{id}/rating", post(rate))
        .with_state(cases)
}

/// The portal tab.
pub fn entries() -> Vec<PortalEntry> {
    vec![PortalEntry {
        label: "Cases",
        href: TAB,
        order: 40,
    }]
}

/// The overview panel: the passenger's open cases.
pub fn panels(cases: Cases) -> Vec<HomePanel> {
    vec![HomePanel::new("my-open-cases", OWN, 40, move |p| {
        let cases = cases.clone();
        async move {
            let body = match p.scope.value_of(OWN_RECORD).and_then(CustomerId::parse) {
                Some(id) => {
                    let mut ctx = AccessContext::system("cases");
                    ctx.actor = p.actor();
                    match cases.own_cases(id, &ctx).await {
                        Ok(list) => {
                            let open: Vec<&Case> = list.iter().filter(|c| is_open(c)).collect();
                            html! {
                                @if open.is_empty() {
                                    p { "No open case. Need help with something? We answer every request." }
                                } @else {
                                    ul {
                                        @for c in &open {
                                            li { a href={ "/my/cases/" (c.id) } { (short_ref(&c.id)) ": " (c.subject) } " — " (status_words(&c.state).0) }
                                        }
                                    }
                                }
                                p { a href=(TAB) { "Your cases" } " · " a href="/my/cases/new" { "Open a case" } }
                            }
                        }
                        Err(_) => kit::notice("Your cases cannot be shown just now.", Tone::Warn),
                    }
                }
                None => html! {},
            };
            kit::panel("my-open-cases", "My open cases", body)
        }
    })]
}

/// The signed-in passenger and their customer id (from the session's row scope only).
fn own() -> Option<CustomerId> {
    current_principal().and_then(|p| p.scope.value_of(OWN_RECORD).and_then(CustomerId::parse))
}

fn is_open(c: &Case) -> bool {
    c.state != "closed"
}

/// How a state reads to the passenger, and its tone.
fn status_words(state: &str) -> (&'static str, Tone) {
    match state {
        "new" => ("Received", Tone::Info),
        "in_progress" => ("We are working on it", Tone::Info),
        "waiting_for_customer" => ("Waiting for your answer", Tone::Warn),
        "resolved" => ("Resolved", Tone::Good),
        "closed" => ("Closed", Tone::Neutral),
        _ => ("In progress", Tone::Info),
    }
}

fn status_badge(state: &str) -> Markup {
    let (words, tone) = status_words(state);
    kit::badge(words, tone)
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        layout(
            "Case not found",
            TAB,
            kit::empty_state(
                "No such case",
                "It may have been mistyped, or it is not one of yours.",
                Some(html! { a href=(TAB) { "Back to your cases" } }),
            ),
        ),
    )
}

fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        layout(
            "Your cases",
            TAB,
            kit::notice(
                "Your cases cannot be shown just now. Please try again in a moment.",
                Tone::Bad,
            ),
        ),
    )
}

fn when(t: chrono::DateTime<chrono::Utc>) -> Markup {
    html! { time datetime=(t.to_rfc3339()) { (t.format("%-d %b %Y, %H:%M UTC")) } }
}

/// `GET /my/cases`: the passenger's cases, newest first.
async fn list(State(cases): State<Cases>, ctx: AccessContext) -> Response {
    let Some(id) = own() else {
        return not_found();
    };
    let list = match cases.own_cases(id, &ctx).await {
        Ok(l) => l,
        Err(_) => return unavailable(),
    };
    let table = DataTable::new(
        "Your cases, newest first",
        vec![
            Column::new("Case"),
            Column::new("Subject"),
            Column::new("Category"),
            Column::new("Status"),
            Column::new("Opened"),
        ],
    )
    .id("my-cases")
    .rows(
        list.iter()
            .map(|c| {
                vec![
                    html! { a href={ "/my/cases/" (c.id) } { (short_ref(&c.id)) } },
                    html! { (c.subject) },
                    html! { (c.category.label()) },
                    status_badge(&c.state),
                    when(c.opened_at),
                ]
            })
            .collect(),
    )
    .render();
    let body = html! {
        (kit::page_header(&[], "Your cases", Some(html! { "Questions, complaints and requests you sent us, and what we did about them." }),
            Some(html! { a role="button" href="/my/cases/new" { "Open a case" } })))
        @if list.is_empty() {
            (kit::empty_state("No cases yet", "When you ask us for something, you can follow it here.", Some(html! { a href="/my/cases/new" { "Open a case" } })))
        } @else {
            (table)
        }
    };
    page(StatusCode::OK, layout("Your cases", TAB, body))
}

/// What the open form holds.
#[derive(Default)]
struct Draft {
    category: Option<String>,
    subject: Option<String>,
    description: Option<String>,
    booking: Option<String>,
}

/// What the form offers: the categories of the current workflow (as the CMP manager named
/// them) and the passenger's own bookings.
struct Choices {
    categories: Vec<(String, String)>,
    bookings: Vec<(String, String)>,
}

impl Choices {
    /// `None`: the workflow cannot be read (the page says so rather than offer stale choices).
    async fn of(cases: &Cases, passenger: CustomerId) -> Option<Self> {
        let workflow = cases.current_workflow().await.ok()?;
        Some(Choices {
            categories: workflow.category_choices(),
            bookings: cases.own_bookings(passenger).await.unwrap_or_default(),
        })
    }
}

fn form_page(
    status: StatusCode,
    draft: &Draft,
    choices: &Choices,
    errors: &FormErrors,
) -> Response {
    let (categories, bookings) = (choices.categories.clone(), &choices.bookings);
    let mut booking_choices = vec![(String::new(), "None — not about a booking".to_owned())];
    booking_choices.extend(bookings.iter().cloned());
    let body = html! {
        (kit::page_header(&[], "Open a case", Some(html! { "Tell us what it is about; we answer by e-mail and here." }), None))
        (kit::error_summary(errors))
        form.portal-form method="post" action=(TAB) {
            (csrf_field())
            (Field::new("category", "What is it about?", FieldKind::Select(categories)).value(draft.category.clone()).required().render(errors))
            (Field::new("booking_reference", "Which booking", FieldKind::Select(booking_choices)).value(draft.booking.clone()).hint("Your bookings of the past and coming year").render(errors))
            (Field::text("subject", "Subject").value(draft.subject.clone()).required().render(errors))
            (Field::new("description", "Tell us more", FieldKind::TextArea).value(draft.description.clone()).required().render(errors))
            button type="submit" { "Send" }
        }
    };
    page(status, layout("Open a case", TAB, body))
}

/// `GET /my/cases/new`: the form.
async fn new_form(State(cases): State<Cases>) -> Response {
    let Some(id) = own() else {
        return not_found();
    };
    let Some(choices) = Choices::of(&cases, id).await else {
        return unavailable();
    };
    form_page(
        StatusCode::OK,
        &Draft::default(),
        &choices,
        &FormErrors::new(),
    )
}

/// `POST /my/cases`: opens the case (or adds to the open one about the same matter).
async fn create(State(cases): State<Cases>, ctx: AccessContext, form: FormData) -> Response {
    let Some(id) = own() else {
        return not_found();
    };
    let Some(choices) = Choices::of(&cases, id).await else {
        return unavailable();
    };
    let draft = Draft {
        category: form.text("category").map(str::to_owned),
        subject: form.text("subject").map(str::to_owned),
        description: form.text("description").map(str::to_owned),
        booking: form.text("booking_reference").map(str::to_owned),
    };
    let mut errors = FormErrors::new();
    // Only what the current workflow offers (a withdrawn category posted by hand is refused).
    let category = draft
        .category
        .as_deref()
        .filter(|c| choices.categories.iter().any(|(name, _)| name == c))
        .and_then(Category::parse);
    if category.is_none() {
        errors.add("category", "Choose what the case is about.");
    }
    match &draft.subject {
        None => errors.add("subject", "Enter a subject."),
        Some(s) if s.chars().count() > 200 => {
            errors.add("subject", "Keep the subject to 200 characters.")
        }
        _ => {}
    }
    match &draft.description {
        None => errors.add("description", "Tell us what happened or what you need."),
        Some(s) if s.chars().count() > 10_000 => {
            errors.add("description", "Keep it to 10,000 characters.")
        }
        _ => {}
    }
    // Only a booking of the passenger's own: a reference typed into the request is refused.
    if let Some(b) = &draft.booking
        && !choices.bookings.iter().any(|(l, _)| l == b)
    {
        errors.add("booking_reference", "Choose one of your bookings.");
    }
    let (Some(category), Some(subject), Some(description), true) = (
        category,
        draft.subject.clone(),
        draft.description.clone(),
        errors.is_empty(),
    ) else {
        return form_page(StatusCode::UNPROCESSABLE_ENTITY, &draft, &choices, &errors);
    };
    match cases
        .open_own(
            id,
            category,
            subject,
            description,
            draft.booking.clone(),
            &ctx,
        )
        .await
    {
        Ok(Opened::New(c)) => redirect_with_notice(
            &format!("/my/cases/{}", c.id),
            &format!(
                "Case {} is open. We have sent you a confirmation.",
                short_ref(&c.id)
            ),
        ),
        Ok(Opened::Linked(c)) => redirect_with_notice(
            &format!("/my/cases/{}", c.id),
            &format!(
                "You already have case {} open about this; we added your message to it.",
                short_ref(&c.id)
            ),
        ),
        Err(_) => unavailable(),
    }
}

fn history(entries: &[PassengerEntry]) -> Markup {
    let items: Vec<FeedItem> = entries
        .iter()
        .rev()
        .map(|e| FeedItem {
            when: e.at.format("%-d %b %Y, %H:%M UTC").to_string(),
            datetime: e.at.to_rfc3339(),
            title: e.title.clone(),
            badges: vec![],
            meta: Some(if e.from == "you" { "You" } else { "Our team" }.to_owned()),
            details: e.body.as_ref().map(|b| html! { p { (b) } }),
            kind: if e.body.is_some() { "email" } else { "note" },
        })
        .collect();
    kit::feed(&items)
}

fn rating_words(n: i64) -> &'static str {
    match n {
        1 => "1 — very poor",
        2 => "2 — poor",
        3 => "3 — fair",
        4 => "4 — good",
        _ => "5 — excellent",
    }
}

fn case_page(case: &Case, workflow: &Workflow, entries: &[PassengerEntry]) -> Response {
    let reference = short_ref(&case.id);
    let closed = workflow.is_terminal(&case.state);
    let may_rate = workflow.is_resolved(&case.state) && case.csat.is_none();
    let errors = FormErrors::new();
    let body = html! {
        (kit::page_header(&[kit::Crumb { label: "Your cases", href: TAB }], &format!("{reference}: {}", case.subject),
            Some(html! { (status_badge(&case.state)) " " (case.category.label()) }), None))
        (kit::facts(&[
            ("Reference", html! { (reference) }),
            ("Status", status_badge(&case.state)),
            ("Booking", kit::or_dash(case.booking_reference.as_deref())),
            ("Opened", when(case.opened_at)),
            ("Your rating", match case.csat { Some(n) => html! { (rating_words(n)) }, None => kit::or_dash(None::<&str>) }),
        ]))
        @if may_rate {
            section.portal-section aria-labelledby="rate-title" {
                h2 #rate-title { "How did we do?" }
                p { "Rate how we resolved your case. You can rate it once." }
                form.portal-form method="post" action={ "/my/cases/" (case.id) "/rating" } {
                    (csrf_field())
                    (Field::new("csat", "Your rating", FieldKind::Select((1..=5).rev().map(|n| (n.to_string(), rating_words(n).to_owned())).collect())).required().render(&errors))
                    button type="submit" { "Send rating" }
                }
            }
        }
        @if !closed {
            section.portal-section aria-labelledby="reply-title" {
                h2 #reply-title { "Write to us" }
                form.portal-form method="post" action={ "/my/cases/" (case.id) "/reply" } {
                    (csrf_field())
                    (Field::new("body", "Your message", FieldKind::TextArea).required().render(&errors))
                    button type="submit" { "Send message" }
                }
            }
            section.portal-section aria-labelledby="close-title" {
                h2 #close-title { "Close the case" }
                p { "If you no longer need our help with this, you can close it." }
                (kit::confirm_button(&format!("/my/cases/{}/close", case.id), "Close the case", "Close this case? You can open a new one at any time.", &[]))
            }
        }
        section.portal-section aria-labelledby="history-title" {
            h2 #history-title { "History" }
            @if entries.is_empty() {
                p { "Nothing yet." }
            } @else {
                (history(entries))
            }
        }
    };
    page(
        StatusCode::OK,
        layout(&format!("Case {reference}"), TAB, body),
    )
}

/// `GET /my/cases/{id}`: the case, its status and history.
async fn detail(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Response {
    let Some(customer) = own() else {
        return not_found();
    };
    match cases.own_case_view(&id, customer, &ctx).await {
        Ok((case, workflow, entries)) => case_page(&case, &workflow, &entries),
        Err(CaseError::NotFound) => not_found(),
        Err(_) => unavailable(),
    }
}

fn refused(id: &str, e: CaseError) -> Response {
    let message = match e {
        CaseError::NotFound => return not_found(),
        CaseError::Closed => "The case is closed. Open a new one if you need us again.",
        CaseError::Busy => "Something changed on your case at the same moment; please try again.",
        CaseError::Transition(_) => {
            "The case cannot be closed from where it stands; write to us instead."
        }
        _ => "That did not work just now; please try again in a moment.",
    };
    redirect_with_notice(&format!("/my/cases/{id}"), message)
}

/// `POST /my/cases/{id}/reply`.
async fn reply(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let Some(customer) = own() else {
        return not_found();
    };
    let body = form
        .text("body")
        .map(str::to_owned)
        .filter(|b| b.chars().count() <= 10_000);
    let Some(body) = body else {
        return redirect_with_notice(
            &format!("/my/cases/{id}"),
            "Not sent: write a message (up to 10,000 characters).",
        );
    };
    match cases.reply_own(&id, customer, &body, &ctx).await {
        Ok(_) => redirect_with_notice(&format!("/my/cases/{id}"), "Message sent."),
        Err(e) => refused(&id, e),
    }
}

/// `POST /my/cases/{id}/close`.
async fn close(State(cases): State<Cases>, ctx: AccessContext, Path(id): Path<String>) -> Response {
    let Some(customer) = own() else {
        return not_found();
    };
    match cases.close_own(&id, customer, &ctx).await {
        Ok(_) => redirect_with_notice(&format!("/my/cases/{id}"), "Your case is closed."),
        Err(e) => refused(&id, e),
    }
}

/// `POST /my/cases/{id}/rating`.
async fn rate(
    State(cases): State<Cases>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let Some(customer) = own() else {
        return not_found();
    };
    let score = form
        .text("csat")
        .map(str::to_owned)
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0);
    match cases.rate_own(&id, customer, score, &ctx).await {
        Ok(Ok(_)) => redirect_with_notice(&format!("/my/cases/{id}"), "Thank you for your rating."),
        Ok(Err(why)) => redirect_with_notice(
            &format!("/my/cases/{id}"),
            match why {
                RatingRefused::OutOfRange => "Not sent: choose a rating from 1 to 5.",
                RatingRefused::NotResolved => "You can rate the case once it is resolved.",
                RatingRefused::AlreadyRated => "You have rated this case already.",
            },
        ),
        Err(e) => refused(&id, e),
    }
}
