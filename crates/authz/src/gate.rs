//! The route gate: every route declares its [`Access`] in a [`RoutePolicy`] table that lives
//! next to the routes (each domain module exports its own); the [`authorize`] middleware looks
//! up the matched route and method and refuses anything undeclared, checks CSRF on
//! cookie-authenticated state changes, audits denials, and hands the principal to the handler.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aloft_kernel::audit::{AccessContext, AuditAction, Auditor};
use aloft_kernel::problem::{ApiError, Problem};
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{Method, StatusCode, header};

use crate::principal::{Permission, Principal, Realm};

/// Audit action: a request was refused by the route gate.
pub const ACCESS_DENIED: AuditAction = AuditAction::new("access.denied");
/// Audit action: a cookie-authenticated state change came without its CSRF token.
pub const CSRF_REJECTED: AuditAction = AuditAction::new("access.csrf_rejected");

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in page, assets, health checks, API description).
    Public,
    /// A staff member who has given a password but perhaps not yet the second factor (the MFA
    /// step itself, sign-out).
    SignInStep,
    /// Any fully signed-in staff member.
    Staff,
    /// Anyone holding this permission.
    Permission(Permission),
}

/// One line of a route policy table: `method path` needs `access`.
#[derive(Debug, Clone, Copy)]
pub struct RoutePolicy {
    /// HTTP method (`HEAD` is served by `GET`'s policy).
    pub method: &'static str,
    /// The route template exactly as registered, e.g. `/api/v1/customers/{id}`.
    pub path: &'static str,
    /// What it needs.
    pub access: Access,
}

impl RoutePolicy {
    /// Shorthand for a table line.
    pub const fn new(method: &'static str, path: &'static str, access: Access) -> Self {
        Self {
            method,
            path,
            access,
        }
    }
}

/// The result of looking at a request's credentials.
#[derive(Debug)]
pub enum Authentication {
    /// No credentials at all.
    Anonymous,
    /// Valid credentials.
    Principal(Principal),
    /// Credentials that are present but invalid (expired, forged, wrong audience): 401 with
    /// this reason, never silently anonymous.
    Invalid(String),
}

/// Boxed future returned by [`Authenticator::authenticate`].
pub type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Authentication, ApiError>> + Send + 'a>>;

/// Turns a request's credentials into a principal. Implemented by the access domain.
pub trait Authenticator: Send + Sync + 'static {
    /// Looks at headers and cookies only (never the body).
    fn authenticate<'a>(&'a self, parts: &'a http::request::Parts) -> AuthFuture<'a>;
}

/// Everything the [`authorize`] middleware needs.
#[derive(Clone)]
pub struct Gate {
    policies: Arc<HashMap<(String, String), Access>>,
    paths: Arc<HashMap<String, Vec<&'static str>>>,
    authenticator: Arc<dyn Authenticator>,
    auditor: Option<Auditor>,
    refusal_page: RefusalPage,
}

/// Renders the HTML page of a refusal (`403` on a page route): the web shell supplies one, so
/// the gate needs no UI of its own.
pub type RefusalPage = fn(StatusCode, &'static str, &'static str) -> Response;

fn plain_refusal(status: StatusCode, title: &'static str, detail: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{title}\n\n{detail}\n"),
    )
        .into_response()
}

impl Gate {
    /// A gate over the union of the modules' policies.
    ///
    /// # Panics
    /// If two tables declare the same route and method: a route has exactly one policy.
    pub fn new(
        policies: &[RoutePolicy],
        authenticator: Arc<dyn Authenticator>,
        auditor: Option<Auditor>,
    ) -> Self {
        let mut table = HashMap::new();
        let mut paths: HashMap<String, Vec<&'static str>> = HashMap::new();
        for p in policies {
            let previous = table.insert((p.method.to_owned(), p.path.to_owned()), p.access);
            assert!(
                previous.is_none(),
                "route {} {} declared twice",
                p.method,
                p.path
            );
            paths.entry(p.path.to_owned()).or_default().push(p.method);
        }
        Self {
            policies: Arc::new(table),
            paths: Arc::new(paths),
            authenticator,
            auditor,
            refusal_page: plain_refusal,
        }
    }

    /// Renders refusals of page routes with `page` (the web shell's layout).
    pub fn with_refusal_page(mut self, page: RefusalPage) -> Self {
        self.refusal_page = page;
        self
    }

    /// The declared policy of a route, if any (`HEAD` falls back to `GET`).
    pub fn policy(&self, method: &Method, path: &str) -> Option<Access> {
        let key = (method.as_str().to_owned(), path.to_owned());
        self.policies.get(&key).copied().or_else(|| {
            (method == Method::HEAD)
                .then(|| {
                    self.policies
                        .get(&("GET".to_owned(), path.to_owned()))
                        .copied()
                })
                .flatten()
        })
    }

    /// Every declared `(method, path)`.
    pub fn declared(&self) -> Vec<(String, String, Access)> {
        let mut all: Vec<_> = self
            .policies
            .iter()
            .map(|((m, p), a)| (m.clone(), p.clone(), *a))
            .collect();
        all.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        all
    }
}

tokio::task_local! {
    static CURRENT: Option<Principal>;
}

/// The principal of the request being handled, for code that renders without an extractor (the
/// page layout's user menu, CSRF fields in forms).
pub fn current_principal() -> Option<Principal> {
    CURRENT.try_with(|p| p.clone()).ok().flatten()
}

/// Name of the form field (and `x-csrf-token` header) carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Whether refusals answer as an API (401/403 problem+json) rather than a page (redirect to
/// sign-in): everything under `/api/`, and the kernel's Prometheus `/metrics`, whose callers are
/// scrapers that cannot follow a sign-in page.
fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/metrics"
}

fn unsafe_method(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware (add with `Router::layer` so the matched route is known): enforces the declared
/// policy of the route, checks CSRF on cookie-authenticated state changes, audits denials, and
/// makes the principal available to the handler (request extension and [`current_principal`]).
pub async fn authorize(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let Some(route) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
    else {
        // Unmatched paths reach the 404 fallback, which reveals nothing.
        return CURRENT.scope(None, next.run(req)).await;
    };
    let method = req.method().clone();
    let api = is_api(&route);
    let Some(access) = gate.policy(&method, &route) else {
        if let Some(methods) = gate.paths.get(&route) {
            let allow = methods.join(", ");
            let mut resp = ApiError::Problem(
                Problem::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method-not-allowed",
                    "Method not allowed",
                )
                .with_detail(format!("This resource supports {allow}.")),
            )
            .into_response();
            if let Ok(v) = http::HeaderValue::from_str(&allow) {
                resp.headers_mut().insert(header::ALLOW, v);
            }
            return resp;
        }
        tracing::error!(route = %route, method = %method, "route has no access policy; denied");
        return ApiError::Problem(Problem::new(
            StatusCode::FORBIDDEN,
            "no-access-policy",
            "This route has no access policy",
        ))
        .into_response();
    };
    let (mut parts, body) = req.into_parts();
    let principal = match gate.authenticator.authenticate(&parts).await {
        Ok(Authentication::Principal(p)) => Some(p),
        Ok(Authentication::Anonymous) => None,
        Ok(Authentication::Invalid(reason)) => {
            if access == Access::Public {
                None
            } else {
                return unauthenticated(api, &parts, Some(reason));
            }
        }
        Err(e) => return e.into_response(),
    };
    let allowed = match (&access, &principal) {
        (Access::Public, _) => true,
        (_, None) => return unauthenticated(api, &parts, None),
        (Access::SignInStep, Some(p)) => p.realm == Realm::Staff,
        (Access::Staff, Some(p)) => {
            if !p.fully_authenticated {
                return unauthenticated(api, &parts, None);
            }
            p.realm == Realm::Staff
        }
        (Access::Permission(perm), Some(p)) => {
            if !p.fully_authenticated {
                return unauthenticated(api, &parts, None);
            }
            p.can(*perm)
        }
    };
    if !allowed {
        let p = principal.as_ref().expect("denials have a principal");
        if let Some(auditor) = &gate.auditor {
            let ctx = access_context(&parts, Some(p));
            // A refusal shows nothing, so it need not wait for (or fail with) its record.
            let _ = auditor
                .record(ctx.entry(
                    ACCESS_DENIED,
                    "route",
                    Some(format!("{method} {route}")),
                    vec![],
                    "denied",
                ))
                .await;
        }
        tracing::info!(route = %route, method = %method, role = p.role, "permission denied");
        return forbidden(&gate, api);
    }
    // CSRF: a cookie rides along with cross-site requests; a bearer token does not.
    let mut body = body;
    if unsafe_method(&method)
        && let Some(expected) = principal.as_ref().and_then(|p| p.csrf_token.clone())
    {
        let (ok, rebuilt) = csrf_matches(&parts, body, &expected).await;
        body = rebuilt;
        if !ok {
            if let Some(auditor) = &gate.auditor {
                let ctx = access_context(&parts, principal.as_ref());
                let _ = auditor
                    .record(ctx.entry(
                        CSRF_REJECTED,
                        "route",
                        Some(format!("{method} {route}")),
                        vec![],
                        "denied",
                    ))
                    .await;
            }
            return ApiError::Problem(
                Problem::new(StatusCode::FORBIDDEN, "csrf", "The form has expired")
                    .with_detail("Reload the page and submit it again."),
            )
            .into_response();
        }
    }
    if let Some(p) = &principal {
        parts.extensions.insert(p.clone());
        // The audit context extractor (kernel) reads the actor from here.
        parts.extensions.insert(p.actor());
    }
    let req = Request::from_parts(parts, body);
    CURRENT.scope(principal, next.run(req)).await
}

/// Checks the CSRF token in the `x-csrf-token` header or, for HTML forms, the `csrf` field of
/// the URL-encoded body (which is read and handed back for the handler).
async fn csrf_matches(
    parts: &http::request::Parts,
    body: axum::body::Body,
    expected: &str,
) -> (bool, axum::body::Body) {
    if let Some(h) = parts
        .headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return (
            aloft_security::constant_time_eq(h.as_bytes(), expected.as_bytes()),
            body,
        );
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (false, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, aloft_kernel::http::BODY_LIMIT).await else {
        return (false, axum::body::Body::empty());
    };
    let ok = form_urlencoded_field(&bytes, CSRF_FIELD)
        .is_some_and(|t| aloft_security::constant_time_eq(t.as_bytes(), expected.as_bytes()));
    (ok, axum::body::Body::from(bytes))
}

fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

/// The audit context of a request whose principal is known.
pub fn access_context(
    parts: &http::request::Parts,
    principal: Option<&Principal>,
) -> AccessContext {
    let mut ctx = AccessContext::from_parts(parts);
    if let Some(p) = principal {
        ctx.actor = p.actor();
    }
    ctx
}

fn unauthenticated(api: bool, parts: &http::request::Parts, reason: Option<String>) -> Response {
    if api {
        let mut resp =
            ApiError::Problem(
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "Authentication required",
                )
                .with_detail(reason.unwrap_or_else(|| {
                    "Send a bearer token in the Authorization header.".to_owned()
                })),
            )
            .into_response();
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Bearer realm=\"aloft\""),
        );
        return resp;
    }
    let target = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let next: String =
        percent_encoding::utf8_percent_encode(target, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    Redirect::to(&format!("/sign-in?next={next}")).into_response()
}

const FORBIDDEN_DETAIL: &str =
    "Your role does not include this. Ask your CMP manager if your job needs it.";

fn forbidden(gate: &Gate, api: bool) -> Response {
    if api {
        return ApiError::Problem(
            Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
                .with_detail(FORBIDDEN_DETAIL),
        )
        .into_response();
    }
    (gate.refusal_page)(StatusCode::FORBIDDEN, "Not allowed", FORBIDDEN_DETAIL)
}
