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
use aloft_kernel::{AccessContext, ApiError, Database, FieldError, Problem, StorageError};
use aloft_security::password::verify_unknown_user;
use aloft_security::{check_password_policy, hash_password, verify_password};

use crate::limiter::RateLimiter;
use crate::model::global_slowdown;
use crate::storage::{SignInSubject, backoff_of, clear_backoff, count_failure};
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
        }
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
    /// The passenger account id.
    pub account_id: String,
    /// Always `email_sent`: the account works once the code sent to the address is entered at
    /// `/api/v1/passenger/verify`.
    pub verification: &'static str,
}

/// Create a passenger account for an existing profile.
#[utoipa::path(
    post,
    path = "/api/v1/passenger/register",
    tag = "passengers",
    security(()),
    request_body = Registration,
    responses(
        (status = 201, description = "Registered; a verification code was sent to the e-mail address", body = Registered),
        (status = 409, description = "This profile already has an account", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No profile matches, or the password is too weak", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn register(
    State(state): State<PassengerAccounts>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Response, ApiError> {
    let reg: Registration =
        serde_json::from_value(body).map_err(|e| ApiError::Malformed(e.to_string()))?;
    if let Err(why) = check_password_policy(&reg.password) {
        return Err(ApiError::field("/password", why.to_string()));
    }
    let no_match = || {
        ApiError::field(
            "/loyalty_number",
            "no profile has this loyalty number together with this e-mail address",
        )
    };
    let customer = state
        .directory
        .find_for_registration(&reg.loyalty_number, &reg.email)
        .await?
        .ok_or_else(no_match)?;
    let email_index = state
        .directory
        .email_index(&reg.email)
        .ok_or_else(no_match)?;
    let id = Uuid::now_v7();
    let hash = hash_password(&reg.password).map_err(|e| ApiError::Internal(e.to_string()))?;
    let t = to_db_time(now());
    let mut tx = state.db.begin_write().await?;
    let inserted = sqlx::query(
        "INSERT INTO passenger_accounts (id, customer_id, email_index, password_hash, failed_attempts, \
         locked_until, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, NULL, $5, $5)",
    )
    .bind(id.to_string())
    .bind(customer.to_string())
    .bind(&email_index)
    .bind(&hash)
    .bind(&t)
    .execute(tx.conn())
    .await;
    match inserted {
        Ok(_) => {}
        Err(e) => {
            return Err(match StorageError::from(e) {
                StorageError::Conflict(_) => ApiError::Conflict(FieldError::new(
                    "/email",
                    "this profile already has a passenger account; sign in instead",
                )),
                other => other.into(),
            });
        }
    }
    let mut ctx = ctx;
    ctx.actor = aloft_kernel::Actor {
        id: format!("passenger:{id}"),
        role: "passenger".into(),
    };
    state
        .send_code(&mut tx, &id.to_string(), &reg.email)
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
    Ok((
        StatusCode::CREATED,
        axum::Json(Registered {
            account_id: id.to_string(),
            verification: "email_sent",
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
        (status = 401, description = "Wrong e-mail or password", body = Problem, content_type = "application/problem+json"),
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
    let ip = ctx
        .client_address
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let too_many = |detail: &str| {
        ApiError::Problem(
            Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts",
                "Too many attempts",
            )
            .with_detail(detail),
        )
    };
    if state.limiter.check(ip).is_err() {
        state
            .audit(ctx.entry(
                crate::events::audit::PASSENGER_RATE_LIMITED,
                "customer",
                None,
                vec![],
                "denied",
            ))
            .await?;
        return Err(too_many(
            "Too many sign-in attempts from this address; wait a minute.",
        ));
    }
    // The staff sign-in's rule: the back-off is keyed by the e-mail (its blind index) and this
    // client address, whether or not an account exists. A per-account lock would let anyone who
    // knows a passenger's e-mail lock them out at will by guessing; this way failures from one
    // address never lock out another, and a locked account and an unknown address answer alike.
    let index = state.directory.email_index(&form.email);
    let key = index
        .clone()
        .unwrap_or_else(|| format!("unindexed:{}", form.email.trim().to_lowercase()));
    let subject = SignInSubject::Passenger(&key);
    let backoff = backoff_of(&state.db, subject, &ctx).await?;
    if let Some(hold) = global_slowdown(backoff.global_failures) {
        tokio::time::sleep(hold).await;
    }
    let row = match &index {
        Some(index) => sqlx::query(
            "SELECT id, customer_id, password_hash, email_verified_at FROM passenger_accounts WHERE email_index = $1",
        )
        .bind(index)
        .fetch_optional(state.db.pool())
        .await
        .map_err(StorageError::from)?,
        None => None,
    };
    let mut ctx = ctx;
    let mut account = None;
    if let Some(row) = &row {
        let id: String = row.try_get("id").map_err(StorageError::from)?;
        let customer: String = row.try_get("customer_id").map_err(StorageError::from)?;
        let hash: String = row.try_get("password_hash").map_err(StorageError::from)?;
        let verified: Option<String> = row
            .try_get("email_verified_at")
            .map_err(StorageError::from)?;
        ctx.actor = aloft_kernel::Actor {
            id: format!("passenger:{id}"),
            role: "passenger".into(),
        };
        account = Some((id, customer, hash, verified.is_some()));
    }
    let resource = account.as_ref().map(|(_, customer, _, _)| customer.clone());
    if let Some(until) = backoff.blocked_until.filter(|u| *u > now()) {
        verify_unknown_user(&form.password);
        state
            .audit(ctx.entry(
                crate::events::audit::PASSENGER_LOCKED_ATTEMPT,
                "customer",
                resource,
                vec![],
                "denied",
            ))
            .await?;
        let minutes = (until - now()).num_minutes().max(1);
        return Err(too_many(&format!(
            "This account is locked for {minutes} more minute(s) after too many failed attempts."
        )));
    }
    let (id, customer, verified) = match account {
        Some((id, customer, hash, verified)) if verify_password(&form.password, &hash) => {
            (id, customer, verified)
        }
        account => {
            if account.is_none() {
                // Same work as a wrong password: addresses cannot be probed by timing.
                verify_unknown_user(&form.password);
            }
            let mut tx = state.db.begin_write().await?;
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
        state
            .audit(ctx.entry(
                crate::events::audit::PASSENGER_UNVERIFIED_SIGN_IN,
                "customer",
                Some(customer),
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
    let mut tx = state.db.begin_write().await?;
    sqlx::query("UPDATE passenger_accounts SET failed_attempts = 0, locked_until = NULL, updated_at = $2 WHERE id = $1")
        .bind(&id)
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
    clear_backoff(&mut tx, subject, &ctx).await?;
    tx.audit(&[ctx.entry(
        crate::events::audit::PASSENGER_SIGNED_IN,
        "customer",
        Some(customer.clone()),
        vec![],
        "success",
    )])
    .await?;
    tx.commit().await?;
    let customer = Uuid::parse_str(&customer).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut r = axum::Json(PassengerToken {
        access_token: state
            .tokens
            .issue_for_passenger(&id, customer, PASSENGER_TOKEN_TTL),
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
    let Some(index) = state.directory.email_index(&form.email) else {
        return Err(bad_code());
    };
    let row = sqlx::query(
        "SELECT id, customer_id, email_verified_at, verification_digest, verification_expires_at, \
         verification_tries FROM passenger_accounts WHERE email_index = $1",
    )
    .bind(&index)
    .fetch_optional(state.db.pool())
    .await
    .map_err(StorageError::from)?;
    let Some(row) = row else {
        return Err(bad_code());
    };
    let id: String = row.try_get("id").map_err(StorageError::from)?;
    let customer: String = row.try_get("customer_id").map_err(StorageError::from)?;
    if row
        .try_get::<Option<String>, _>("email_verified_at")
        .map_err(StorageError::from)?
        .is_some()
    {
        return Ok(StatusCode::NO_CONTENT.into_response());
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
        aloft_security::constant_time_eq(
            d.as_bytes(),
            code_digest(&id, form.code.trim()).as_bytes(),
        )
    });
    let mut ctx = ctx;
    ctx.actor = aloft_kernel::Actor {
        id: format!("passenger:{id}"),
        role: "passenger".into(),
    };
    let mut tx = state.db.begin_write().await?;
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
            Some(customer),
            vec![],
            "success",
        )])
        .await?;
        tx.commit().await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
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
    Err(bad_code())
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
    state.throttle(&ctx)?;
    if let Some(index) = state.directory.email_index(&form.email) {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT id FROM passenger_accounts WHERE email_index = $1 AND email_verified_at IS NULL",
        )
        .bind(&index)
        .fetch_optional(state.db.pool())
        .await
        .map_err(StorageError::from)?;
        if let Some(id) = id {
            let mut tx = state.db.begin_write().await?;
            state.send_code(&mut tx, &id, &form.email).await?;
            tx.commit().await?;
        }
    }
    Ok(StatusCode::ACCEPTED.into_response())
}
