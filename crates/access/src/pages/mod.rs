//! Staff sign-in pages: password, second factor (TOTP or a recovery code), first-time MFA
//! enrolment with a QR code, sign-out (here and everywhere) and the account page; the access
//! administration pages (roles, accounts, clients, grants) are in `admin`. One router and one
//! policy table for both.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use aloft_authz::{Access, Permission, Principal, RoleDef, Roles, RoutePolicy, ScopeRule};

use crate::permissions::{ACCESS_APPROVE, ACCESS_REVIEW, ACCOUNTS_MANAGE, API_CLIENTS_MANAGE};
use aloft_kernel::db::now;
use aloft_kernel::{AccessContext, ApiError};
use aloft_security::password::verify_unknown_user;
use aloft_security::totp::{TotpSecret, otpauth_uri};
use aloft_security::verify_password;
use aloft_web::{Section, csrf_field, layout, page};

use crate::gate::{SESSION_COOKIE, SESSION_COOKIE_TLS, cookie};
use crate::limiter::RateLimiter;
use crate::model::{ABSOLUTE_TIMEOUT, Stage, global_slowdown, safe_next};
use crate::storage::{AccountStore, Session};

/// Shared by the sign-in handlers.
#[derive(Clone)]
pub struct SignInState {
    accounts: AccountStore,
    roles: Roles,
    limiter: Arc<RateLimiter>,
    tls: bool,
    sso: bool,
}

impl SignInState {
    /// Over `accounts` in the roles of `roles`; `tls` makes cookies `Secure` with the
    /// `__Host-` prefix.
    pub fn new(accounts: AccountStore, roles: Roles, tls: bool) -> Self {
        Self {
            accounts,
            roles,
            // Per client address: generous for an office behind one NAT, useless for spraying.
            limiter: Arc::new(RateLimiter::new(30, Duration::from_secs(60))),
            tls,
            sso: false,
        }
    }

    /// The role catalogue.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// Offers "Sign in with your organisation" on the sign-in page.
    pub fn with_sso(mut self) -> Self {
        self.sso = true;
        self
    }

    /// Whether the server speaks TLS (cookies are then `Secure`).
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The `Set-Cookie` value for a new session.
    pub fn session_cookie(&self, value: &str) -> HeaderValue {
        self.set_cookie(value)
    }

    fn cookie_name(&self) -> &'static str {
        if self.tls {
            SESSION_COOKIE_TLS
        } else {
            SESSION_COOKIE
        }
    }

    fn set_cookie(&self, value: &str) -> HeaderValue {
        let secure = if self.tls { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            self.cookie_name(),
            ABSOLUTE_TIMEOUT.num_seconds()
        ))
        .expect("cookie values are URL-safe base64")
    }

    fn clear_cookie(&self) -> HeaderValue {
        let secure = if self.tls { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}",
            self.cookie_name()
        ))
        .expect("static cookie")
    }

    async fn session(&self, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
        let mut parts = http::Request::new(()).into_parts().0;
        parts.headers = headers.clone();
        match cookie(&parts, self.cookie_name()) {
            Some(v) => Ok(self.accounts.session(v).await?),
            None => Ok(None),
        }
    }
}

/// The access section of the workspace (roles, accounts, clients).
pub const SECTION: Section = Section::new("access");

/// Who may open the sign-in, account and access pages.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/sign-in", Access::Public),
    RoutePolicy::new("POST", "/sign-in", Access::Public),
    RoutePolicy::new("GET", "/sign-in/mfa", Access::SignInStep),
    RoutePolicy::new("POST", "/sign-in/mfa", Access::SignInStep),
    RoutePolicy::new("GET", "/sign-in/enrol", Access::SignInStep),
    RoutePolicy::new("POST", "/sign-in/enrol", Access::SignInStep),
    RoutePolicy::new("POST", "/sign-out", Access::SignInStep),
    RoutePolicy::new("GET", "/account", Access::Staff),
    RoutePolicy::new("POST", "/account/sign-out-everywhere", Access::Staff),
    RoutePolicy::new("GET", "/access/roles", Access::Permission(ACCESS_REVIEW)),
    RoutePolicy::new(
        "GET",
        "/access/accounts",
        Access::Permission(ACCOUNTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/access/accounts",
        Access::Permission(ACCOUNTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/access/accounts/{id}/{action}",
        Access::Permission(ACCOUNTS_MANAGE),
    ),
    RoutePolicy::new(
        "GET",
        "/access/clients",
        Access::Permission(API_CLIENTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/access/clients",
        Access::Permission(API_CLIENTS_MANAGE),
    ),
    RoutePolicy::new(
        "POST",
        "/access/clients/{id}/revoke",
        Access::Permission(API_CLIENTS_MANAGE),
    ),
    RoutePolicy::new("GET", "/access/grants", Access::Permission(ACCESS_APPROVE)),
    RoutePolicy::new(
        "POST",
        "/access/grants/{id}/{decision}",
        Access::Permission(ACCESS_APPROVE),
    ),
];

/// The sign-in and account pages.
pub fn routes(state: SignInState) -> Router {
    Router::new()
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-in/mfa", get(mfa_form).post(mfa))
        .route("/sign-in/enrol", get(enrol_form).post(enrol))
        .route("/sign-out", post(sign_out))
        .route("/account", get(account))
        .route("/account/sign-out-everywhere", post(sign_out_everywhere))
        .route("/access/roles", get(roles))
        .route("/access/accounts", get(accounts).post(create_account))
        .route("/access/accounts/{id}/{action}", post(account_action))
        .route("/access/clients", get(clients).post(create_client))
        .route("/access/clients/{id}/revoke", post(revoke_client))
        .route("/access/grants", get(grants))
        .route("/access/grants/{id}/{decision}", post(decide_grant))
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn next_field(next: &str) -> Markup {
    html! { input type="hidden" name="next" value=(next); }
}

fn sign_in_page(status: StatusCode, next: &str, error: Option<&str>, sso: bool) -> Response {
    page(
        status,
        layout(
            "Sign in",
            Section::HOME,
            html! {
                article.narrow {
                    h1 { "Sign in" }
                    @if let Some(e) = error {
                        p.form-error role="alert" #sign-in-error { (e) }
                    }
                    form method="post" action="/sign-in" {
                        (next_field(next))
                        label for="username" { "Username" }
                        input #username name="username" type="text" autocomplete="username" required autofocus
                            aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "sign-in-error")];
                        label for="password" { "Password" }
                        input #password name="password" type="password" autocomplete="current-password" required
                            aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "sign-in-error")];
                        button type="submit" { "Continue" }
                    }
                    p { small { "Staff accounts use a password and an authenticator app (one-time codes)." } }
                    @if sso {
                        p { a role="button" class="secondary" href={ "/sign-in/sso?next=" (percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)) } { "Sign in with your organisation (SSO)" } }
                    }
                }
            },
        ),
    )
}

async fn sign_in_form(State(state): State<SignInState>, Query(q): Query<NextQuery>) -> Response {
    // The gate sends everyone who is not signed in here; passengers on their way to the portal
    // sign in on the portal's own page (passenger and staff sign-in never mix).
    let next = safe_next(q.next.as_deref());
    if crate::passengers::is_portal_path(next.split('?').next().unwrap_or("")) {
        let next = percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC);
        return Redirect::to(&format!("/my/sign-in?next={next}")).into_response();
    }
    sign_in_page(
        StatusCode::OK,
        &safe_next(q.next.as_deref()),
        None,
        state.sso,
    )
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: String,
    next: Option<String>,
}

fn client_ip(ctx: &AccessContext) -> IpAddr {
    ctx.client_address
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Refuses cross-site form posts to the public sign-in form (login CSRF): browsers send
/// `Sec-Fetch-Site` and `Origin`; same-origin posts pass, tools that send neither pass too.
fn cross_site(headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return true;
    }
    match (
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
        headers.get(header::HOST).and_then(|v| v.to_str().ok()),
    ) {
        (Some(origin), Some(host)) => {
            origin != "null" && origin.split_once("://").map(|(_, h)| h) != Some(host)
        }
        _ => false,
    }
}

fn too_many(retry_after: Duration, next: &str, message: &str) -> Response {
    let mut r = sign_in_page(StatusCode::TOO_MANY_REQUESTS, next, Some(message), false);
    if let Ok(v) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

const WRONG: &str = "The username or password is not right.";

async fn sign_in(
    State(state): State<SignInState>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    if cross_site(&headers) {
        return Ok(sign_in_page(
            StatusCode::FORBIDDEN,
            &next,
            Some("Sign in from Aloft's own sign-in page."),
            state.sso,
        ));
    }
    if let Err(wait) = state.limiter.check(client_ip(&ctx)) {
        state
            .accounts
            .audit(ctx.entry(
                crate::events::audit::AUTH_RATE_LIMITED,
                "staff_account",
                None,
                vec![],
                "denied",
            ))
            .await?;
        return Ok(too_many(
            wait,
            &next,
            "Too many sign-in attempts from this address. Wait a minute and try again.",
        ));
    }
    let username = form.username.trim().to_lowercase();
    // The back-off is keyed by the username as typed and this client address, whether or not
    // the account exists: a locked account and an unknown name answer alike (same status, same
    // page, same Argon2 work), and failures from one address never lock out another.
    let backoff = state.accounts.backoff(&username, &ctx).await?;
    if let Some(hold) = global_slowdown(backoff.global_failures) {
        tokio::time::sleep(hold).await;
    }
    let account = state.accounts.by_username(&username).await?;
    let ctx = match &account {
        Some(account) => AccessContext {
            actor: aloft_kernel::Actor {
                id: account.id.to_string(),
                role: account.role.clone(),
            },
            ..ctx
        },
        None => ctx,
    };
    let resource = account.as_ref().map(|a| a.id.to_string());
    if let Some(until) = backoff.blocked_until.filter(|u| *u > now()) {
        verify_unknown_user(&form.password);
        state
            .accounts
            .audit(ctx.entry(
                crate::events::audit::AUTH_LOCKED_ATTEMPT,
                "staff_account",
                resource,
                vec![],
                "denied",
            ))
            .await?;
        return Ok(locked(until, &next));
    }
    let account = match account {
        Some(a) if !a.disabled && verify_password(&form.password, a.password_hash()) => a,
        account => {
            if account.is_none() {
                // Same work as a wrong password: usernames cannot be probed by timing.
                verify_unknown_user(&form.password);
            }
            if let Some(until) = state
                .accounts
                .record_failure(
                    &username,
                    account.as_ref(),
                    crate::events::audit::AUTH_PASSWORD_FAILED,
                    &ctx,
                )
                .await?
            {
                return Ok(locked(until, &next));
            }
            return Ok(sign_in_page(
                StatusCode::UNAUTHORIZED,
                &next,
                Some(WRONG),
                state.sso,
            ));
        }
    };
    let stage = if account.has_totp() {
        Stage::Password
    } else {
        Stage::Enrol
    };
    let token = state.accounts.start_session(&account, stage, &ctx).await?;
    let step = if stage == Stage::Password {
        "/sign-in/mfa"
    } else {
        "/sign-in/enrol"
    };
    let target = format!(
        "{step}?next={}",
        percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut r = Redirect::to(&target).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, state.set_cookie(&token));
    Ok(r)
}

/// The answer while a (username, address) is locked out: the same for every username.
fn locked(until: chrono::DateTime<chrono::Utc>, next: &str) -> Response {
    let wait = (until - now()).to_std().unwrap_or(Duration::from_secs(60));
    too_many(wait, next, &locked_message(wait))
}

fn locked_message(wait: Duration) -> String {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    format!(
        "Too many failed attempts: this account is locked for {minutes} minute{}. Try again later, or ask your administrator.",
        if minutes == 1 { "" } else { "s" }
    )
}

fn mfa_page(status: StatusCode, next: &str, error: Option<&str>) -> Response {
    page(
        status,
        layout(
            "Verification code",
            Section::HOME,
            html! {
                article.narrow {
                    h1 { "Verification code" }
                    @if let Some(e) = error { p.form-error role="alert" #code-error { (e) } }
                    form method="post" action="/sign-in/mfa" {
                        (csrf_field())
                        (next_field(next))
                        label for="code" { "6-digit code from your authenticator app, or a recovery code" }
                        input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus
                            aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "code-error")];
                        button type="submit" { "Verify" }
                    }
                    form method="post" action="/sign-out" {
                        (csrf_field())
                        button.secondary.outline type="submit" { "Cancel and sign out" }
                    }
                }
            },
        ),
    )
}

async fn mfa_form(
    State(state): State<SignInState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let next = safe_next(q.next.as_deref());
    match state.session(&headers).await?.map(|s| s.stage) {
        Some(Stage::Enrol) => Ok(Redirect::to("/sign-in/enrol").into_response()),
        Some(Stage::Full) => Ok(Redirect::to(&next).into_response()),
        _ => Ok(mfa_page(StatusCode::OK, &next, None)),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    next: Option<String>,
}

async fn mfa(
    State(state): State<SignInState>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    let Some(session) = state.session(&headers).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    if session.stage != Stage::Password {
        return Ok(Redirect::to(&next).into_response());
    }
    let backoff = state
        .accounts
        .backoff(&session.account.username, &ctx)
        .await?;
    if let Some(until) = backoff.blocked_until.filter(|u| *u > now()) {
        return Ok(locked(until, &next));
    }
    let code = form.code.trim();
    let (ok, step, action) = if code.len() <= 7 {
        let step = state.accounts.check_totp(&session.account, code)?;
        (step.is_some(), step, crate::events::audit::AUTH_MFA_PASSED)
    } else {
        let used = state
            .accounts
            .use_recovery_code(&session.account, code)
            .await?;
        (used, None, crate::events::audit::AUTH_RECOVERY_CODE_USED)
    };
    if !ok {
        if let Some(until) = state
            .accounts
            .record_failure(
                &session.account.username,
                Some(&session.account),
                crate::events::audit::AUTH_MFA_FAILED,
                &ctx,
            )
            .await?
        {
            state
                .accounts
                .end_session(&session.id_hash, session.account.id, &ctx)
                .await?;
            let wait = (until - now()).to_std().unwrap_or(Duration::from_secs(60));
            let mut r = too_many(wait, &next, &locked_message(wait));
            r.headers_mut()
                .insert(header::SET_COOKIE, state.clear_cookie());
            return Ok(r);
        }
        return Ok(mfa_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some(
                "That code is not right (or was already used). Check your authenticator app's clock and try the newest code.",
            ),
        ));
    }
    let token = state
        .accounts
        .complete_sign_in(&session, step, action, &ctx)
        .await?;
    let mut r = Redirect::to(&next).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, state.set_cookie(&token));
    Ok(r)
}

/// The QR code of an otpauth URI as inline SVG (no image request, no script); also the
/// passenger portal's second-factor set-up.
pub fn qr_svg(uri: &str) -> Markup {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // The renderer emits a complete <svg>; drop its XML prologue and label it.
            let svg = svg.trim_start_matches(|c| c != '<').to_owned();
            let svg = svg
                .find("<svg")
                .map(|i| svg[i..].to_owned())
                .unwrap_or(svg)
                .replacen(
                    "<svg",
                    "<svg role=\"img\" aria-label=\"QR code to scan with your authenticator app\"",
                    1,
                );
            PreEscaped(svg)
        }
        Err(_) => html! { p { "The QR code could not be drawn; type the key below instead." } },
    }
}

fn enrol_page(
    status: StatusCode,
    secret: &TotpSecret,
    username: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    let uri = otpauth_uri("Aloft", username, secret);
    let key = secret.to_base32();
    page(
        status,
        layout(
            "Set up your authenticator",
            Section::HOME,
            html! {
                article.narrow {
                    h1 { "Set up your authenticator" }
                    p { "Every staff account needs a second factor. Scan this code with an authenticator app (for example Microsoft Authenticator, Google Authenticator or FreeOTP), then type the 6-digit code it shows." }
                    div.qr { (qr_svg(&uri)) }
                    details {
                        summary { "Cannot scan? Type this key instead" }
                        p { code #totp-key { (key.as_str()) } }
                        p { small { "Time-based, 6 digits, every 30 seconds (SHA-1)." } }
                    }
                    @if let Some(e) = error { p.form-error role="alert" #code-error { (e) } }
                    form method="post" action="/sign-in/enrol" {
                        (csrf_field())
                        (next_field(next))
                        label for="code" { "6-digit code" }
                        input #code name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required
                            aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "code-error")];
                        button type="submit" { "Turn on two-step sign-in" }
                    }
                }
            },
        ),
    )
}

async fn enrol_form(
    State(state): State<SignInState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let next = safe_next(q.next.as_deref());
    let Some(session) = state.session(&headers).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    if session.stage != Stage::Enrol {
        return Ok(Redirect::to(&next).into_response());
    }
    let secret = match state.accounts.pending_totp(&session)? {
        Some(s) => s,
        None => {
            let s = TotpSecret::generate();
            state.accounts.set_pending_totp(&session, &s).await?;
            s
        }
    };
    Ok(enrol_page(
        StatusCode::OK,
        &secret,
        &session.account.username,
        &next,
        None,
    ))
}

async fn enrol(
    State(state): State<SignInState>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let next = safe_next(form.next.as_deref());
    let Some(session) = state.session(&headers).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let (Stage::Enrol, Some(secret)) = (session.stage, state.accounts.pending_totp(&session)?)
    else {
        return Ok(Redirect::to("/sign-in/enrol").into_response());
    };
    let unix = now().timestamp().max(0) as u64;
    let Some(step) = aloft_security::totp::verify(&secret, &form.code, unix, 1) else {
        state
            .accounts
            .record_failure(
                &session.account.username,
                Some(&session.account),
                crate::events::audit::AUTH_MFA_FAILED,
                &ctx,
            )
            .await?;
        return Ok(enrol_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &secret,
            &session.account.username,
            &next,
            Some(
                "That code does not match. Check that your phone's clock is right and type the newest code.",
            ),
        ));
    };
    let codes = state
        .accounts
        .enrol_totp(&session.account, &secret, &ctx)
        .await?;
    let token = state
        .accounts
        .complete_sign_in(
            &session,
            Some(step),
            crate::events::audit::AUTH_MFA_PASSED,
            &ctx,
        )
        .await?;
    let mut r = page(
        StatusCode::OK,
        layout(
            "Recovery codes",
            Section::HOME,
            html! {
                article.narrow {
                    h1 { "Save your recovery codes" }
                    p { "If you lose your phone, each of these codes signs you in once instead of the authenticator. Keep them somewhere safe; they are shown only now." }
                    ul.recovery-codes aria-label="Recovery codes" {
                        @for c in &codes { li { code { (c) } } }
                    }
                    p { a role="button" href=(next) { "I have saved them — continue" } }
                }
            },
        ),
    );
    r.headers_mut()
        .insert(header::SET_COOKIE, state.set_cookie(&token));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn sign_out(
    State(state): State<SignInState>,
    ctx: AccessContext,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(session) = state.session(&headers).await? {
        state
            .accounts
            .end_session(&session.id_hash, session.account.id, &ctx)
            .await?;
    }
    let mut r = Redirect::to("/sign-in").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, state.clear_cookie());
    Ok(r)
}

async fn account(
    State(state): State<SignInState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(session) = state.session(&headers).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let a = &session.account;
    let sessions = state.accounts.session_count(a.id).await?;
    Ok(page(
        StatusCode::OK,
        layout(
            "Account security",
            Section::HOME,
            html! {
                h1 { "Account security" }
                dl.profile {
                    dt { "Name" } dd { (a.display_name) }
                    dt { "Username" } dd { (a.username) }
                    dt { "Role" } dd { (role_label(&state.roles, &a.role)) " (" code { (a.role) } ")" }
                    @if let Some(s) = &a.station { dt { "Station" } dd { (s) } }
                    dt { "Two-step sign-in" } dd { @if a.has_totp() { "On (authenticator app)" } @else { "Not set up" } }
                    dt { "Recovery codes left" } dd { (a.recovery_codes_left()) }
                    dt { "Signed-in sessions" } dd { (sessions) }
                }
                form method="post" action="/account/sign-out-everywhere" {
                    (csrf_field())
                    button.secondary type="submit" { "Sign out everywhere" }
                }
            },
        ),
    ))
}

async fn sign_out_everywhere(
    State(state): State<SignInState>,
    ctx: AccessContext,
    principal: axum::Extension<Principal>,
) -> Result<Response, ApiError> {
    let id = uuid::Uuid::parse_str(&principal.subject)
        .map_err(|_| ApiError::Internal("staff subject is not an id".into()))?;
    state.accounts.end_all_sessions(id, &ctx).await?;
    let mut r = Redirect::to("/sign-in").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, state.clear_cookie());
    Ok(r)
}

mod admin;
use admin::*;
