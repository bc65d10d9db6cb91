//! Workforce single sign-on with OpenID Connect: authorization code flow with PKCE (RFC 7636),
//! as Entra ID (Azure AD), Okta or Keycloak offer it.
//!
//! `/sign-in/sso` sends the browser to the identity provider with a fresh `state`, `nonce` and
//! PKCE challenge, remembered in a short-lived encrypted cookie. `/sign-in/sso/callback` checks
//! the `state`, exchanges the code (with the PKCE verifier and the client secret) for an ID token,
//! verifies it against the provider's JWKS (issuer, audience = client id, expiry, `nonce`), maps
//! the role claim to one Aloft role, and — because staff MFA is mandatory — requires the
//! provider to say a second factor was used (`amr` contains `mfa`, `otp`, `hwk`, `swk` or
//! `fido`). The staff account (`sso:<subject>`) is created or updated with the role from the
//! claim, so role changes at the provider take effect at the next sign-in.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::html;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::keys::InstanceKeys;
use aloft_kernel::{AccessContext, ApiError, Problem};
use aloft_security::{DataKey, decrypt_text, encrypt_text, random_token};
use aloft_web::{Section, layout, page};

use crate::gate::cookie;
use crate::issuers::{ExternalIssuer, Fetch, IssuerConfig, REFRESH_COOLDOWN};
use crate::model::{Stage, safe_next};
use crate::pages::SignInState;
use crate::storage::AccountStore;

/// Configuration of the workforce identity provider.
#[derive(Clone)]
pub struct SsoConfig {
    /// The provider's issuer URL (discovery at `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// Aloft's client id at the provider.
    pub client_id: String,
    /// Aloft's client secret at the provider.
    pub client_secret: Zeroizing<String>,
    /// Where the provider sends the browser back: `https://<aloft>/sign-in/sso/callback`.
    pub redirect_url: String,
    /// The ID-token claim holding role names.
    pub role_claim: String,
    /// Provider role names → Aloft roles.
    pub role_map: Vec<(String, String)>,
    /// Refuse sign-ins where the provider does not report a second factor.
    pub require_mfa: bool,
}

impl std::fmt::Debug for SsoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// What the browser carries between leaving for the provider and coming back.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    expires: i64,
}

/// The SSO client.
#[derive(Clone)]
pub struct Sso {
    config: Arc<SsoConfig>,
    fetch: Arc<dyn Fetch>,
    discovered: Arc<OnceCell<(Discovery, ExternalIssuer)>>,
    flow_key: Arc<DataKey>,
    accounts: AccountStore,
    sign_in: SignInState,
}

/// Who may use the SSO routes: anyone (the provider's answer is the check).
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/sign-in/sso", Access::Public),
    RoutePolicy::new("GET", "/sign-in/sso/callback", Access::Public),
];

const FLOW_COOKIE: &str = "aloft_sso";

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The S256 PKCE challenge of a verifier.
pub fn pkce_challenge(verifier: &str) -> String {
    b64url(&aloft_security::sha256(verifier.as_bytes()))
}

/// Whether two issuer identifiers are the same: exact comparison, after one trailing `/` is
/// dropped from each (providers differ in whether they write it).
fn same_issuer(a: &str, b: &str) -> bool {
    a.strip_suffix('/').unwrap_or(a) == b.strip_suffix('/').unwrap_or(b)
}

fn enc(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Sso {
    /// An SSO client for `config`; discovery happens at the first sign-in.
    pub fn new(
        config: SsoConfig,
        fetch: Arc<dyn Fetch>,
        keys: &InstanceKeys,
        accounts: AccountStore,
        sign_in: SignInState,
    ) -> Self {
        Self {
            config: Arc::new(config),
            fetch,
            discovered: Arc::new(OnceCell::new()),
            flow_key: Arc::new(DataKey::from_bytes(*keys.derive_secret("sso-flow"))),
            accounts,
            sign_in,
        }
    }

    async fn discovery(&self) -> Result<&(Discovery, ExternalIssuer), ApiError> {
        self.discovered
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let body = self.fetch.get(&url).await.map_err(|e| {
                    ApiError::Unavailable(format!("the identity provider cannot be reached: {e}"))
                })?;
                let d: Discovery = serde_json::from_slice(&body).map_err(|e| {
                    ApiError::Unavailable(format!(
                        "the identity provider's discovery document is malformed: {e}"
                    ))
                })?;
                // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be exactly the
                // one configured. Otherwise whoever answers at that URL could name another
                // issuer, whose ID tokens would then be accepted as this provider's.
                if !same_issuer(&d.issuer, &self.config.issuer) {
                    tracing::error!(
                        configured = %self.config.issuer,
                        discovered = %d.issuer,
                        "the identity provider's discovery document names another issuer; SSO refused"
                    );
                    return Err(ApiError::Problem(
                        Problem::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "identity-provider-issuer-mismatch",
                            "The identity provider is not the one configured",
                        )
                        .with_detail(format!(
                            "Its discovery document names the issuer `{}`, but Aloft is configured \
                             for `{}`; single sign-on is refused until they are the same.",
                            d.issuer, self.config.issuer
                        )),
                    ));
                }
                let verifier = ExternalIssuer::new(
                    IssuerConfig {
                        issuer: d.issuer.clone(),
                        audience: self.config.client_id.clone(),
                        jwks_url: d.jwks_uri.clone(),
                        role_claim: self.config.role_claim.clone(),
                        role_map: self.config.role_map.clone(),
                        refresh_cooldown: REFRESH_COOLDOWN,
                    },
                    self.fetch.clone(),
                    self.sign_in.roles().clone(),
                );
                Ok((d, verifier))
            })
            .await
    }

    fn flow_cookie(&self, value: &str, max_age: i64) -> HeaderValue {
        let secure = if self.sign_in.tls() { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{FLOW_COOKIE}={value}; Path=/sign-in/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .expect("cookie values are base64")
    }

    /// The SSO routes.
    pub fn routes(self) -> Router {
        Router::new()
            .route("/sign-in/sso", get(start))
            .route("/sign-in/sso/callback", get(callback))
            .with_state(self)
    }
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start(State(sso): State<Sso>, Query(q): Query<StartQuery>) -> Result<Response, ApiError> {
    let (d, _) = sso.discovery().await?;
    let flow = Flow {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        next: safe_next(q.next.as_deref()),
        expires: chrono::Utc::now().timestamp() + 600,
    };
    let sealed = encrypt_text(
        &sso.flow_key,
        "sso",
        "flow",
        &serde_json::to_string(&flow).expect("serialises"),
    );
    let sealed = sealed.replace('+', "-").replace('/', "_").replace('=', "");
    let target = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state={}&nonce={}&code_challenge={}&code_challenge_method=S256",
        d.authorization_endpoint,
        enc(&sso.config.client_id),
        enc(&sso.config.redirect_url),
        enc("openid profile email"),
        enc(&flow.state),
        enc(&flow.nonce),
        pkce_challenge(&flow.verifier),
    );
    let mut r = Redirect::to(&target).into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, sso.flow_cookie(&sealed, 600));
    Ok(r)
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

fn refusal(status: StatusCode, message: &str) -> Response {
    page(
        status,
        layout(
            "Single sign-on failed",
            Section::HOME,
            html! {
                article.narrow {
                    h1 { "Single sign-on failed" }
                    p.form-error role="alert" { (message) }
                    p { a href="/sign-in" { "Back to sign-in" } }
                }
            },
        ),
    )
}

async fn callback(
    State(sso): State<Sso>,
    ctx: AccessContext,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, ApiError> {
    let mut parts = http::Request::new(()).into_parts().0;
    parts.headers = headers;
    let flow = cookie(&parts, FLOW_COOKIE)
        .map(|v| {
            let mut std = v.replace('-', "+").replace('_', "/");
            while std.len() % 4 != 0 {
                std.push('=');
            }
            std
        })
        .and_then(|v| decrypt_text(&sso.flow_key, "sso", "flow", &v).ok())
        .and_then(|json| serde_json::from_str::<Flow>(&json).ok())
        .filter(|f| f.expires > chrono::Utc::now().timestamp());
    let Some(flow) = flow else {
        return Ok(refusal(
            StatusCode::BAD_REQUEST,
            "The sign-in took too long or was started elsewhere. Please start again.",
        ));
    };
    if let Some(e) = q.error {
        let _ = e; // The provider's error code is not shown: it may carry details about the user.
        return Ok(refusal(
            StatusCode::UNAUTHORIZED,
            "Your organisation's sign-in did not complete.",
        ));
    }
    let (Some(code), Some(state)) = (q.code, q.state) else {
        return Ok(refusal(
            StatusCode::BAD_REQUEST,
            "The identity provider's answer is incomplete.",
        ));
    };
    if !aloft_security::constant_time_eq(state.as_bytes(), flow.state.as_bytes()) {
        return Ok(refusal(
            StatusCode::BAD_REQUEST,
            "The sign-in answer does not belong to this browser. Please start again.",
        ));
    }
    let (d, verifier) = sso.discovery().await?;
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&client_id={}&client_secret={}&code_verifier={}",
        enc(&code),
        enc(&sso.config.redirect_url),
        enc(&sso.config.client_id),
        enc(&sso.config.client_secret),
        enc(&flow.verifier),
    );
    let body = match sso.fetch.post_form(&d.token_endpoint, form).await {
        Ok(body) => body,
        // A 4xx is the provider refusing the code (expired, replayed, PKCE mismatch): the user
        // starts again. Anything else is the provider being unreachable: 503, retry.
        Err(e) if e.starts_with("HTTP 4") => {
            tracing::info!(reason = %e, "SSO code exchange refused");
            return Ok(refusal(
                StatusCode::UNAUTHORIZED,
                "Your organisation's sign-in could not be completed. Please start again.",
            ));
        }
        Err(e) => {
            return Err(ApiError::Unavailable(format!(
                "the identity provider's token endpoint failed: {e}"
            )));
        }
    };
    let tokens: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::Unavailable(format!("the token response is malformed: {e}")))?;
    let Some(id_token) = tokens["id_token"].as_str() else {
        return Ok(refusal(
            StatusCode::UNAUTHORIZED,
            "The identity provider returned no ID token.",
        ));
    };
    let claims = match verifier.verified_claims(id_token).await {
        Ok(c) => c,
        Err(crate::tokens::TokenError::Unavailable(e)) => return Err(ApiError::Unavailable(e)),
        Err(e) => {
            tracing::info!(reason = ?e, "SSO ID token refused");
            return Ok(refusal(
                StatusCode::UNAUTHORIZED,
                "The identity provider's answer could not be verified.",
            ));
        }
    };
    if claims["nonce"].as_str() != Some(flow.nonce.as_str()) {
        return Ok(refusal(
            StatusCode::UNAUTHORIZED,
            "The identity provider's answer could not be verified.",
        ));
    }
    let amr: Vec<&str> = claims["amr"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if sso.config.require_mfa
        && !amr
            .iter()
            .any(|m| matches!(*m, "mfa" | "otp" | "hwk" | "swk" | "fido"))
    {
        sso.accounts
            .audit(ctx.entry(
                crate::events::audit::AUTH_SSO_REFUSED_WITHOUT_MFA,
                "staff_account",
                None,
                vec![],
                "denied",
            ))
            .await?;
        return Ok(refusal(
            StatusCode::FORBIDDEN,
            "Aloft needs two-step sign-in. Sign in to your organisation with your second factor and try again.",
        ));
    }
    let role = match verifier.role_of(&claims) {
        Ok(r) => r,
        Err(_) => {
            sso.accounts
                .audit(ctx.entry(
                    crate::events::audit::AUTH_SSO_REFUSED_WITHOUT_ROLE,
                    "staff_account",
                    None,
                    vec![],
                    "denied",
                ))
                .await?;
            return Ok(refusal(
                StatusCode::FORBIDDEN,
                "Your organisation account has no Aloft role. Ask your administrator to assign one.",
            ));
        }
    };
    let subject = claims["sub"].as_str().unwrap_or_default();
    let name = claims["name"].as_str().unwrap_or("Staff member");
    let account = sso
        .accounts
        .upsert_sso_account(subject, name, role, &ctx)
        .await?;
    let token = sso
        .accounts
        .start_session_at(
            &account,
            Stage::Full,
            crate::events::audit::AUTH_SSO_SIGNED_IN,
            &ctx,
        )
        .await?;
    let mut r = Redirect::to(&flow.next).into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, sso.sign_in.session_cookie(&token));
    r.headers_mut()
        .append(header::SET_COOKIE, sso.flow_cookie("", 0));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_compare_exactly_but_for_one_trailing_slash() {
        assert!(same_issuer(
            "https://idp.example/t1",
            "https://idp.example/t1/"
        ));
        assert!(same_issuer(
            "https://idp.example/t1/",
            "https://idp.example/t1"
        ));
        assert!(!same_issuer(
            "https://idp.example/t1",
            "https://idp.example/t2"
        ));
        assert!(!same_issuer(
            "https://IDP.example/t1",
            "https://idp.example/t1"
        ));
        assert!(!same_issuer(
            "https://idp.example/t1//",
            "https://idp.example/t1"
        ));
        assert!(!same_issuer("https://evil.example", "https://idp.example"));
    }
}
