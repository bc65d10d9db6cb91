//! Automatic compensation processing (issue 20, item 4): a flight disruption finds every
//! passenger booked on the flight, judges each booking as one journey under the passenger-rights
//! regimes of `aloft-rights`, and stores one proposal per passenger × flight × regime.
//! Proposals up to a configurable amount are approved at once; the rest wait for a customer
//! affairs executive. Every approval emits one `aloft.compensation.payment_instructed` event for
//! Finance and queues one mail to the passenger, in the transaction that approves.
//!
//! - [`model`] — pure: the disruption event, the claim a booking makes, missed connections,
//!   automatic approval, allowed payment forms.
//! - [`service`] — the stores: processing, the queue, decisions.
//! - [`routes`] — `POST /api/v1/compensation/disruptions` and the proposals API.
//! - [`portal`] — the passenger's claims in the portal (`/my/claims`): their proposals, and a
//!   claim form for a flight of their booking that answers at once with the decision.
//! - [`pages`] — the approval queue, a proposal with reasons and sources, the disruption view,
//!   the "Compensation" tab of the customer 360° page.
//!
//! Invariants: one passenger × flight × regime is proposed and paid once, whatever is replayed
//! (unique key of `compensation_proposals`); a passenger whose final arrival is not known
//! (missed connection) is never judged ineligible but waits (`awaiting_facts`); events carry ids
//! and amounts, never names or addresses.

#![forbid(unsafe_code)]

pub mod demo;
pub mod events;
pub mod goodwill;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod policy;
pub mod portal;
pub mod routes;
pub mod service;

use aloft_authz::{PermissionInfo, RoutePolicy};
use utoipa_axum::router::OpenApiRouter;

pub use model::Settings;
pub use service::{Compensation, mail_templates};

/// Compensation processing as the application assembles it.
pub struct CompensationModule {
    service: Compensation,
}

impl CompensationModule {
    /// The module over `service`.
    pub fn new(service: Compensation) -> Self {
        Self { service }
    }
}

impl aloft_module::DomainModule for CompensationModule {
    fn name(&self) -> &'static str {
        "compensation-processing"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        [
            routes::POLICY,
            policy::POLICY,
            pages::POLICY,
            pages::GOODWILL_POLICY_PAGES,
            pages::SETTINGS_PAGES,
            portal::POLICY,
        ]
        .concat()
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.service.clone())
            .merge(pages::goodwill_routes(self.service.clone()))
            .merge(pages::settings_routes(self.service.clone()))
            .merge(portal::routes(self.service.clone()))
    }

    fn portal_entries(&self) -> Vec<aloft_web::PortalEntry> {
        portal::entries()
    }

    fn portal_panels(&self) -> Vec<aloft_web::HomePanel> {
        portal::panels(self.service.clone())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/compensation/proposals",
                label: "Compensation proposals",
                summary: "Proposals from flight disruptions: approve, reject, see why.",
                access: aloft_authz::Access::Permission(permissions::COMPENSATION_APPROVE),
                order: 41,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/compensation/goodwill",
                label: "Goodwill policy",
                summary: "What the airline gives beyond the law: edit, simulate, publish.",
                access: aloft_authz::Access::Permission(permissions::GOODWILL_POLICY),
                order: 42,
            },
        ]
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        pages::record_views(self.service.clone())
    }

    fn timeline_sources(&self) -> Vec<aloft_web::TimelineSource> {
        pages::timeline_sources(self.service.clone())
    }

    fn api_routes(&self) -> OpenApiRouter {
        routes::api_routes(self.service.clone()).merge(policy::api_routes(self.service.clone()))
    }

    fn demo_data(&self) -> Option<std::sync::Arc<dyn aloft_module::DemoData>> {
        Some(std::sync::Arc::new(demo::Demo(self.service.clone())))
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        events::event_types()
    }
}
