//! Who may do what: roles, permissions, the signed-in principal, and the route policy gate.
//!
//! Aloft is **deny by default**. Every route declares its [`Access`] in a [`RoutePolicy`] table
//! that lives next to the routes (each domain exports one); the [`authorize`] middleware looks up
//! the matched route and method and refuses anything undeclared. Permissions are plain data
//! ([`Role::permissions`]), shown to the CMP manager on `/access/roles`, and a test walks every
//! route of the real router against every role.
//!
//! How a request proves who it is (session cookie, bearer token) is not decided here: the
//! access domain implements [`Authenticator`]. This module only knows the outcome, a
//! [`Principal`], and enforces policy, CSRF and the audit of denials.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use http::{Method, StatusCode, header};
use serde::Serialize;

use crate::audit::{AccessContext, Actor, Auditor};
use crate::problem::{ApiError, Problem};

/// A job in the airline, as named in the product brief. The identifiers (`as_str`) are used
/// everywhere: tokens, configuration, the CLI, the audit trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Answers calls, chats and e-mails; looks after bookings and profiles.
    ContactCentreAgent,
    /// Checks passengers in at an airport station.
    CheckinAgent,
    /// Plans campaigns from segments and consented audiences.
    MarketingManager,
    /// Answers for GDPR: subject requests, erasure, consent, audit.
    DataPrivacyOfficer,
    /// Runs the frequent-flyer programme.
    LoyaltyManager,
    /// Serves passengers on board their flights.
    CabinCrew,
    /// Owns the CMP itself: configuration, role review.
    CmpManager,
    /// Handles complaints, claims and compensation.
    CustomerAffairsExecutive,
    /// Builds analyses and models on pseudonymised data.
    DataAnalyst,
    /// Sells on board and on the web.
    InflightRetailer,
    /// Watches security: audit trail, sign-in anomalies, keys.
    SecurityOperationsManager,
    /// Manages staff accounts and integration clients (not customer data).
    Administrator,
    /// A traveller using self-service.
    Passenger,
}

impl Role {
    /// Every role, in the order pages list them.
    pub const ALL: [Role; 13] = [
        Role::ContactCentreAgent,
        Role::CheckinAgent,
        Role::CabinCrew,
        Role::CustomerAffairsExecutive,
        Role::LoyaltyManager,
        Role::MarketingManager,
        Role::InflightRetailer,
        Role::DataAnalyst,
        Role::DataPrivacyOfficer,
        Role::SecurityOperationsManager,
        Role::CmpManager,
        Role::Administrator,
        Role::Passenger,
    ];

    /// The stable identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ContactCentreAgent => "contact_centre_agent",
            Role::CheckinAgent => "checkin_agent",
            Role::MarketingManager => "marketing_manager",
            Role::DataPrivacyOfficer => "data_privacy_officer",
            Role::LoyaltyManager => "loyalty_manager",
            Role::CabinCrew => "cabin_crew",
            Role::CmpManager => "cmp_manager",
            Role::CustomerAffairsExecutive => "customer_affairs_executive",
            Role::DataAnalyst => "data_analyst",
            Role::InflightRetailer => "inflight_retailer",
            Role::SecurityOperationsManager => "security_operations_manager",
            Role::Administrator => "administrator",
            Role::Passenger => "passenger",
        }
    }

    /// Parses an identifier.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// A human label.
    pub fn label(self) -> &'static str {
        match self {
            Role::ContactCentreAgent => "Contact centre agent",
            Role::CheckinAgent => "Check-in agent",
            Role::MarketingManager => "Marketing manager",
            Role::DataPrivacyOfficer => "Data privacy officer",
            Role::LoyaltyManager => "Loyalty manager",
            Role::CabinCrew => "Cabin crew",
            Role::CmpManager => "CMP manager",
            Role::CustomerAffairsExecutive => "Customer affairs executive",
            Role::DataAnalyst => "Data analyst",
            Role::InflightRetailer => "In-flight retailer",
            Role::SecurityOperationsManager => "Security operations manager",
            Role::Administrator => "Administrator",
            Role::Passenger => "Passenger",
        }
    }

    /// Staff roles sign in to the workspace with MFA; the passenger role is its own realm.
    pub fn is_staff(self) -> bool {
        self != Role::Passenger
    }

    /// What this role may do. Least privilege: a role gets what its job needs and nothing
    /// more, so e.g. the administrator manages accounts but reads no customer data, and the
    /// marketing manager and data analyst see aggregates, not individual profiles.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::ContactCentreAgent => &[CustomerRead, CustomerWrite],
            Role::CheckinAgent => &[CustomerRead, CustomerWrite, TravelDocumentRead],
            Role::CabinCrew => &[CustomerRead],
            Role::CustomerAffairsExecutive => &[CustomerRead, CustomerWrite],
            Role::LoyaltyManager => &[CustomerRead, CustomerWrite, IdentityReview],
            Role::MarketingManager => &[],
            Role::InflightRetailer => &[],
            Role::DataAnalyst => &[],
            Role::DataPrivacyOfficer => &[
                CustomerRead,
                CustomerWrite,
                TravelDocumentRead,
                AuditRead,
                AccessReview,
                IdentityReview,
            ],
            Role::SecurityOperationsManager => &[AuditRead, AccessReview],
            Role::CmpManager => &[AccessReview, RecordsIngest],
            Role::Administrator => &[AccessReview, AccountsManage, ApiClientsManage],
            Role::Passenger => &[OwnProfile],
        }
    }

    /// The row scope a principal of this role has when nothing narrower is known: cabin crew
    /// always see only their rostered flights' passengers, whoever issued their credential.
    pub fn default_scope(self) -> RowScope {
        match self {
            Role::CabinCrew => RowScope::Roster,
            _ => RowScope::All,
        }
    }

    /// Whether this role holds `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a role may be allowed to do. Checked by the route gate and, for field masking and
/// row scoping, by the domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Permission {
    /// Find and view customer profiles (sensitive fields masked unless another permission
    /// allows them).
    CustomerRead,
    /// Create and change customer profiles.
    CustomerWrite,
    /// See travel document numbers unmasked.
    TravelDocumentRead,
    /// Search and verify the audit trail.
    AuditRead,
    /// Review roles and their permissions.
    AccessReview,
    /// Create, disable and reset staff accounts.
    AccountsManage,
    /// Create and revoke integration API clients.
    ApiClientsManage,
    /// A passenger's own profile, and only theirs.
    OwnProfile,
    /// Send source-system records into Aloft (batch ingest API; integration clients).
    RecordsIngest,
    /// Work the identity review queue: confirm or reject uncertain matches, merge and unmerge
    /// profiles (data stewards).
    IdentityReview,
}

impl Permission {
    /// Every permission, in the order the review page lists them.
    pub const ALL: [Permission; 10] = [
        Permission::CustomerRead,
        Permission::CustomerWrite,
        Permission::TravelDocumentRead,
        Permission::AuditRead,
        Permission::AccessReview,
        Permission::AccountsManage,
        Permission::ApiClientsManage,
        Permission::OwnProfile,
        Permission::RecordsIngest,
        Permission::IdentityReview,
    ];

    /// The stable identifier (also the OAuth scope that grants it).
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::CustomerRead => "customer.read",
            Permission::CustomerWrite => "customer.write",
            Permission::TravelDocumentRead => "customer.travel_document.read",
            Permission::AuditRead => "audit.read",
            Permission::AccessReview => "access.review",
            Permission::AccountsManage => "accounts.manage",
            Permission::ApiClientsManage => "api_clients.manage",
            Permission::OwnProfile => "self.profile",
            Permission::RecordsIngest => "records.ingest",
            Permission::IdentityReview => "identity.review",
        }
    }

    /// Parses an identifier or scope.
    pub fn parse(text: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// What it allows, in a sentence.
    pub fn description(self) -> &'static str {
        match self {
            Permission::CustomerRead => "Find and view customer profiles",
            Permission::CustomerWrite => "Create and change customer profiles",
            Permission::TravelDocumentRead => "See passport numbers unmasked",
            Permission::AuditRead => "Search and verify the audit trail",
            Permission::AccessReview => "Review roles and permissions",
            Permission::AccountsManage => "Manage staff accounts",
            Permission::ApiClientsManage => "Manage integration API clients",
            Permission::OwnProfile => "View and change one's own profile (passengers)",
            Permission::RecordsIngest => "Send source-system records (integrations)",
            Permission::IdentityReview => "Review uncertain matches, merge and unmerge profiles",
        }
    }
}

/// How the principal proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Realm {
    /// Airline staff signed in to the workspace.
    Staff,
    /// A passenger using self-service.
    Passenger,
    /// A machine: integration client or operator token.
    Service,
}

/// Which rows a principal may see, where the job implies a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum RowScope {
    /// No row limit beyond the permissions.
    All,
    /// A check-in agent: their station's departures (IATA airport code).
    Station(String),
    /// Cabin crew: the passengers of the flights on their roster (around departure), looked up
    /// by the principal's subject.
    Roster,
    /// A passenger: their own customer record.
    Customer(uuid::Uuid),
}

/// A signed-in (or token-bearing) caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable subject: account id, client id or token subject.
    pub subject: String,
    /// What to call them on screen.
    pub display_name: String,
    /// The role they act in.
    pub role: Role,
    /// How they signed in.
    pub realm: Realm,
    /// Row limits.
    pub scope: RowScope,
    /// `false` while a staff member has given a password but not yet the second factor: only the
    /// sign-in steps are open to them.
    pub fully_authenticated: bool,
    /// Permissions narrowed further than the role (OAuth scopes); `None` = the role's set.
    pub scopes: Option<Vec<Permission>>,
    /// The session's CSRF token when authenticated by cookie (forms must echo it).
    pub csrf_token: Option<String>,
    /// The session id hash, for sign-out.
    pub session: Option<String>,
}

impl Principal {
    /// Whether this principal holds `permission` (role and token scopes both allow it).
    pub fn can(&self, permission: Permission) -> bool {
        self.fully_authenticated
            && self.role.allows(permission)
            && self.scopes.as_ref().is_none_or(|s| s.contains(&permission))
    }

    /// The audit actor.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.subject.clone(),
            role: self.role.as_str().to_owned(),
        }
    }
}

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
}

impl Gate {
    /// A gate over the union of the domains' policy tables.
    ///
    /// # Panics
    /// If two tables declare the same route and method: a route has exactly one policy.
    pub fn new(
        tables: &[&[RoutePolicy]],
        authenticator: Arc<dyn Authenticator>,
        auditor: Option<Auditor>,
    ) -> Self {
        let mut policies = HashMap::new();
        let mut paths: HashMap<String, Vec<&'static str>> = HashMap::new();
        for p in tables.iter().flat_map(|t| t.iter()) {
            let previous = policies.insert((p.method.to_owned(), p.path.to_owned()), p.access);
            assert!(
                previous.is_none(),
                "route {} {} declared twice",
                p.method,
                p.path
            );
            paths.entry(p.path.to_owned()).or_default().push(p.method);
        }
        Self {
            policies: Arc::new(policies),
            paths: Arc::new(paths),
            authenticator,
            auditor,
        }
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

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
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
            auditor
                .record(ctx.entry(
                    "access.denied",
                    "route",
                    Some(format!("{method} {route}")),
                    vec![],
                    "denied",
                ))
                .await;
        }
        tracing::info!(route = %route, method = %method, role = %p.role, "permission denied");
        return forbidden(api);
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
                auditor
                    .record(ctx.entry(
                        "access.csrf_rejected",
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
    let Ok(bytes) = axum::body::to_bytes(body, crate::http::BODY_LIMIT).await else {
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

fn forbidden(api: bool) -> Response {
    let problem = Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed")
        .with_detail("Your role does not include this. Ask your CMP manager if your job needs it.");
    if api {
        return ApiError::Problem(problem).into_response();
    }
    crate::web::page(
        StatusCode::FORBIDDEN,
        crate::web::layout(
            "Not allowed",
            crate::web::Section::Home,
            maud::html! {
                h1 { "Not allowed" }
                p { "Your role does not include this page. Ask your CMP manager if your job needs it." }
                p { a href="/" { "Back to the start page" } }
            },
        ),
    )
}
