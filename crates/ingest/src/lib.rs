//! Ingestion: one pipeline, three ways in.
//!
//! Source systems (loyalty, booking channels and GDS, partners, the voice platform, e-mail, chat,
//! in-flight retail, lounges, chauffeur, baggage) send CloudEvents 1.0 whose `data` is a travel
//! record (`aloft_travel::Record`) and whose extension attributes carry identity hints. Every way
//! in ends in [`Pipeline::ingest`]:
//!
//! - [`import::run_import`] — `aloft import --source NAME FILE` for `.ndjson`/`.jsonl` and `.csv`
//!   files, with progress, a summary and a reject file;
//! - [`api::api_routes`] — `POST /api/v1/ingest/events` (≤ [`api::MAX_EVENTS`] events per call);
//! - [`consumer::run_consumer`] — a durable NATS JetStream consumer with a dead-letter subject.
//!
//! The pipeline ([`pipeline`]) skips event ids it processed before (`ingested_events`: at-least-once
//! delivery becomes exactly-once processing), validates each record (every bad field rejected with
//! its JSON pointer, the rest of the batch still loads), links each record to exactly one golden
//! customer profile ([`linker`]: earlier link, loyalty number, passport, e-mail, probabilistic
//! resolver, else a new profile; uncertain matches go to `identity_review`), and writes the records
//! with `TravelStore::record_many` (record, timeline entries, outbox event and audit record in one
//! transaction; idempotent on (source, source record id)). Nothing is dropped silently: every
//! problem is a [`Rejection`].
//!
//! ## Wiring (for the binary)
//! ```ignore
//! let pipeline = aloft_ingest::Pipeline::new(db.clone(), customer_store.clone(), travel_store.clone()).await?;
//! // aloft import --source NAME FILE [--reject-file PATH] [--batch-events N]
//! let summary = aloft_ingest::import::run_import(
//!     aloft_ingest::import::ImportArgs { source, file, reject_file, batch_events },
//!     &pipeline,
//!     &aloft_kernel::AccessContext::system("import"),
//!     |done, total| { /* progress bar */ },
//! ).await?;
//! println!("{summary}");
//! // HTTP: the module brings the routes, their policies and the navigation.
//! let module = aloft_ingest::IngestModule::new(pipeline.clone(), sources, stewardship);
//! // Streaming: spawn the consumer with the server's shutdown signal.
//! tokio::spawn(aloft_ingest::consumer::run_consumer(
//!     aloft_ingest::consumer::ConsumerSettings::new("nats://127.0.0.1:4222"),
//!     pipeline.clone(),
//!     shutdown_signal,
//! ));
//! ```
//! Logs carry ids and counts only, never personal data.

pub mod api;
pub mod consumer;
pub mod csv;
pub mod demo;
pub mod envelope;
pub mod events;
pub mod import;
pub mod linker;
pub mod merge;
pub mod permissions;
pub mod pipeline;
pub mod sources;
pub mod stewardship;
pub mod synthetic;

pub use envelope::{IdentityHints, Rejection, SourceEvent};
pub use linker::{Link, LinkMethod, Linker};
pub use pipeline::{BatchReport, Pipeline, Sequence, Ticket};

use aloft_kernel::StorageError;

/// Why ingestion failed as a whole (as opposed to rejecting some records).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The database failed; retry later (nothing of the batch is lost or half-linked).
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Identity resolution failed unexpectedly.
    #[error("identity resolution failed: {0}")]
    Identity(String),
    /// The input file cannot be read or the reject file written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The CSV file cannot be read at all.
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    /// The file type is not supported.
    #[error("unsupported file type: use .ndjson, .jsonl or .csv")]
    UnsupportedFile,
    /// The message broker failed.
    #[error("broker: {0}")]
    Broker(String),
    /// An earlier batch failed, so this one wrote nothing: one of the caller's
    /// [`pipeline::Sequence`] (this one would have overtaken it), or one linked before this one
    /// (whose profiles this one may link to). Retry it after that one.
    #[error("an earlier batch failed; retry this one after it")]
    OutOfTurn,
}

impl IngestError {
    /// Whether retrying later may succeed (database or broker unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            IngestError::Storage(StorageError::Unavailable(_) | StorageError::Conflict(_))
                | IngestError::Broker(_)
                | IngestError::OutOfTurn
        )
    }
}

impl From<IngestError> for aloft_kernel::ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Storage(s) => s.into(),
            // Nothing was written; the same request will succeed once retried.
            IngestError::OutOfTurn => aloft_kernel::ApiError::Unavailable(
                "an earlier batch failed; retry this one".into(),
            ),
            other => aloft_kernel::ApiError::Internal(other.to_string()),
        }
    }
}

/// Ingestion and identity stewardship as the application assembles them: the batch ingest API,
/// a profile's sources, and the identity review queue with merge and unmerge.
pub struct IngestModule {
    pipeline: Pipeline,
    sources: sources::SourcesState,
    stewardship: stewardship::StewardshipState,
}

impl IngestModule {
    /// The module over the pipeline and the states of its routes.
    pub fn new(
        pipeline: Pipeline,
        sources: sources::SourcesState,
        stewardship: stewardship::StewardshipState,
    ) -> Self {
        Self {
            pipeline,
            sources,
            stewardship,
        }
    }
}

impl aloft_module::DomainModule for IngestModule {
    fn name(&self) -> &'static str {
        "ingest"
    }

    fn permissions(&self) -> Vec<aloft_authz::PermissionInfo> {
        permissions::PERMISSIONS.to_vec()
    }

    fn policies(&self) -> Vec<aloft_authz::RoutePolicy> {
        [api::POLICY, sources::POLICY, stewardship::POLICY].concat()
    }

    fn api_routes(&self) -> utoipa_axum::router::OpenApiRouter {
        api::api_routes(self.pipeline.clone())
            .merge(sources::api_routes(self.sources.clone()))
            .merge(stewardship::api_routes(self.stewardship.clone()))
    }

    fn page_routes(&self) -> axum::Router {
        sources::page_routes(self.sources.clone())
            .merge(stewardship::page_routes(self.stewardship.clone()))
    }

    fn navigation(&self) -> Vec<aloft_web::NavEntry> {
        vec![aloft_web::NavEntry {
            section: stewardship::SECTION,
            href: "/identity/reviews",
            label: "Identity review",
            summary: "Uncertain matches between source records and profiles: compare, merge or \
                      keep apart; undo a merge.",
            access: aloft_authz::Access::Permission(permissions::IDENTITY_REVIEW),
            order: 20,
        }]
    }

    fn home_panels(&self) -> Vec<aloft_web::HomePanel> {
        let db = self.pipeline.database().clone();
        vec![aloft_web::HomePanel::new(
            "identity-reviews",
            aloft_authz::Access::Permission(permissions::IDENTITY_REVIEW),
            20,
            move |_principal| review_queue_panel(db.clone()),
        )]
    }

    fn api_tags(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "ingest",
                "Source-system records (bookings, bags, purchases, interactions…) as CloudEvents, \
                 linked to customer profiles",
            ),
            (
                "identity",
                "Data stewardship: uncertain matches to review, merge and unmerge of golden \
                 profiles, lineage",
            ),
        ]
    }
}

/// The identity review queue on the start page: how many uncertain matches wait and since when
/// (counts and a date only: no names until the reviewer opens the queue, whose reads are
/// audited).
async fn review_queue_panel(db: aloft_kernel::Database) -> maud::Markup {
    use aloft_web::kit;
    let counts: Result<(i64, Option<String>), StorageError> = sqlx::query_as(
        "SELECT COUNT(*), MIN(created_at) FROM identity_review WHERE status = 'open'",
    )
    .fetch_one(db.pool())
    .await
    .map_err(StorageError::from);
    let body = match counts {
        Ok((0, _)) => kit::empty_state(
            "No matches to review",
            "When identity resolution is unsure whether two records are the same person, the pair waits here.",
            None,
        ),
        Ok((open, oldest)) => {
            let oldest = oldest
                .as_deref()
                .and_then(|t| aloft_kernel::db::from_db_time(t).ok())
                .map(|t| t.format("%-d %b %Y, %H:%M UTC").to_string())
                .unwrap_or_else(|| "—".into());
            maud::html! {
                (kit::stats(&[
                    ("Open reviews", open.to_string(), Some("/identity/reviews")),
                    ("Oldest waiting since", oldest, None),
                ]))
                p { a href="/identity/reviews" { "Work the review queue" } }
            }
        }
        Err(_) => maud::html! { p role="status" { "The review queue cannot be read just now." } },
    };
    kit::panel("identity-reviews", "Identity review queue", body)
}
