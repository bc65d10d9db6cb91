//! The customer profile domain: who the passenger is, how to reach them, their loyalty standing,
//! travel documents and service preferences.
//!
//! - [`model`]: the profile and its value types; pure rules, no IO.
//! - [`disclosure`]: field-level masking by permission (travel documents).
//! - [`sealing`]: encryption of sensitive fields at rest (per-customer data keys) and blind indexes.
//! - [`survivorship`]: which value a merged golden profile keeps, field by field (pure rules).
//! - [`storage`]: persistence on either backend, with optimistic concurrency and outbox events.
//! - [`routes`]: the REST API (`/api/v1/customers`).
//! - [`pages`]: the server-rendered pages (`/customers`).
//! - [`demo`]: a deterministic synthetic passenger population.
//! - [`events`]: the typed, versioned CloudEvents this domain emits.
//! - [`permissions`]: the permissions this domain checks and the row scopes it understands.
//!
//! [`CustomersModule`] is the domain as the application assembles it.

pub mod demo;
pub mod disclosure;
pub mod duplicates;
pub mod events;
pub mod model;
pub mod pages;
pub mod panels;
pub mod permissions;
pub mod routes;
pub mod sealing;
pub mod storage;
pub mod survivorship;

pub use model::{CustomerId, Profile};
pub use storage::{Customer, CustomerError, CustomerQuery, CustomerStore, NewCustomers, Reader};

/// The customers domain as the application assembles it.
pub struct CustomersModule {
    store: CustomerStore,
}

impl CustomersModule {
    /// The module over `store` (which audits reads and knows the row scopes).
    pub fn new(store: CustomerStore) -> Self {
        Self { store }
    }
}

impl aloft_module::DomainModule for CustomersModule {
    fn name(&self) -> &'static str {
        "customers"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        events::event_types()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        [routes::POLICY, pages::POLICY].concat()
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        routes::api_routes(self.store.clone())
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.store.clone())
    }

    fn home_panels(&self) -> Vec<aloft_web::HomePanel> {
        panels::home_panels(self.store.clone())
    }

    fn search_sources(&self) -> Vec<aloft_web::SearchSource> {
        vec![panels::search_source(self.store.clone())]
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: pages::SECTION,
            href: "/customers",
            label: "Customers",
            summary: "Find a passenger by name, e-mail, phone, loyalty or passport number; view \
                      and edit the profile.",
            access: aloft_authz::Access::Permission(permissions::CUSTOMER_READ),
            order: 10,
        }]
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "customers",
                "Passenger profiles: identity, contact, loyalty, travel documents, preferences",
            ),
            (
                "passengers",
                "Passenger self-service: registration, sign-in, one's own profile",
            ),
        ]
    }
}
