//! Webhooks: case and compensation events sent to the systems the CMP manager configures (a CRM,
//! a ticketing bridge, the airline's integration bus) — issue 19, item 8.
//!
//! - [`model`] (pure): the event families an endpoint may take, allowed addresses, the Standard
//!   Webhooks signature, what a receiver's answer means.
//! - [`service`]: endpoints and deliveries (migration 0053), the durable subscription that
//!   queues a delivery per endpoint and event, and the `webhooks.send` job that posts it.
//! - The API (`/api/v1/webhooks…`) and the page `/webhooks`, both for `webhook.manage` (the CMP
//!   manager, who owns the integrations).
//!
//! Invariants: one delivery per endpoint and event (unique), queued in the transaction that
//! records the event's hand-over; a secret is shown once and sealed at rest; redirects are
//! never followed; every failed try is recorded on its delivery.
#![forbid(unsafe_code)]

pub mod model;
pub mod service;

use std::sync::Arc;

use aloft_authz::{Access, Permission, PermissionInfo, RoutePolicy};
use aloft_kernel::jobs::{JobError, JobHandler, handler_fn};
use aloft_kernel::{AccessContext, ApiError, Problem};
use aloft_web::kit::{self, Column, Crumb, DataTable, Field, FormData, FormErrors, Tone};
use aloft_web::{Section, csrf_field, layout, page};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use maud::html;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use service::{DeliveryView, Endpoint, Webhooks};

/// Configure webhooks and see their deliveries.
pub const WEBHOOK_MANAGE: Permission = Permission::new("webhook.manage");

/// The permissions this module registers.
pub const PERMISSIONS: &[PermissionInfo] = &[PermissionInfo {
    permission: WEBHOOK_MANAGE,
    description: "Configure webhooks (where case and compensation events are sent) and see every delivery and failure",
}];

/// The workspace section of the page.
pub const SECTION: Section = Section::new("webhooks");

/// Who may call what: `webhook.manage` for all of it.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/webhooks",
        Access::Permission(WEBHOOK_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/api/v1/webhooks",
        Access::Permission(WEBHOOK_MANAGE),
    ),
    RoutePolicy::new(
        "DELETE",
        "/api/v1/webhooks/{id}",
        Access::Permission(WEBHOOK_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/api/v1/webhooks/{id}/deliveries",
        Access::Permission(WEBHOOK_MANAGE),
    ),
    RoutePolicy::new("GET", "/webhooks", Access::Permission(WEBHOOK_MANAGE)),
    RoutePolicy::new("POST", "/webhooks", Access::Permission(WEBHOOK_MANAGE)),
    RoutePolicy::new(
        "POST",
        "/webhooks/{id}/remove",
        Access::Permission(WEBHOOK_MANAGE),
    ),
];

/// A new endpoint.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// What it is.
    pub name: String,
    /// Where to post (https; http only to this machine).
    pub url: String,
    /// Event type prefixes it takes: `aloft.case.`, `aloft.compensation.`.
    pub families: Vec<String>,
}

/// A created endpoint with its secret — the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedEndpoint {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

/// Every endpoint.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    responses((status = 200, description = "Every endpoint, active first", body = [Endpoint])))]
async fn list(State(w): State<Webhooks>) -> Result<Json<Vec<Endpoint>>, ApiError> {
    Ok(Json(w.list().await?))
}

/// Add an endpoint: events of its families committed from now on are posted to it, signed.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    responses(
        (status = 201, description = "Added; the secret is shown only here", body = CreatedEndpoint),
        (status = 422, description = "Every problem named by its pointer (/url, /families/0); nothing added", body = Problem, content_type = "application/problem+json"),
    ))]
async fn create(
    State(w): State<Webhooks>,
    ctx: AccessContext,
    aloft_kernel::http::JsonBody(body): aloft_kernel::http::JsonBody,
) -> Result<Response, ApiError> {
    let new: NewEndpoint = serde_json::from_value(body)
        .map_err(|e| ApiError::field("", format!("is not an endpoint: {e}")))?;
    let (endpoint, secret) = w.create(&new.name, &new.url, &new.families, &ctx).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedEndpoint { endpoint, secret }),
    )
        .into_response())
}

/// Remove an endpoint: nothing more is sent to it; its deliveries stay on record.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint")),
    responses(
        (status = 200, description = "Removed", body = Endpoint),
        (status = 404, description = "No such active endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
async fn remove(
    State(w): State<Webhooks>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Result<Json<Endpoint>, ApiError> {
    Ok(Json(w.remove(&id, &ctx).await?))
}

/// An endpoint's deliveries, newest first (the last 200): state, tries, last answer or error.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint")),
    responses(
        (status = 200, description = "Deliveries", body = [DeliveryView]),
        (status = 404, description = "No such endpoint", body = Problem, content_type = "application/problem+json"),
    ))]
async fn deliveries(
    State(w): State<Webhooks>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryView>>, ApiError> {
    if w.get(&id).await?.is_none() {
        return Err(ApiError::NotFound("webhook"));
    }
    Ok(Json(w.deliveries(&id, 200).await?))
}

fn view(
    status: StatusCode,
    endpoints: &[Endpoint],
    recent: &[(String, Vec<DeliveryView>)],
    form: &FormData,
    errors: &FormErrors,
    secret: Option<&str>,
) -> Response {
    let ticked = form.all("families");
    page(
        status,
        layout(
            "Webhooks",
            SECTION,
            html! {
                (kit::page_header(&[Crumb { label: "Home", href: "/" }], "Webhooks",
                    Some(html! { "Case and compensation events posted to your systems, signed (Standard Webhooks), retried with back-off for about a day, never sent twice for one event." }), None))
                @if let Some(secret) = secret {
                    div.notice.good role="status" {
                        p { "Endpoint added. Its signing secret is shown only now — store it with the receiver:" }
                        p { code.secret { (secret) } }
                    }
                }
                @if endpoints.is_empty() {
                    (kit::empty_state("No webhooks yet", "Add the first endpoint below.", None))
                }
                @for e in endpoints {
                    section.card aria-labelledby=(format!("wh-{}", e.id)) {
                        h2 id=(format!("wh-{}", e.id)) {
                            (e.name) " "
                            @if e.active { (kit::badge("active", Tone::Good)) } @else { (kit::badge("removed", Tone::Neutral)) }
                        }
                        p { code.wrap { (e.url) } " · " (e.families.join(", ")) }
                        @let list = recent.iter().find(|(id, _)| *id == e.id).map(|(_, l)| l.as_slice()).unwrap_or(&[]);
                        @if list.is_empty() {
                            p { "Nothing sent yet." }
                        } @else {
                            (DataTable::new(format!("Latest deliveries to {}", e.name), vec![
                                Column::new("Event"), Column::new("State"), Column::new("Tries"),
                                Column::new("Last answer"), Column::new("Queued"),
                            ]).rows(list.iter().map(|d| vec![
                                html! { (d.event_type) br; small { code.wrap { (d.event_id) } } },
                                match d.state.as_str() {
                                    "delivered" => kit::badge("delivered", Tone::Good),
                                    "failed" => kit::badge("failed", Tone::Bad),
                                    _ => kit::badge("pending", Tone::Warn),
                                },
                                html! { (d.attempts) },
                                html! { @if let Some(s) = d.last_status { (s) " " } @if let Some(err) = &d.last_error { (err) } },
                                html! { (d.created_at) },
                            ]).collect()).render())
                        }
                        @if e.active {
                            (kit::confirm_button(&format!("/webhooks/{}/remove", e.id), "Remove",
                                &format!("Remove the webhook {}? Nothing more will be sent to it.", e.name), &[]))
                        }
                    }
                }
                section aria-labelledby="wh-new" {
                    h2 #wh-new { "Add an endpoint" }
                    (kit::error_summary(errors))
                    form method="post" action="/webhooks" {
                        (csrf_field())
                        (Field::text("name", "Name").value(form.text("name")).required().render(errors))
                        (Field::new("url", "Address", kit::FieldKind::Input("url")).hint("https://… (plain http only to this machine)").value(form.text("url")).required().render(errors))
                        fieldset #f-families {
                            legend { "Events to send" }
                            @if let Some(msg) = errors.of("families") {
                                p.field-error id="families-error" { (msg) }
                            }
                            @for (prefix, what) in model::FAMILIES {
                                div.checkbox {
                                    input type="checkbox" name="families" value=(prefix)
                                        id=(format!("family-{}", prefix.trim_end_matches('.').replace('.', "-")))
                                        checked[ticked.contains(prefix)];
                                    label for=(format!("family-{}", prefix.trim_end_matches('.').replace('.', "-"))) { (what) }
                                }
                            }
                        }
                        button type="submit" { "Add endpoint" }
                    }
                }
            },
        ),
    )
}

async fn render_page(
    w: &Webhooks,
    status: StatusCode,
    form: &FormData,
    errors: &FormErrors,
    secret: Option<&str>,
) -> Response {
    let endpoints = match w.list().await {
        Ok(l) => l,
        Err(_) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                layout(
                    "Webhooks",
                    SECTION,
                    kit::notice("Webhooks cannot be read right now.", Tone::Bad),
                ),
            );
        }
    };
    let mut recent = Vec::new();
    for e in &endpoints {
        recent.push((
            e.id.clone(),
            w.deliveries(&e.id, 10).await.unwrap_or_default(),
        ));
    }
    view(status, &endpoints, &recent, form, errors, secret)
}

/// `GET /webhooks`.
async fn webhooks_page(State(w): State<Webhooks>) -> Response {
    render_page(
        &w,
        StatusCode::OK,
        &FormData::from_pairs(vec![]),
        &FormErrors::new(),
        None,
    )
    .await
}

/// `POST /webhooks`: adds one; the page shows its secret once.
async fn add_page(State(w): State<Webhooks>, ctx: AccessContext, form: FormData) -> Response {
    let families: Vec<String> = form
        .all("families")
        .into_iter()
        .map(str::to_owned)
        .collect();
    match w
        .create(
            form.text("name").unwrap_or(""),
            form.text("url").unwrap_or(""),
            &families,
            &ctx,
        )
        .await
    {
        Ok((_, secret)) => {
            render_page(
                &w,
                StatusCode::CREATED,
                &FormData::from_pairs(vec![]),
                &FormErrors::new(),
                Some(&secret),
            )
            .await
        }
        Err(ApiError::Invalid(list)) => {
            let mut errors = FormErrors::new();
            for e in list {
                let name = e
                    .pointer
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap_or("");
                let say = match name {
                    "name" => "Enter a name of up to 100 characters.".to_owned(),
                    "url" => format!("The address {}.", e.detail),
                    _ => "Choose at least one kind of event.".to_owned(),
                };
                errors.add(if name.is_empty() { "families" } else { name }, say);
            }
            render_page(&w, StatusCode::UNPROCESSABLE_ENTITY, &form, &errors, None).await
        }
        Err(_) => kit::redirect_with_notice("/webhooks", "Not added: try again."),
    }
}

/// `POST /webhooks/{id}/remove`.
async fn remove_page(
    State(w): State<Webhooks>,
    ctx: AccessContext,
    Path(id): Path<String>,
) -> Response {
    match w.remove(&id, &ctx).await {
        Ok(e) => kit::redirect_with_notice("/webhooks", &format!("Removed {}.", e.name)),
        Err(_) => kit::redirect_with_notice("/webhooks", "No such active webhook."),
    }
}

/// Webhooks as the application assembles them.
pub struct WebhooksModule {
    webhooks: Webhooks,
}

impl WebhooksModule {
    /// The module over `webhooks`.
    pub fn new(webhooks: Webhooks) -> Self {
        Self { webhooks }
    }
}

impl aloft_module::DomainModule for WebhooksModule {
    fn name(&self) -> &'static str {
        "webhooks"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        POLICY.to_vec()
    }

    fn api_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(list, create))
            .routes(routes!(remove))
            .routes(routes!(deliveries))
            .with_state(self.webhooks.clone())
    }

    fn page_routes(&self) -> axum::Router {
        axum::Router::new()
            .route("/webhooks", get(webhooks_page).post(add_page))
            .route("/webhooks/{id}/remove", post(remove_page))
            .with_state(self.webhooks.clone())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: SECTION,
            href: "/webhooks",
            label: "Webhooks",
            summary: "Where case and compensation events are sent, and every delivery.",
            access: Access::Permission(WEBHOOK_MANAGE),
            order: 80,
        }]
    }

    fn subscriptions(&self) -> Vec<aloft_kernel::subscriptions::Subscription> {
        vec![service::subscription(self.webhooks.clone())]
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        let w = self.webhooks.clone();
        vec![(
            service::SEND,
            handler_fn(move |job| {
                let w = w.clone();
                async move {
                    let id = job
                        .payload
                        .get("delivery")
                        .and_then(|d| d.as_str())
                        .ok_or_else(|| JobError::Fail("no delivery in payload".into()))?
                        .to_owned();
                    w.send(&id, job.attempts, job.max_attempts).await
                }
            }),
        )]
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "webhooks",
            "Webhooks: case and compensation events posted to configured systems, signed and retried",
        )]
    }
}
