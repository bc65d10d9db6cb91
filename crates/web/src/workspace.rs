//! What the modules contribute to the workspace beyond routes: navigation entries, panels of the
//! start page, and sources for the global search. The app collects them once ([`Workspace`]);
//! a middleware makes them available to the pages of each request.
//!
//! Every contribution carries the same [`Access`] as the route it leads to, so a principal is
//! never shown a link, a panel or a search hit that would answer 403.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use aloft_authz::{Access, Principal, Realm};
use maud::Markup;

/// A section of the product (one per domain page group), named by a stable id; the layout marks
/// the navigation entry of the page's section as current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Section(&'static str);

impl Section {
    /// The start page.
    pub const HOME: Section = Section("home");

    /// A section with a stable id.
    pub const fn new(id: &'static str) -> Self {
        Self(id)
    }

    /// The id.
    pub const fn id(self) -> &'static str {
        self.0
    }
}

/// Whether `principal` passes `access` (the same rule as the route gate's).
pub fn allowed(access: Access, principal: Option<&Principal>) -> bool {
    match access {
        Access::Public => true,
        Access::SignInStep => principal.is_some(),
        Access::Staff => {
            principal.is_some_and(|p| p.fully_authenticated && p.realm == Realm::Staff)
        }
        Access::Permission(perm) => principal.is_some_and(|p| p.can(perm)),
    }
}

/// One entry of the navigation, declared by the module that serves the page. Shown only to
/// principals the route gate would let through, so nobody is offered a link that answers 403.
#[derive(Debug, Clone, Copy)]
pub struct NavEntry {
    /// The section the entry opens.
    pub section: Section,
    /// Where it links.
    pub href: &'static str,
    /// Its label.
    pub label: &'static str,
    /// What the section is for, in a sentence.
    pub summary: &'static str,
    /// Who may follow it (the same access as the route's policy).
    pub access: Access,
    /// Position in the navigation (lower first); ties keep registration order.
    pub order: u16,
}

impl NavEntry {
    /// Whether `principal` may follow this entry.
    pub fn visible_to(&self, principal: Option<&Principal>) -> bool {
        allowed(self.access, principal)
    }
}

/// A boxed future returning markup (what panels and search sources produce).
pub type BoxMarkup = Pin<Box<dyn Future<Output = Markup> + Send>>;

/// Renders a panel for the signed-in principal.
pub type PanelRender = Arc<dyn Fn(Principal) -> BoxMarkup + Send + Sync>;

/// A panel of the start page: what one job needs on arrival (today's departures for a check-in
/// agent, the review queue for a loyalty manager). Each role's start page is the panels it may
/// see, so no role lands on a page of links that answer 403.
#[derive(Clone)]
pub struct HomePanel {
    /// Stable id (also the HTML id of the panel's section).
    pub id: &'static str,
    /// Who sees it (the access of the data it shows).
    pub access: Access,
    /// Position on the page (lower first).
    pub order: u16,
    /// Whether it takes the full width (lists, tables) or a column (counts, short lists).
    pub wide: bool,
    /// Renders the panel body (a `section` is drawn around it by the home page).
    pub render: PanelRender,
}

impl HomePanel {
    /// A panel from an async function of the principal.
    pub fn new<F, Fut>(id: &'static str, access: Access, order: u16, render: F) -> Self
    where
        F: Fn(Principal) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Markup> + Send + 'static,
    {
        Self {
            id,
            access,
            order,
            wide: false,
            render: Arc::new(move |p| Box::pin(render(p))),
        }
    }

    /// The panel, full width.
    pub fn wide(mut self) -> Self {
        self.wide = true;
        self
    }
}

impl std::fmt::Debug for HomePanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HomePanel").field("id", &self.id).finish()
    }
}

/// A tab of the passenger portal (`/my`), declared by the module that serves the page: the
/// portal's own pages (overview, trips, profile, security) and what other modules add — cases,
/// claims, consent — so a new domain offers passengers a page without editing the portal.
/// Every portal page needs the passenger permission, so a tab has no access of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortalEntry {
    /// Its label.
    pub label: &'static str,
    /// Where it links (`/my/...`); also how a page names the tab it belongs to.
    pub href: &'static str,
    /// Position among the tabs (lower first; the portal's own use 0–99).
    pub order: u16,
}

/// Entries another module adds to a customer's timeline (the 360° page's "Timeline" tab, owned
/// by travel): compensation proposals, cases — each dated, so the tab merges them with its own
/// entries in time order without knowing the modules. Asked for one page's window at a time.
#[derive(Clone)]
pub struct TimelineSource {
    /// Stable id, also the kind the tab's filter offers (`compensation`).
    pub id: &'static str,
    /// The filter's label (`Compensation`).
    pub label: &'static str,
    /// Who sees these entries (the access of the data they show).
    pub access: Access,
    /// The entries of a customer in `(after, before]` (either bound open when `None`), newest
    /// first, at most `limit`; the source checks visibility and audits what it reads.
    pub entries: TimelineEntries,
}

/// One dated entry of a [`TimelineSource`].
pub type DatedItem = (chrono::DateTime<chrono::Utc>, crate::kit::FeedItem);

/// What a [`TimelineSource`] runs: `(principal, customer id, after, before, limit)`.
pub type TimelineEntries = Arc<
    dyn Fn(
            Principal,
            String,
            Option<chrono::DateTime<chrono::Utc>>,
            Option<chrono::DateTime<chrono::Utc>>,
            usize,
        ) -> Pin<Box<dyn Future<Output = Vec<DatedItem>> + Send>>
        + Send
        + Sync,
>;

impl TimelineSource {
    /// A source from an async function.
    pub fn new<F, Fut>(id: &'static str, label: &'static str, access: Access, entries: F) -> Self
    where
        F: Fn(
                Principal,
                String,
                Option<chrono::DateTime<chrono::Utc>>,
                Option<chrono::DateTime<chrono::Utc>>,
                usize,
            ) -> Fut
            + Send
            + Sync
            + 'static,
        Fut: Future<Output = Vec<DatedItem>> + Send + 'static,
    {
        Self {
            id,
            label,
            access,
            entries: Arc::new(move |p, c, a, b, n| Box::pin(entries(p, c, a, b, n))),
        }
    }
}

impl std::fmt::Debug for TimelineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimelineSource")
            .field("id", &self.id)
            .finish()
    }
}

/// Where a [`RecordView`] appears on a record's page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// In the page header, under the name: short alerts and facts (next flight, open
    /// disruptions, open cases).
    Header,
    /// A tab of its own.
    Tab,
}

/// Renders a view of one record for the signed-in principal: `(principal, record id, the
/// page's query pairs)`. The view checks the record's visibility and audits what it reads.
pub type RecordRender =
    Arc<dyn Fn(Principal, String, Vec<(String, String)>) -> BoxMarkup + Send + Sync>;

/// A view another module contributes to a record's page (the customer 360° page is made of the
/// customers module's overview plus the travel, identity, cases, compensation and consent
/// modules' views), so a new domain adds its tab without editing the page's owner.
#[derive(Clone)]
pub struct RecordView {
    /// The kind of record whose page shows it (`customer`).
    pub record: &'static str,
    /// Stable id (the `?tab=` value).
    pub id: &'static str,
    /// The tab's label.
    pub label: &'static str,
    /// Who sees it.
    pub access: Access,
    /// Position among the tabs or header items (lower first).
    pub order: u16,
    /// Where it appears.
    pub placement: Placement,
    /// The renderer.
    pub render: RecordRender,
}

impl RecordView {
    /// A view from an async function of the principal, the record id and the query pairs.
    pub fn new<F, Fut>(
        record: &'static str,
        id: &'static str,
        label: &'static str,
        access: Access,
        order: u16,
        placement: Placement,
        render: F,
    ) -> Self
    where
        F: Fn(Principal, String, Vec<(String, String)>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Markup> + Send + 'static,
    {
        Self {
            record,
            id,
            label,
            access,
            order,
            placement,
            render: Arc::new(move |p, id, q| Box::pin(render(p, id, q))),
        }
    }
}

impl std::fmt::Debug for RecordView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordView")
            .field("record", &self.record)
            .field("id", &self.id)
            .finish()
    }
}

/// One thing the global search found.
#[derive(Debug, Clone)]
pub struct SearchHit {
    /// What it is ("Customer", "Booking", "Flight", "Bag").
    pub kind: &'static str,
    /// The main line (a name, a flight).
    pub title: String,
    /// A second line (loyalty tier, route and date).
    pub detail: String,
    /// Where it opens.
    pub href: String,
}

/// Finds hits for a query on behalf of a principal (its own row scope applies).
pub type SearchFind = Arc<
    dyn Fn(Principal, String) -> Pin<Box<dyn Future<Output = Vec<SearchHit>> + Send>> + Send + Sync,
>;

/// A source of the global search box (customers by name, e-mail, phone or loyalty number;
/// bookings by PNR; bags by tag; flights by number). Each source decides whether the query
/// looks like something it knows and answers quickly, scoped to the principal.
#[derive(Clone)]
pub struct SearchSource {
    /// Stable id.
    pub id: &'static str,
    /// Who may use it (the access of the pages its hits open).
    pub access: Access,
    /// The finder.
    pub find: SearchFind,
}

impl SearchSource {
    /// A source from an async function of the principal and the query.
    pub fn new<F, Fut>(id: &'static str, access: Access, find: F) -> Self
    where
        F: Fn(Principal, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<SearchHit>> + Send + 'static,
    {
        Self {
            id,
            access,
            find: Arc::new(move |p, q| Box::pin(find(p, q))),
        }
    }
}

impl std::fmt::Debug for SearchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchSource")
            .field("id", &self.id)
            .finish()
    }
}

/// Resolves actor ids (as the audit trail and domain records keep them: account and client ids,
/// never names) to the names people know them by; ids it does not know are left out.
pub type ActorNames = Arc<
    dyn Fn(
            Vec<String>,
        )
            -> Pin<Box<dyn Future<Output = std::collections::HashMap<String, String>> + Send>>
        + Send
        + Sync,
>;

/// Everything the modules contribute to the workspace, assembled once.
#[derive(Debug, Clone, Default)]
pub struct Workspace {
    inner: Arc<Parts>,
}

#[derive(Default)]
struct Parts {
    navigation: Vec<NavEntry>,
    panels: Vec<HomePanel>,
    search: Vec<SearchSource>,
    views: Vec<RecordView>,
    actor_names: Option<ActorNames>,
    portal_entries: Vec<PortalEntry>,
    portal_panels: Vec<HomePanel>,
    timeline_sources: Vec<TimelineSource>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("navigation", &self.navigation)
            .field("panels", &self.panels)
            .field("search", &self.search)
            .field("views", &self.views)
            .field("actor_names", &self.actor_names.is_some())
            .field("portal_entries", &self.portal_entries)
            .field("portal_panels", &self.portal_panels)
            .field("timeline_sources", &self.timeline_sources)
            .finish()
    }
}

impl Workspace {
    /// The workspace over the modules' contributions (each sorted by its order).
    pub fn new(
        mut navigation: Vec<NavEntry>,
        mut panels: Vec<HomePanel>,
        search: Vec<SearchSource>,
        mut views: Vec<RecordView>,
    ) -> Self {
        navigation.sort_by_key(|e| e.order);
        panels.sort_by_key(|p| p.order);
        views.sort_by_key(|v| v.order);
        Self {
            inner: Arc::new(Parts {
                navigation,
                panels,
                search,
                views,
                actor_names: None,
                portal_entries: Vec::new(),
                portal_panels: Vec::new(),
                timeline_sources: Vec::new(),
            }),
        }
    }

    /// The workspace that names actors through `names` (the module owning staff accounts).
    pub fn with_actor_names(self, names: Option<ActorNames>) -> Self {
        self.edit(|parts| parts.actor_names = names)
    }

    /// The workspace with the passenger portal's tabs and the panels of its overview page
    /// (`/my`), each sorted by its order.
    pub fn with_portal(self, mut entries: Vec<PortalEntry>, mut panels: Vec<HomePanel>) -> Self {
        entries.sort_by_key(|e| e.order);
        panels.sort_by_key(|p| p.order);
        self.edit(|parts| {
            parts.portal_entries = entries;
            parts.portal_panels = panels;
        })
    }

    /// The workspace with the sources other modules add to customers' timelines.
    pub fn with_timeline_sources(self, sources: Vec<TimelineSource>) -> Self {
        self.edit(|parts| parts.timeline_sources = sources)
    }

    /// The timeline sources `principal` may see.
    pub fn timeline_sources<'a>(
        &'a self,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a TimelineSource> + 'a {
        self.inner
            .timeline_sources
            .iter()
            .filter(move |s| allowed(s.access, principal))
    }

    fn edit(self, change: impl FnOnce(&mut Parts)) -> Self {
        let mut parts = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Parts {
            navigation: shared.navigation.clone(),
            panels: shared.panels.clone(),
            search: shared.search.clone(),
            views: shared.views.clone(),
            actor_names: shared.actor_names.clone(),
            portal_entries: shared.portal_entries.clone(),
            portal_panels: shared.portal_panels.clone(),
            timeline_sources: shared.timeline_sources.clone(),
        });
        change(&mut parts);
        Self {
            inner: Arc::new(parts),
        }
    }

    /// The passenger portal's tabs, in order.
    pub fn portal_entries(&self) -> &[PortalEntry] {
        &self.inner.portal_entries
    }

    /// The panels of the portal's overview that `principal` may see.
    pub fn portal_panels<'a>(
        &'a self,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a HomePanel> + 'a {
        self.inner
            .portal_panels
            .iter()
            .filter(move |p| allowed(p.access, principal))
    }

    /// The views of `record` pages at `placement` that `principal` may see.
    pub fn record_views<'a>(
        &'a self,
        record: &'a str,
        placement: Placement,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a RecordView> + 'a {
        self.inner.views.iter().filter(move |v| {
            v.record == record && v.placement == placement && allowed(v.access, principal)
        })
    }

    /// The navigation entries `principal` may follow.
    pub fn navigation<'a>(
        &'a self,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a NavEntry> + 'a {
        self.inner
            .navigation
            .iter()
            .filter(move |e| e.visible_to(principal))
    }

    /// The start-page panels `principal` may see.
    pub fn panels<'a>(
        &'a self,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a HomePanel> + 'a {
        self.inner
            .panels
            .iter()
            .filter(move |p| allowed(p.access, principal))
    }

    /// The search sources `principal` may use.
    pub fn search_sources<'a>(
        &'a self,
        principal: Option<&'a Principal>,
    ) -> impl Iterator<Item = &'a SearchSource> + 'a {
        self.inner
            .search
            .iter()
            .filter(move |s| allowed(s.access, principal))
    }

    /// Every navigation entry, whoever may see it (for tests that follow each link).
    pub fn all_navigation(&self) -> &[NavEntry] {
        &self.inner.navigation
    }
}

tokio::task_local! {
    static WORKSPACE: Workspace;
    static FLASH: Option<String>;
    static PATH: String;
}

/// The path of the request being handled (empty outside one): which of a section's
/// navigation entries is the current page.
pub(crate) fn current_path() -> String {
    PATH.try_with(Clone::clone).unwrap_or_default()
}

/// The workspace of the request being handled (empty outside one).
pub fn current() -> Workspace {
    WORKSPACE.try_with(|w| w.clone()).unwrap_or_default()
}

/// The names of `ids` (see [`ActorNames`]); empty when no module names actors. Pages show the
/// name and keep the id for a title or a link.
pub async fn actor_names(ids: Vec<String>) -> std::collections::HashMap<String, String> {
    match current().inner.actor_names.clone() {
        Some(names) if !ids.is_empty() => names(ids).await,
        _ => std::collections::HashMap::new(),
    }
}

/// The one-time notice carried over a redirect (see [`crate::kit::redirect_with_notice`]).
pub(crate) fn current_flash() -> Option<String> {
    FLASH.try_with(|f| f.clone()).ok().flatten()
}

/// Middleware: makes the workspace available to the pages while a request is handled, and
/// hands a notice set before a redirect to the page after it (then forgets it).
pub async fn provide_workspace(
    axum::extract::State(workspace): axum::extract::State<Workspace>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let flash = crate::kit::flash_from(req.headers());
    let had_flash = flash.is_some();
    let path = req.uri().path().to_owned();
    let mut response = WORKSPACE
        .scope(
            workspace,
            FLASH.scope(flash, PATH.scope(path, next.run(req))),
        )
        .await;
    let is_redirect = response.status().is_redirection();
    if had_flash && !is_redirect {
        response.headers_mut().append(
            http::header::SET_COOKIE,
            http::HeaderValue::from_static(crate::kit::FLASH_CLEAR),
        );
    }
    response
}
