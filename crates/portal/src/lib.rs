//! The passenger portal under `/my`: passenger self-service on the web — sign-up with proof of
//! the e-mail address, sign-in with an optional second factor, profile and preferences, trips
//! and the timeline of one's own travel. Other modules add their own `/my/...` pages (cases,
//! claims, consent) as portal tabs and overview panels through the module contract
//! (`DomainModule::portal_entries`, `portal_panels`), rendered in `aloft_web::portal`'s frame.
//!
//! - [`shell`]: the portal's own page frame (the workspace's stylesheet and component kit, but
//!   no staff navigation, search or links), form tokens for the forms shown before sign-in,
//!   and the safe `next=` rule.
//! - [`auth`]: `/my/sign-up`, `/my/verify`, `/my/sign-in` (and its second-factor step),
//!   `/my/sign-out`, over `aloft_access::passengers` (one limiter, back-off and audit with the
//!   passenger API).
//! - [`pages`]: `/my`, `/my/profile`, `/my/trips`, `/my/security`.
//!
//! **Realm separation** is the gate's: every signed-in page needs the passenger permission
//! `self.profile`, which no staff role holds, and the passenger role holds nothing else, so a
//! passenger reaches no staff page or API and a staff session no portal page. Passenger sessions
//! live in their own table and cookie, sent only to `/my` and honoured only there
//! (`aloft_access::gate`). A page never takes a customer id from the request: the one customer
//! it shows is the row scope of the session, and the customers store applies it again.

pub mod auth;
pub mod pages;
pub mod shell;

use std::sync::Arc;

use aloft_access::passengers::PassengerAccounts;
use aloft_authz::{Access, RoutePolicy};
use aloft_customers::CustomerStore;
use aloft_customers::permissions::OWN_PROFILE;
use aloft_kernel::audit::Auditor;
use aloft_travel::TravelStore;
use aloft_web::PortalEntry;
use axum::Router;
use axum::routing::{get, post};

/// Everything the portal's handlers need.
#[derive(Clone)]
pub struct Portal {
    pub(crate) passengers: PassengerAccounts,
    pub(crate) customers: CustomerStore,
    pub(crate) travel: TravelStore,
    pub(crate) auditor: Option<Auditor>,
    pub(crate) tls: bool,
}

/// The passenger portal as the application assembles it.
pub struct PortalModule(Arc<Portal>);

impl PortalModule {
    /// Over passenger accounts (with the account-secret key for second factors), the customers
    /// store (reads audited through its auditor, and `auditor` for the timeline), travel
    /// records; `tls` makes cookies `Secure`.
    pub fn new(
        passengers: PassengerAccounts,
        customers: CustomerStore,
        travel: TravelStore,
        auditor: Option<Auditor>,
        tls: bool,
    ) -> Self {
        Self(Arc::new(Portal {
            passengers,
            customers,
            travel,
            auditor,
            tls,
        }))
    }
}

const OWN: Access = Access::Permission(OWN_PROFILE);

/// Who may open the portal's routes: the sign-in steps are public (their forms carry their own
/// token); every other page needs a signed-in passenger.
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/my/sign-up", Access::Public),
    RoutePolicy::new("POST", "/my/sign-up", Access::Public),
    RoutePolicy::new("GET", "/my/verify", Access::Public),
    RoutePolicy::new("POST", "/my/verify", Access::Public),
    RoutePolicy::new("POST", "/my/verify/resend", Access::Public),
    RoutePolicy::new("GET", "/my/sign-in", Access::Public),
    RoutePolicy::new("POST", "/my/sign-in", Access::Public),
    RoutePolicy::new("GET", "/my/sign-in/code", Access::Public),
    RoutePolicy::new("POST", "/my/sign-in/code", Access::Public),
    RoutePolicy::new("POST", "/my/sign-out", OWN),
    RoutePolicy::new("GET", "/my", OWN),
    RoutePolicy::new("GET", "/my/profile", OWN),
    RoutePolicy::new("POST", "/my/profile", OWN),
    RoutePolicy::new("GET", "/my/trips", OWN),
    RoutePolicy::new("GET", "/my/security", OWN),
    RoutePolicy::new("POST", "/my/security/enable", OWN),
    RoutePolicy::new("POST", "/my/security/disable", OWN),
];

/// The portal's pages.
pub fn routes(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/my/sign-up", get(auth::sign_up_form).post(auth::sign_up))
        .route("/my/verify", get(auth::verify_form).post(auth::verify))
        .route("/my/verify/resend", post(auth::resend))
        .route("/my/sign-in", get(auth::sign_in_form).post(auth::sign_in))
        .route("/my/sign-in/code", get(auth::code_form).post(auth::code))
        .route("/my/sign-out", post(auth::sign_out))
        .route("/my", get(pages::home))
        .route("/my/profile", get(pages::profile).post(pages::save_profile))
        .route("/my/trips", get(pages::trips))
        .route("/my/security", get(pages::security))
        .route("/my/security/enable", post(pages::enable_second_factor))
        .route("/my/security/disable", post(pages::disable_second_factor))
        .with_state(portal)
}

impl aloft_module::DomainModule for PortalModule {
    fn name(&self) -> &'static str {
        "portal"
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        POLICY.to_vec()
    }

    fn page_routes(&self) -> Router {
        routes(self.0.clone())
    }

    fn portal_entries(&self) -> Vec<PortalEntry> {
        vec![
            PortalEntry {
                label: "Overview",
                href: "/my",
                order: 0,
            },
            PortalEntry {
                label: "Trips",
                href: "/my/trips",
                order: 10,
            },
            PortalEntry {
                label: "Profile",
                href: "/my/profile",
                order: 80,
            },
            PortalEntry {
                label: "Security",
                href: "/my/security",
                order: 90,
            },
        ]
    }
}
