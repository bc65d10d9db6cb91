//! HTTP plumbing shared by every domain: the JSON body extractor that speaks problem+json, the
//! request observer (request id, access log, Prometheus metrics), security headers, and the
//! operational endpoints `/healthz`, `/readyz` and `/metrics`.
//!
//! Invariant: access logs carry method, matched route template, status, latency and request id —
//! never the raw URI (query strings hold names and e-mail addresses) nor any body.

use std::net::IpAddr;
use std::sync::Arc;
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
use crate::problem::{ApiError, FieldError, Problem};

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
        match parse_json(&bytes) {
            Ok(value) => Ok(JsonBody(value)),
            Err(JsonError::DuplicateKey(pointer)) => {
                let mut problem = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "malformed-request",
                    "Malformed request",
                )
                .with_detail(format!("the key {pointer} appears more than once"));
                problem.errors = vec![FieldError::new(
                    pointer,
                    "this key appears more than once in its object; send it once",
                )];
                Err(ApiError::Problem(problem))
            }
            Err(JsonError::Syntax(e)) => Err(ApiError::Malformed(format!(
                "the body is not valid JSON ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            ))),
        }
    }
}

/// The events of a CloudEvents JSON batch body (`application/cloudevents-batch+json`): a JSON
/// array of at most `max` events, or — when `single` — one event object on its own. Anything
/// else is a 422 naming the body; too many events a 413 saying to split the batch. Each event is
/// then the caller's to validate (every rejected event reported with its position).
pub fn event_batch(
    body: serde_json::Value,
    max: usize,
    single: bool,
) -> Result<Vec<serde_json::Value>, ApiError> {
    let items = match body {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(_) if single => vec![body],
        _ => {
            return Err(ApiError::field(
                "",
                if single {
                    "the body must be a CloudEvent or a JSON array of them (a CloudEvents JSON batch)"
                } else {
                    "the body must be a JSON array of CloudEvents (a CloudEvents JSON batch)"
                },
            ));
        }
    };
    if items.len() > max {
        return Err(ApiError::Problem(
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-many-events",
                "Too many events",
            )
            .with_detail(format!("a batch holds at most {max} events; split it")),
        ));
    }
    Ok(items)
}

/// Why [`parse_json`] refused a document.
#[derive(Debug)]
pub enum JsonError {
    /// Not JSON (syntax, nesting deeper than serde_json's limit, trailing characters).
    Syntax(serde_json::Error),
    /// An object names a key twice; the JSON pointer of its second occurrence.
    DuplicateKey(String),
}

/// Parses a JSON document, refusing any object (at any depth) that names a key twice.
/// RFC 8259 leaves duplicates' meaning open and parsers differ — serde_json keeps the last, others
/// the first — so a proxy, a signature check or a validator reading one value while Aloft stores
/// the other is a request smuggling path. One meaning only: a repeated key is an error.
pub fn parse_json(bytes: &[u8]) -> Result<serde_json::Value, JsonError> {
    let duplicate = std::cell::RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde::de::DeserializeSeed::deserialize(
        Strict {
            at: None,
            duplicate: &duplicate,
        },
        &mut de,
    )
    .and_then(|value| de.end().map(|()| value));
    match (parsed, duplicate.into_inner()) {
        (_, Some(pointer)) => Err(JsonError::DuplicateKey(pointer)),
        (Ok(value), None) => Ok(value),
        (Err(e), None) => Err(JsonError::Syntax(e)),
    }
}

/// Where a value sits in the document: a chain up to the root on the stack, turned into a JSON
/// pointer only when a duplicate is found (an 8 MiB ingest batch builds no path strings).
struct Segment<'a> {
    parent: Option<&'a Segment<'a>>,
    key: Step<'a>,
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// The RFC 6901 pointer of `at` (`~` and `/` in keys escaped as `~0` and `~1`).
fn pointer_of(at: Option<&Segment<'_>>) -> String {
    let mut steps = Vec::new();
    let mut cursor = at;
    while let Some(segment) = cursor {
        steps.push(match segment.key {
            Step::Key(k) => k.replace('~', "~0").replace('/', "~1"),
            Step::Index(i) => i.to_string(),
        });
        cursor = segment.parent;
    }
    steps.iter().rev().map(|s| format!("/{s}")).collect()
}

/// Builds a `serde_json::Value` exactly as serde_json would, but fails on a repeated key (and
/// records its pointer in `duplicate`).
struct Strict<'a> {
    at: Option<&'a Segment<'a>>,
    duplicate: &'a std::cell::RefCell<Option<String>>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Strict<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Strict<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        loop {
            let at = Segment {
                parent: self.at,
                key: Step::Index(items.len()),
            };
            let seed = Strict {
                at: Some(&at),
                duplicate: self.duplicate,
            };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(serde_json::Value::Array(items)),
            }
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let at = Segment {
                parent: self.at,
                key: Step::Key(&key),
            };
            if object.contains_key(&key) {
                *self.duplicate.borrow_mut() = Some(pointer_of(Some(&at)));
                return Err(serde::de::Error::custom("duplicate key"));
            }
            let value = map.next_value_seed(Strict {
                at: Some(&at),
                duplicate: self.duplicate,
            })?;
            object.insert(key, value);
        }
        Ok(serde_json::Value::Object(object))
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

tokio::task_local! {
    static CURRENT_CONTEXT: crate::audit::AccessContext;
}

/// Middleware (inside the route gate): keeps the request's [`crate::audit::AccessContext`] at
/// hand for code that renders without extractors — views other modules contribute to a page,
/// start-page panels, search sources — so what they read is audited under the same actor,
/// request id and client address as the page itself.
pub async fn provide_access_context(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let (mut parts, body) = req.into_parts();
    let ctx = match <crate::audit::AccessContext as axum::extract::FromRequestParts<()>>::from_request_parts(&mut parts, &()).await {
        Ok(ctx) => ctx,
        Err(never) => match never {},
    };
    let req = axum::extract::Request::from_parts(parts, body);
    CURRENT_CONTEXT.scope(ctx, next.run(req)).await
}

impl crate::audit::AccessContext {
    /// The context of the request being handled (see [`provide_access_context`]); outside a
    /// request, an anonymous one, so an audit record is never lost for want of a context.
    pub fn current() -> Self {
        CURRENT_CONTEXT
            .try_with(Clone::clone)
            .unwrap_or_else(|_| Self {
                actor: crate::audit::Actor::anonymous(),
                request_id: "-".into(),
                client_address: None,
                purpose: None,
            })
    }

    /// The request id and client address of a request, with an anonymous actor.
    pub fn from_parts(parts: &http::request::Parts) -> Self {
        let request_id = parts
            .headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned();
        // The client as [`resolve_client`] found it (behind a trusted proxy, the address it
        // forwarded for), else the peer of the connection.
        let client_address = parts
            .extensions
            .get::<ClientAddress>()
            .map(|c| c.0)
            .or_else(|| peer_of(&parts.extensions))
            .map(|ip| ip.to_string());
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

/// The connection's peer address, when the server recorded it.
fn peer_of(extensions: &http::Extensions) -> Option<IpAddr> {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())
}

/// One trusted network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The reverse proxies (load balancers, ingress) whose `X-Forwarded-For` is believed
/// (`--trusted-proxies`). Empty by default: then the header is ignored, because anyone can send
/// it, and a client could otherwise pick the address the rate limits and the audit trail see.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<[Cidr]>);

impl TrustedProxies {
    /// Parses a list of addresses and CIDR networks separated by commas or spaces, e.g.
    /// `10.0.0.0/8, 192.0.2.7, fd00::/8`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
        {
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let network: IpAddr = addr
                .parse()
                .map_err(|_| format!("`{item}` is not an IP address or CIDR network"))?;
            let network = network.to_canonical();
            let max = if network.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => max,
                Some(p) => p
                    .parse::<u8>()
                    .ok()
                    .filter(|p| *p <= max)
                    .ok_or_else(|| format!("`{item}` has no valid prefix length (0–{max})"))?,
            };
            nets.push(Cidr { network, prefix });
        }
        Ok(Self(nets.into()))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// The client behind a request that arrived from `peer`: the peer itself unless it is a
    /// trusted proxy; then the `X-Forwarded-For` chain is read from the right (each proxy appends
    /// the address it received from), skipping trusted proxies, and the first address that is
    /// not one is the client. Entries left of it were written by the client and are ignored; an
    /// unreadable entry stops the walk at the last proxy that could be believed.
    pub fn client_of(&self, peer: IpAddr, headers: &http::HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The client's address as [`resolve_client`] determined it; read by
/// [`AccessContext::from_parts`](crate::audit::AccessContext::from_parts), so rate limits and
/// the audit trail see the real client behind a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

/// Middleware: resolves the client address of every request (see
/// [`TrustedProxies::client_of`]) and leaves it in the extensions as [`ClientAddress`]. An
/// extension rather than a process-wide setting, so that two servers in one process (tests) can
/// trust different proxies.
pub async fn resolve_client(
    State(trusted): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(peer) = peer_of(req.extensions()) {
        let client = trusted.client_of(peer, req.headers());
        req.extensions_mut().insert(ClientAddress(client));
    }
    next.run(req).await
}

/// Middleware: gives the request a tracing span with its id and route (continuing the caller's
/// trace when it sent `traceparent`), records Prometheus request counts and latency per route,
/// and writes one access-log line.
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
    // `http.*` are the OpenTelemetry names the trace exporter sends (route template, never the
    // URI); a caller's W3C `traceparent` makes this span part of the caller's trace.
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    if let Some(parent) = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
    {
        aloft_otlp::continue_trace(&span, parent);
    }
    let response = next.run(req).instrument(span.clone()).await;
    let elapsed = start.elapsed();
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
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

/// Whether a client-sent request id may be kept: 1–64 characters of `[A-Za-z0-9._-]`. Anything
/// else (long values, spaces, quotes, separators) would flow into logs and the audit trail as the
/// client wrote it — log forging, oversized records — so it is replaced.
pub fn acceptable_request_id(id: &[u8]) -> bool {
    (1..=64).contains(&id.len())
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Middleware (outermost but for [`resolve_client`]): gives every request an `X-Request-Id` —
/// the caller's when [`acceptable_request_id`], else a fresh UUID — and echoes it on the
/// response. The access log, traces and the audit trail read it from the request headers.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = match req.headers().get(&REQUEST_ID) {
        Some(v) if acceptable_request_id(v.as_bytes()) => v.clone(),
        _ => HeaderValue::try_from(uuid::Uuid::new_v4().to_string())
            .expect("a UUID is a valid header value"),
    };
    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
    let mut response = next.run(req).await;
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    response
}

/// Whether responses under `path` may be kept by caches: the public assets (which set their own
/// caching) and the probes. Everything else — every API response and every page — may carry
/// personal data, which must not linger in browser, proxy or CDN caches.
fn cacheable_path(path: &str) -> bool {
    path.starts_with("/assets/") || path == "/healthz" || path == "/readyz"
}

/// Middleware: security headers for every response. The content security policy allows only
/// same-origin scripts and styles: no inline script anywhere, no CDN. `Cache-Control: no-store`
/// unless the path is [`cacheable_path`] or the handler chose its own caching.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let no_store = !cacheable_path(req.uri().path());
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let set = |h: &mut http::HeaderMap, name: HeaderName, value: &'static str| {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    if no_store {
        set(h, header::CACHE_CONTROL, "no-store");
    }
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
    // Each event subscriber's distance behind the outbox and its parked events (failures an
    // operator must look at), also counted at scrape time.
    if let Ok(Ok(subs)) = tokio::time::timeout(
        Duration::from_secs(1),
        crate::subscriptions::status(&state.db),
    )
    .await
    {
        for s in subs {
            metrics::gauge!("aloft_subscription_behind", "subscriber" => s.name.clone())
                .set(s.behind as f64);
            metrics::gauge!("aloft_subscription_parked", "subscriber" => s.name)
                .set(s.parked as f64);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(values: &[&str]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_key_named_twice_in_any_object_is_refused_with_its_pointer() {
        let dup = |text: &str| match parse_json(text.as_bytes()) {
            Err(JsonError::DuplicateKey(p)) => p,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(dup(r#"{"a":1,"a":1}"#), "/a");
        assert_eq!(dup(r#"{"a":{"b":[1,{"c":1,"d":2,"c":3}]}}"#), "/a/b/1/c");
        assert_eq!(dup(r#"[{}, {"x/y~z": 1, "x/y~z": 2}]"#), "/1/x~1y~0z");
        assert_eq!(dup(r#"{"a":1,"b":{"a":1},"b":2}"#), "/b");
        assert_eq!(dup(r#"{"":1,"":2}"#), "/");
        // Everything else parses exactly as serde_json does.
        for text in [
            r#"{"a":{"a":{"a":[{"a":1},{"a":2}]}},"b":[1,-2,3.5,1e300,18446744073709551615,true,null,"\u00e9"]}"#,
            "[]",
            "  \"x\" ",
            "-0",
        ] {
            let ours = parse_json(text.as_bytes()).unwrap();
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        // Nesting deeper than serde_json's recursion limit is refused, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        for bad in ["", "{", "[1,]", "{} {}", "{\"a\":1,}", &deep] {
            assert!(
                matches!(parse_json(bad.as_bytes()), Err(JsonError::Syntax(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn request_ids_are_short_and_plain() {
        for good in ["a", "trace-42_A.b", &"x".repeat(64)] {
            assert!(acceptable_request_id(good.as_bytes()), "{good}");
        }
        for bad in ["", "a b", "a/b", "a;b", "\"q\"", "ü", "\t", &"x".repeat(65)] {
            assert!(!acceptable_request_id(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let none = TrustedProxies::default();
        let peer = ip("10.0.0.5");
        assert_eq!(
            none.client_of(peer, &xff(&["203.0.113.9"])),
            peer,
            "nobody trusted: the header is ignored"
        );
        let lb = TrustedProxies::parse("10.0.0.0/8, 192.0.2.7 fd00::/8").unwrap();
        assert_eq!(
            lb.client_of(peer, &xff(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            lb.client_of(ip("198.51.100.1"), &xff(&["203.0.113.9"])),
            ip("198.51.100.1"),
            "an untrusted peer's header is ignored"
        );
        // The client prepends a forged address; the proxies append what they saw.
        assert_eq!(
            lb.client_of(peer, &xff(&["1.2.3.4, 203.0.113.9, 10.1.1.1"])),
            ip("203.0.113.9")
        );
        assert_eq!(
            lb.client_of(peer, &xff(&["1.2.3.4", "203.0.113.9:4711, 192.0.2.7"])),
            ip("203.0.113.9"),
            "several headers, ports"
        );
        assert_eq!(
            lb.client_of(peer, &xff(&["garbage, 10.2.2.2"])),
            ip("10.2.2.2"),
            "an unreadable hop stops at the last believable one"
        );
        assert_eq!(lb.client_of(peer, &xff(&[])), peer, "no header: the proxy");
        assert_eq!(
            lb.client_of(ip("::ffff:10.0.0.5"), &xff(&["[2001:db8::1]:80"])),
            ip("2001:db8::1"),
            "IPv4-mapped peers and bracketed IPv6 hops"
        );
        assert_eq!(
            lb.client_of(ip("fd00::1"), &xff(&["2001:db8::2"])),
            ip("2001:db8::2")
        );
        for bad in ["10.0.0.0/33", "nonsense", "fd00::/129", "10.0.0.1/x"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad}");
        }
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(
            TrustedProxies::parse("0.0.0.0/0")
                .unwrap()
                .contains(ip("8.8.8.8"))
        );
    }
}
