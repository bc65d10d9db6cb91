//! Who may do what, with no knowledge of the product: permissions are declared by the domains
//! that check them, roles are data handed in by the composition root, and the route gate
//! enforces each route's declared policy.
//!
//! Aloft is **deny by default**. Every route declares its [`Access`] in a [`RoutePolicy`] table
//! next to the routes; [`authorize`] refuses anything undeclared, and a test walks every route of
//! the real router against every role. Row scopes fail closed: a role that needs a scope and
//! has none sees nothing.
//!
//! How a request proves who it is (session cookie, bearer token) is not decided here: the
//! access domain implements [`Authenticator`]. This crate only knows the outcome, a
//! [`Principal`], and enforces policy, CSRF and the audit of denials.

pub mod gate;
pub mod principal;

pub use gate::{
    Access, AuthFuture, Authentication, Authenticator, CSRF_FIELD, Gate, RefusalPage, RoutePolicy,
    access_context, authorize, current_principal,
};
pub use principal::{
    Permission, PermissionInfo, Principal, Realm, RoleDef, Roles, RowScope, ScopeGrant, ScopeKind,
    ScopeRule,
};
