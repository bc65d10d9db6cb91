//! The OAuth 2.0 token endpoint for integration clients (client-credentials grant, RFC 6749
//! §4.4). A client registered in Aloft trades its id and secret for a short-lived bearer token
//! acting in the client's role, narrowed to its scopes.

use std::sync::Arc;
use std::time::Duration;

use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64_decode::decode_basic;
use http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::{AccessContext, ApiError};

use crate::limiter::RateLimiter;
use crate::storage::AccountStore;
use crate::tokens::TokenIssuer;

/// Lifetime of a client token: short, so revoking a client takes effect within minutes without
/// a database lookup on every call.
pub const CLIENT_TOKEN_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// Who may call the token endpoint: anyone (the client's credentials are the check).
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "POST",
    "/api/v1/oauth/token",
    Access::Public,
)];

/// State of the token endpoint.
#[derive(Clone)]
pub struct TokenEndpoint {
    accounts: AccountStore,
    tokens: TokenIssuer,
    limiter: Arc<RateLimiter>,
}

impl TokenEndpoint {
    /// Over these clients and keys.
    pub fn new(accounts: AccountStore, tokens: TokenIssuer) -> Self {
        Self {
            accounts,
            tokens,
            limiter: Arc::new(RateLimiter::new(60, Duration::from_secs(60))),
        }
    }
}

/// The token endpoint, with its OpenAPI description.
pub fn api_routes(state: TokenEndpoint) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(token))
        .with_state(state)
}

/// A token request (form-encoded).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Must be `client_credentials`.
    pub grant_type: String,
    /// The client id (or send HTTP Basic credentials).
    pub client_id: Option<String>,
    /// The client secret (or send HTTP Basic credentials).
    pub client_secret: Option<String>,
}

/// A token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The permissions it carries, space-separated (absent: the client's whole role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (
        status,
        axum::Json(serde_json::json!({ "error": error, "error_description": description })),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Basic realm=\"aloft\""),
        );
    }
    r
}

/// Exchange client credentials for a bearer token.
///
/// OAuth 2.0 client-credentials grant. Send `grant_type=client_credentials` form-encoded, with
/// the client id and secret as HTTP Basic credentials (or as `client_id`/`client_secret`). The
/// token lasts ten minutes; ask for a new one when it expires.
#[utoipa::path(
    post,
    path = "/api/v1/oauth/token",
    tag = "access",
    security(()),
    request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "A bearer token", body = TokenResponse),
        (status = 400, description = "Unsupported grant type (`unsupported_grant_type`)"),
        (status = 401, description = "Unknown, expired or revoked client, or wrong secret (`invalid_client`)"),
        (status = 429, description = "Too many attempts from this address"),
    )
)]
async fn token(
    State(state): State<TokenEndpoint>,
    ctx: AccessContext,
    headers: HeaderMap,
    Form(form): Form<TokenRequest>,
) -> Result<Response, ApiError> {
    let ip = ctx
        .client_address
        .as_deref()
        .and_then(|a| a.parse().ok())
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    if state.limiter.check(ip).is_err() {
        return Ok(oauth_error(
            StatusCode::TOO_MANY_REQUESTS,
            "slow_down",
            "Too many token requests from this address.",
        ));
    }
    if form.grant_type != "client_credentials" {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Only client_credentials is supported.",
        ));
    }
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(decode_basic);
    let (id, secret) = match (basic, form.client_id, form.client_secret) {
        (Some(pair), _, _) => pair,
        (None, Some(id), Some(secret)) => (id, secret),
        _ => {
            return Ok(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Send the client id and secret.",
            ));
        }
    };
    let Some(client) = state.accounts.authenticate_client(&id, &secret).await? else {
        state
            .accounts
            .audit(ctx.entry(
                crate::events::audit::AUTH_CLIENT_FAILED,
                "api_client",
                Some(id.chars().take(64).collect()),
                vec![],
                "failure",
            ))
            .await?;
        return Ok(oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Unknown, expired or revoked client, or wrong secret.",
        ));
    };
    // Scopes name registered permissions; one that is no longer registered grants nothing.
    let scopes: Vec<aloft_authz::Permission> = client
        .scopes
        .iter()
        .filter_map(|s| state.tokens.roles().permission(s))
        .collect();
    let access_token = state.tokens.issue_scoped(
        &client.role,
        &format!("client:{}", client.id),
        CLIENT_TOKEN_TTL,
        (!client.scopes.is_empty()).then_some(scopes.as_slice()),
        client.station.as_deref(),
    );
    state
        .accounts
        .audit(ctx.entry(
            crate::events::audit::AUTH_CLIENT_TOKEN_ISSUED,
            "api_client",
            Some(client.id.clone()),
            vec![],
            "success",
        ))
        .await?;
    let mut r = axum::Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: CLIENT_TOKEN_TTL.num_seconds(),
        scope: (!client.scopes.is_empty()).then(|| {
            scopes
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    })
    .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// HTTP Basic credentials.
mod base64_decode {
    use base64::Engine;

    /// `Basic base64(id:secret)` → `(id, secret)`.
    pub fn decode_basic(value: &str) -> Option<(String, String)> {
        let encoded = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (id, secret) = text.split_once(':')?;
        Some((id.to_owned(), secret.to_owned()))
    }
}
