//! Staff sign-in pages: password, second factor (TOTP or a recovery code), first-time MFA
//! enrolment with a QR code, sign-out (here and everywhere), the account page, and the role
//! review page the CMP manager uses.

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

/// The QR code of an otpauth URI as inline SVG (no image request, no script).
fn qr_svg(uri: &str) -> Markup {
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

/// The label of role `id` (the id itself for a role the catalogue no longer has).
fn role_label<'a>(roles: &Roles, id: &'a str) -> &'a str {
    roles.get(id).map_or(id, |r| r.label)
}

/// Roles whose rows follow a per-account roster (cabin crew).
fn rostered(role: Option<&RoleDef>) -> bool {
    role.is_some_and(|r| matches!(r.scope, ScopeRule::OfSubject(_)))
}

/// Roles whose rows follow a value on the credential (a check-in agent's station).
fn needs_station(role: Option<&RoleDef>) -> bool {
    role.is_some_and(|r| matches!(r.scope, ScopeRule::FromCredential(_)))
}

async fn roles(State(state): State<SignInState>) -> Response {
    let roles = &state.roles;
    page(
        StatusCode::OK,
        layout(
            "Roles and permissions",
            SECTION,
            html! {
                h1 { "Roles and permissions" }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(ACCOUNTS_MANAGE)) {
                    p { a href="/access/accounts" { "Manage staff accounts" } }
                }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(API_CLIENTS_MANAGE)) {
                    p { a href="/access/clients" { "Manage integration clients" } }
                }
                @if aloft_authz::current_principal().is_some_and(|p| p.can(crate::permissions::ACCESS_APPROVE)) {
                    p { a href="/access/grants" { "Pending grants (four-eyes approval)" } }
                }
                p { "What each role may do. Everything not listed is denied. Travel document numbers are masked for roles without that permission." }
                div.table-scroll tabindex="0" role="region" aria-label="Permissions by role" {
                    table {
                        thead {
                            tr {
                                th scope="col" { "Role" }
                                @for p in roles.permissions() { th scope="col" { abbr title=(p.description) { (p.permission.as_str()) } } }
                            }
                        }
                        tbody {
                            @for r in roles.all() {
                                tr {
                                    th scope="row" { (r.label) br; small { code { (r.id) } } }
                                    @for p in roles.permissions() {
                                        td {
                                            @if r.allows(p.permission) { span aria-label="allowed" { "✓" } } @else { span aria-label="not allowed" { "—" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
    )
}

fn clients_page(
    roles: &Roles,
    status: StatusCode,
    list: &[crate::storage::ApiClient],
    created: Option<(&str, &str)>,
    error: Option<&str>,
) -> Response {
    let t = now();
    page(
        status,
        layout(
            "Integration clients",
            SECTION,
            html! {
                h1 { "Integration clients" }
                p { "Systems that call the API (booking channels, loyalty, partners) get their own credentials: a role, optional narrower permissions, an expiry, and revocation. They trade them at " code { "POST /api/v1/oauth/token" } " (client-credentials grant) for ten-minute bearer tokens." }
                @if let Some((id, secret)) = created {
                    article.created role="status" {
                        h2 { "Client created" }
                        p { "Copy the secret now: it is shown only once and stored only as a digest." }
                        dl.profile {
                            dt { "Client id" } dd { code #client-id { (id) } }
                            dt { "Client secret" } dd { code #client-secret { (secret) } }
                        }
                    }
                }
                @if !list.is_empty() {
                    div.table-scroll tabindex="0" role="region" aria-label="Clients" {
                        table {
                            thead { tr { th scope="col" { "Name" } th scope="col" { "Client id" } th scope="col" { "Role" } th scope="col" { "Permissions" } th scope="col" { "Expires" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Actions" } } } }
                            tbody {
                                @for c in list {
                                    tr {
                                        td { (c.name) }
                                        td { code { (c.id) } }
                                        td { (c.role) @if let Some(s) = &c.station { " (" (s) ")" } }
                                        td { @if c.scopes.is_empty() { "whole role" } @else { (c.scopes.join(", ")) } }
                                        td { (c.expires_at.format("%Y-%m-%d %H:%M UTC")) }
                                        td { @if c.revoked_at.is_some() { "revoked" } @else if c.active(t) { "active" } @else { "expired" } }
                                        td {
                                            @if c.active(t) {
                                                form method="post" action={ "/access/clients/" (c.id) "/revoke" } {
                                                    (csrf_field())
                                                    button.secondary.outline type="submit" aria-label={ "Revoke " (c.name) } { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "New client" }
                @if let Some(e) = error { p.form-error role="alert" #client-error { (e) } }
                form method="post" action="/access/clients" {
                    (csrf_field())
                    label for="name" { "Name" }
                    input #name name="name" type="text" required maxlength="100";
                    label for="role" { "Role" }
                    select #role name="role" required {
                        @for r in roles.all().iter().filter(|r| r.is_staff()) { option value=(r.id) { (r.label) } }
                    }
                    label for="station" { "Station (IATA code; for roles limited to a station's passengers)" }
                    input #station name="station" type="text" maxlength="3" pattern="[A-Za-z]{3}" autocomplete="off";
                    fieldset {
                        legend { "Narrow to these permissions (none: the whole role)" }
                        @for p in roles.permissions() {
                            @let id = p.permission.as_str();
                            label for={ "scope-" (id) } {
                                input #{ "scope-" (id) } type="checkbox" name="scope" value=(id);
                                (id) " — " (p.description)
                            }
                        }
                    }
                    label for="days" { "Valid for (days)" }
                    input #days name="days" type="number" min="1" max="730" value="365" required;
                    button type="submit" { "Create client" }
                }
            },
        ),
    )
}

async fn clients(State(state): State<SignInState>) -> Result<Response, ApiError> {
    let list = state.accounts.clients().await?;
    Ok(clients_page(
        &state.roles,
        StatusCode::OK,
        &list,
        None,
        None,
    ))
}

async fn create_client(
    State(state): State<SignInState>,
    ctx: AccessContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
    };
    let name = get("name").unwrap_or_default();
    let role = get("role")
        .and_then(|r| state.roles.get(&r).copied())
        .filter(|r| r.is_staff());
    let station = get("station")
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_uppercase());
    let days = get("days")
        .and_then(|d| d.parse::<i64>().ok())
        .filter(|d| (1..=730).contains(d));
    let scopes: Vec<Permission> = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .filter_map(|(_, v)| state.roles.permission(v))
        .collect();
    let (Some(role), Some(days), false) =
        (role, days, name.is_empty() || name.chars().count() > 100)
    else {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some("Give a name (up to 100 characters), a staff role and 1–730 days."),
        ));
    };
    if station
        .as_deref()
        .is_some_and(|s| s.len() != 3 || !s.bytes().all(|b| b.is_ascii_uppercase()))
    {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some("A station is an IATA airport code: three letters."),
        ));
    }
    if let Some(p) = scopes.iter().find(|p| !role.allows(**p)) {
        let list = state.accounts.clients().await?;
        return Ok(clients_page(
            &state.roles,
            StatusCode::UNPROCESSABLE_ENTITY,
            &list,
            None,
            Some(&format!(
                "The role {} does not include {}; a client can only be narrower than its role.",
                role.id,
                p.as_str()
            )),
        ));
    }
    let (client, secret) = state
        .accounts
        .create_client(
            crate::storage::NewClient {
                name: &name,
                role: role.id,
                scopes: &scopes,
                station: station.as_deref(),
                pending_approval: escalates(&role),
                valid_for: chrono::Duration::days(days),
            },
            &ctx,
        )
        .await?;
    let list = state.accounts.clients().await?;
    let mut r = clients_page(
        &state.roles,
        StatusCode::CREATED,
        &list,
        Some((&client.id, &secret)),
        None,
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

async fn revoke_client(
    State(state): State<SignInState>,
    ctx: AccessContext,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    state.accounts.revoke_client(&id, &ctx).await?;
    Ok(Redirect::to("/access/clients").into_response())
}

/// The accounts page with every account and the cabin crew's rosters.
async fn accounts_view(
    state: &SignInState,
    status: StatusCode,
    message: Option<&str>,
    error: Option<&str>,
) -> Result<Response, ApiError> {
    let list = state.accounts.list().await?;
    let mut rosters = Vec::new();
    for a in list.iter().filter(|a| rostered(state.roles.get(&a.role))) {
        rosters.push((a.id, state.accounts.roster(&a.id.to_string()).await?));
    }
    Ok(accounts_page(
        &state.roles,
        status,
        &list,
        &rosters,
        message,
        error,
    ))
}

/// Replaces a cabin crew member's roster from the form's `flights` (one `BA117 2026-03-12` a
/// line); every bad line is named and nothing changes.
async fn set_roster(
    state: &SignInState,
    ctx: &AccessContext,
    id: &str,
    pairs: &[(String, String)],
) -> Result<Response, ApiError> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Err(ApiError::NotFound("account"));
    };
    let list = state.accounts.list().await?;
    let Some(account) = list.iter().find(|a| a.id == id) else {
        return Err(ApiError::NotFound("account"));
    };
    if !rostered(state.roles.get(&account.role)) {
        return accounts_view(
            state,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("Only cabin crew have a flight roster."),
        )
        .await;
    }
    let text = pairs
        .iter()
        .find(|(k, _)| k == "flights")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    match crate::roster::RosteredFlight::parse_list(text) {
        Ok(flights) => {
            state.accounts.set_roster(id, &flights, ctx).await?;
            let message = format!(
                "Roster of {} set: {} flight{}.",
                account.display_name,
                flights.len(),
                if flights.len() == 1 { "" } else { "s" }
            );
            accounts_view(state, StatusCode::OK, Some(&message), None).await
        }
        Err(errors) => {
            let message = format!(
                "The roster of {} was not changed: {}",
                account.display_name,
                errors.join("; ")
            );
            accounts_view(
                state,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(&message),
            )
            .await
        }
    }
}

fn accounts_page(
    roles: &Roles,
    status: StatusCode,
    list: &[crate::storage::Account],
    rosters: &[(uuid::Uuid, Vec<crate::roster::RosteredFlight>)],
    message: Option<&str>,
    error: Option<&str>,
) -> Response {
    let t = now();
    let me = aloft_authz::current_principal()
        .map(|p| p.subject)
        .unwrap_or_default();
    page(
        status,
        layout(
            "Staff accounts",
            SECTION,
            html! {
                h1 { "Staff accounts" }
                p { "Each person has one account and one role. New accounts set up their authenticator app at first sign-in. Accounts that sign in through your organisation (SSO) appear here after their first sign-in; their role follows the identity provider." }
                @if let Some(m) = message { p role="status" #account-message { (m) } }
                div.table-scroll tabindex="0" role="region" aria-label="Staff accounts" {
                    table {
                        thead { tr { th scope="col" { "Name" } th scope="col" { "Username" } th scope="col" { "Role" } th scope="col" { "Station" } th scope="col" { "Two-step" } th scope="col" { "Status" } th scope="col" { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for a in list {
                                tr {
                                    td { (a.display_name) }
                                    td { code { (a.username) } }
                                    td { (role_label(roles, &a.role)) }
                                    td { (a.station.as_deref().unwrap_or("—")) }
                                    td { @if a.has_totp() { "on" } @else if a.username.starts_with("sso:") { "by SSO" } @else { "at next sign-in" } }
                                    td {
                                        @if a.disabled { "disabled" }
                                        @else if a.locked_until.is_some_and(|u| u > t) { "locked" }
                                        @else { "active" }
                                    }
                                    td {
                                        @if a.id.to_string() != me {
                                            div.actions {
                                                @for (action, label) in [("disable", "Disable"), ("enable", "Enable"), ("reset-mfa", "Reset two-step"), ("unlock", "Unlock")] {
                                                    @let show = match action {
                                                        "disable" => !a.disabled,
                                                        "enable" => a.disabled,
                                                        "reset-mfa" => a.has_totp(),
                                                        _ => a.locked_until.is_some_and(|u| u > t) || a.failed_attempts > 0,
                                                    };
                                                    @if show {
                                                        form method="post" action={ "/access/accounts/" (a.id) "/" (action) } {
                                                            (csrf_field())
                                                            button.secondary.outline type="submit" aria-label={ (label) " " (a.display_name) } { (label) }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if !rosters.is_empty() {
                    h2 #rosters { "Cabin crew rosters" }
                    p { "Cabin crew see the passengers of the flights on their roster, from the day before departure to the day after, and nobody else. One flight and its local departure date per line, e.g. " code { "BA117 2026-03-12" } "." }
                    @for (id, flights) in rosters {
                        @let name = list.iter().find(|a| a.id == *id).map(|a| a.display_name.as_str()).unwrap_or("");
                        form method="post" action={ "/access/accounts/" (id) "/roster" } {
                            (csrf_field())
                            label for={ "roster-" (id) } { "Flights of " (name) }
                            textarea id={ "roster-" (id) } name="flights" rows="3" {
                                @for f in flights { (f.flight_number) " " (f.departure_date) "\n" }
                            }
                            button.secondary type="submit" aria-label={ "Save roster of " (name) } { "Save roster" }
                        }
                    }
                }
                h2 { "New staff account" }
                @if let Some(e) = error { p.form-error role="alert" #account-error { (e) } }
                form method="post" action="/access/accounts" {
                    (csrf_field())
                    label for="display_name" { "Full name" }
                    input #display_name name="display_name" type="text" required maxlength="100" autocomplete="off";
                    label for="username" { "Username (lower-case letters, digits, . _ - @)" }
                    input #username name="username" type="text" required minlength="3" maxlength="64" autocomplete="off";
                    label for="role" { "Role" }
                    select #role name="role" required {
                        @for r in roles.all().iter().filter(|r| r.is_staff()) { option value=(r.id) { (r.label) } }
                    }
                    label for="station" { "Station (IATA airport code; check-in agents)" }
                    input #station name="station" type="text" maxlength="3" autocomplete="off";
                    label for="password" { "Initial password (at least 12 characters; share it securely)" }
                    input #password name="password" type="password" required minlength="12" autocomplete="new-password";
                    button type="submit" { "Create account" }
                }
            },
        ),
    )
}

async fn accounts(State(state): State<SignInState>) -> Result<Response, ApiError> {
    accounts_view(&state, StatusCode::OK, None, None).await
}

async fn create_account(
    State(state): State<SignInState>,
    ctx: AccessContext,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let (name, username, password) = (
        get("display_name"),
        get("username").to_lowercase(),
        get("password"),
    );
    let station = get("station").to_ascii_uppercase();
    let role = state
        .roles
        .get(&get("role"))
        .copied()
        .filter(|r| r.is_staff());
    let problem = if name.is_empty() || name.chars().count() > 100 {
        Some("Give the person's full name (up to 100 characters).".to_owned())
    } else if !crate::model::valid_username(&username) {
        Some("The username must be 3–64 lower-case letters, digits, dots, hyphens, underscores or @.".to_owned())
    } else if role.is_none() {
        Some("Choose a staff role.".to_owned())
    } else if needs_station(role.as_ref())
        && !(station.len() == 3 && station.bytes().all(|b| b.is_ascii_uppercase()))
    {
        Some("Check-in agents need their station: a three-letter IATA airport code.".to_owned())
    } else if let Err(why) = aloft_security::check_password_policy(&password) {
        Some(format!("The initial password is not strong enough: {why}."))
    } else if state.accounts.by_username(&username).await?.is_some() {
        Some("That username is taken.".to_owned())
    } else {
        None
    };
    if let Some(p) = problem {
        return accounts_view(&state, StatusCode::UNPROCESSABLE_ENTITY, None, Some(&p)).await;
    }
    let role = role.expect("checked above");
    let station = (!station.is_empty()).then_some(station.as_str());
    let pending_approval = escalates(&role);
    state
        .accounts
        .create(
            crate::storage::NewAccount {
                username: &username,
                display_name: &name,
                role: role.id,
                station,
                password: &password,
                totp: None,
                pending_approval,
            },
            &ctx,
        )
        .await?;
    let message = if pending_approval {
        format!(
            "Account {username} created and disabled until a second person approves its role at Access › Pending grants (you do not hold all of its permissions)."
        )
    } else {
        format!("Account {username} created; they set up two-step sign-in when they first sign in.")
    };
    accounts_view(&state, StatusCode::CREATED, Some(&message), None).await
}

/// Whether granting `role` gives permissions the signed-in requester does not hold: such a
/// grant needs a second person ([`crate::grants`]).
fn escalates(role: &RoleDef) -> bool {
    let me = aloft_authz::current_principal();
    role.permissions
        .iter()
        .any(|p| !me.as_ref().is_some_and(|me| me.can(*p)))
}

/// Grants waiting for a second person.
async fn grants(State(state): State<SignInState>) -> Result<Response, ApiError> {
    grants_view(&state, StatusCode::OK, None).await
}

async fn grants_view(
    state: &SignInState,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, ApiError> {
    let pending = state.accounts.pending_grants().await?;
    let accounts = state.accounts.list().await?;
    let clients = state.accounts.clients().await?;
    let me = aloft_authz::current_principal()
        .map(|p| p.subject)
        .unwrap_or_default();
    let name_of = |g: &crate::grants::PendingGrant| -> String {
        match g.subject {
            crate::grants::Subject::Account => accounts
                .iter()
                .find(|a| a.id.to_string() == g.subject_id)
                .map(|a| format!("{} ({})", a.display_name, a.username))
                .unwrap_or_else(|| g.subject_id.clone()),
            crate::grants::Subject::Client => clients
                .iter()
                .find(|c| c.id == g.subject_id)
                .map(|c| format!("{} (client {})", c.name, c.id))
                .unwrap_or_else(|| g.subject_id.clone()),
        }
    };
    let requester = |id: &str| -> String {
        accounts
            .iter()
            .find(|a| a.id.to_string() == id)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| id.to_owned())
    };
    Ok(page(
        status,
        layout(
            "Pending grants",
            SECTION,
            html! {
                h1 { "Pending grants" }
                p { "An account or client whose role holds permissions its creator does not hold stays disabled until a second person approves it here. You cannot decide a grant you asked for." }
                @if let Some(m) = message { p role="status" #grant-message { (m) } }
                @if pending.is_empty() {
                    p { "Nothing is waiting for approval." }
                } @else {
                    div.table-scroll tabindex="0" role="region" aria-label="Pending grants" {
                        table {
                            thead { tr { th scope="col" { "For" } th scope="col" { "Role" } th scope="col" { "Asked by" } th scope="col" { "Asked at" } th scope="col" { span.visually-hidden { "Decision" } } } }
                            tbody {
                                @for g in &pending {
                                    tr {
                                        td { (name_of(g)) }
                                        td { (role_label(&state.roles, &g.role)) }
                                        td { (requester(&g.requested_by)) }
                                        td { (g.requested_at.format("%Y-%m-%d %H:%M UTC")) }
                                        td {
                                            @if g.requested_by == me {
                                                small { "Awaiting someone else" }
                                            } @else {
                                                form.inline method="post" action={ "/access/grants/" (g.id) "/approve" } {
                                                    (csrf_field())
                                                    button type="submit" aria-label={ "Approve " (name_of(g)) } { "Approve" }
                                                }
                                                form.inline method="post" action={ "/access/grants/" (g.id) "/reject" } {
                                                    (csrf_field())
                                                    button.secondary.outline type="submit" aria-label={ "Reject " (name_of(g)) } { "Reject" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            },
        ),
    ))
}

async fn decide_grant(
    State(state): State<SignInState>,
    ctx: AccessContext,
    axum::extract::Path((id, decision)): axum::extract::Path<(String, String)>,
) -> Result<Response, ApiError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return Err(ApiError::NotFound("grant decision")),
    };
    match state.accounts.decide_grant(&id, approve, &ctx).await {
        Ok(g) => {
            let done = if approve { "approved" } else { "rejected" };
            let message = format!(
                "The {} grant was {done}.",
                role_label(&state.roles, &g.role)
            );
            grants_view(&state, StatusCode::OK, Some(&message)).await
        }
        Err(crate::grants::GrantError::NotFound) => Err(ApiError::NotFound("pending grant")),
        Err(crate::grants::GrantError::SamePerson) => Err(ApiError::Problem(
            aloft_kernel::Problem::new(
                StatusCode::FORBIDDEN,
                "four-eyes",
                "A second person must decide",
            )
            .with_detail("You asked for this grant, so someone else must approve or reject it."),
        )),
        Err(crate::grants::GrantError::Storage(e)) => Err(e.into()),
    }
}

async fn account_action(
    State(state): State<SignInState>,
    ctx: AccessContext,
    axum::extract::Path((id, action)): axum::extract::Path<(String, String)>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    if action == "roster" {
        return set_roster(&state, &ctx, &id, &pairs).await;
    }
    let (Ok(id), Some(action)) = (
        uuid::Uuid::parse_str(&id),
        crate::storage::AccountAction::parse(&action),
    ) else {
        return Err(ApiError::NotFound("account action"));
    };
    if ctx.actor.id == id.to_string() {
        return accounts_view(
            &state,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some("You cannot change your own account here; ask another administrator."),
        )
        .await;
    }
    if !state.accounts.apply(id, action, &ctx).await? {
        return Err(ApiError::NotFound("account"));
    }
    Ok(Redirect::to("/access/accounts").into_response())
}
