//! Travel history and the customer timeline (the 360° view): everything the source systems tell
//! Aloft about a customer's trips and contacts — bookings and their flight segments, ancillaries,
//! purchases and post-order documents, calls, e-mails and chats, feedback, lounge visits,
//! chauffeur rides, baggage events — and flight-level segment forecasts.
//!
//! - [`airports`]: the compiled-in airport reference table (IATA code, country, coordinates, IANA
//!   zone) and great-circle distances.
//! - [`demo`]: deterministic synthetic travel history for the demo population.
//! - [`events`]: the typed, versioned CloudEvents this domain emits.
//! - [`model`]: the records and their value types; validation reports every bad field; pure.
//! - [`timeline`]: the timeline projection of records and the timeline query; pure.
//! - [`storage`]: idempotent recording (record + timeline + event + audit in one transaction),
//!   bulk import and keyset-paginated timeline reads on SQLite and PostgreSQL.
//! - [`preferences`]: seat and meal suggestions — stated first, else clear habits; pure.
//! - [`routes`]: the timeline API and page (audited reads).
//! - [`permissions`]: the permissions this domain checks.
//!
//! [`TravelModule`] is the domain as the application assembles it.

pub mod airports;
pub mod demo;
pub mod events;
pub mod model;
pub mod pages;
pub mod permissions;
pub mod preferences;
pub mod routes;
pub mod sealing;
pub mod storage;
pub mod timeline;

pub use model::{CustomerId, Record, RecordKind};
pub use sealing::{CustomerKeys, EphemeralKeys};
pub use storage::{Alongside, Outcome, Recorded, Staged, StoredRecord, TravelError, TravelStore};
pub use timeline::{TimelineCursor, TimelineEntry, TimelineKind, TimelinePage, TimelineQuery};

/// The travel domain (timelines, suggestions, interaction logging) as the application
/// assembles it.
pub struct TravelModule {
    timeline: routes::TimelineState,
}

impl TravelModule {
    /// The module over the timeline routes' state.
    pub fn new(timeline: routes::TimelineState) -> Self {
        Self { timeline }
    }
}

impl aloft_module::DomainModule for TravelModule {
    fn name(&self) -> &'static str {
        "travel"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn events(&self) -> Vec<aloft_kernel::event_types::EventType> {
        events::event_types()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        routes::POLICY.to_vec()
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        routes::api_routes(self.timeline.clone())
    }

    fn page_routes(&self) -> axum::Router {
        routes::page_routes(self.timeline.clone())
    }

    fn record_views(&self) -> Vec<aloft_web::RecordView> {
        pages::record_views(self.timeline.clone())
    }
}
