//! The agent's "Offer now" tab on the customer 360° page (the next best action with its
//! explanation, buttons to record the offer with the customer's answer, the offers waiting for
//! an answer) and the marketing manager's outcome report by action. Kit only; every form posts
//! with its CSRF token and redirects back with a notice.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Duration;
use maud::{Markup, html};

use aloft_authz::{Access, Principal, RoutePolicy, RowScope};
use aloft_kernel::AccessContext;
use aloft_web::kit::{
    self, Column, Crumb, DataTable, Field, FieldKind, FormData, FormErrors, Tone,
};
use aloft_web::{Placement, RecordView, Section, csrf_field, layout, page};

use crate::nba::{self, Channel, OFFER_TTL_DAYS};
use crate::offers::{NextBestAction, OfferError, Offers};
use crate::permissions::{OFFER_MAKE, OFFER_REPORT};
use crate::routes::{Period, period, sees_every_customer};

/// The offers section of the workspace.
pub const SECTION: Section = Section::new("offers");

/// Who may open the pages.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/offers/report", Access::Permission(OFFER_REPORT)),
    RoutePolicy::new(
        "POST",
        "/customers/{id}/offers",
        Access::Permission(OFFER_MAKE),
    ),
    RoutePolicy::new(
        "POST",
        "/offers/{id}/outcome",
        Access::Permission(OFFER_MAKE),
    ),
];

/// The page routes.
pub fn routes(offers: Offers) -> Router {
    Router::new()
        .route("/offers/report", get(report))
        .route("/customers/{id}/offers", post(make))
        .route("/offers/{id}/outcome", post(outcome))
        .with_state(offers)
}

/// The tab's id (`/customers/{id}?tab=offer`).
pub const TAB: &str = "offer";

fn ctx_of(p: &Principal) -> AccessContext {
    let mut ctx = AccessContext::system("analytics");
    ctx.actor = p.actor();
    ctx
}

fn back(customer: &str) -> String {
    format!("/customers/{customer}?tab={TAB}")
}

fn outcome_badge(outcome: &str) -> Markup {
    let (text, tone) = match outcome {
        "chosen" => ("chosen", Tone::Good),
        "lower_value" => ("lower value", Tone::Info),
        "not_eligible" => ("not eligible", Tone::Neutral),
        "frequency_cap" => ("capped by frequency", Tone::Warn),
        "quiet_period" => ("quiet period", Tone::Warn),
        "no_consent" => ("no channel consent", Tone::Warn),
        other => (other, Tone::Neutral),
    };
    kit::badge(text, tone)
}

fn channel_label(code: &str) -> String {
    code.replace('_', " ")
}

/// The "Offer now" tab of the customer 360° page.
pub fn record_views(offers: Offers) -> Vec<RecordView> {
    vec![RecordView::new(
        "customer",
        TAB,
        "Offer now",
        Access::Permission(OFFER_MAKE),
        45,
        Placement::Tab,
        move |principal, id, _| {
            let offers = offers.clone();
            async move {
                if !matches!(principal.scope, RowScope::All) {
                    return kit::notice(
                        "Offers are not available for your role's customers.",
                        Tone::Warn,
                    );
                }
                let now = aloft_kernel::db::now();
                let nba = match offers.next_best_action(&id, &ctx_of(&principal), now).await {
                    Ok(n) => n,
                    Err(OfferError::NotFound(_)) => {
                        return kit::notice("This customer has no next best action.", Tone::Warn);
                    }
                    Err(_) => {
                        return kit::notice(
                            "The next best action cannot be worked out right now.",
                            Tone::Bad,
                        );
                    }
                };
                let pending = offers
                    .of_customer(&id, now - Duration::days(OFFER_TTL_DAYS), now)
                    .await
                    .map(|list| {
                        list.into_iter()
                            .filter(|o| o.status == "offered")
                            .collect::<Vec<_>>()
                    });
                offer_tab(&id, &nba, pending.ok())
            }
        },
    )]
}

fn offer_tab(
    customer: &str,
    nba: &NextBestAction,
    pending: Option<Vec<crate::offers::Offer>>,
) -> Markup {
    let considered = DataTable::new(
        "Every action considered, best net value first",
        vec![
            Column::new("Action"),
            Column::new("Outcome"),
            Column::new("Why"),
            Column::new("Net value (EUR)").numeric(),
        ],
    )
    .id("offer-considered")
    .rows(
        nba.considered
            .iter()
            .map(|c| {
                vec![
                    html! { (c.label) },
                    outcome_badge(&c.outcome),
                    html! { (c.reason) },
                    html! { (c.net_value.amount) },
                ]
            })
            .collect(),
    );
    html! {
        section #offer-now aria-labelledby="offer-now-title" {
            h2 #offer-now-title { "Best action now" }
            @if let Some(a) = &nba.action {
                p #offer-action { strong { (a.label) } }
                (kit::facts(&[
                    ("Channel", html! { (channel_label(&a.channel)) }),
                    ("Cost", html! { (a.cost.amount) " " (a.cost.currency) }),
                    ("Expected value", html! { (a.expected_value.amount) " " (a.expected_value.currency) }),
                    ("Net value", html! { (a.net_value.amount) " " (a.net_value.currency) }),
                ]))
                p #offer-explanation { (nba.explanation) }
                form.offer-form method="post" action={ "/customers/" (customer) "/offers" } {
                    (csrf_field())
                    input type="hidden" name="action" value=(a.code);
                    input type="hidden" name="channel" value=(a.channel);
                    button type="submit" name="outcome" value="accepted" { "Offered: customer accepted" }
                    " "
                    button.secondary type="submit" name="outcome" value="declined" { "Offered: customer declined" }
                    " "
                    button.secondary type="submit" name="outcome" value="pending" { "Offered: answer pending" }
                }
            } @else {
                (kit::empty_state("No action now", &nba.explanation, None))
            }
        }
        @match pending {
            Some(list) if !list.is_empty() => {
                section aria-labelledby="offer-pending-title" {
                    h2 #offer-pending-title { "Waiting for the customer's answer" }
                    (DataTable::new(
                        format!("Offers of the last {OFFER_TTL_DAYS} days without an answer"),
                        vec![Column::new("Action"), Column::new("Channel"), Column::new("Offered"), Column::new("Answer")],
                    )
                    .id("offer-pending")
                    .rows(list.iter().map(|o| vec![
                        html! { (nba::action(&o.action).map(|a| a.label).unwrap_or(o.action.as_str())) },
                        html! { (channel_label(&o.channel)) },
                        html! { time datetime=(o.offered_at) { (o.offered_at.get(..16).unwrap_or(&o.offered_at).replace('T', " ")) " UTC" } },
                        html! {
                            form.offer-outcome method="post" action={ "/offers/" (o.id) "/outcome" } {
                                (csrf_field())
                                button type="submit" name="outcome" value="accepted" { "Accepted" }
                                " "
                                button.secondary type="submit" name="outcome" value="declined" { "Declined" }
                            }
                        },
                    ]).collect())
                    .render())
                }
            }
            Some(_) => {}
            None => { (kit::notice("Offers waiting for an answer cannot be read right now.", Tone::Bad)) }
        }
        section aria-labelledby="offer-considered-title" {
            h2 #offer-considered-title { "Why not the others" }
            (considered.render())
        }
    }
}

fn refusal(e: OfferError) -> String {
    match e {
        OfferError::Conflict(f) => format!("Not recorded: {}.", f.detail),
        OfferError::NotFound(what) => format!("Not recorded: no such {what}."),
        OfferError::Storage(_) => {
            "Not recorded: offers cannot be stored right now; try again.".to_owned()
        }
    }
}

/// `POST /customers/{id}/offers`: the agent offered the action (and heard the answer, if any).
async fn make(
    State(offers): State<Offers>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    if !sees_every_customer() {
        return kit::redirect_with_notice("/customers", "Not recorded: no such customer.");
    }
    let action = form
        .text("action")
        .map(str::to_owned)
        .and_then(|a| nba::action(&a));
    let channel = form
        .text("channel")
        .map(str::to_owned)
        .and_then(|c| Channel::parse(&c));
    let (Some(action), Some(channel)) = (action, channel) else {
        return kit::redirect_with_notice(
            &back(&id),
            "Not recorded: choose an action of the catalogue and its channel.",
        );
    };
    let answer = match form.text("outcome").map(str::to_owned).as_deref() {
        Some("accepted") => Some(true),
        Some("declined") => Some(false),
        _ => None,
    };
    let message = match offers
        .make(&id, action, channel, answer, &ctx, aloft_kernel::db::now())
        .await
    {
        Ok(o) => match o.status.as_str() {
            "offered" => format!("Offer recorded: {}; waiting for the answer.", action.label),
            status => format!("Offer recorded: {} — {status}.", action.label),
        },
        Err(e) => refusal(e),
    };
    kit::redirect_with_notice(&back(&id), &message)
}

/// `POST /offers/{id}/outcome`: the customer's answer to an offer waiting for it.
async fn outcome(
    State(offers): State<Offers>,
    ctx: AccessContext,
    Path(id): Path<String>,
    form: FormData,
) -> Response {
    let now = aloft_kernel::db::now();
    let offer = match offers.get(&id, now).await {
        Ok(Some(o)) if sees_every_customer() => o,
        Ok(_) => return kit::redirect_with_notice("/customers", "Not recorded: no such offer."),
        Err(_) => {
            return kit::redirect_with_notice(
                "/customers",
                "Not recorded: offers cannot be read right now.",
            );
        }
    };
    let accepted = match form.text("outcome").map(str::to_owned).as_deref() {
        Some("accepted") => true,
        Some("declined") => false,
        _ => {
            return kit::redirect_with_notice(
                &back(&offer.customer_id),
                "Not recorded: choose accepted or declined.",
            );
        }
    };
    let message = match offers.answer(&id, accepted, &ctx, now).await {
        Ok(o) => format!("Answer recorded: {}.", o.status),
        Err(e) => refusal(e),
    };
    kit::redirect_with_notice(&back(&offer.customer_id), &message)
}

/// `GET /offers/report?from=&to=`: offers by action in a period.
async fn report(State(offers): State<Offers>, Query(p): Query<Period>) -> Response {
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
    let lines = match offers.report(from, to, now).await {
        Ok(l) => l,
        Err(_) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(
                    "Offers by action",
                    SECTION,
                    kit::notice(
                        "The offer report is unavailable right now; try again shortly.",
                        Tone::Bad,
                    ),
                ),
            );
        }
    };
    let total = |f: fn(&crate::offers::ReportLine) -> i64| lines.iter().map(f).sum::<i64>();
    let (offered, accepted, declined) = (
        total(|l| l.offered),
        total(|l| l.accepted),
        total(|l| l.declined),
    );
    let rate = crate::offers::rate(accepted, offered)
        .map(|r| format!("{r} %"))
        .unwrap_or_else(|| "—".into());
    let shown_to = to - Duration::microseconds(1);
    let table = DataTable::new(
        format!(
            "Offers made from {} to {} (UTC), by action",
            from.format("%d %b %Y"),
            shown_to.format("%d %b %Y")
        ),
        vec![
            Column::new("Action"),
            Column::new("Offered").numeric(),
            Column::new("Accepted").numeric(),
            Column::new("Declined").numeric(),
            Column::new("Expired").numeric(),
            Column::new("Acceptance rate").numeric(),
        ],
    )
    .id("offer-report")
    .rows(
        lines
            .iter()
            .map(|l| {
                vec![
                    html! { (l.label) },
                    html! { (l.offered) },
                    html! { (l.accepted) },
                    html! { (l.declined) },
                    html! { (l.expired) },
                    match &l.acceptance_rate {
                        Some(r) => html! { (r) " %" },
                        None => kit::or_dash(None::<&str>),
                    },
                ]
            })
            .collect(),
    );
    let from_value = p
        .from
        .clone()
        .filter(|_| errors.of("from").is_none())
        .or_else(|| Some(from.format("%Y-%m-%d").to_string()));
    let to_value =
        p.to.clone()
            .filter(|_| errors.of("to").is_none())
            .or_else(|| Some(shown_to.format("%Y-%m-%d").to_string()));
    page(
        if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        },
        layout(
            "Offers by action",
            SECTION,
            html! {
                (kit::page_header(
                    &[Crumb { label: "Home", href: "/" }],
                    "Offers by action",
                    Some(html! { "Next best actions offered to customers and their answers. Counts only: no customer is named." }),
                    None,
                ))
                @if !errors.is_empty() { (kit::form::error_summary(&errors)) }
                (kit::filter_bar(
                    "/offers/report",
                    "Period",
                    html! {
                        (Field::new("from", "From (UTC)", FieldKind::Input("date")).value(from_value).render(&errors))
                        (Field::new("to", "To (UTC, inclusive)", FieldKind::Input("date")).value(to_value).render(&errors))
                    },
                    "/offers/report",
                ))
                (kit::stats(&[
                    ("Offered", offered.to_string(), None),
                    ("Accepted", accepted.to_string(), None),
                    ("Declined", declined.to_string(), None),
                    ("Acceptance rate", rate, None),
                ]))
                (table.render())
                p { "An offer not answered within " (OFFER_TTL_DAYS) " days counts as expired. The acceptance rate is accepted ÷ offered." }
            },
        ),
    )
}
