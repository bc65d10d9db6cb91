//! Case management: a passenger's complaint, claim, request or praise, from opening to closure.
//!
//! - [`model`]: the rules, pure: categories, workflows as versioned data, priority with its
//!   reasons, SLA targets and clocks on business-hours calendars, routing and round-robin
//!   assignment.
//! - [`service`]: the store and its operations; every change, its CloudEvent, its audit entry
//!   and the passenger's notification commit in one transaction (migration 0027).
//! - [`routes`]: the API (`/api/v1/cases…`), with OpenAPI annotations.
//! - [`dashboard`]: the supervisors' backlog, SLA risk and attainment (GROUP BY queries).
//! - [`permissions`], [`events`]: what it checks, emits and audits.
//!
//! Invariants: an open case follows the workflow version it was opened under; at most one
//! open case per matter (customer, category, booking) — enforced by a partial unique index;
//! a refused request changes nothing; each SLA warning and breach is raised once.
#![forbid(unsafe_code)]

pub mod calendar;
pub mod dashboard;
pub mod demo;
pub mod disruptions;
pub mod events;
pub mod extras;
pub mod inbound;
pub mod model;
pub mod my_pages;
pub mod notices;
pub mod pages;
pub mod permissions;
pub mod routes;
pub mod rules;
pub mod rules_pages;
pub mod selfservice;
pub mod service;
pub mod settings;
pub mod workflow_pages;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aloft_authz::{PermissionInfo, RoutePolicy};
use aloft_kernel::StorageError;
use aloft_kernel::jobs::{JobError, JobHandler, Schedule, handler_fn};
use aloft_vocab::CustomerId;
use futures_util::future::BoxFuture;

pub use service::{Cases, CasesConfig, CustomerFacts, Facts, FlightManifest, ManifestEntry};

/// Job kind of the SLA sweep (warnings, breaches, escalation, reassignment).
pub const SLA_SWEEP: &str = "cases.sla_sweep";

/// Special service requests that mean the passenger needs assistance.
const ASSISTANCE_SSRS: &[&str] = &[
    "WCHR", "WCHS", "WCHC", "BLND", "DEAF", "DPNA", "MAAS", "MEDA", "STCR", "PRM",
];

/// Customer facts read from the customers domain's profiles.
#[derive(Clone)]
pub struct ProfileFacts(pub aloft_customers::CustomerStore);

/// A profile's facts as cases use them.
fn facts_of(c: &aloft_customers::Customer) -> Facts {
    let v = serde_json::to_value(c).unwrap_or_default();
    let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).map(str::to_owned);
    let ssrs = v
        .pointer("/preferences/special_service_requests")
        .and_then(|x| x.as_array())
        .cloned()
        .unwrap_or_default();
    Facts {
        tier: s("/loyalty_tier").map(|t| t.to_ascii_lowercase()),
        special_assistance: ssrs
            .iter()
            .filter_map(|x| x.as_str())
            .any(|x| ASSISTANCE_SSRS.contains(&x)),
        language: s("/preferences/language"),
        email: s("/email"),
    }
}

impl CustomerFacts for ProfileFacts {
    fn facts<'a>(
        &'a self,
        customer: CustomerId,
    ) -> BoxFuture<'a, Result<Option<Facts>, StorageError>> {
        Box::pin(async move { Ok(self.0.get(customer).await?.map(|c| facts_of(&c))) })
    }

    fn by_email<'a>(
        &'a self,
        email: &'a str,
    ) -> BoxFuture<'a, Result<Vec<CustomerId>, StorageError>> {
        Box::pin(async move {
            let Ok(address) = aloft_customers::model::EmailAddress::parse(email) else {
                return Ok(Vec::new());
            };
            let page = self
                .0
                .search(
                    &aloft_customers::CustomerQuery {
                        email: Some(address.key()),
                        limit: 2,
                        ..aloft_customers::CustomerQuery::default()
                    },
                    aloft_customers::Reader::System,
                )
                .await?;
            Ok(page.items.iter().map(|c| c.id).collect())
        })
    }

    fn facts_many<'a>(
        &'a self,
        customers: &'a [CustomerId],
    ) -> BoxFuture<'a, Result<HashMap<CustomerId, Facts>, StorageError>> {
        Box::pin(async move {
            Ok(self
                .0
                .get_all(customers)
                .await?
                .iter()
                .map(|c| (c.id, facts_of(c)))
                .collect())
        })
    }
}

/// Flight manifests read from travel's bookings (irregular operations).
#[derive(Clone)]
pub struct TravelManifest(pub aloft_travel::TravelStore);

impl FlightManifest for TravelManifest {
    fn passengers<'a>(
        &'a self,
        flight_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<ManifestEntry>, StorageError>> {
        Box::pin(async move {
            Ok(self
                .0
                .flight_manifest(flight_key, None)
                .await?
                .into_iter()
                .map(|p| ManifestEntry {
                    customer: p.customer_id,
                    record_locator: p
                        .booking
                        .get("record_locator")
                        .and_then(|r| r.as_str())
                        .map(str::to_owned),
                    booking: p.booking,
                })
                .collect())
        })
    }

    fn station_of<'a>(
        &'a self,
        customer: CustomerId,
        locator: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        Box::pin(async move {
            let now = aloft_kernel::db::now();
            let year = chrono::Duration::days(366);
            let mut flights = self
                .0
                .customer_flights(customer, now - year, now + year)
                .await?;
            flights.retain(|f| {
                f.booking.get("record_locator").and_then(|r| r.as_str()) == Some(locator)
            });
            Ok(flights
                .into_iter()
                .min_by_key(|f| f.departure)
                .map(|f| f.station))
        })
    }

    fn bookings_of<'a>(
        &'a self,
        customer: CustomerId,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, StorageError>> {
        Box::pin(async move {
            let now = aloft_kernel::db::now();
            let year = chrono::Duration::days(366);
            let mut out: Vec<(String, String)> = Vec::new();
            for f in self
                .0
                .customer_flights(customer, now - year, now + year)
                .await?
            {
                let Some(locator) = f.booking.get("record_locator").and_then(|r| r.as_str()) else {
                    continue;
                };
                match out.iter_mut().find(|(l, _)| l == locator) {
                    Some((_, label)) => {
                        label.push_str(", ");
                        label.push_str(&f.flight);
                    }
                    None => out.push((locator.to_owned(), format!("{locator} — {}", f.flight))),
                }
            }
            Ok(out)
        })
    }
}

/// Case management as the application assembles it.
pub struct CasesModule {
    cases: Cases,
    rules: rules::EventRules,
    notices: notices::Notices,
}

impl CasesModule {
    /// The module over `cases`.
    pub fn new(cases: Cases) -> Self {
        let rules = rules::EventRules::new(cases.db().clone());
        let notices = notices::Notices::new(cases.clone());
        Self {
            cases,
            rules,
            notices,
        }
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
        [
            routes::POLICY,
            pages::POLICY,
            my_pages::POLICY,
            dashboard::POLICY,
            rules::POLICY,
            notices::POLICY,
            rules_pages::POLICY,
            workflow_pages::POLICY,
        ]
        .concat()
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.cases.clone())
            .merge(my_pages::routes(self.cases.clone()))
            .merge(dashboard::routes(self.cases.clone()))
            .merge(workflow_pages::routes(self.cases.clone()))
            .merge(notices::routes(self.notices.clone()))
            .merge(rules_pages::routes(self.rules.clone()))
    }

    fn portal_entries(&self) -> Vec<aloft_web::PortalEntry> {
        my_pages::entries()
    }

    fn portal_panels(&self) -> Vec<aloft_web::HomePanel> {
        my_pages::panels(self.cases.clone())
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/cases",
                label: "Cases",
                summary: "Open cases: yours, your team's queue, and those at risk of SLA breach.",
                access: aloft_authz::Access::Permission(permissions::CASE_WORK),
                order: 20,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/cases/notices",
                label: "Notices",
                summary: "Cases given or escalated to you, passengers' replies, SLA targets near or missed.",
                access: aloft_authz::Access::Permission(permissions::CASE_WORK),
                order: 20,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: rules_pages::PATH,
                label: "Case event rules",
                summary: "Rules that open cases from other systems' events (a mishandled bag).",
                access: aloft_authz::Access::Permission(permissions::CASE_CONFIGURE),
                order: 21,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/cases/macros",
                label: "Case macros",
                summary: "Canned replies agents insert into their answers.",
                access: aloft_authz::Access::Permission(permissions::CASE_CONFIGURE),
                order: 21,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/cases/workflow",
                label: "Case workflow",
                summary: "States, transitions, categories and stations' business hours.",
                access: aloft_authz::Access::Permission(permissions::CASE_WORKFLOW_MANAGE),
                order: 23,
            },
            aloft_web::NavEntry {
                section: pages::SECTION,
                href: "/cases/dashboard",
                label: "Case dashboard",
                summary: "Supervisors: backlog by queue, SLA at risk and breached, attainment.",
                access: aloft_authz::Access::Permission(permissions::CASE_SUPERVISE),
                order: 22,
            },
        ]
    }

    fn home_panels(&self) -> Vec<aloft_web::HomePanel> {
        let mut panels = pages::home_panels(self.cases.clone());
        panels.extend(notices::home_panels(self.notices.clone()));
        panels
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        pages::record_views(self.cases.clone())
    }

    fn timeline_sources(&self) -> Vec<aloft_web::TimelineSource> {
        pages::timeline_sources(self.cases.clone())
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        routes::api_routes(self.cases.clone())
            .merge(rules::api_routes(self.rules.clone()))
            .merge(notices::api_routes(self.notices.clone()))
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        let mut all = events::event_types();
        all.extend(rules::event_types());
        all
    }

    fn subscriptions(&self) -> Vec<aloft_kernel::subscriptions::Subscription> {
        vec![
            rules::subscription(self.cases.clone(), self.rules.clone()),
            notices::subscription(self.notices.clone()),
        ]
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        let cases = self.cases.clone();
        let disruptions = self.cases.clone();
        let notices = self.notices.clone();
        vec![
            (
                notices::PRUNE_JOB,
                handler_fn(move |_job| {
                    let notices = notices.clone();
                    async move {
                        notices
                            .prune(aloft_kernel::db::now())
                            .await
                            .map(|_| ())
                            .map_err(|e| JobError::Retry(e.to_string()))
                    }
                }),
            ),
            (
                disruptions::DISRUPTION_JOB,
                handler_fn(move |job| {
                    let cases = disruptions.clone();
                    async move {
                        let id = job
                            .payload
                            .get("disruption")
                            .and_then(|d| d.as_str())
                            .ok_or_else(|| JobError::Fail("no disruption in payload".into()))?
                            .to_owned();
                        cases
                            .process_disruption(&id)
                            .await
                            .map(|_| ())
                            .map_err(|e| JobError::Retry(e.to_string()))
                    }
                }),
            ),
            (
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
            ),
        ]
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![
            Schedule::every(SLA_SWEEP, Duration::from_secs(60)),
            Schedule::every(notices::PRUNE_JOB, Duration::from_secs(24 * 3600)),
        ]
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
