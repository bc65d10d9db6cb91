//! Privacy: the consent and preference centre, and the consent check other modules call where
//! personal data is used.
//!
//! - [`model`]: the purpose register (purposes × channels, lawful bases, versioned notices,
//!   data categories, recipients) and the validation of a consent change; pure.
//! - [`store`]: the append-only consent history (migration 0029), the current state derived
//!   from it in the same transaction, and the consent check ([`ConsentStore::consented`],
//!   [`consent_exists_sql`]).
//! - [`coverage`]: every table holding data about a customer, with category, source and what
//!   erasure does; the subject access export (JSON, CSV) reads exactly these.
//! - [`erasure`]: crypto-shredding and erasure over the same list, in one transaction.
//! - [`requests`]: data-subject requests — kinds, states, the one-month deadline and its
//!   extension, due-soon/overdue; pure. [`service`]: their storage (migration 0033) and
//!   fulfilment (export, erasure, restriction of processing, objection, rectification record).
//! - [`retention`]: retention policies per data category, the daily run (exactly once across
//!   instances), its dry-run report and the record of past runs; restricted persons and legal
//!   holds are held. [`holds`]: legal holds on a person or a data category (migration 0038);
//!   a held person is not erased (409).
//! - [`records`]: the records of processing (Art. 30), generated from the purpose register, the
//!   retention policies and the coverage list, so they cannot drift; JSON and CSV.
//! - [`sharing`]: anonymised insight sharing with partners — k-anonymous, l-diverse
//!   segment-level insights of consenting people (migration 0039), every share audited.
//! - [`dp`]: differentially private counts for partners (Laplace mechanism) with a privacy
//!   budget per partner, tracked and enforced.
//! - [`consent_events`]: consent events from source systems (CloudEvents, once per event, the
//!   state following the change given last).
//! - [`routes`]: the consent and request API; [`pages`]: the Consent tab of the customer 360°
//!   page and the DPO console (`/privacy`); [`my_pages`]: the passenger's `/my/consent`. [`events`], [`permissions`]: what it emits, audits, checks.
//!
//! Invariants: a consent record is never updated or deleted (withdrawal is a new row); a change
//! without a known purpose, a source or a proof stores nothing; events carry codes and ids,
//! never the proof.
#![forbid(unsafe_code)]

pub mod consent_events;
pub mod coverage;
pub mod demo;
pub mod dp;
pub mod erasure;
pub mod events;
pub mod holds;
pub mod model;
pub mod my_pages;
pub mod pages;
pub mod permissions;
pub mod records;
pub mod requests;
pub mod retention;
pub mod routes;
pub mod service;
pub mod sharing;
pub mod store;

pub use model::{PURPOSES, Purpose, purpose};
pub use store::{ConsentError, ConsentRecord, ConsentStore, Consents, consent_exists_sql};

/// The privacy domain as the application assembles it.
pub struct PrivacyModule {
    store: ConsentStore,
}

impl PrivacyModule {
    /// The module over its store.
    pub fn new(store: ConsentStore) -> Self {
        Self { store }
    }
}

impl aloft_module::DomainModule for PrivacyModule {
    fn name(&self) -> &'static str {
        "privacy"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        [
            routes::POLICY,
            pages::POLICY,
            pages::CONSOLE_POLICY,
            my_pages::POLICY,
            consent_events::POLICY,
        ]
        .concat()
    }

    fn page_routes(&self) -> axum::Router {
        pages::routes(self.store.clone())
            .merge(pages::console_routes(service::Requests::new(
                self.store.clone(),
            )))
            .merge(my_pages::routes(service::Requests::new(self.store.clone())))
    }

    fn portal_entries(&self) -> Vec<aloft_web::PortalEntry> {
        my_pages::entries()
    }

    fn portal_panels(&self) -> Vec<aloft_web::HomePanel> {
        my_pages::panels()
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: pages::CONSOLE,
            href: "/privacy",
            label: "Privacy",
            summary: "Data-subject requests to their deadlines, consent per purpose, and any customer's audit trail.",
            access: aloft_authz::Access::Permission(permissions::REQUESTS_MANAGE),
            order: 70,
        }]
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        pages::record_views(self.store.clone())
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        routes::api_routes(self.store.clone()).merge(consent_events::api_routes(self.store.clone()))
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        events::event_types()
    }

    fn jobs(
        &self,
    ) -> Vec<(
        &'static str,
        std::sync::Arc<dyn aloft_kernel::jobs::JobHandler>,
    )> {
        let db = self.store.db().clone();
        vec![(
            retention::RETENTION_JOB,
            aloft_kernel::jobs::handler_fn(move |_job| {
                let db = db.clone();
                async move {
                    retention::run_now(&db)
                        .await
                        .map(|_| ())
                        .map_err(aloft_kernel::jobs::JobError::from)
                }
            }),
        )]
    }

    fn schedules(&self) -> Vec<aloft_kernel::jobs::Schedule> {
        vec![aloft_kernel::jobs::Schedule::every(
            retention::RETENTION_JOB,
            std::time::Duration::from_secs(24 * 60 * 60),
        )]
    }

    fn demo_data(&self) -> Option<std::sync::Arc<dyn aloft_module::DemoData>> {
        Some(std::sync::Arc::new(demo::Demo(service::Requests::new(
            self.store.clone(),
        ))))
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![(
            "privacy",
            "Consent and preferences: what each passenger agreed to, with source and proof",
        )]
    }
}
