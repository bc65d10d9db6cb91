//! Insights: pseudonymised aggregates over customers, travel and purchases, for the roles that
//! plan from the population rather than serve one passenger (marketing, data analysis,
//! in-flight retail, loyalty). Grows into the analytics domain (segments, sentiment,
//! prediction) of a later issue.
//!
//! - [`model`] — the aggregates and the rules that keep them pseudonymised: distinct customers
//!   per group, groups below k (10 by default) shown as "fewer than 10", complementary
//!   suppression so a hidden group cannot be worked out from totals (pure, tested).
//! - [`storage`] — the background computation of a snapshot (the job [`REFRESH_JOB`], every
//!   [`InsightsConfig::refresh_every`] and at start-up when there is none yet, exactly once
//!   across instances) into `insights_snapshots`, and the cached read pages use.
//! - [`pages`] — `/insights` (overview), `/insights/customers`, `/insights/travel`,
//!   `/insights/purchases`, a CSV download of every table, and the start-page panels.
//! - The role dashboards (issue 22, item 5): [`facts`] derives per customer what they count
//!   (texts as sentiment label and topics, departed flights, sales — pure), [`live`] stores
//!   them (the [`live::REBUILD_JOB`], and an outbox tail between rebuilds) and tells open
//!   dashboards, [`figures`] counts over them for a period and route with small groups
//!   suppressed, [`dashboards`] renders `/insights/service`, `/insights/routes`,
//!   `/insights/cmp` and streams their updates (server-sent events).
//!
//! Invariants: nothing leaves this crate that names, identifies or contacts a person — no
//! table has a row per customer, no group below k shows its size; dates of birth are decrypted
//! only inside the job, turned into age bands and dropped; the job's read of the population is
//! audited once per snapshot, and CSV downloads are audited. Pages never query customers or
//! travel records, so they answer in the time of one indexed look-up.

pub mod countries;
pub mod dashboards;
pub mod events;
pub mod facts;
pub mod figures;
pub mod labels;
pub mod live;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use aloft_kernel::jobs::{JobError, JobHandler, Jobs, NewJob, Schedule, handler_fn};
use aloft_kernel::keys::CustomerKeys;
use aloft_kernel::{Auditor, Database};

pub use model::{Cell, DEFAULT_MIN_GROUP, Snapshot, Table};
pub use storage::InsightsStore;

/// The job kind that computes a snapshot.
pub const REFRESH_JOB: &str = "insights.refresh";

/// How the insights behave.
#[derive(Debug, Clone, Copy)]
pub struct InsightsConfig {
    /// The smallest group shown (k); smaller groups read "fewer than k".
    pub min_group: u64,
    /// How often the snapshot is recomputed.
    pub refresh_every: Duration,
}

impl Default for InsightsConfig {
    /// k = 10, every 15 minutes.
    fn default() -> Self {
        Self {
            min_group: DEFAULT_MIN_GROUP,
            refresh_every: Duration::from_secs(15 * 60),
        }
    }
}

/// The insights domain as the application assembles it.
pub struct InsightsModule {
    store: InsightsStore,
    facts: live::FactStore,
    hub: live::LiveHub,
    auditor: Option<Auditor>,
    config: InsightsConfig,
}

impl InsightsModule {
    /// The module over `db`, opening dates of birth with the customers' data keys from `keys`,
    /// recording CSV downloads through `auditor`.
    pub fn new(
        db: Database,
        keys: Arc<dyn CustomerKeys>,
        auditor: Option<Auditor>,
        config: InsightsConfig,
    ) -> Self {
        Self {
            store: InsightsStore::new(db.clone(), keys.clone(), config.min_group),
            facts: live::FactStore::new(db, keys),
            hub: live::LiveHub::new(),
            auditor,
            config,
        }
    }

    /// Keeps the dashboard facts current from the outbox and tells open dashboards through
    /// `hub`, which the application stops at shutdown (ending every stream). Needs a Tokio
    /// runtime; without one the tail does not run.
    pub fn with_live(mut self, hub: live::LiveHub) -> Self {
        hub.start(self.facts.clone());
        self.hub = hub;
        self
    }

    /// The dashboard facts (tests, tools).
    pub fn facts(&self) -> &live::FactStore {
        &self.facts
    }

    /// The snapshots (tests, tools).
    pub fn store(&self) -> &InsightsStore {
        &self.store
    }

    /// Also asks for a snapshot at once if there is none yet (a new or upgraded installation),
    /// rather than waiting for the schedule's next slot: enqueues one [`REFRESH_JOB`], keyed by
    /// the current slot so that instances starting together enqueue it once. Needs a Tokio
    /// runtime; without one it does nothing.
    pub fn refreshing_when_empty(self) -> Self {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            let schedule = self.schedule();
            let facts = self.facts.clone();
            let rebuild = self.rebuild_schedule();
            handle.spawn(async move {
                if let Ok(true) = facts.is_empty().await {
                    let slot = rebuild.slot_of(aloft_kernel::db::now());
                    let job = NewJob::new(live::REBUILD_JOB, serde_json::json!({ "reason": "empty" }))
                        .dedupe(format!("{}@empty@{}", live::REBUILD_JOB, aloft_kernel::db::to_db_time(slot)))
                        .max_attempts(3);
                    if let Err(e) = Jobs::enqueue_now(facts.database(), job).await {
                        tracing::warn!(error = %e, "cannot ask for the first dashboard facts; the schedule will derive them");
                    }
                }
                match store.latest().await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        let slot = schedule.slot_of(aloft_kernel::db::now());
                        let job = NewJob::new(REFRESH_JOB, serde_json::json!({ "reason": "empty" }))
                            .dedupe(format!("{REFRESH_JOB}@empty@{}", aloft_kernel::db::to_db_time(slot)))
                            .max_attempts(3);
                        if let Err(e) = Jobs::enqueue_now(store.database(), job).await {
                            tracing::warn!(error = %e, "cannot ask for the first insights snapshot; the schedule will compute it");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot read the insights snapshot; the schedule will compute it")
                    }
                }
            });
        }
        self
    }

    fn schedule(&self) -> Schedule {
        Schedule::every(REFRESH_JOB, self.config.refresh_every)
    }

    /// Everyone's dashboard facts derived again every six hours (the outbox tail keeps them
    /// current in between; this catches what happened while no process ran).
    fn rebuild_schedule(&self) -> Schedule {
        Schedule::every(live::REBUILD_JOB, Duration::from_secs(6 * 3600))
    }
}

impl aloft_module::DomainModule for InsightsModule {
    fn name(&self) -> &'static str {
        "insights"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        [pages::POLICY, dashboards::POLICY].concat()
    }

    fn page_routes(&self) -> axum::Router {
        pages::page_routes(pages::PagesState {
            store: self.store.clone(),
            auditor: self.auditor.clone(),
        })
        .merge(dashboards::routes(dashboards::DashState {
            db: self.facts.database().clone(),
            store: self.store.clone(),
            hub: self.hub.clone(),
        }))
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        let mut entries = vec![aloft_web::NavEntry {
            section: pages::SECTION,
            href: "/insights",
            label: "Insights",
            summary: "Pseudonymised aggregates: customers by tier, nationality, home airport and \
                      age; routes, cabins and months; purchases and the preference mix.",
            access: aloft_authz::Access::Permission(permissions::AGGREGATES_READ),
            order: 60,
        }];
        entries.extend(dashboards::navigation());
        entries
    }

    fn home_panels(&self) -> Vec<aloft_web::HomePanel> {
        pages::home_panels(self.store.clone())
    }

    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        let store = self.store.clone();
        let (facts, hub) = (self.facts.clone(), self.hub.clone());
        vec![
            (
                REFRESH_JOB,
                handler_fn(move |_job| {
                    let store = store.clone();
                    async move { store.refresh().await.map(|_| ()).map_err(JobError::from) }
                }),
            ),
            (
                live::REBUILD_JOB,
                handler_fn(move |_job| {
                    let (facts, hub) = (facts.clone(), hub.clone());
                    async move {
                        facts.rebuild().await.map_err(JobError::from)?;
                        hub.changed();
                        Ok(())
                    }
                }),
            ),
        ]
    }

    fn schedules(&self) -> Vec<Schedule> {
        vec![self.schedule(), self.rebuild_schedule()]
    }
}
