//! HTTP plumbing shared by every domain: the JSON body extractor that speaks problem+json, the
//! request observer (request id, access log, Prometheus metrics), security headers, and the
//! operational endpoints `/healthz`, `/readyz` and `/metrics`.
//!
//! Invariant: access logs carry method, matched route template, status, latency and request id —
//! never the raw URI (query strings hold names and e-mail addresses) nor any body.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderName, HeaderValue, StatusCode, header};
use metrics_exporter_prometheus::PrometheusHandle;
use tracing::Instrument;

use crate::db::Database;
use crate::problem::ApiError;

/// Largest accepted request body, in bytes. Profiles are small; anything larger is a mistake or
/// an attack.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The request id header, set on every request and echoed on every response.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A JSON request body, parsed but not yet validated. Domain code validates it into domain types
/// so that every bad field is reported at once, with its JSON pointer.
#[derive(Debug)]
pub struct JsonBody(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !(essence == "application/json" || essence.ends_with("+json")) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::Malformed(e.body_text())
            }
        })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            ApiError::Malformed(format!(
                "the body is not valid JSON ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ))
        })
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for crate::audit::AccessContext {
    type Rejection = std::convert::Infallible;

    /// Who is asking, under which request id, from where: the context of every audit record the
    /// request causes: the signed-in principal, or anonymous.
    async fn from_request_parts(
        parts: &mut http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let mut ctx = Self::from_parts(parts);
        // The route gate leaves the signed-in principal's actor in the extensions.
        if let Some(actor) = parts.extensions.get::<crate::audit::Actor>() {
            ctx.actor = actor.clone();
        }
        Ok(ctx)
    }
}

impl crate::audit::AccessContext {
    /// The request id and client address of a request, with an anonymous actor.
    pub fn from_parts(parts: &http::request::Parts) -> Self {
        let request_id = parts
            .headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        let client_address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        // The declared purpose of the access (GDPR purpose limitation), recorded in the audit
        // trail: `X-Access-Purpose: rebooking after IRROPS`. Bounded and stripped of control
        // characters; it is the caller's statement, not personal data.
        let purpose = parts
            .headers
            .get("x-access-purpose")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(120)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|v| !v.is_empty());
        Self {
            actor: crate::audit::Actor::anonymous(),
            request_id,
            client_address,
            purpose,
        }
    }
}

/// Middleware: gives the request a tracing span with its id and route, records Prometheus
/// request counts and latency per route, and writes one access-log line.
pub async fn observe(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    metrics::counter!("aloft_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("aloft_http_request_duration_seconds", "method" => method, "route" => route)
        .record(elapsed.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status,
            latency_us = elapsed.as_micros() as u64,
            "handled request"
        );
    });
    response
}

/// Middleware: security headers for every response. The content security policy allows only
/// same-origin scripts and styles: no inline script anywhere, no CDN.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let set = |h: &mut http::HeaderMap, name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(
        h,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    response
}

/// State behind the operational endpoints.
#[derive(Clone)]
pub struct OpsState {
    /// The database whose reachability decides readiness.
    pub db: Database,
    /// Renders the Prometheus exposition.
    pub metrics: PrometheusHandle,
}

/// `/healthz`, `/readyz` and `/metrics`.
pub fn ops_routes(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

/// Liveness: the process is up and serving. Never touches dependencies, so an orchestrator does
/// not restart a healthy process because the database blinked.
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "up" }))
}

/// Readiness: the database answers within a second. 503 (with `Retry-After`) otherwise, so a load
/// balancer stops routing here until it recovers — which it does by itself.
async fn readyz(State(state): State<OpsState>) -> Response {
    match state.db.ping(Duration::from_secs(1)).await {
        Ok(()) => axum::Json(serde_json::json!({
            "status": "ready",
            "database": state.db.backend().as_str(),
        }))
        .into_response(),
        Err(e) => ApiError::Unavailable(e.to_string()).into_response(),
    }
}

async fn render_metrics(State(state): State<OpsState>) -> Response {
    let (size, idle) = state.db.pool_stats();
    let backend = state.db.backend().as_str();
    metrics::gauge!("aloft_db_pool_connections", "backend" => backend).set(size as f64);
    metrics::gauge!("aloft_db_pool_idle_connections", "backend" => backend).set(idle as f64);
    // Counted at scrape time (a partial-index count), so the figure is never stale; a database
    // outage leaves the last value and never fails the scrape.
    if let Ok(Ok(n)) =
        tokio::time::timeout(Duration::from_secs(1), crate::events::backlog(&state.db)).await
    {
        metrics::gauge!("aloft_outbox_backlog").set(n as f64);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Fallback for unknown API paths: a problem+json 404.
pub async fn api_not_found() -> Response {
    ApiError::NotFound("resource").into_response()
}
