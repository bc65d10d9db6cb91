//! Bearer tokens from an external OAuth 2.0 / OpenID Connect issuer (Okta, Entra ID, Keycloak…):
//! machine-to-machine callers using the client-credentials grant at their own identity provider.
//!
//! The issuer's signing keys come from its JWKS document, cached and refreshed when a token names
//! a key id (`kid`) not in the cache (key rotation at the issuer), at most once per
//! [`REFRESH_COOLDOWN`] so forged `kid`s cannot make Aloft hammer the issuer. `iss`, `aud`, `exp`
//! and `nbf` are checked; only asymmetric algorithms are accepted (an `HS256` token would let
//! anyone holding the public key forge one). The role comes from a claim (`roles` by default)
//! through a configurable mapping; OAuth scopes that name Aloft permissions narrow it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use tokio::sync::RwLock;

use aloft_authz::{Principal, Realm, Roles};

use crate::tokens::TokenError;

/// How long a fetched JWKS is trusted before it is fetched again.
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(600);
/// Minimum time between fetches triggered by unknown key ids.
pub const REFRESH_COOLDOWN: Duration = Duration::from_secs(30);

/// Configuration of one external issuer.
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    /// Expected `iss`, e.g. `https://login.microsoftonline.com/<tenant>/v2.0`.
    pub issuer: String,
    /// Expected `aud` (this API's identifier at the issuer).
    pub audience: String,
    /// Where the issuer publishes its keys.
    pub jwks_url: String,
    /// The claim holding role names (a string or an array of strings).
    pub role_claim: String,
    /// Issuer role name → Aloft role id. Aloft role ids are always accepted as themselves.
    pub role_map: Vec<(String, String)>,
    /// Minimum time between key fetches caused by unknown key ids ([`REFRESH_COOLDOWN`]).
    pub refresh_cooldown: Duration,
}

impl IssuerConfig {
    /// Parses a role map `"CRM.Agent=contact_centre_agent,CRM.Privacy=data_privacy_officer"`.
    pub fn parse_role_map(text: &str, roles: &Roles) -> Result<Vec<(String, String)>, String> {
        text.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (from, to) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("`{pair}` is not NAME=ROLE"))?;
                let role = roles
                    .get(to.trim())
                    .filter(|r| r.is_staff())
                    .ok_or_else(|| format!("`{}` is not an Aloft staff role", to.trim()))?;
                Ok((from.trim().to_owned(), role.id.to_owned()))
            })
            .collect()
    }

    fn role_for<'a>(&'a self, name: &'a str) -> &'a str {
        self.role_map
            .iter()
            .find(|(n, _)| n == name)
            .map_or(name, |(_, r)| r.as_str())
    }
}

/// Fetches a URL's body (the JWKS). Abstracted so that the transport (plain HTTP in tests, HTTPS
/// in production) is chosen by the caller.
pub trait Fetch: Send + Sync + 'static {
    /// GETs `url` and returns the body, or why not.
    fn get<'a>(&'a self, url: &'a str) -> FetchFuture<'a>;
    /// POSTs a URL-encoded form to `url` and returns the body (2xx only), or why not.
    fn post_form<'a>(&'a self, url: &'a str, form: String) -> FetchFuture<'a>;
}

/// The future of a [`Fetch`] call.
pub type FetchFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + 'a>>;

struct Cache {
    keys: JwkSet,
    fetched: Instant,
}

/// An external issuer whose tokens Aloft accepts.
#[derive(Clone)]
pub struct ExternalIssuer {
    config: Arc<IssuerConfig>,
    roles: Roles,
    fetch: Arc<dyn Fetch>,
    cache: Arc<RwLock<Option<Cache>>>,
    last_fetch: Arc<std::sync::Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for ExternalIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalIssuer")
            .field("issuer", &self.config.issuer)
            .finish()
    }
}

impl ExternalIssuer {
    /// An issuer fetching its keys with `fetch`, mapping to the roles of `roles`.
    pub fn new(config: IssuerConfig, fetch: Arc<dyn Fetch>, roles: Roles) -> Self {
        Self {
            roles,
            config: Arc::new(config),
            fetch,
            cache: Arc::new(RwLock::new(None)),
            last_fetch: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    /// The expected `iss`.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    async fn refresh(&self, forced: bool) -> Result<(), TokenError> {
        {
            let mut last = self.last_fetch.lock().unwrap_or_else(|p| p.into_inner());
            if forced && last.is_some_and(|t| t.elapsed() < self.config.refresh_cooldown) {
                return Ok(());
            }
            *last = Some(Instant::now());
        }
        let body = self.fetch.get(&self.config.jwks_url).await.map_err(|e| {
            TokenError::Unavailable(format!("the token issuer's keys cannot be fetched: {e}"))
        })?;
        let keys: JwkSet = serde_json::from_slice(&body).map_err(|e| {
            TokenError::Unavailable(format!("the token issuer's key set is malformed: {e}"))
        })?;
        *self.cache.write().await = Some(Cache {
            keys,
            fetched: Instant::now(),
        });
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<Option<DecodingKey>, TokenError> {
        let find = |cache: &Option<Cache>| {
            cache.as_ref().and_then(|c| {
                c.keys.find(kid).map(|jwk| {
                    (
                        DecodingKey::from_jwk(jwk),
                        c.fetched.elapsed() > JWKS_MAX_AGE,
                    )
                })
            })
        };
        let cached = find(&*self.cache.read().await);
        match cached {
            Some((Ok(key), false)) => return Ok(Some(key)),
            Some((Err(_), false)) => return Ok(None),
            Some((_, true)) => self.refresh(false).await?,
            None => {
                let empty = self.cache.read().await.is_none();
                self.refresh(!empty).await?;
            }
        }
        Ok(match find(&*self.cache.read().await) {
            Some((Ok(key), _)) => Some(key),
            _ => None,
        })
    }

    /// Checks a token from this issuer and returns who it speaks for.
    pub async fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let claims = self.verified_claims(token).await?;
        self.principal(&claims)
    }

    /// The single Aloft staff role (its id) the claims map to.
    pub fn role_of(&self, claims: &Value) -> Result<&'static str, TokenError> {
        let names: Vec<&str> = match &claims[&self.config.role_claim] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let mut roles: Vec<&'static str> = names
            .iter()
            .filter_map(|n| self.roles.get(self.config.role_for(n)))
            .filter(|r| r.is_staff())
            .map(|r| r.id)
            .collect();
        roles.sort();
        roles.dedup();
        match roles.as_slice() {
            [one] => Ok(*one),
            [] => Err(TokenError::UnknownRole(format!(
                "no role in claim `{}` maps to an Aloft role",
                self.config.role_claim
            ))),
            _ => Err(TokenError::UnknownRole(
                "the token maps to several roles; a token acts in exactly one".into(),
            )),
        }
    }

    /// Verifies signature, issuer, audience and lifetime, and returns the claims.
    pub async fn verified_claims(&self, token: &str) -> Result<Value, TokenError> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| TokenError::Invalid(format!("{:?}", e.kind())))?;
        if !matches!(
            header.alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA
        ) {
            return Err(TokenError::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let kid = header
            .kid
            .ok_or_else(|| TokenError::Invalid("the token names no key (kid)".into()))?;
        let key = self.key(&kid).await?.ok_or_else(|| {
            TokenError::Invalid("the token's key is not one of the issuer's keys".into())
        })?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation).map_err(|e| match e
            .kind()
        {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
            other => TokenError::Invalid(format!("{other:?}")),
        })?;
        Ok(data.claims)
    }

    fn principal(&self, claims: &Value) -> Result<Principal, TokenError> {
        let role = self.role_of(claims)?;
        let scope_text = claims["scope"]
            .as_str()
            .or_else(|| claims["scp"].as_str())
            .unwrap_or("");
        let scopes: Vec<String> = scope_text
            .split_whitespace()
            .filter_map(|s| self.roles.permission(s))
            .map(|p| p.as_str().to_owned())
            .collect();
        let subject = claims["sub"].as_str().unwrap_or("unknown");
        let name = claims["azp"]
            .as_str()
            .or_else(|| claims["client_id"].as_str())
            .unwrap_or(subject);
        // A scoped role's row-scope value comes from the `station` claim; without it, the
        // principal sees no rows.
        self.roles
            .principal(
                role,
                format!("token:{}:{subject}", self.config.issuer),
                name.to_owned(),
                Realm::Service,
                claims["station"].as_str(),
                (!scopes.is_empty()).then_some(scopes.as_slice()),
                true,
            )
            .ok_or_else(|| TokenError::UnknownRole(role.to_owned()))
    }
}

/// Fetches over HTTPS (web PKI roots compiled in, nothing read from the system) or plain HTTP
/// (loopback test issuers), with a timeout.
#[derive(Clone)]
pub struct HttpFetch {
    client: hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Full<bytes::Bytes>,
    >,
}

impl Default for HttpFetch {
    fn default() -> Self {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        Self {
            client: hyper_util::client::legacy::Client::builder(
                hyper_util::rt::TokioExecutor::new(),
            )
            .build(https),
        }
    }
}

impl HttpFetch {
    async fn send(
        &self,
        request: http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Result<Vec<u8>, String> {
        use http_body_util::BodyExt;
        let response = tokio::time::timeout(Duration::from_secs(5), self.client.request(request))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = tokio::time::timeout(Duration::from_secs(5), response.into_body().collect())
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("HTTP {status}"));
        }
        Ok(body.to_bytes().to_vec())
    }
}

impl Fetch for HttpFetch {
    fn get<'a>(&'a self, url: &'a str) -> FetchFuture<'a> {
        Box::pin(async move {
            let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
            let request = http::Request::get(uri)
                .header(http::header::ACCEPT, "application/json")
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .map_err(|e| e.to_string())?;
            self.send(request).await
        })
    }

    fn post_form<'a>(&'a self, url: &'a str, form: String) -> FetchFuture<'a> {
        Box::pin(async move {
            let uri: http::Uri = url.parse().map_err(|e| format!("bad URL: {e}"))?;
            let request = http::Request::post(uri)
                .header(http::header::ACCEPT, "application/json")
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(http_body_util::Full::new(bytes::Bytes::from(form)))
                .map_err(|e| e.to_string())?;
            self.send(request).await
        })
    }
}

/// The `iss` of a token, read **without** verifying it: only to choose which verifier to use.
pub fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: Value = serde_json::from_slice(&bytes).ok()?;
    claims["iss"].as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    use aloft_authz::{RoleDef, ScopeRule};

    #[test]
    fn role_maps_parse_and_reject_unknown_roles() {
        let staff = |id| RoleDef {
            id,
            label: id,
            description: "",
            realm: Realm::Staff,
            permissions: &[],
            scope: ScopeRule::Unlimited,
        };
        let roles = Roles::new(
            vec![staff("contact_centre_agent"), staff("data_privacy_officer")],
            vec![],
        );
        let map = IssuerConfig::parse_role_map(
            "CRM.Agent=contact_centre_agent, CRM.DPO=data_privacy_officer",
            &roles,
        )
        .unwrap();
        assert_eq!(
            map,
            vec![
                ("CRM.Agent".into(), "contact_centre_agent".into()),
                ("CRM.DPO".into(), "data_privacy_officer".into())
            ]
        );
        assert!(IssuerConfig::parse_role_map("X=pilot", &roles).is_err());
        assert!(IssuerConfig::parse_role_map("nonsense", &roles).is_err());
    }
}
