//! Passenger self-service accounts: a realm of their own, separate from staff.
//!
//! A passenger registers by proving they hold a profile — its loyalty number together with its
//! e-mail address — and choosing a password (the same policy as staff; Argon2id). They then sign
//! in with e-mail and password for a one-hour bearer token whose row scope is their own customer
//! record: with it they see and change only their own data (`/api/v1/me`), nothing else. The
//! e-mail is kept only as a blind index. Failed sign-ins count towards the same back-off as
//! staff (per e-mail and client address, known and unknown addresses alike), and every
//! registration and sign-in is audited.
//!
//! Holding a loyalty number and knowing an e-mail address proves nothing (both are printed on
//! boarding passes and shared with travel agents), so registration also proves the address: a
//! one-time code goes by e-mail (the outbox-backed mailer) to the address on the profile, and the
//! account cannot sign in until the code comes back (`/api/v1/passenger/verify`). The code is
//! kept only as a digest; it expires after 30 minutes and after five wrong tries.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, Database, Problem, StorageError};
use aloft_security::password::verify_unknown_user;
use aloft_security::{check_password_policy, hash_password, verify_password};

use crate::limiter::RateLimiter;
use crate::model::global_slowdown;
use crate::storage::{AccountStore, SignInSubject, backoff_of, clear_backoff, count_failure};
use crate::tokens::TokenIssuer;

/// How long a passenger token lasts.
pub const PASSENGER_TOKEN_TTL: chrono::Duration = chrono::Duration::hours(1);

/// Who may call the passenger account endpoints: anyone (credentials are the check).
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("POST", "/api/v1/passenger/register", Access::Public),
    RoutePolicy::new("POST", "/api/v1/passenger/token", Access::Public),
    RoutePolicy::new("POST", "/api/v1/passenger/verify", Access::Public),
    RoutePolicy::new("POST", "/api/v1/passenger/verify/resend", Access::Public),
];

/// The mail template of the address-proving code.
pub const VERIFY_TEMPLATE: &str = "passenger.verify_email";
/// How long a code is good for.
const CODE_TTL: chrono::Duration = chrono::Duration::minutes(30);
/// Wrong codes before the code is void.
const CODE_TRIES: i64 = 5;

/// The mail templates passenger accounts send (register them with the application's mailer).
pub fn mail_templates() -> Vec<aloft_mail::Template> {
    use aloft_mail::{Template, Translation};
    vec![
        Template::new(
            VERIFY_TEMPLATE,
            Translation::new(
                "Your Aloft verification code",
                "Your verification code is {{code}}.\n\nEnter it to finish setting up your account. It expires in 30 minutes. If you did not ask for an account, ignore this message: nothing happens without the code.",
            ),
        )
        .language(
            "de",
            Translation::new(
                "Ihr Aloft-Bestätigungscode",
                "Ihr Bestätigungscode lautet {{code}}.\n\nGeben Sie ihn ein, um Ihr Konto einzurichten. Er ist 30 Minuten gültig. Wenn Sie kein Konto angelegt haben, ignorieren Sie diese Nachricht.",
            ),
        )
        .language(
            "fr",
            Translation::new(
                "Votre code de vérification Aloft",
                "Votre code de vérification est {{code}}.\n\nSaisissez-le pour terminer la création de votre compte. Il expire dans 30 minutes. Si vous n'avez rien demandé, ignorez ce message.",
            ),
        ),
    ]
}

/// A fresh eight-digit code.
fn new_code() -> String {
    let digest = aloft_security::sha256(aloft_security::random_token().as_bytes());
    let n = u64::from_le_bytes(digest[..8].try_into().expect("eight bytes")) % 100_000_000;
    format!("{n:08}")
}

/// What is stored of `code`: its digest, bound to the account.
fn code_digest(account: &str, code: &str) -> String {
    aloft_security::sha256_hex(&format!("passenger-verify:{account}:{code}"))
}

/// The customer profiles, as far as passenger accounts need them (implemented by the binary
/// over the customers domain, so this crate does not depend on it).
pub trait CustomerDirectory: Send + Sync + 'static {
    /// The customer whose loyalty number and e-mail both match.
    fn find_for_registration<'a>(
        &'a self,
        loyalty_number: &'a str,
        email: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Uuid>, StorageError>> + Send + 'a>>;
    /// The blind index of a sign-in e-mail (canonicalised the way profiles are).
    fn email_index(&self, email: &str) -> Option<String>;
}

/// State of the passenger account endpoints.
#[derive(Clone)]
pub struct PassengerAccounts {
    db: Database,
    tokens: TokenIssuer,
    directory: Arc<dyn CustomerDirectory>,
    limiter: Arc<RateLimiter>,
    mailer: aloft_mail::Mailer,
    secrets: Option<AccountStore>,
}

impl PassengerAccounts {
    /// Over `db`, issuing tokens with `tokens`, finding profiles in `directory`, sending codes
    /// with `mailer` (which must know [`mail_templates`]).
    pub fn new(
        db: Database,
        tokens: TokenIssuer,
        directory: Arc<dyn CustomerDirectory>,
        mailer: aloft_mail::Mailer,
    ) -> Self {
        Self {
            db,
            tokens,
            directory,
            mailer,
            limiter: Arc::new(RateLimiter::new(30, Duration::from_secs(60))),
            secrets: None,
        }
    }

    /// Encrypts passengers' second-factor secrets with `accounts`' account-secret key (the
    /// portal's second factor needs it; without it, setting one up fails).
    pub fn with_account_secrets(mut self, accounts: AccountStore) -> Self {
        self.secrets = Some(accounts);
        self
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The endpoints, with their OpenAPI descriptions.
    pub fn api_routes(self) -> OpenApiRouter {
        OpenApiRouter::new()
            .routes(routes!(register))
            .routes(routes!(token))
            .routes(routes!(verify))
            .routes(routes!(resend))
            .with_state(self)
    }

    async fn audit(&self, entry: aloft_kernel::AuditEntry) -> Result<(), StorageError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(tx.conn())
            .await?;
        tx.audit(&[entry]).await?;
        tx.commit().await
    }

    /// Refuses (429) when the caller's address has tried too often: verification codes, like
    /// passwords, must not be guessable by volume.
    fn throttle(&self, ctx: &AccessContext) -> Result<(), ApiError> {
        let ip = ctx
            .client_address
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
        if self.limiter.check(ip).is_err() {
            return Err(ApiError::Problem(
                Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-attempts",
                    "Too many attempts",
                )
                .with_detail("Too many attempts from this address; wait a minute."),
            ));
        }
        Ok(())
    }

    /// Sets a fresh code on `account` and queues its e-mail to `email`, in `tx`.
    async fn send_code(
        &self,
        tx: &mut aloft_kernel::WriteTx,
        account: &str,
        email: &str,
    ) -> Result<(), ApiError> {
        let code = new_code();
        sqlx::query(
            "UPDATE passenger_accounts SET verification_digest = $2, verification_expires_at = $3, \
             verification_tries = 0, updated_at = $4 WHERE id = $1",
        )
        .bind(account)
        .bind(code_digest(account, &code))
        .bind(to_db_time(now() + CODE_TTL))
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        self.mailer
            .queue(
                tx,
                aloft_mail::Message {
                    to: email.to_owned(),
                    template: VERIFY_TEMPLATE.into(),
                    language: "en".into(),
                    params: serde_json::json!({ "code": code }),
                    idempotency_key: format!("passenger-verify:{account}:{}", Uuid::now_v7()),
                },
            )
            .await
            .map_err(|e| match e {
                aloft_mail::QueueError::Storage(s) => ApiError::from(s),
                aloft_mail::QueueError::BadRecipient => {
                    ApiError::field("/email", "is not an e-mail address we can write to")
                }
                other => ApiError::Internal(other.to_string()),
            })?;
        Ok(())
    }
}

/// Registration of a passenger account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The loyalty number on the profile.
    pub loyalty_number: String,
    /// The e-mail address on the profile (also the sign-in name).
    pub email: String,
    /// The new password (at least 12 characters, not a common password).
    pub password: String,
}

/// A registered account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    /// Always `email_sent_if_the_details_match`: the account works once the code sent to the
    /// profile's address is entered at `/api/v1/passenger/verify`. Nothing in the answer says
    /// whether the details matched.
    pub verification: &'static str,
}

/// Create a passenger account for an existing profile.
///
/// One answer (202) whether or not the loyalty number and e-mail belong to one profile and
/// whether or not it already has an account: otherwise sign-up would tell an outsider which
/// loyalty numbers, e-mail addresses and accounts exist. When the details match, a code goes to
/// the profile's e-mail address; the account works once the code comes back at
/// `/api/v1/passenger/verify`. The portal's sign-up (`/my/sign-up`) is the same operation.
#[utoipa::path(
    post,
    path = "/api/v1/passenger/register",
    tag = "passengers",
    security(()),
    request_body = Registration,
    responses(
        (status = 202, description = "Accepted; if the details match a profile, a code was sent to its e-mail address", body = Registered),
        (status = 422, description = "The password is too weak", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address; retry later", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn register(
    State(state): State<PassengerAccounts>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let reg: Registration =
        serde_json::from_value(body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    // The sign-up session the portal would hold in a cookie is not handed out here (it
    // expires unused); the API passenger signs in with a token after verifying.
    let _ = state
        .portal_sign_up(&reg.loyalty_number, &reg.email, &reg.password, ctx)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(Registered {
            verification: "email_sent_if_the_details_match",
        }),
    )
        .into_response())
}

/// Passenger sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassengerSignIn {
    /// The account's e-mail.
    pub email: String,
    /// The password.
    pub password: String,
    /// The code of the passenger's authenticator app (or a recovery code), when they turned
    /// on a second factor.
    #[serde(default)]
    pub code: Option<String>,
}

/// A passenger's bearer token.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassengerToken {
    /// The bearer token (acts on the passenger's own profile only).
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
}

fn wrong() -> ApiError {
    ApiError::Problem(
        Problem::new(StatusCode::UNAUTHORIZED, "sign-in-failed", "Sign-in failed")
            .with_detail("The e-mail or password is not right."),
    )
}

/// Sign in as a passenger: e-mail and password for a one-hour token.
#[utoipa::path(
    post,
    path = "/api/v1/passenger/token",
    tag = "passengers",
    security(()),
    request_body = PassengerSignIn,
    responses(
        (status = 200, description = "Signed in", body = PassengerToken),
        (status = 401, description = "Wrong e-mail, password or second factor, or the second factor is missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts; the account or address is locked for a while", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn token(
    State(state): State<PassengerAccounts>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let form: PassengerSignIn =
        serde_json::from_value(body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    let (account, ctx) = state.authenticate(&form.email, &form.password, ctx).await?;
    if account.totp.is_some() {
        // A passenger who turned on a second factor gives it here too (TOTP or recovery code).
        let Some(code) = form.code.as_deref() else {
            return Err(ApiError::Problem(
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    "second-factor-required",
                    "Second factor required",
                )
                .with_detail("Send the code from your authenticator app as `code`."),
            ));
        };
        if state
            .check_second_factor(&account, code, &ctx)
            .await?
            .is_none()
        {
            return Err(wrong());
        }
    }
    state
        .signed_in(&account, &ctx, crate::events::audit::PASSENGER_SIGNED_IN)
        .await?;
    let customer =
        Uuid::parse_str(&account.customer).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut r = axum::Json(PassengerToken {
        access_token: state
            .tokens
            .issue_for_passenger(&account.id, customer, PASSENGER_TOKEN_TTL),
        token_type: "Bearer",
        expires_in: PASSENGER_TOKEN_TTL.num_seconds(),
    })
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// The code that proves a passenger's e-mail address.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// The account's e-mail.
    pub email: String,
    /// The eight-digit code from the e-mail.
    pub code: String,
}

/// The wrong-code answer: the same whatever was wrong (no account, wrong, expired, used up).
fn bad_code() -> ApiError {
    ApiError::field(
        "/code",
        "this code is not right or no longer valid; ask for a new one at /api/v1/passenger/verify/resend",
    )
}

/// Prove the e-mail address of a new passenger account with the code sent to it.
#[utoipa::path(
    post,
    path = "/api/v1/passenger/verify",
    tag = "passengers",
    security(()),
    request_body = Verification,
    responses(
        (status = 204, description = "Verified: the account can sign in"),
        (status = 422, description = "The code is wrong, expired or used up", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn verify(
    State(state): State<PassengerAccounts>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let form: Verification =
        serde_json::from_value(body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    state.throttle(&ctx)?;
    match state.check_code(&form.email, &form.code, ctx).await? {
        CodeCheck::Verified { .. } | CodeCheck::AlreadyVerified => {
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        CodeCheck::Wrong => Err(bad_code()),
    }
}

/// What a verification code turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    /// Right: the account `account` (of customer `customer`) is now verified.
    Verified {
        /// The passenger account id.
        account: String,
        /// Its customer id.
        customer: String,
    },
    /// The account was verified before (the code was not looked at).
    AlreadyVerified,
    /// No such account, or the code is wrong, expired or used up (one answer for all).
    Wrong,
}

impl PassengerAccounts {
    /// Checks `code` against the unverified account of `email`, counting wrong tries and
    /// auditing the outcome (the caller throttles first).
    pub async fn check_code(
        &self,
        email: &str,
        code: &str,
        ctx: AccessContext,
    ) -> Result<CodeCheck, ApiError> {
        let Some(index) = self.directory.email_index(email) else {
            return Ok(CodeCheck::Wrong);
        };
        let row = sqlx::query(
            "SELECT id, customer_id, email_verified_at, verification_digest, verification_expires_at, \
             verification_tries FROM passenger_accounts WHERE email_index = $1",
        )
        .bind(&index)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StorageError::from)?;
        let Some(row) = row else {
            return Ok(CodeCheck::Wrong);
        };
        let id: String = row.try_get("id").map_err(StorageError::from)?;
        let customer: String = row.try_get("customer_id").map_err(StorageError::from)?;
        if row
            .try_get::<Option<String>, _>("email_verified_at")
            .map_err(StorageError::from)?
            .is_some()
        {
            return Ok(CodeCheck::AlreadyVerified);
        }
        let digest: Option<String> = row
            .try_get("verification_digest")
            .map_err(StorageError::from)?;
        let expires: Option<String> = row
            .try_get("verification_expires_at")
            .map_err(StorageError::from)?;
        let tries: i64 = row
            .try_get("verification_tries")
            .map_err(StorageError::from)?;
        let live = expires
            .as_deref()
            .map(from_db_time)
            .transpose()?
            .is_some_and(|e| e > now())
            && tries < CODE_TRIES;
        let right = digest.as_deref().is_some_and(|d| {
            aloft_security::constant_time_eq(d.as_bytes(), code_digest(&id, code.trim()).as_bytes())
        });
        let mut ctx = ctx;
        ctx.actor = passenger_actor(&id);
        let mut tx = self.db.begin_write().await?;
        if live && right {
            sqlx::query(
                "UPDATE passenger_accounts SET email_verified_at = $2, verification_digest = NULL, \
                 verification_expires_at = NULL, updated_at = $2 WHERE id = $1",
            )
            .bind(&id)
            .bind(to_db_time(now()))
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?;
            tx.audit(&[ctx.entry(
                crate::events::audit::PASSENGER_EMAIL_VERIFIED,
                "customer",
                Some(customer.clone()),
                vec![],
                "success",
            )])
            .await?;
            tx.commit().await?;
            return Ok(CodeCheck::Verified {
                account: id,
                customer,
            });
        }
        sqlx::query(
            "UPDATE passenger_accounts SET verification_tries = verification_tries + 1 WHERE id = $1",
        )
        .bind(&id)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            crate::events::audit::PASSENGER_EMAIL_VERIFICATION_FAILED,
            "customer",
            Some(customer),
            vec![],
            "failure",
        )])
        .await?;
        tx.commit().await?;
        Ok(CodeCheck::Wrong)
    }
}

/// The audit actor of a passenger account.
fn passenger_actor(account: &str) -> aloft_kernel::Actor {
    aloft_kernel::Actor {
        id: format!("passenger:{account}"),
        role: "passenger".into(),
    }
}

/// Ask for a new verification code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Resend {
    /// The account's e-mail.
    pub email: String,
}

/// Send a new verification code to an unverified account's e-mail address. Answers the same
/// whether or not such an account exists, so it reveals nothing.
#[utoipa::path(
    post,
    path = "/api/v1/passenger/verify/resend",
    tag = "passengers",
    security(()),
    request_body = Resend,
    responses(
        (status = 202, description = "If an unverified account has this address, a new code is on its way"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn resend(
    State(state): State<PassengerAccounts>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let form: Resend =
        serde_json::from_value(body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    state.resend_code(&form.email, &ctx).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}

impl PassengerAccounts {
    /// Sends a new code if an unverified account has `email`; does the same visible nothing
    /// otherwise. Throttled per address.
    pub async fn resend_code(&self, email: &str, ctx: &AccessContext) -> Result<(), ApiError> {
        self.throttle(ctx)?;
        if let Some(index) = self.directory.email_index(email) {
            let id: Option<String> = sqlx::query_scalar(
                "SELECT id FROM passenger_accounts WHERE email_index = $1 AND email_verified_at IS NULL",
            )
            .bind(&index)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StorageError::from)?;
            if let Some(id) = id {
                let mut tx = self.db.begin_write().await?;
                self.send_code(&mut tx, &id, email).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The portal's side: password checks shared with the token endpoint, cookie sessions of the
// passenger realm, sign-up without enumeration, the optional second factor.
// ---------------------------------------------------------------------------------------------

/// Cookie name of a passenger session over plain HTTP (development).
pub const PASSENGER_COOKIE: &str = "aloft_passenger";
/// Cookie name over HTTPS: `__Secure-` makes browsers insist on `Secure`. (Not `__Host-`: the
/// cookie is limited to [`PASSENGER_COOKIE_PATH`], so no staff page ever receives it.)
pub const PASSENGER_COOKIE_TLS: &str = "__Secure-aloft_passenger";
/// The only path a passenger session cookie is sent to: the portal.
pub const PASSENGER_COOKIE_PATH: &str = "/my";
/// A sign-up may be finished with the mailed code in the same browser for this long.
const SIGN_UP_TIMEOUT: chrono::Duration = CODE_TTL;
/// The associated-data field name of a passenger's TOTP secret.
const TOTP_FIELD: &str = "passenger_totp_secret";

/// Whether `path` belongs to the passenger portal (where passenger sessions count).
pub fn is_portal_path(path: &str) -> bool {
    path == PASSENGER_COOKIE_PATH
        || path
            .strip_prefix(PASSENGER_COOKIE_PATH)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The passenger session cookie's name (`tls`: the server speaks HTTPS).
pub fn passenger_cookie_name(tls: bool) -> &'static str {
    if tls {
        PASSENGER_COOKIE_TLS
    } else {
        PASSENGER_COOKIE
    }
}

/// `Set-Cookie` for a passenger session: HttpOnly, SameSite=Strict, path `/my`, Secure with TLS.
pub fn passenger_cookie(tls: bool, value: &str) -> http::HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    http::HeaderValue::from_str(&format!(
        "{}={value}; Path={PASSENGER_COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        passenger_cookie_name(tls),
        crate::model::ABSOLUTE_TIMEOUT.num_seconds()
    ))
    .expect("cookie values are URL-safe base64")
}

/// `Set-Cookie` that removes the passenger session cookie.
pub fn clear_passenger_cookie(tls: bool) -> http::HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    http::HeaderValue::from_str(&format!(
        "{}=; Path={PASSENGER_COOKIE_PATH}; HttpOnly; SameSite=Strict; Max-Age=0{secure}",
        passenger_cookie_name(tls)
    ))
    .expect("static cookie")
}

/// How far a passenger session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassengerStage {
    /// This browser just signed up; the mailed code finishes it (nothing else is open).
    SignUp,
    /// The password was right; the second factor is due.
    Code,
    /// Signed in.
    Full,
}

impl PassengerStage {
    fn as_str(self) -> &'static str {
        match self {
            PassengerStage::SignUp => "signup",
            PassengerStage::Code => "code",
            PassengerStage::Full => "full",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "signup" => Some(PassengerStage::SignUp),
            "code" => Some(PassengerStage::Code),
            "full" => Some(PassengerStage::Full),
            _ => None,
        }
    }
}

/// A passenger's web session.
#[derive(Debug, Clone)]
pub struct PassengerSession {
    /// SHA-256 of the cookie value.
    pub id_hash: String,
    /// The passenger account.
    pub account_id: String,
    /// The account's customer profile.
    pub customer_id: String,
    /// How far the sign-in has come.
    pub stage: PassengerStage,
    /// The CSRF token forms of this session must echo.
    pub csrf_token: String,
    created_at: chrono::DateTime<chrono::Utc>,
    last_seen_at: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
}

impl PassengerSession {
    /// Whether the session is still good at `t`: signed-in sessions end after 30 idle minutes
    /// or 12 hours (as staff's), a half-finished sign-in after 10 minutes, a sign-up when its
    /// code expires.
    pub fn alive(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        use crate::model::{IDLE_TIMEOUT, SIGN_IN_STEP_TIMEOUT};
        t < self.expires_at
            && match self.stage {
                PassengerStage::Full => t - self.last_seen_at < IDLE_TIMEOUT,
                PassengerStage::Code => t - self.created_at < SIGN_IN_STEP_TIMEOUT,
                PassengerStage::SignUp => t - self.created_at < SIGN_UP_TIMEOUT,
            }
    }

    /// Whether activity should be recorded now (at most once a minute).
    pub fn due_for_touch(&self, t: chrono::DateTime<chrono::Utc>) -> bool {
        self.stage == PassengerStage::Full && t - self.last_seen_at > crate::model::TOUCH_INTERVAL
    }
}

/// The live session behind a passenger cookie value (`None` if unknown or expired).
pub async fn passenger_session(
    db: &Database,
    token: &str,
) -> Result<Option<PassengerSession>, StorageError> {
    let row = sqlx::query(
        "SELECT s.id_hash, s.account_id, s.stage, s.csrf_token, s.created_at, \
         s.last_seen_at, s.expires_at, a.customer_id FROM passenger_sessions s \
         JOIN passenger_accounts a ON a.id = s.account_id WHERE s.id_hash = $1",
    )
    .bind(aloft_security::sha256_hex(token))
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    let stage: String = r.try_get("stage")?;
    let session = PassengerSession {
        id_hash: r.try_get("id_hash")?,
        account_id: r.try_get("account_id")?,
        customer_id: r.try_get("customer_id")?,
        stage: PassengerStage::parse(&stage)
            .ok_or_else(|| StorageError::Conflict("unknown passenger session stage".into()))?,
        csrf_token: r.try_get("csrf_token")?,
        created_at: from_db_time(&r.try_get::<String, _>("created_at")?)?,
        last_seen_at: from_db_time(&r.try_get::<String, _>("last_seen_at")?)?,
        expires_at: from_db_time(&r.try_get::<String, _>("expires_at")?)?,
    };
    Ok(session.alive(now()).then_some(session))
}

/// Records activity of a signed-in passenger session.
pub async fn touch_passenger_session(db: &Database, id_hash: &str) -> Result<(), StorageError> {
    let mut tx = db.begin_write().await?;
    sqlx::query("UPDATE passenger_sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// A passenger account whose password was just checked.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The account id.
    pub id: String,
    /// Its customer id.
    pub customer: String,
    email_index: String,
    totp: Option<String>,
    totp_last_step: i64,
    recovery: Vec<String>,
}

impl Authenticated {
    /// Whether the passenger turned on a second factor.
    pub fn has_second_factor(&self) -> bool {
        self.totp.is_some()
    }
}

/// How a portal sign-in went on.
#[derive(Debug, Clone)]
pub enum PortalSignIn {
    /// Signed in: the new session's cookie value.
    Full(String),
    /// The second factor is due: the cookie value of the half-finished session.
    SecondFactor(String),
}

/// How a portal verification went on.
#[derive(Debug, Clone)]
pub enum PortalVerified {
    /// Verified in the browser that signed up: signed in (the new session's cookie value).
    SignedIn(String),
    /// Verified from elsewhere: sign in with the password.
    SignInNext,
}

fn recovery_digest(account: &str, code: &str) -> String {
    aloft_security::sha256_hex(&format!("aloft-passenger-recovery:{account}:{code}"))
}

fn too_many_attempts(detail: &str) -> ApiError {
    ApiError::Problem(
        Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            "Too many attempts",
        )
        .with_detail(detail),
    )
}

impl PassengerAccounts {
    fn ip(ctx: &AccessContext) -> std::net::IpAddr {
        ctx.client_address
            .as_deref()
            .and_then(|a| a.parse().ok())
            .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]))
    }

    /// Checks an e-mail and password under the per-address limit and the sign-in back-off
    /// (the token endpoint's and the portal's one rule), auditing every refusal. Returns the
    /// account and the audit context acting as it; success is recorded by
    /// [`PassengerAccounts::signed_in`] (or the second factor's step).
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
        ctx: AccessContext,
    ) -> Result<(Authenticated, AccessContext), ApiError> {
        if self.limiter.check(Self::ip(&ctx)).is_err() {
            self.audit(ctx.entry(
                crate::events::audit::PASSENGER_RATE_LIMITED,
                "customer",
                None,
                vec![],
                "denied",
            ))
            .await?;
            return Err(too_many_attempts(
                "Too many sign-in attempts from this address; wait a minute.",
            ));
        }
        // The staff sign-in's rule: the back-off is keyed by the e-mail (its blind index) and
        // this client address, whether or not an account exists. A per-account lock would let
        // anyone who knows a passenger's e-mail lock them out at will by guessing; this way
        // failures from one address never lock out another, and a locked account and an
        // unknown address answer alike.
        let index = self.directory.email_index(email);
        let key = index
            .clone()
            .unwrap_or_else(|| format!("unindexed:{}", email.trim().to_lowercase()));
        let subject = SignInSubject::Passenger(&key);
        let backoff = backoff_of(&self.db, subject, &ctx).await?;
        if let Some(hold) = global_slowdown(backoff.global_failures) {
            tokio::time::sleep(hold).await;
        }
        let row = match &index {
            Some(index) => sqlx::query(
                "SELECT id, customer_id, password_hash, email_verified_at, totp_secret, totp_last_step, \
                 recovery_codes FROM passenger_accounts WHERE email_index = $1",
            )
            .bind(index)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StorageError::from)?,
            None => None,
        };
        let mut ctx = ctx;
        let mut account = None;
        if let Some(row) = &row {
            let id: String = row.try_get("id").map_err(StorageError::from)?;
            let hash: String = row.try_get("password_hash").map_err(StorageError::from)?;
            let verified: Option<String> = row
                .try_get("email_verified_at")
                .map_err(StorageError::from)?;
            let recovery: String = row.try_get("recovery_codes").map_err(StorageError::from)?;
            ctx.actor = passenger_actor(&id);
            account = Some((
                Authenticated {
                    customer: row.try_get("customer_id").map_err(StorageError::from)?,
                    email_index: key.clone(),
                    totp: row.try_get("totp_secret").map_err(StorageError::from)?,
                    totp_last_step: row.try_get("totp_last_step").map_err(StorageError::from)?,
                    recovery: serde_json::from_str(&recovery).unwrap_or_default(),
                    id,
                },
                hash,
                verified.is_some(),
            ));
        }
        let resource = account.as_ref().map(|(a, _, _)| a.customer.clone());
        if let Some(until) = backoff.blocked_until.filter(|u| *u > now()) {
            verify_unknown_user(password);
            self.audit(ctx.entry(
                crate::events::audit::PASSENGER_LOCKED_ATTEMPT,
                "customer",
                resource,
                vec![],
                "denied",
            ))
            .await?;
            let minutes = (until - now()).num_minutes().max(1);
            return Err(too_many_attempts(&format!(
                "This account is locked for {minutes} more minute(s) after too many failed attempts."
            )));
        }
        let (account, verified) = match account {
            Some((account, hash, verified)) if verify_password(password, &hash) => {
                (account, verified)
            }
            account => {
                if account.is_none() {
                    // Same work as a wrong password: addresses cannot be probed by timing.
                    verify_unknown_user(password);
                }
                let mut tx = self.db.begin_write().await?;
                count_failure(&mut tx, subject, &ctx).await?;
                tx.audit(&[ctx.entry(
                    crate::events::audit::PASSENGER_SIGN_IN_FAILED,
                    "customer",
                    resource,
                    vec![],
                    "failure",
                )])
                .await?;
                tx.commit().await?;
                return Err(wrong());
            }
        };
        if !verified {
            self.audit(ctx.entry(
                crate::events::audit::PASSENGER_UNVERIFIED_SIGN_IN,
                "customer",
                Some(account.customer.clone()),
                vec![],
                "denied",
            ))
            .await?;
            return Err(ApiError::Problem(
                Problem::new(
                    StatusCode::FORBIDDEN,
                    "email-not-verified",
                    "E-mail address not verified yet",
                )
                .with_detail(
                    "Enter the code we sent to your e-mail address at /api/v1/passenger/verify, or ask for a new one at /api/v1/passenger/verify/resend.",
                ),
            ));
        }
        Ok((account, ctx))
    }

    /// Records a completed sign-in of `account` as `action`: clears the back-off from this
    /// address (not others') and audits it.
    pub async fn signed_in(
        &self,
        account: &Authenticated,
        ctx: &AccessContext,
        action: aloft_kernel::audit::AuditAction,
    ) -> Result<(), ApiError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE passenger_accounts SET failed_attempts = 0, locked_until = NULL, updated_at = $2 WHERE id = $1",
        )
        .bind(&account.id)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        clear_backoff(&mut tx, SignInSubject::Passenger(&account.email_index), ctx).await?;
        tx.audit(&[ctx.entry(
            action,
            "customer",
            Some(account.customer.clone()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    fn secrets(&self) -> Result<&AccountStore, ApiError> {
        self.secrets.as_ref().ok_or_else(|| {
            ApiError::Internal("passenger second factors need the account-secret key".into())
        })
    }

    /// Checks a second-factor code (six digits from the app, or a recovery code) of
    /// `account`. A wrong code counts towards the back-off and is audited; a right one is
    /// consumed (the TOTP step or the recovery code cannot be used again). Returns the audit
    /// action of the success, `None` when wrong.
    pub async fn check_second_factor(
        &self,
        account: &Authenticated,
        code: &str,
        ctx: &AccessContext,
    ) -> Result<Option<aloft_kernel::audit::AuditAction>, ApiError> {
        let subject = SignInSubject::Passenger(&account.email_index);
        let backoff = backoff_of(&self.db, subject, ctx).await?;
        if let Some(until) = backoff.blocked_until.filter(|u| *u > now()) {
            let minutes = (until - now()).num_minutes().max(1);
            return Err(too_many_attempts(&format!(
                "This account is locked for {minutes} more minute(s) after too many failed attempts."
            )));
        }
        let Some(sealed) = &account.totp else {
            return Ok(None);
        };
        let code = code.trim();
        let mut tx = self.db.begin_write().await?;
        let mut passed = None;
        if code.len() <= 7 {
            let text = self
                .secrets()?
                .open_passenger_secret(&account.id, TOTP_FIELD, sealed)?;
            let secret = aloft_security::totp::TotpSecret::from_base32(&text)
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let unix = now().timestamp().max(0) as u64;
            if let Some(step) = aloft_security::totp::verify(&secret, code, unix, 1)
                .filter(|s| *s as i64 > account.totp_last_step)
            {
                // Only if no other request used this step meanwhile (replays refused).
                let done = sqlx::query(
                    "UPDATE passenger_accounts SET totp_last_step = $2 WHERE id = $1 AND totp_last_step < $2",
                )
                .bind(&account.id)
                .bind(step as i64)
                .execute(tx.conn())
                .await
                .map_err(StorageError::from)?;
                if done.rows_affected() == 1 {
                    passed = Some(crate::events::audit::PASSENGER_MFA_PASSED);
                }
            }
        } else if let Some(typed) = aloft_security::totp::normalize_recovery_code(code) {
            let digest = recovery_digest(&account.id, &typed);
            if account
                .recovery
                .iter()
                .any(|h| aloft_security::constant_time_eq(h.as_bytes(), digest.as_bytes()))
            {
                let left: Vec<&String> =
                    account.recovery.iter().filter(|h| **h != digest).collect();
                sqlx::query("UPDATE passenger_accounts SET recovery_codes = $2, updated_at = $3 WHERE id = $1")
                    .bind(&account.id)
                    .bind(serde_json::to_string(&left).map_err(|e| ApiError::Internal(e.to_string()))?)
                    .bind(to_db_time(now()))
                    .execute(tx.conn())
                    .await
                    .map_err(StorageError::from)?;
                passed = Some(crate::events::audit::PASSENGER_RECOVERY_CODE_USED);
            }
        }
        if passed.is_none() {
            count_failure(&mut tx, subject, ctx).await?;
            tx.audit(&[ctx.entry(
                crate::events::audit::PASSENGER_MFA_FAILED,
                "customer",
                Some(account.customer.clone()),
                vec![],
                "failure",
            )])
            .await?;
        }
        tx.commit().await?;
        Ok(passed)
    }

    async fn insert_session(
        &self,
        tx: &mut aloft_kernel::WriteTx,
        account: &str,
        stage: PassengerStage,
    ) -> Result<String, StorageError> {
        let token = aloft_security::random_token();
        let t = now();
        sqlx::query(
            "INSERT INTO passenger_sessions (id_hash, account_id, stage, csrf_token, pending_totp, \
             created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, NULL, $5, $5, $6)",
        )
        .bind(aloft_security::sha256_hex(&token))
        .bind(account)
        .bind(stage.as_str())
        .bind(aloft_security::random_token())
        .bind(to_db_time(t))
        .bind(to_db_time(t + crate::model::ABSOLUTE_TIMEOUT))
        .execute(tx.conn())
        .await?;
        Ok(token)
    }

    /// Signs a passenger in to the portal: the same limiter, back-off and audit as the token
    /// endpoint; a **new** session (any earlier cookie value is worthless), at the second-factor
    /// step if they turned one on.
    pub async fn portal_sign_in(
        &self,
        email: &str,
        password: &str,
        ctx: AccessContext,
    ) -> Result<PortalSignIn, ApiError> {
        let (account, ctx) = self.authenticate(email, password, ctx).await?;
        if account.has_second_factor() {
            let mut tx = self.db.begin_write().await?;
            let token = self
                .insert_session(&mut tx, &account.id, PassengerStage::Code)
                .await?;
            tx.audit(&[ctx.entry(
                crate::events::audit::PASSENGER_PASSWORD_ACCEPTED,
                "customer",
                Some(account.customer.clone()),
                vec![],
                "success",
            )])
            .await?;
            tx.commit().await?;
            return Ok(PortalSignIn::SecondFactor(token));
        }
        let mut tx = self.db.begin_write().await?;
        let token = self
            .insert_session(&mut tx, &account.id, PassengerStage::Full)
            .await?;
        tx.commit().await?;
        self.signed_in(&account, &ctx, crate::events::audit::PASSENGER_SIGNED_IN)
            .await?;
        Ok(PortalSignIn::Full(token))
    }

    async fn account_of(&self, id: &str) -> Result<Option<Authenticated>, ApiError> {
        let row = sqlx::query(
            "SELECT id, customer_id, email_index, totp_secret, totp_last_step, recovery_codes \
             FROM passenger_accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StorageError::from)?;
        let Some(r) = row else { return Ok(None) };
        let recovery: String = r.try_get("recovery_codes").map_err(StorageError::from)?;
        Ok(Some(Authenticated {
            id: r.try_get("id").map_err(StorageError::from)?,
            customer: r.try_get("customer_id").map_err(StorageError::from)?,
            email_index: r.try_get("email_index").map_err(StorageError::from)?,
            totp: r.try_get("totp_secret").map_err(StorageError::from)?,
            totp_last_step: r.try_get("totp_last_step").map_err(StorageError::from)?,
            recovery: serde_json::from_str(&recovery).unwrap_or_default(),
        }))
    }

    /// The second step of a portal sign-in: a right code turns the half-finished session into a
    /// signed-in one under a **new** id (returned); a wrong one returns `None` (and counts).
    pub async fn portal_second_factor(
        &self,
        session: &PassengerSession,
        code: &str,
        ctx: AccessContext,
    ) -> Result<Option<String>, ApiError> {
        if session.stage != PassengerStage::Code {
            return Ok(None);
        }
        let Some(account) = self.account_of(&session.account_id).await? else {
            return Ok(None);
        };
        let mut ctx = ctx;
        ctx.actor = passenger_actor(&account.id);
        let Some(action) = self.check_second_factor(&account, code, &ctx).await? else {
            return Ok(None);
        };
        let token = aloft_security::random_token();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE passenger_sessions SET id_hash = $2, stage = 'full', csrf_token = $3, last_seen_at = $4 \
             WHERE id_hash = $1",
        )
        .bind(&session.id_hash)
        .bind(aloft_security::sha256_hex(&token))
        .bind(aloft_security::random_token())
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.commit().await?;
        self.signed_in(&account, &ctx, action).await?;
        Ok(Some(token))
    }

    /// Portal sign-up: one answer whatever the loyalty number and e-mail are (an account is
    /// created and a code mailed only when both belong to one profile that has no verified
    /// account yet), so sign-up tells nobody who is a customer or who has an account. Returns
    /// the cookie value of the browser's sign-up session (meaningless when nothing matched:
    /// the same shape, no row). A weak password is refused first, before any lookup.
    pub async fn portal_sign_up(
        &self,
        loyalty_number: &str,
        email: &str,
        password: &str,
        ctx: AccessContext,
    ) -> Result<String, ApiError> {
        self.throttle(&ctx)?;
        if let Err(why) = check_password_policy(password) {
            return Err(ApiError::field("/password", why.to_string()));
        }
        // The Argon2 work is done whether or not anything matches.
        let hash = hash_password(password).map_err(|e| ApiError::Internal(e.to_string()))?;
        let decoy = aloft_security::random_token();
        let customer = self
            .directory
            .find_for_registration(loyalty_number, email)
            .await?;
        let index = self.directory.email_index(email);
        let (Some(customer), Some(index)) = (customer, index) else {
            self.audit(ctx.entry(
                crate::events::audit::PASSENGER_SIGN_UP_UNMATCHED,
                "customer",
                None,
                vec![],
                "denied",
            ))
            .await?;
            return Ok(decoy);
        };
        let existing = sqlx::query(
            "SELECT id, email_verified_at FROM passenger_accounts WHERE customer_id = $1 OR email_index = $2",
        )
        .bind(customer.to_string())
        .bind(&index)
        .fetch_all(self.db.pool())
        .await
        .map_err(StorageError::from)?;
        let mut ctx = ctx;
        let t = to_db_time(now());
        let mut tx = self.db.begin_write().await?;
        let id = match existing.as_slice() {
            [] => {
                let id = Uuid::now_v7().to_string();
                sqlx::query(
                    "INSERT INTO passenger_accounts (id, customer_id, email_index, password_hash, failed_attempts, \
                     locked_until, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, NULL, $5, $5)",
                )
                .bind(&id)
                .bind(customer.to_string())
                .bind(&index)
                .bind(&hash)
                .bind(&t)
                .execute(tx.conn())
                .await
                .map_err(StorageError::from)?;
                id
            }
            [row]
                if row
                    .try_get::<Option<String>, _>("email_verified_at")
                    .map_err(StorageError::from)?
                    .is_none() =>
            {
                // Signed up before but never proven: the new password replaces the old one
                // and a new code goes out (the address's owner decides by entering it).
                let id: String = row.try_get("id").map_err(StorageError::from)?;
                sqlx::query(
                    "UPDATE passenger_accounts SET password_hash = $2, updated_at = $3 WHERE id = $1",
                )
                .bind(&id)
                .bind(&hash)
                .bind(&t)
                .execute(tx.conn())
                .await
                .map_err(StorageError::from)?;
                id
            }
            _ => {
                drop(tx);
                self.audit(ctx.entry(
                    crate::events::audit::PASSENGER_SIGN_UP_UNMATCHED,
                    "customer",
                    Some(customer.to_string()),
                    vec![],
                    "denied",
                ))
                .await?;
                return Ok(decoy);
            }
        };
        ctx.actor = passenger_actor(&id);
        self.send_code(&mut tx, &id, email).await?;
        let token = self
            .insert_session(&mut tx, &id, PassengerStage::SignUp)
            .await?;
        tx.audit(&[ctx.entry(
            crate::events::audit::PASSENGER_REGISTERED,
            "customer",
            Some(customer.to_string()),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Portal verification: the code from the e-mail. In the browser that signed up (its
    /// sign-up session names the same account) the passenger is signed in under a **new**
    /// session id; elsewhere they sign in with their password next. `None`: the code is not
    /// right (one answer for unknown, wrong, expired, used up and already verified).
    pub async fn portal_verify(
        &self,
        email: &str,
        code: &str,
        sign_up: Option<&PassengerSession>,
        ctx: AccessContext,
    ) -> Result<Option<PortalVerified>, ApiError> {
        self.throttle(&ctx)?;
        let CodeCheck::Verified { account, customer } =
            self.check_code(email, code, ctx.clone()).await?
        else {
            return Ok(None);
        };
        let Some(session) =
            sign_up.filter(|s| s.stage == PassengerStage::SignUp && s.account_id == account)
        else {
            return Ok(Some(PortalVerified::SignInNext));
        };
        let mut ctx = ctx;
        ctx.actor = passenger_actor(&account);
        let token = aloft_security::random_token();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE passenger_sessions SET id_hash = $2, stage = 'full', csrf_token = $3, last_seen_at = $4 \
             WHERE id_hash = $1",
        )
        .bind(&session.id_hash)
        .bind(aloft_security::sha256_hex(&token))
        .bind(aloft_security::random_token())
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            crate::events::audit::PASSENGER_SIGNED_IN,
            "customer",
            Some(customer),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(Some(PortalVerified::SignedIn(token)))
    }

    /// Ends a passenger session (audited).
    pub async fn portal_sign_out(
        &self,
        id_hash: &str,
        ctx: &AccessContext,
    ) -> Result<(), ApiError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM passenger_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            crate::events::audit::PASSENGER_SIGNED_OUT,
            "passenger_account",
            None,
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether account `account` has a second factor, and how many recovery codes are left.
    pub async fn second_factor_status(&self, account: &str) -> Result<(bool, usize), ApiError> {
        Ok(self
            .account_of(account)
            .await?
            .map(|a| (a.totp.is_some(), a.recovery.len()))
            .unwrap_or((false, 0)))
    }

    /// The secret being set up in session `id_hash` of `account` (made and kept, sealed, on
    /// the session if there is none yet).
    pub async fn pending_second_factor(
        &self,
        account: &str,
        id_hash: &str,
    ) -> Result<aloft_security::totp::TotpSecret, ApiError> {
        let sealed: Option<String> = sqlx::query_scalar(
            "SELECT pending_totp FROM passenger_sessions WHERE id_hash = $1 AND account_id = $2",
        )
        .bind(id_hash)
        .bind(account)
        .fetch_optional(self.db.pool())
        .await
        .map_err(StorageError::from)?
        .flatten();
        if let Some(sealed) = sealed {
            let text = self
                .secrets()?
                .open_passenger_secret(account, TOTP_FIELD, &sealed)?;
            return aloft_security::totp::TotpSecret::from_base32(&text)
                .map_err(|e| ApiError::Internal(e.to_string()));
        }
        let secret = aloft_security::totp::TotpSecret::generate();
        let sealed =
            self.secrets()?
                .seal_passenger_secret(account, TOTP_FIELD, &secret.to_base32());
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE passenger_sessions SET pending_totp = $3 WHERE id_hash = $1 AND account_id = $2")
            .bind(id_hash)
            .bind(account)
            .bind(sealed)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?;
        tx.commit().await?;
        Ok(secret)
    }

    /// Turns on the second factor being set up in session `id_hash` once `code` from the app
    /// proves it works. Returns the recovery codes to show once (only their digests are kept),
    /// `None` if the code is not right.
    pub async fn enable_second_factor(
        &self,
        account: &str,
        id_hash: &str,
        code: &str,
        ctx: &AccessContext,
    ) -> Result<Option<Vec<String>>, ApiError> {
        let secret = self.pending_second_factor(account, id_hash).await?;
        let unix = now().timestamp().max(0) as u64;
        let Some(step) = aloft_security::totp::verify(&secret, code.trim(), unix, 1) else {
            return Ok(None);
        };
        let codes = aloft_security::recovery_codes(10);
        let digests: Vec<String> = codes.iter().map(|c| recovery_digest(account, c)).collect();
        let customer: Option<String> =
            sqlx::query_scalar("SELECT customer_id FROM passenger_accounts WHERE id = $1")
                .bind(account)
                .fetch_optional(self.db.pool())
                .await
                .map_err(StorageError::from)?;
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE passenger_accounts SET totp_secret = $2, totp_last_step = $3, recovery_codes = $4, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(account)
        .bind(self.secrets()?.seal_passenger_secret(account, TOTP_FIELD, &secret.to_base32()))
        .bind(step as i64)
        .bind(serde_json::to_string(&digests).map_err(|e| ApiError::Internal(e.to_string()))?)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        sqlx::query("UPDATE passenger_sessions SET pending_totp = NULL WHERE account_id = $1")
            .bind(account)
            .execute(tx.conn())
            .await
            .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            crate::events::audit::PASSENGER_MFA_ENROLLED,
            "customer",
            customer,
            vec!["totp_secret".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(Some(codes))
    }

    /// Turns the second factor off, if `code` (from the app, or a recovery code) is right.
    pub async fn disable_second_factor(
        &self,
        account: &str,
        code: &str,
        ctx: &AccessContext,
    ) -> Result<bool, ApiError> {
        let Some(a) = self.account_of(account).await? else {
            return Ok(false);
        };
        if self.check_second_factor(&a, code, ctx).await?.is_none() {
            return Ok(false);
        }
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "UPDATE passenger_accounts SET totp_secret = NULL, recovery_codes = '[]', updated_at = $2 WHERE id = $1",
        )
        .bind(account)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            crate::events::audit::PASSENGER_MFA_REMOVED,
            "customer",
            Some(a.customer.clone()),
            vec!["totp_secret".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Refuses (429) when the caller's address has tried too often (sign-up, codes).
    pub fn check_rate(&self, ctx: &AccessContext) -> Result<(), ApiError> {
        self.throttle(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_portal_paths_count_as_the_portal() {
        for yes in ["/my", "/my/", "/my/trips", "/my/sign-in/code"] {
            assert!(is_portal_path(yes), "{yes}");
        }
        for no in [
            "/",
            "/myself",
            "/mystery/my",
            "/customers/my",
            "/api/v1/me",
            "/sign-in",
        ] {
            assert!(!is_portal_path(no), "{no}");
        }
    }

    #[test]
    fn the_passenger_cookie_stays_on_the_portal_and_away_from_scripts_and_other_sites() {
        let plain = passenger_cookie(false, "abc").to_str().unwrap().to_owned();
        assert!(plain.starts_with("aloft_passenger=abc; Path=/my; HttpOnly; SameSite=Strict"));
        assert!(!plain.contains("Secure"));
        let tls = passenger_cookie(true, "abc").to_str().unwrap().to_owned();
        assert!(tls.starts_with("__Secure-aloft_passenger=abc;") && tls.ends_with("; Secure"));
        assert!(
            clear_passenger_cookie(true)
                .to_str()
                .unwrap()
                .contains("Max-Age=0")
        );
    }

    #[test]
    fn half_finished_sessions_expire_sooner_than_signed_in_ones() {
        let t = now();
        let session = |stage, age: chrono::Duration, idle: chrono::Duration| PassengerSession {
            id_hash: String::new(),
            account_id: String::new(),
            customer_id: String::new(),
            stage,
            csrf_token: String::new(),
            created_at: t - age,
            last_seen_at: t - idle,
            expires_at: t - age + crate::model::ABSOLUTE_TIMEOUT,
        };
        let m = chrono::Duration::minutes;
        assert!(session(PassengerStage::Full, m(60), m(5)).alive(t));
        assert!(
            !session(PassengerStage::Full, m(60), m(31)).alive(t),
            "idle"
        );
        assert!(
            !session(PassengerStage::Full, m(13 * 60), m(1)).alive(t),
            "absolute"
        );
        assert!(session(PassengerStage::Code, m(5), m(5)).alive(t));
        assert!(!session(PassengerStage::Code, m(11), m(11)).alive(t));
        assert!(session(PassengerStage::SignUp, m(25), m(25)).alive(t));
        assert!(!session(PassengerStage::SignUp, m(31), m(31)).alive(t));
    }
}
