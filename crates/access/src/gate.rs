//! How a request proves who it is: a bearer token (machines, operators), the staff session
//! cookie, or — on the passenger portal's paths only — a passenger session cookie. Implements
//! the platform's [`Authenticator`]; the platform's route gate then enforces the route's policy.

use std::sync::Arc;

use aloft_authz::{AuthFuture, Authentication, Authenticator, Principal, Realm, Roles};
use aloft_kernel::db::now;
use http::header;

use crate::issuers::{ExternalIssuer, unverified_issuer};
use crate::model::{Stage, TOUCH_INTERVAL, session_alive};
use crate::passengers::{
    PassengerStage, is_portal_path, passenger_cookie_name, passenger_session,
    touch_passenger_session,
};
use crate::storage::{AccountStore, Session};
use crate::tokens::{TokenError, TokenIssuer};

/// Cookie name over plain HTTP (development).
pub const SESSION_COOKIE: &str = "aloft_session";
/// Cookie name over HTTPS: the `__Host-` prefix makes browsers insist on Secure, path `/` and no
/// Domain, so a sibling subdomain cannot plant or read it.
pub const SESSION_COOKIE_TLS: &str = "__Host-aloft_session";

/// Aloft's authenticator.
#[derive(Clone)]
pub struct AccessAuthenticator {
    accounts: AccountStore,
    tokens: TokenIssuer,
    external: Vec<ExternalIssuer>,
    tls: bool,
}

impl AccessAuthenticator {
    /// Over these accounts and token keys, also accepting tokens of the `external` issuers;
    /// `tls` picks the cookie name.
    pub fn new(
        accounts: AccountStore,
        tokens: TokenIssuer,
        external: Vec<ExternalIssuer>,
        tls: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            accounts,
            tokens,
            external,
            tls,
        })
    }

    /// A bearer token: Aloft's own, or one of a configured external issuer's (chosen by its
    /// unverified `iss`, then fully verified by that issuer's rules).
    async fn bearer(&self, token: &str) -> Result<Authentication, aloft_kernel::ApiError> {
        let issuer = unverified_issuer(token);
        let result = match self
            .external
            .iter()
            .find(|e| issuer.as_deref() == Some(e.issuer()))
        {
            Some(external) => external.verify(token).await,
            None => self.tokens.verify(token),
        };
        match result {
            Ok(p) => Ok(Authentication::Principal(p)),
            Err(TokenError::Unavailable(why)) => Err(aloft_kernel::ApiError::Unavailable(why)),
            Err(e) => {
                // The client hears only the kind of refusal; the detail is for operators.
                tracing::debug!(detail = ?e, "bearer token refused");
                Ok(Authentication::Invalid(e.to_string()))
            }
        }
    }

    fn cookie_name(&self) -> &'static str {
        if self.tls {
            SESSION_COOKIE_TLS
        } else {
            SESSION_COOKIE
        }
    }

    async fn session_principal(
        &self,
        value: &str,
    ) -> Result<Authentication, aloft_kernel::ApiError> {
        let Some(session) = self.accounts.session(value).await? else {
            return Ok(Authentication::Anonymous);
        };
        let t = now();
        if !session_alive(
            session.stage,
            session.created_at,
            session.last_seen_at,
            session.expires_at,
            t,
        ) || session.account.disabled
        {
            return Ok(Authentication::Anonymous);
        }
        if session.stage == Stage::Full && t - session.last_seen_at > TOUCH_INTERVAL {
            self.accounts.touch(&session.id_hash).await?;
        }
        // An account whose role the catalogue no longer has signs in as nobody.
        Ok(match principal_of(self.tokens.roles(), &session) {
            Some(p) => Authentication::Principal(p),
            None => Authentication::Anonymous,
        })
    }
}

impl AccessAuthenticator {
    /// The passenger realm: a signed-in passenger session speaks for the passenger role, row
    /// scope their own customer record. Half-finished sessions (sign-up, second factor due)
    /// speak for nobody; the portal's sign-in steps read them themselves.
    async fn passenger_principal(
        &self,
        value: &str,
    ) -> Result<Option<Principal>, aloft_kernel::ApiError> {
        let db = self.accounts.database();
        let Some(session) = passenger_session(db, value).await? else {
            return Ok(None);
        };
        if session.stage != PassengerStage::Full {
            return Ok(None);
        }
        if session.due_for_touch(now()) {
            touch_passenger_session(db, &session.id_hash).await?;
        }
        let mut p = match self.tokens.roles().principal(
            crate::tokens::PASSENGER_ROLE,
            format!("passenger:{}", session.account_id),
            "Passenger".into(),
            Realm::Passenger,
            Some(&session.customer_id),
            None,
            true,
        ) {
            Some(p) => p,
            None => return Ok(None),
        };
        p.csrf_token = Some(session.csrf_token);
        p.session = Some(session.id_hash);
        Ok(Some(p))
    }
}

/// The principal a session speaks for (`None` if the account's role is not a staff role of
/// the catalogue).
pub fn principal_of(roles: &Roles, session: &Session) -> Option<Principal> {
    let a = &session.account;
    if !roles.get(&a.role).is_some_and(|r| r.is_staff()) {
        return None;
    }
    let mut p = roles.principal(
        &a.role,
        a.id.to_string(),
        a.display_name.clone(),
        Realm::Staff,
        a.station.as_deref(),
        None,
        session.stage == Stage::Full,
    )?;
    p.csrf_token = Some(session.csrf_token.clone());
    p.session = Some(session.id_hash.clone());
    Some(p)
}

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl Authenticator for AccessAuthenticator {
    fn authenticate<'a>(&'a self, parts: &'a http::request::Parts) -> AuthFuture<'a> {
        Box::pin(async move {
            if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
                let token = auth.to_str().ok().and_then(|v| {
                    v.strip_prefix("Bearer ")
                        .or_else(|| v.strip_prefix("bearer "))
                });
                return match token {
                    None => Ok(Authentication::Invalid(
                        "the Authorization header must be `Bearer <token>`".into(),
                    )),
                    Some(t) => self.bearer(t.trim()).await,
                };
            }
            // Passenger sessions count only on the portal's paths (their cookie is sent nowhere
            // else either); there they come first, so a staff cookie in the same browser never
            // stands in for a passenger. Elsewhere, staff sessions exactly as before.
            if is_portal_path(parts.uri.path())
                && let Some(value) = cookie(parts, passenger_cookie_name(self.tls))
                && let Some(p) = self.passenger_principal(value).await?
            {
                return Ok(Authentication::Principal(p));
            }
            match cookie(parts, self.cookie_name()) {
                Some(value) => self.session_principal(value).await,
                None => Ok(Authentication::Anonymous),
            }
        })
    }
}
