//! Case management: a passenger's complaint, claim, request or praise, from opening to closure.
//!
//! - [`model`]: the rules, pure: categories, workflows as versioned data, priority with its
//!   reasons, SLA targets and clocks on business-hours calendars, routing and round-robin
//!   assignment.
//! - [`service`]: the store and its operations; every change, its CloudEvent, its audit entry
//!   and the passenger's notification commit in one transaction (migration 0027).
//! - [`routes`]: the API (`/api/v1/cases…`), with OpenAPI annotations.
//! - [`permissions`], [`events`]: what it checks, emits and audits.
//!
//! Invariants: an open case follows the workflow version it was opened under; at most one
//! open case per matter (customer, category, booking) — enforced by a partial unique index;
//! a refused request changes nothing; each SLA warning and breach is raised once.
#![forbid(unsafe_code)]

pub mod demo;
pub mod events;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod routes;
pub mod service;

use std::sync::Arc;
use std::time::Duration;

use aloft_authz::{PermissionInfo, RoutePolicy};
use aloft_kernel::StorageError;
use aloft_kernel::jobs::{JobError, JobHandler, Schedule, handler_fn};
use aloft_vocab::CustomerId;
use futures_util::future::BoxFuture;

pub use service::{Cases, CasesConfig, CustomerFacts, Facts};

/// Job kind of the SLA sweep (warnings, breaches, escalation, reassignment).
pub const SLA_SWEEP: &str = "cases.sla_sweep";

/// Special service requests that mean the passenger needs assistance.
const ASSISTANCE_SSRS: &[&str] = &[
    "WCHR", "WCHS", "WCHC", "BLND", "DEAF", "DPNA", "MAAS", "MEDA", "STCR", "PRM",
];

/// Customer facts read from the customers domain's profiles.
#[derive(Clone)]
pub struct ProfileFacts(pub aloft_customers::CustomerStore);

impl CustomerFacts for ProfileFacts {
    fn facts<'a>(
        &'a self,
        customer: CustomerId,
    ) -> BoxFuture<'a, Result<Option<Facts>, StorageError>> {
        Box::pin(async move {
            let Some(c) = self.0.get(customer).await? else {
                return Ok(None);
            };
            let v = serde_json::to_value(&c).unwrap_or_default();
            let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_owned);
            let ssrs = v
                .pointer("/preferences/special_service_requests")
                .and_then(|x| x.as_array())
                .cloned()
                .unwrap_or_default();
            Ok(Some(Facts {
                tier: s("/loyalty_tier").map(|t| t.to_ascii_lowercase()),
                special_assistance: ssrs
                    .iter()
                    .filter_map(|x| x.as_str())
                    .any(|x| ASSISTANCE_SSRS.contains(&x)),
                language: s("/preferences/language"),
                email: s("/email"),
            }))
        })
    }
}

/// Case management as the application assembles it.
pub struct CasesModule {
    cases: Cases,
}

impl CasesModule {
    /// The module over `cases`.
    pub fn new(cases: Cases) -> Self {
        Self { cases }
    }
}

impl aloft_module::DomainModule for CasesModule {
    fn name(&self) -> &'static str {
        "cases"
    }

    fn permissions(&self) -> Vec<PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<RoutePolicy> {
        [routes::POLICY, pages::POLICY].concat()
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.cases.clone())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: pages::SECTION,
            href: "/cases",
            label: "Cases",
            summary: "Open cases: yours, your team's queue, and those at risk of SLA breach.",
            access: aloft_authz::Access::Permission(permissions::CASE_WORK),
            order: 20,
        }]
    }

    fn home_panels(&self) -> Vec<aloft_web::HomePanel> {
        pages::home_panels(self.cases.clone())
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        pages::record_views(self.cases.clone())
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        routes::api_routes(self.cases.clone())
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        events::event_types()
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        let cases = self.cases.clone();
        vec![(
            SLA_SWEEP,
            handler_fn(move |_job| {
                let cases = cases.clone();
                async move {
                    cases
                        .sweep(aloft_kernel::db::now())
                        .await
                        .map(|_| ())
                        .map_err(|e| JobError::Retry(e.to_string()))
                }
            }),
        )]
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![Schedule::every(SLA_SWEEP, Duration::from_secs(60))]
    }

    fn demo_data(&self) -> Option<Arc<dyn aloft_module::DemoData>> {
        Some(Arc::new(demo::Demo(self.cases.clone())))
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "cases",
            "Case management: open, follow, answer and resolve passengers' cases under SLA",
        )]
    }
}
