//! Access: who may use Aloft and how they prove it.
//!
//! - [`model`]: the rules of signing in (lockout schedule, session lifetime, safe redirects); pure.
//! - [`storage`]: staff accounts and sessions (secrets encrypted or hashed), every sign-in event
//!   audited in the same transaction.
//! - [`tokens`]: Aloft's own bearer tokens (HS256) for operators and integration clients.
//! - [`issuers`]: bearer tokens from an external OAuth/OIDC issuer, checked against its JWKS.
//! - [`gate`]: the [`aloft_platform::access::Authenticator`] — session cookie or bearer token.
//! - [`limiter`]: per-address rate limiting of sign-in attempts.
//! - [`routes`]: the OAuth client-credentials token endpoint for integration clients.
//! - [`sso`]: workforce single sign-on with OpenID Connect (authorization code + PKCE).
//! - [`passengers`]: passenger self-service accounts (their own realm, their own profile only).
//! - [`pages`]: sign-in, second factor, MFA enrolment, sign-out, account, role review.
//! - [`demo`]: one demo account per role.
//!
//! Roles, permissions and the route policy gate live in [`aloft_platform::access`], because
//! every domain declares its routes' policies there.

pub mod demo;
pub mod gate;
pub mod issuers;
pub mod limiter;
pub mod model;
pub mod pages;
pub mod passengers;
pub mod roster;
pub mod routes;
pub mod sso;
pub mod storage;
pub mod tokens;

pub use aloft_platform::keys::{self, InstanceKeys, KeyError, KeySource};
pub use gate::AccessAuthenticator;
pub use storage::AccountStore;
pub use tokens::TokenIssuer;
