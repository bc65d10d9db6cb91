//! Bearer tokens: Aloft's own (HS256, signed with a key derived from the instance's index key)
//! for operators (`aloft token issue`) and integration clients (`/api/v1/oauth/token`).
//!
//! A token names a role and optionally narrows it with scopes (permission ids). It is checked
//! for signature, issuer, audience, expiry and not-before; nothing about it is looked up in the
//! database, so bearer calls add no query to the read path. Tokens are short-lived; rotating
//! the index key would invalidate them all (it never rotates, see [`crate::keys`]).

use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use aloft_authz::{Permission, Principal, Realm, Roles};

use crate::keys::InstanceKeys;

/// `iss` of Aloft's own tokens.
pub const ISSUER: &str = "aloft";
/// `aud` every token for this API must carry.
pub const AUDIENCE: &str = "aloft-api";
/// Longest lifetime `aloft token issue` grants.
pub const MAX_TTL: Duration = Duration::days(30);

/// The claims of an Aloft bearer token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: operator name or client id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Not before.
    pub nbf: i64,
    /// Issued at.
    pub iat: i64,
    /// Token id.
    pub jti: String,
    /// The role, by its identifier.
    pub role: String,
    /// Space-separated permission ids narrowing the role (OAuth `scope`); absent = all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For passenger tokens: the customer they are (their row scope).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// The row-scope value of a scoped role (a check-in agent's station). A scoped role's
    /// token without one sees no rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rsv: Option<String>,
}

/// Why a token was refused. The message (the 401 body) says only which of three things went
/// wrong: the detail a variant carries — the JWT library's error kind, a role or scope name taken
/// from the token — helps an attacker probe the verifier and would echo their input, so it is
/// for the debug log only (see `Debug`), never for the client. Never includes the token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Expired.
    #[error("the token has expired")]
    Expired,
    /// Bad signature, wrong issuer/audience, not yet valid, malformed (the detail: why).
    #[error("the token is not valid")]
    Invalid(String),
    /// Names a role or scope Aloft does not know (the detail: which).
    #[error("the token names no role Aloft knows")]
    UnknownRole(String),
    /// The issuer's keys cannot be fetched right now (a dependency outage: 503, retry).
    #[error("{0}")]
    Unavailable(String),
}

/// Issues and checks Aloft's own tokens.
#[derive(Clone)]
pub struct TokenIssuer {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    roles: Roles,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenIssuer")
    }
}

impl TokenIssuer {
    /// An issuer signing with the instance's token key, for the roles of `roles`.
    pub fn new(keys: &InstanceKeys, roles: Roles) -> Self {
        let key = keys.token_signing_key();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(key.as_ref()),
            decoding: DecodingKey::from_secret(key.as_ref()),
            validation,
            roles,
        }
    }

    /// The role catalogue tokens are checked against.
    pub fn roles(&self) -> &Roles {
        &self.roles
    }

    /// A signed token for `subject` acting as `role` for `ttl`, optionally narrowed to `scopes`.
    pub fn issue(
        &self,
        role: &str,
        subject: &str,
        ttl: Duration,
        scopes: Option<&[Permission]>,
    ) -> String {
        self.issue_scoped(role, subject, ttl, scopes, None)
    }

    /// [`TokenIssuer::issue`] with the row-scope value of a scoped role (a check-in agent's
    /// station); without one, such a token sees no rows.
    pub fn issue_scoped(
        &self,
        role: &str,
        subject: &str,
        ttl: Duration,
        scopes: Option<&[Permission]>,
        row_scope: Option<&str>,
    ) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: subject.into(),
            aud: AUDIENCE.into(),
            exp: now + ttl.num_seconds(),
            nbf: now,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
            role: role.into(),
            scope: scopes.map(|s| s.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")),
            cid: None,
            rsv: row_scope.map(str::to_owned),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// A passenger's token: their own profile and nothing else, for `ttl`.
    pub fn issue_for_passenger(
        &self,
        account: &str,
        customer: uuid::Uuid,
        ttl: Duration,
    ) -> String {
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: format!("passenger:{account}"),
            aud: AUDIENCE.into(),
            exp: now + ttl.num_seconds(),
            nbf: now,
            iat: now,
            jti: uuid::Uuid::now_v7().to_string(),
            role: PASSENGER_ROLE.into(),
            scope: None,
            cid: Some(customer.to_string()),
            rsv: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// Checks a token and returns who it speaks for.
    pub fn verify(&self, token: &str) -> Result<Principal, TokenError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                other => TokenError::Invalid(format!("{other:?}")),
            })?;
        principal_from_claims(&self.roles, &data.claims)
    }
}

/// The role id of passengers (self-service): the composition root's catalogue must define it,
/// scoped to the passenger's own customer record.
pub const PASSENGER_ROLE: &str = "passenger";

/// The principal a set of verified claims speaks for.
pub fn principal_from_claims(roles: &Roles, claims: &Claims) -> Result<Principal, TokenError> {
    let def = roles
        .get(&claims.role)
        .ok_or_else(|| TokenError::UnknownRole(claims.role.clone()))?;
    let scopes: Option<Vec<String>> = match &claims.scope {
        None => None,
        Some(s) => Some(
            s.split_whitespace()
                .map(|p| {
                    roles
                        .permission(p)
                        .map(|p| p.as_str().to_owned())
                        .ok_or_else(|| TokenError::UnknownRole(p.to_owned()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    if def.id == PASSENGER_ROLE {
        // A passenger token is only ever about one customer; without one it grants nothing.
        let customer = claims
            .cid
            .as_deref()
            .and_then(|c| uuid::Uuid::parse_str(c).ok())
            .ok_or_else(|| {
                TokenError::UnknownRole("a passenger token must name its customer".into())
            })?;
        return roles
            .principal(
                def.id,
                claims.sub.clone(),
                "Passenger".into(),
                Realm::Passenger,
                Some(&customer.to_string()),
                scopes.as_deref(),
                true,
            )
            .ok_or_else(|| TokenError::UnknownRole(claims.role.clone()));
    }
    if !def.is_staff() {
        return Err(TokenError::UnknownRole(claims.role.clone()));
    }
    roles
        .principal(
            def.id,
            format!("token:{}", claims.sub),
            claims.sub.clone(),
            Realm::Service,
            claims.rsv.as_deref(),
            scopes.as_deref(),
            true,
        )
        .ok_or_else(|| TokenError::UnknownRole(claims.role.clone()))
}

/// Parses `1h`, `30m`, `7d`, `90s` (the CLI's `--ttl`).
pub fn parse_ttl(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (n, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: i64 = n.parse().ok()?;
    let d = match unit {
        "s" => Duration::seconds(n),
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return None,
    };
    (n > 0 && d <= MAX_TTL).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aloft_security::{IndexKey, MasterKey};

    use aloft_authz::{PermissionInfo, RoleDef, ScopeKind, ScopeRule};

    const READ: Permission = Permission::new("customer.read");
    const WRITE: Permission = Permission::new("customer.write");
    const STATION: ScopeKind = ScopeKind::new("station");

    fn roles() -> Roles {
        let staff = |id, permissions, scope| RoleDef {
            id,
            label: id,
            description: "",
            realm: Realm::Staff,
            permissions,
            scope,
        };
        Roles::new(
            vec![
                staff("agent", &[READ, WRITE], ScopeRule::Unlimited),
                staff("checkin", &[READ], ScopeRule::FromCredential(STATION)),
                staff("administrator", &[], ScopeRule::Unlimited),
            ],
            [READ, WRITE]
                .map(|permission| PermissionInfo {
                    permission,
                    description: "",
                })
                .to_vec(),
        )
    }

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(
            &InstanceKeys::new(MasterKey::generate(), IndexKey::generate()),
            roles(),
        )
    }

    #[test]
    fn a_scoped_role_sees_nothing_without_its_scope_value() {
        let i = issuer();
        let bare = i.verify(&i.issue("checkin", "kiosk", Duration::hours(1), None));
        assert_eq!(bare.unwrap().scope, aloft_authz::RowScope::Nothing);
        let dxb = i.issue_scoped("checkin", "kiosk", Duration::hours(1), None, Some("DXB"));
        assert_eq!(
            i.verify(&dxb).unwrap().scope,
            aloft_authz::RowScope::only(STATION, "DXB")
        );
    }

    #[test]
    fn a_token_round_trips_with_role_and_scopes() {
        let i = issuer();
        let t = i.issue("agent", "crm-sync", Duration::hours(1), Some(&[READ]));
        let p = i.verify(&t).unwrap();
        assert_eq!(p.role, "agent");
        assert!(p.can(READ));
        assert!(!p.can(WRITE), "scopes narrow the role");
        assert_eq!(p.subject, "token:crm-sync");
    }

    #[test]
    fn expired_forged_and_foreign_tokens_are_refused() {
        let i = issuer();
        let expired = i.issue("administrator", "x", Duration::seconds(-120), None);
        assert_eq!(i.verify(&expired).unwrap_err(), TokenError::Expired);
        let other = issuer().issue("administrator", "x", Duration::hours(1), None);
        assert!(
            matches!(i.verify(&other), Err(TokenError::Invalid(_))),
            "another instance's key"
        );
        let good = i.issue("administrator", "x", Duration::hours(1), None);
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged_claims = base64_url(
            r#"{"iss":"aloft","sub":"x","aud":"aloft-api","exp":9999999999,"nbf":0,"iat":0,"jti":"j","role":"data_privacy_officer"}"#,
        );
        parts[1] = &forged_claims;
        assert!(
            matches!(i.verify(&parts.join(".")), Err(TokenError::Invalid(_))),
            "edited claims"
        );
        assert!(i.verify("not-a-token").is_err());
    }

    #[test]
    fn wrong_audience_is_refused() {
        let keys = InstanceKeys::new(MasterKey::generate(), IndexKey::generate());
        let i = TokenIssuer::new(&keys, roles());
        let now = Utc::now().timestamp();
        let claims = Claims {
            iss: ISSUER.into(),
            sub: "x".into(),
            aud: "another-api".into(),
            exp: now + 600,
            nbf: now,
            iat: now,
            jti: "j".into(),
            role: "administrator".into(),
            scope: None,
            cid: None,
            rsv: None,
        };
        let t = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(keys.token_signing_key().as_ref()),
        )
        .unwrap();
        assert!(matches!(i.verify(&t), Err(TokenError::Invalid(_))));
    }

    fn base64_url(s: &str) -> String {
        use std::fmt::Write;
        // Minimal URL-safe base64 without padding, for the forged-claims test.
        const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = (chunk[0] as u32) << 16
                | (*chunk.get(1).unwrap_or(&0) as u32) << 8
                | *chunk.get(2).unwrap_or(&0) as u32;
            let chars = chunk.len() + 1;
            for i in 0..chars {
                let _ = out.write_char(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    #[test]
    fn ttl_parsing() {
        assert_eq!(parse_ttl("1h"), Some(Duration::hours(1)));
        assert_eq!(parse_ttl("15m"), Some(Duration::minutes(15)));
        assert_eq!(parse_ttl("31d"), None);
        assert_eq!(parse_ttl("0h"), None);
        assert_eq!(parse_ttl("h"), None);
    }
}
