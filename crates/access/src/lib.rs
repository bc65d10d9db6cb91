//! Access: who may use Aloft and how they prove it.
//!
//! - [`model`]: the rules of signing in (lockout schedule, session lifetime, safe redirects); pure.
//! - [`storage`]: staff accounts and sessions (secrets encrypted or hashed), every sign-in event
//!   audited in the same transaction.
//! - [`tokens`]: Aloft's own bearer tokens (HS256) for operators and integration clients.
//! - [`issuers`]: bearer tokens from an external OAuth/OIDC issuer, checked against its JWKS.
//! - [`gate`]: the [`aloft_authz::Authenticator`] — session cookie or bearer token.
//! - [`limiter`]: per-address rate limiting of sign-in attempts.
//! - [`routes`]: the OAuth client-credentials token endpoint for integration clients.
//! - [`sso`]: workforce single sign-on with OpenID Connect (authorization code + PKCE).
//! - [`passengers`]: passenger self-service accounts (their own realm, their own profile only).
//! - [`pages`]: sign-in, second factor, MFA enrolment, sign-out, account, role review.
//! - [`demo`]: one demo account per role.
//! - [`grants`]: four-eyes grants of roles their requester does not hold.
//! - [`audit_pages`]: the audit trail in the workspace (filter, page, export as CSV, verify
//!   the chain).
//! - [`security`]: the sign-in anomalies view and the start-page panels of security
//!   operations, data privacy, administration and configuration.
//! - [`directory`]: names for the account and client ids the audit trail keeps.
//! - [`permissions`]: the permissions this domain checks.
//!
//! Roles are data (the composition root's catalogue); the route gate is `aloft_authz`.
//! [`AccessModule`] is the domain as the application assembles it.

pub mod audit_pages;
pub mod demo;
pub mod directory;
pub mod events;
pub mod gate;
pub mod grants;
pub mod issuers;
pub mod limiter;
pub mod model;
pub mod pages;
pub mod passengers;
pub mod permissions;
pub mod roster;
pub mod routes;
pub mod security;
pub mod sso;
pub mod storage;
pub mod tokens;

pub use aloft_kernel::keys::{self, InstanceKeys, KeyError, KeySource};
pub use gate::AccessAuthenticator;
pub use storage::AccountStore;
pub use tokens::TokenIssuer;

/// The access domain (sign-in, accounts, clients, tokens, passenger accounts, audit trail) as
/// the application assembles it.
pub struct AccessModule {
    /// Sign-in, account and access-review pages.
    pub sign_in: pages::SignInState,
    /// The client-credentials token endpoint.
    pub tokens: routes::TokenEndpoint,
    /// Passenger self-service accounts.
    pub passengers: passengers::PassengerAccounts,
    /// Workforce SSO, when configured.
    pub sso: Option<sso::Sso>,
    /// The database whose audit trail the audit pages show.
    pub db: aloft_kernel::Database,
    /// Every action the application records in the audit trail (the audit page's filter).
    pub audit_actions: Vec<aloft_kernel::audit::AuditAction>,
}

impl aloft_module::DomainModule for AccessModule {
    fn name(&self) -> &'static str {
        "access"
    }

    fn actor_names(&self) -> Option<aloft_web::ActorNames> {
        let db = self.db.clone();
        Some(std::sync::Arc::new(move |ids: Vec<String>| {
            let db = db.clone();
            Box::pin(async move {
                let ids: std::collections::BTreeSet<String> = ids.into_iter().collect();
                directory::names_of(&db, &ids)
                    .await
                    .map(|found| found.into_iter().map(|(id, n)| (id, n.name)).collect())
                    .unwrap_or_default()
            })
        }))
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        let mut all = [
            pages::POLICY,
            routes::POLICY,
            passengers::POLICY,
            audit_pages::POLICY,
            security::POLICY,
        ]
        .concat();
        if self.sso.is_some() {
            all.extend_from_slice(sso::POLICY);
        }
        all
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        routes::api_routes(self.tokens.clone()).merge(self.passengers.clone().api_routes())
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.sign_in.clone())
            .merge(audit_pages::routes(
                self.db.clone(),
                self.audit_actions.clone(),
                self.sign_in.roles().clone(),
            ))
            .merge(security::routes(self.db.clone()))
            .merge(self.sso.clone().map(sso::Sso::routes).unwrap_or_default())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        use aloft_authz::Access;
        vec![
            aloft_web::NavEntry {
                section: audit_pages::SECTION,
                href: "/audit",
                label: "Audit trail",
                summary: "Who read or changed which customer's data, when and from where; verify \
                          the tamper-evident chain.",
                access: Access::Permission(permissions::AUDIT_READ),
                order: 80,
            },
            aloft_web::NavEntry {
                section: security::SECTION,
                href: "/security",
                label: "Sign-in anomalies",
                summary: "Failed sign-ins, refusals and lockouts by account and address, with \
                          unusual activity flagged.",
                access: Access::Permission(permissions::SECURITY_MONITOR),
                order: 79,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/access/roles",
                label: "Access",
                summary: "Roles and what they may do, staff accounts, integration clients.",
                access: Access::Permission(permissions::ACCESS_REVIEW),
                order: 90,
            },
        ]
    }

    fn home_panels(&self) -> Vec<aloft_web::HomePanel> {
        security::home_panels(
            self.db.clone(),
            self.sign_in.roles().clone(),
            self.audit_actions.clone(),
        )
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "access",
            "Tokens for integration clients (OAuth 2.0 client credentials)",
        )]
    }
}
