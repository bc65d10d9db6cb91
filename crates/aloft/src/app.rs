//! Wiring: builds the whole application from its configuration. `main.rs` only parses flags and
//! calls this; tests call it too, on port 0 with a fresh database (zero2prod's `spawn_app`).

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::Uri;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use std::sync::Arc;

use aloft_access::issuers::{ExternalIssuer, Fetch, HttpFetch, IssuerConfig};
use aloft_access::pages::SignInState;
use aloft_access::passengers::{CustomerDirectory, PassengerAccounts};
use aloft_access::routes::TokenEndpoint;
use aloft_access::sso::{Sso, SsoConfig};
use aloft_access::{AccessAuthenticator, AccountStore, InstanceKeys, KeySource, TokenIssuer};
use aloft_broker::{NatsSettings, NatsSink};
use aloft_customers::CustomerStore;
use aloft_customers::storage::StationDepartures;
use aloft_ingest::Pipeline;
use aloft_ingest::consumer::ConsumerSettings;
use aloft_platform::access::{Access, Gate, Role, RoutePolicy, authorize};
use aloft_platform::http::{BODY_LIMIT, OpsState, observe, security_headers};
use aloft_platform::keys::SharedKeys;
use aloft_platform::{
    ApiError, Auditor, Database, DatabaseSettings, EventBus, NoBroker, OutboxRelay,
};
use aloft_travel::TravelStore;
use aloft_travel::routes::{StatedPreferences, TimelineState, Visibility};

/// Everything needed to run Aloft.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The database.
    pub database: DatabaseSettings,
    /// Where to listen.
    pub bind: SocketAddr,
    /// The broker; `None` dispatches events in-process only.
    pub nats: Option<NatsSettings>,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// Serve HTTPS with these files (plain HTTP when `None`).
    pub tls: Option<crate::tls::TlsFiles>,
    /// Where the instance's master and index keys come from.
    pub keys: KeySource,
    /// Create one demo staff account per role (when there are no accounts yet).
    pub demo_accounts: bool,
    /// External OAuth/OIDC issuers whose bearer tokens are accepted.
    pub external_issuers: Vec<IssuerConfig>,
    /// Workforce single sign-on (OpenID Connect), if configured.
    pub sso: Option<SsoConfig>,
    /// Consume source-system events from this JetStream stream (with `nats`).
    pub sources: Option<ConsumerSettings>,
}

/// The OpenAPI document's root: title, version, tags. Paths are collected from the routers.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Aloft API",
        description = "Customer management for airlines. Errors are RFC 9457 problem details \
                       (`application/problem+json`) naming each invalid field.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    tags(
        (name = "customers", description = "Passenger profiles: identity, contact, loyalty, travel documents, preferences"),
        (name = "access", description = "Tokens for integration clients (OAuth 2.0 client credentials)"),
        (name = "passengers", description = "Passenger self-service: registration, sign-in, one's own profile"),
        (name = "ingest", description = "Source-system records (bookings, bags, purchases, interactions…) as CloudEvents, linked to customer profiles"),
        (name = "identity", description = "Data stewardship: uncertain matches to review, merge and unmerge of golden profiles, lineage")
    ),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

/// Declares the bearer-token scheme every API operation needs.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from `aloft token issue --role ROLE` or the client-credentials \
                         token endpoint. Its role (and optional scopes) decide what it may do.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Routes the binary itself serves.
const APP_POLICY: &[RoutePolicy] = &[RoutePolicy::new("GET", "/api/openapi.json", Access::Public)];

type ServerFuture = std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// A built application, listening, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    db: Database,
    nats: Option<NatsSink>,
    bus: EventBus,
    audit_writer: tokio::task::JoinHandle<()>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown_grace: Duration,
    tokens: TokenIssuer,
    accounts: AccountStore,
    demo_accounts: Vec<aloft_access::demo::DemoAccount>,
    customers: CustomerStore,
    key_watcher: tokio::task::JoinHandle<()>,
    pipeline: Pipeline,
    sources: Option<ConsumerSettings>,
}

impl Application {
    /// Connects the database, applies migrations, connects the broker (in the background) and
    /// binds the listener.
    pub async fn build(config: AppConfig) -> anyhow::Result<Self> {
        let db = Database::connect(&config.database)
            .await
            .context("cannot open the database")?;
        aloft_platform::migrate::run(&db)
            .await
            .context("cannot migrate the database")?;
        let nats = match config.nats {
            Some(settings) => Some(NatsSink::connect(settings).await?),
            None => None,
        };
        // Load TLS material before anything else listens: a bad certificate stops start-up.
        let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        let keys = Arc::new(
            InstanceKeys::load(&db, &config.keys)
                .await
                .context("cannot load the instance keys")?,
        );
        let tokens = TokenIssuer::new(&keys);
        let shared_keys = SharedKeys::new(keys.clone(), &config.keys);
        // A master-key rotation (`aloft keys rotate`) is adopted within seconds, no restart.
        let key_watcher = shared_keys.watch(Duration::from_secs(5));
        // The customers domain holds every customer's data key; travel encrypts with them.
        let key_holder = CustomerStore::new(db.clone(), shared_keys);
        let travel = TravelStore::new(db.clone(), Arc::new(key_holder.clone()));
        let accounts = AccountStore::new(db.clone(), keys.clone());
        let customers = key_holder
            .with_station_departures(Arc::new(Departures(travel.clone())))
            .with_roster_flights(Arc::new(Crew {
                accounts: accounts.clone(),
                travel: travel.clone(),
            }));
        let sealed = customers
            .seal_plaintext_rows()
            .await
            .context("cannot encrypt customer rows written before encryption at rest")?;
        let sealed_travel = travel
            .seal_plaintext_rows()
            .await
            .context("cannot encrypt travel records written before encryption at rest")?;
        if sealed + sealed_travel > 0 {
            tracing::info!(
                customers = sealed,
                travel_records = sealed_travel,
                "encrypted rows written before encryption at rest"
            );
        }
        let demo_accounts = if config.demo_accounts {
            aloft_access::demo::ensure(&accounts).await?
        } else {
            vec![]
        };
        let (auditor, audit_writer) = Auditor::start(db.clone());
        let fetch: Arc<dyn Fetch> = Arc::new(HttpFetch::default());
        let external = config
            .external_issuers
            .iter()
            .map(|c| ExternalIssuer::new(c.clone(), fetch.clone()))
            .collect();
        let mut sign_in = SignInState::new(accounts.clone(), tls.is_some());
        if config.sso.is_some() {
            sign_in = sign_in.with_sso();
        }
        let sso = config
            .sso
            .map(|c| Sso::new(c, fetch.clone(), &keys, accounts.clone(), sign_in.clone()));
        let pipeline = Pipeline::new(db.clone(), customers.clone(), travel.clone());
        let router = router(
            db.clone(),
            auditor.clone(),
            tls.is_some(),
            (accounts.clone(), sign_in, sso),
            (tokens.clone(), external),
            (customers.clone(), pipeline.clone()),
        );
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        Ok(Self {
            listener,
            router,
            db,
            nats,
            bus: EventBus::default(),
            audit_writer,
            tls,
            shutdown_grace: config.shutdown_grace,
            tokens,
            accounts,
            demo_accounts,
            customers,
            key_watcher,
            pipeline,
            sources: config.sources,
        })
    }

    /// Travel records and timelines.
    pub fn travel(&self) -> &TravelStore {
        self.pipeline.travel()
    }

    /// The ingestion pipeline (what `aloft import`, the batch API and the consumer use).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// A bearer token for `role` (what `aloft token issue` prints), for tests and tools.
    pub fn issue_token(&self, role: Role, subject: &str, ttl: chrono::Duration) -> String {
        self.tokens.issue(role, subject, ttl, None)
    }

    /// A passenger's token for `customer` (what passenger sign-in returns), for tests.
    pub fn issue_passenger_token(&self, customer: uuid::Uuid) -> String {
        self.tokens.issue_for_passenger(
            "test",
            customer,
            aloft_access::passengers::PASSENGER_TOKEN_TTL,
        )
    }

    /// The complete router (tests enumerate its routes).
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The customer profiles (without read auditing: for loaders and tools).
    pub fn customers(&self) -> &CustomerStore {
        &self.customers
    }

    /// The staff accounts.
    pub fn accounts(&self) -> &AccountStore {
        &self.accounts
    }

    /// The demo accounts created or found at start (empty without `--demo`).
    pub fn demo_accounts(&self) -> &[aloft_access::demo::DemoAccount] {
        &self.demo_accounts
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The database handle.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Local subscribers' view of published events.
    pub fn event_bus(&self) -> &EventBus {
        &self.bus
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
    /// (up to the grace period) and stops the outbox relay.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let relay = match self.nats {
            Some(sink) => tokio::spawn(
                OutboxRelay::new(self.db.clone(), sink, self.bus.clone())
                    .run(stopped(stop_rx.clone())),
            ),
            None => tokio::spawn(
                OutboxRelay::new(self.db.clone(), NoBroker, self.bus.clone())
                    .run(stopped(stop_rx.clone())),
            ),
        };
        let consumer = self.sources.map(|settings| {
            let pipeline = self.pipeline.clone();
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                // Seed identity resolution before the first event, not inside its latency.
                if let Err(e) = pipeline.warm().await {
                    tracing::warn!(error = %e, "identity linker not seeded yet; the first batch will");
                }
                aloft_ingest::consumer::run_consumer(settings, pipeline, stop).await;
            })
        });
        let grace = self.shutdown_grace;
        let announce_stop = {
            let stop_tx = stop_tx.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: finishing in-flight requests");
                let _ = stop_tx.send(true);
            }
        };
        // Boxed so it can be dropped explicitly below, releasing the router it owns.
        let mut server: ServerFuture = match self.tls {
            Some(acceptor) => Box::pin(async move {
                crate::tls::serve(self.listener, acceptor, self.router, announce_stop).await;
                Ok(())
            }),
            None => {
                let service = self
                    .router
                    .into_make_service_with_connect_info::<SocketAddr>();
                Box::pin(
                    axum::serve(self.listener, service)
                        .with_graceful_shutdown(announce_stop)
                        .into_future(),
                )
            }
        };
        let mut rx = stop_rx.clone();
        tokio::select! {
            r = &mut server => r?,
            _ = async {
                let _ = rx.wait_for(|s| *s).await;
                tokio::time::sleep(grace).await;
            } => tracing::warn!("grace period over; dropping unfinished requests"),
        }
        let _ = stop_tx.send(true);
        self.key_watcher.abort();
        if let Some(consumer) = consumer {
            let _ = consumer.await;
        }
        let _ = relay.await;
        drop(server);
        // The router (and with it every queue handle) is gone: the audit writer flushes and ends.
        if tokio::time::timeout(Duration::from_secs(10), self.audit_writer)
            .await
            .is_err()
        {
            tracing::error!("audit writer did not finish flushing within 10 s");
        }
        self.db.close().await;
        Ok(())
    }
}

/// The complete HTTP surface: API, OpenAPI document, pages, assets, operational endpoints.
pub fn router(
    db: Database,
    auditor: Auditor,
    tls: bool,
    (accounts, sign_in, sso): (AccountStore, SignInState, Option<Sso>),
    (tokens, external): (TokenIssuer, Vec<ExternalIssuer>),
    (customers, pipeline): (CustomerStore, Pipeline),
) -> Router {
    let gate = Gate::new(
        &policy_tables(sso.is_some()),
        AccessAuthenticator::new(accounts.clone(), tokens.clone(), external, tls),
        Some(auditor.clone()),
    );
    let timeline = TimelineState::new(pipeline.travel().clone(), Some(auditor.clone()))
        .with_visibility(Arc::new(ScopeOf(customers.clone())))
        .with_stated_preferences(Arc::new(ScopeOf(customers.clone())));
    let sources = aloft_ingest::sources::SourcesState::new(
        db.clone(),
        customers.clone(),
        Some(auditor.clone()),
    );
    let stewardship =
        aloft_ingest::stewardship::StewardshipState::new(pipeline.clone(), Some(auditor.clone()));
    let store = customers.clone().with_auditor(auditor);
    let (api, openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(aloft_customers::routes::api_routes(store.clone()))
        .merge(aloft_travel::routes::api_routes(timeline.clone()))
        .merge(aloft_ingest::api::api_routes(pipeline))
        .merge(aloft_ingest::sources::api_routes(sources.clone()))
        .merge(aloft_ingest::stewardship::api_routes(stewardship.clone()))
        .merge(aloft_access::routes::api_routes(TokenEndpoint::new(
            accounts.clone(),
            tokens.clone(),
        )))
        .merge(
            PassengerAccounts::new(
                db.clone(),
                tokens.clone(),
                Arc::new(Directory(customers.clone())),
            )
            .api_routes(),
        )
        .split_for_parts();
    let openapi_json = openapi
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    let ops = OpsState {
        db,
        metrics: aloft_platform::telemetry::metrics_handle(),
    };
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            get(move || async move {
                (
                    [(http::header::CONTENT_TYPE, "application/json")],
                    openapi_json,
                )
            }),
        )
        .merge(aloft_customers::pages::routes(store))
        .merge(aloft_travel::routes::page_routes(timeline))
        .merge(aloft_ingest::sources::page_routes(sources))
        .merge(aloft_ingest::stewardship::page_routes(stewardship))
        .merge(aloft_platform::web::routes())
        .merge(aloft_platform::audit_pages::routes(ops.db.clone()))
        .merge(aloft_platform::http::ops_routes(ops))
        .merge(aloft_access::pages::routes(sign_in))
        .merge(sso.map(Sso::routes).unwrap_or_default())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(gate, authorize))
        .layer(middleware::from_fn(observe))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal("handler panicked".into()).into_response()
        }))
        .layer(tower::util::option_layer(tls.then(|| {
            // Browsers remember to use HTTPS only; sent only when this server speaks TLS.
            tower_http::set_header::SetResponseHeaderLayer::if_not_present(
                http::header::STRICT_TRANSPORT_SECURITY,
                http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            )
        })))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}

/// Check-in agents' row scope, answered from travel history: passengers with a flight from the
/// agent's station departing from 6 hours ago to 48 hours ahead.
struct Departures(TravelStore);

/// Cabin crew's row scope: their roster (access) against the passengers' segments (travel).
struct Crew {
    accounts: AccountStore,
    travel: TravelStore,
}

impl aloft_customers::storage::RosterFlights for Crew {
    fn on_rostered_flight<'a>(
        &'a self,
        crew: &'a str,
        customer: aloft_customers::CustomerId,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<bool, aloft_platform::StorageError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let Some(id) = aloft_travel::CustomerId::parse(&customer.to_string()) else {
                return Ok(false);
            };
            let now = chrono::Utc::now();
            let flights: Vec<(String, chrono::NaiveDate)> = self
                .accounts
                .roster(crew)
                .await?
                .into_iter()
                .filter(|f| f.active(now))
                .map(|f| (f.flight_number, f.departure_date))
                .collect();
            self.travel.flies_on(id, &flights).await
        })
    }
}

impl StationDepartures for Departures {
    fn departs_soon<'a>(
        &'a self,
        customer: aloft_customers::CustomerId,
        station: &'a str,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<bool, aloft_platform::StorageError>> + Send + 'a>,
    > {
        Box::pin(async move {
            let Some(id) = aloft_travel::CustomerId::parse(&customer.to_string()) else {
                return Ok(false);
            };
            let now = chrono::Utc::now();
            self.0
                .departs_from(
                    id,
                    station,
                    now - chrono::Duration::hours(6),
                    now + chrono::Duration::hours(48),
                )
                .await
        })
    }
}

/// The customers domain's row scope, for the travel domain's timeline routes.
struct ScopeOf(CustomerStore);

impl Visibility for ScopeOf {
    fn visible<'a>(
        &'a self,
        principal: Option<&'a aloft_platform::access::Principal>,
        customer: aloft_travel::CustomerId,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = Result<bool, aloft_platform::StorageError>> + Send + 'a>,
    > {
        Box::pin(async move {
            match aloft_customers::CustomerId::parse(&customer.to_string()) {
                Some(id) => self.0.visible(principal, id).await,
                None => Ok(false),
            }
        })
    }
}

impl StatedPreferences for ScopeOf {
    fn stated<'a>(
        &'a self,
        customer: aloft_travel::CustomerId,
    ) -> std::pin::Pin<
        Box<
            dyn Future<
                    Output = Result<
                        Option<(Option<String>, Option<String>)>,
                        aloft_platform::StorageError,
                    >,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let Some(id) = aloft_customers::CustomerId::parse(&customer.to_string()) else {
                return Ok(None);
            };
            Ok(self.0.get(id).await?.map(|c| {
                let prefs = c.profile.preferences;
                (
                    prefs.seat.map(|s| s.as_str().to_owned()),
                    prefs.meal.map(|m| m.as_str().to_owned()),
                )
            }))
        })
    }
}

/// The customers domain as passenger self-registration sees it.
struct Directory(CustomerStore);

impl CustomerDirectory for Directory {
    fn find_for_registration<'a>(
        &'a self,
        loyalty_number: &'a str,
        email: &'a str,
    ) -> std::pin::Pin<
        Box<
            dyn Future<Output = Result<Option<uuid::Uuid>, aloft_platform::StorageError>>
                + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .find_by_loyalty_and_email(loyalty_number, email)
                .await?
                .and_then(|id| uuid::Uuid::parse_str(&id.to_string()).ok()))
        })
    }

    fn email_index(&self, email: &str) -> Option<String> {
        self.0.email_blind_index(email)
    }
}

/// Every domain's route policy table; the gate refuses any route not in one of them.
pub fn policy_tables(sso: bool) -> Vec<&'static [RoutePolicy]> {
    let mut tables = vec![
        APP_POLICY,
        aloft_platform::web::POLICY,
        aloft_platform::http::OPS_POLICY,
        aloft_platform::audit_pages::POLICY,
        aloft_customers::routes::POLICY,
        aloft_customers::pages::POLICY,
        aloft_access::pages::POLICY,
        aloft_access::routes::POLICY,
        aloft_access::passengers::POLICY,
        aloft_travel::routes::POLICY,
        aloft_ingest::api::POLICY,
        aloft_ingest::sources::POLICY,
        aloft_ingest::stewardship::POLICY,
    ];
    if sso {
        tables.push(aloft_access::sso::POLICY);
    }
    tables
}

/// Unknown paths: problem+json under `/api`, a page elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        aloft_platform::http::api_not_found().await
    } else {
        aloft_platform::web::page_not_found().await
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
