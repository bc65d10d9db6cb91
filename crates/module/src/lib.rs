//! The domain module contract. Each domain crate exposes one value implementing
//! [`DomainModule`]; the binary lists the modules once ([`Modules`]) and everything else —
//! the router, the route gate's policy, the permission registry, the navigation, the OpenAPI
//! document and the background jobs — is derived from that list. A new domain adds a crate and
//! one line in the composition root; it edits no shared crate.
//!
//! Invariant: a route is served only if its module also declares its policy (the gate refuses
//! undeclared routes, and the route × role test walks every module's routes).

use std::collections::HashMap;
use std::sync::Arc;

use aloft_authz::{PermissionInfo, RoutePolicy};
use aloft_kernel::jobs::{JobHandler, Schedule};
use aloft_vocab::CustomerId;
use aloft_web::{
    ActorNames, HomePanel, NavEntry, PortalEntry, RecordView, SearchSource, TimelineSource,
};
use axum::Router;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use utoipa_axum::router::OpenApiRouter;

/// What one domain brings to the application.
pub trait DomainModule: Send + Sync {
    /// A short stable name (`customers`), used in logs and the OpenAPI tags.
    fn name(&self) -> &'static str;

    /// The permissions this domain checks (registered with their descriptions, so roles can
    /// hold them and `/access/roles` can explain them).
    fn permissions(&self) -> Vec<PermissionInfo> {
        Vec::new()
    }

    /// Who may call each of this module's routes, API and pages alike.
    fn policies(&self) -> Vec<RoutePolicy>;

    /// The JSON API, with OpenAPI annotations.
    fn api_routes(&self) -> OpenApiRouter {
        OpenApiRouter::new()
    }

    /// The pages and page fragments.
    fn page_routes(&self) -> Router {
        Router::new()
    }

    /// Navigation entries (shown only to principals the gate would let through).
    fn navigation(&self) -> Vec<NavEntry> {
        Vec::new()
    }

    /// Panels of the start page: what the roles allowed to see them need on arrival.
    fn home_panels(&self) -> Vec<HomePanel> {
        Vec::new()
    }

    /// Sources of the global search box (each answers for what it recognises).
    fn search_sources(&self) -> Vec<SearchSource> {
        Vec::new()
    }

    /// Views this module adds to other modules' record pages (tabs and header alerts of the
    /// customer 360° page).
    fn record_views(&self) -> Vec<RecordView> {
        Vec::new()
    }

    /// Tabs this module adds to the passenger portal (`/my`): its `/my/...` pages, rendered in
    /// [`aloft_web::portal::layout`] and needing the passenger permission.
    fn portal_entries(&self) -> Vec<PortalEntry> {
        Vec::new()
    }

    /// Panels of the portal's overview page (`/my`): what a passenger should see on arrival
    /// (open cases, claims, consent to review). Rendered for the signed-in passenger only.
    fn portal_panels(&self) -> Vec<HomePanel> {
        Vec::new()
    }

    /// Entries this module adds to customers' timelines (the 360° page's "Timeline" tab).
    fn timeline_sources(&self) -> Vec<TimelineSource> {
        Vec::new()
    }

    /// How to name actors (staff accounts, integration clients) by id: offered by the module
    /// that owns them, used by every page that shows who did something.
    fn actor_names(&self) -> Option<ActorNames> {
        None
    }

    /// The CloudEvents types this module emits, with the JSON Schema of their `data`
    /// (published at `/api/v1/events`).
    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        Vec::new()
    }

    /// Background work this module runs: handlers by job kind (see `aloft_kernel::jobs`).
    fn jobs(&self) -> Vec<(&'static str, Arc<dyn JobHandler>)> {
        Vec::new()
    }

    /// Recurring work (clocks, escalations, reminders): one occurrence per slot across every
    /// process; each schedule's kind needs a handler in [`DomainModule::jobs`].
    fn schedules(&self) -> Vec<Schedule> {
        Vec::new()
    }

    /// Reactions to committed events of any module, each acted on once (see
    /// `aloft_kernel::subscriptions`): a rule that opens a case, a webhook that forwards.
    fn subscriptions(&self) -> Vec<aloft_kernel::subscriptions::Subscription> {
        Vec::new()
    }

    /// OpenAPI tags (name, description) this module's operations use.
    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    /// This module's demo data (`aloft serve --demo`, `aloft demo`), loaded after the demo
    /// population (customers, their travel, cross-source duplicates) so it can refer to them.
    fn demo_data(&self) -> Option<Arc<dyn DemoData>> {
        None
    }
}

/// What every demo-data hook receives: the same seed and population for every module, so a
/// demo database is the same on every run and every module's data fits the others'.
#[derive(Debug, Clone)]
pub struct DemoContext {
    /// The generator's seed (`--seed`): the same seed gives the same data.
    pub seed: u64,
    /// The demo travellers: customers with a travel history (bookings, bags, calls…), the
    /// ones a module's demo cases, claims or consents should concern.
    pub travellers: Vec<CustomerId>,
    /// The instant the demo is loaded at (demo data is dated relative to it).
    pub now: DateTime<Utc>,
}

/// A module's demo-data loader.
///
/// Invariant: idempotent — a second run over a database that already holds the module's demo
/// data adds nothing (a restart with `--demo` must not double the data).
pub trait DemoData: Send + Sync {
    /// Loads the data unless already there; returns one line for the console saying what was
    /// added (`None` when nothing was).
    fn load<'a>(&'a self, demo: &'a DemoContext) -> BoxFuture<'a, anyhow::Result<Option<String>>>;
}

/// The assembled list of modules.
#[derive(Default)]
pub struct Modules(Vec<Box<dyn DomainModule>>);

impl Modules {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a module.
    pub fn with(mut self, module: impl DomainModule + 'static) -> Self {
        self.0.push(Box::new(module));
        self
    }

    /// The modules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn DomainModule> {
        self.0.iter().map(|m| m.as_ref())
    }

    /// Every module's registered permissions.
    pub fn permissions(&self) -> Vec<PermissionInfo> {
        self.iter().flat_map(|m| m.permissions()).collect()
    }

    /// Every module's route policies.
    pub fn policies(&self) -> Vec<RoutePolicy> {
        self.iter().flat_map(|m| m.policies()).collect()
    }

    /// Every module's navigation entries.
    pub fn navigation(&self) -> Vec<NavEntry> {
        self.iter().flat_map(|m| m.navigation()).collect()
    }

    /// Every module's start-page panels.
    pub fn home_panels(&self) -> Vec<HomePanel> {
        self.iter().flat_map(|m| m.home_panels()).collect()
    }

    /// Every module's search sources.
    pub fn search_sources(&self) -> Vec<SearchSource> {
        self.iter().flat_map(|m| m.search_sources()).collect()
    }

    /// Every module's record views.
    pub fn record_views(&self) -> Vec<RecordView> {
        self.iter().flat_map(|m| m.record_views()).collect()
    }

    /// Every module's timeline sources.
    pub fn timeline_sources(&self) -> Vec<TimelineSource> {
        self.iter().flat_map(|m| m.timeline_sources()).collect()
    }

    /// Every module's portal tabs.
    pub fn portal_entries(&self) -> Vec<PortalEntry> {
        self.iter().flat_map(|m| m.portal_entries()).collect()
    }

    /// Every module's portal overview panels.
    pub fn portal_panels(&self) -> Vec<HomePanel> {
        self.iter().flat_map(|m| m.portal_panels()).collect()
    }

    /// The first module's actor naming, if any module offers one.
    pub fn actor_names(&self) -> Option<ActorNames> {
        self.iter().find_map(|m| m.actor_names())
    }

    /// The API of every module merged, with its OpenAPI paths.
    pub fn api_routes(&self) -> OpenApiRouter {
        self.iter()
            .fold(OpenApiRouter::new(), |r, m| r.merge(m.api_routes()))
    }

    /// The pages of every module merged.
    pub fn page_routes(&self) -> Router {
        self.iter()
            .fold(Router::new(), |r, m| r.merge(m.page_routes()))
    }

    /// Every module's event types.
    pub fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        self.iter().flat_map(|m| m.events()).collect()
    }

    /// Every module's job handlers, by kind.
    ///
    /// # Panics
    /// If two modules handle the same kind: a job has exactly one handler.
    pub fn jobs(&self) -> HashMap<&'static str, Arc<dyn JobHandler>> {
        let mut all = HashMap::new();
        for (kind, handler) in self.iter().flat_map(|m| m.jobs()) {
            assert!(
                all.insert(kind, handler).is_none(),
                "job kind {kind} has two handlers"
            );
        }
        all
    }

    /// Every module's schedules.
    pub fn schedules(&self) -> Vec<Schedule> {
        self.iter().flat_map(|m| m.schedules()).collect()
    }

    /// Every module's event subscriptions.
    pub fn subscriptions(&self) -> Vec<aloft_kernel::subscriptions::Subscription> {
        self.0.iter().flat_map(|m| m.subscriptions()).collect()
    }

    /// Every module's demo-data loader, by module name, in module order.
    pub fn demo_data(&self) -> Vec<(&'static str, Arc<dyn DemoData>)> {
        self.iter()
            .filter_map(|m| m.demo_data().map(|d| (m.name(), d)))
            .collect()
    }

    /// Every module's OpenAPI tags.
    pub fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        self.iter().flat_map(|m| m.api_tags()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Seeds(&'static str, bool);

    impl DemoData for Seeds {
        fn load<'a>(
            &'a self,
            demo: &'a DemoContext,
        ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
            Box::pin(async move { Ok(Some(format!("{} for {}", self.0, demo.travellers.len()))) })
        }
    }

    impl DomainModule for Seeds {
        fn name(&self) -> &'static str {
            self.0
        }
        fn policies(&self) -> Vec<RoutePolicy> {
            Vec::new()
        }
        fn demo_data(&self) -> Option<Arc<dyn DemoData>> {
            self.1
                .then(|| Arc::new(Seeds(self.0, true)) as Arc<dyn DemoData>)
        }
    }

    #[tokio::test]
    async fn demo_data_hooks_run_in_module_order_and_only_where_declared() {
        let modules = Modules::new()
            .with(Seeds("cases", true))
            .with(Seeds("portal", false))
            .with(Seeds("compensation", true));
        let demo = DemoContext {
            seed: 42,
            travellers: vec![CustomerId::generate(), CustomerId::generate()],
            now: Utc::now(),
        };
        let mut lines = Vec::new();
        for (name, data) in modules.demo_data() {
            lines.push((name, data.load(&demo).await.unwrap()));
        }
        assert_eq!(
            lines,
            vec![
                ("cases", Some("cases for 2".to_owned())),
                ("compensation", Some("compensation for 2".to_owned())),
            ]
        );
    }
}
