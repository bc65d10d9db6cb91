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
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use std::sync::Arc;

use aloft_access::issuers::{ExternalIssuer, Fetch, HttpFetch, IssuerConfig};
use aloft_access::pages::SignInState;
use aloft_access::passengers::{CustomerDirectory, PassengerAccounts};
use aloft_access::routes::TokenEndpoint;
use aloft_access::sso::{Sso, SsoConfig};
use aloft_access::{AccessAuthenticator, AccountStore, InstanceKeys, KeySource, TokenIssuer};
use aloft_authz::{Access, Gate, Roles, RoutePolicy, authorize};
use aloft_broker::{NatsSettings, NatsSink};
use aloft_customers::CustomerStore;
use aloft_customers::storage::{Reader, RowScopes, ScopeSql};
use aloft_ingest::Pipeline;
use aloft_ingest::consumer::ConsumerSettings;
use aloft_kernel::http::{BODY_LIMIT, OpsState, observe, request_id, security_headers};
use aloft_kernel::keys::SharedKeys;
use aloft_kernel::{
    ApiError, Auditor, Database, DatabaseSettings, EventBus, NoBroker, OutboxRelay,
};
use aloft_module::Modules;
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
    /// Reverse proxies whose `X-Forwarded-For` names the client (rate limits, audit trail).
    pub trusted_proxies: aloft_kernel::http::TrustedProxies,
    /// Outgoing mail; `None` keeps every message for the development mail catcher.
    pub mail: Option<aloft_mail::MailConfig>,
    /// A second, plain-HTTP listener serving only `/metrics`, `/healthz` and `/readyz` without
    /// authentication (for Prometheus and orchestrators on an internal network). `/metrics` on
    /// the main listener needs a token holding `ops.metrics.read` either way.
    pub metrics_bind: Option<SocketAddr>,
}

impl AppConfig {
    /// An instance on a free loopback port with nothing configured beyond its storage: no
    /// broker, TLS, SSO, external issuers or mail server (what `aloft demo` and `aloft bench`
    /// run their work through).
    pub fn loopback(database: DatabaseSettings, keys: KeySource) -> Self {
        Self {
            database,
            bind: (std::net::Ipv4Addr::LOCALHOST, 0).into(),
            nats: None,
            shutdown_grace: Duration::from_secs(5),
            tls: None,
            keys,
            demo_accounts: false,
            external_issuers: Vec::new(),
            sso: None,
            sources: None,
            trusted_proxies: Default::default(),
            mail: None,
            metrics_bind: None,
        }
    }
}

/// The sender of outgoing mail when none is configured.
pub const DEFAULT_MAIL_FROM: &str = "Aloft <no-reply@aloft.invalid>";

/// The application assembled from its modules: what [`router`] returns.
pub struct Assembled {
    /// Every route, behind the gate and the middleware.
    pub router: Router,
    /// Every route's policy.
    pub policies: Vec<RoutePolicy>,
    /// Background job handlers by kind.
    pub jobs: std::collections::HashMap<&'static str, Arc<dyn aloft_kernel::jobs::JobHandler>>,
    /// Recurring work.
    pub schedules: Vec<aloft_kernel::jobs::Schedule>,
    /// Reactions to committed events.
    pub subscriptions: Vec<aloft_kernel::subscriptions::Subscription>,
    /// The modules' demo-data loaders, in module order.
    pub demo_data: Vec<(&'static str, Arc<dyn aloft_module::DemoData>)>,
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

/// Routes the binary itself serves: the OpenAPI document, the web shell and the operational
/// endpoints. Operational endpoints are open: orchestrators and Prometheus call them without
/// credentials, and they reveal no customer data.
const APP_POLICY: &[RoutePolicy] = &[
    RoutePolicy::new("GET", "/api/openapi.json", Access::Public),
    RoutePolicy::new("GET", "/api/v1/events", Access::Public),
    RoutePolicy::new(
        "GET",
        "/api/v1/events/{event_type}/{version}",
        Access::Public,
    ),
    RoutePolicy::new("GET", "/healthz", Access::Public),
    RoutePolicy::new("GET", "/readyz", Access::Public),
    // Public only on the separate `--metrics-bind` listener, which the gate does not guard.
    RoutePolicy::new(
        "GET",
        "/metrics",
        Access::Permission(crate::roles::OPS_METRICS_READ),
    ),
];

type ServerFuture = std::pin::Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>;

/// A built application, listening, ready to run.
pub struct Application {
    listener: TcpListener,
    /// The `--metrics-bind` listener, if any.
    metrics_listener: Option<TcpListener>,
    router: Router,
    policies: Vec<RoutePolicy>,
    db: Database,
    nats: Option<NatsSink>,
    bus: EventBus,
    /// Open dashboards' streams and their change notices (stopped first at shutdown).
    live: aloft_insights::live::LiveHub,
    audit_writer: aloft_kernel::audit::AuditWriter,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown_grace: Duration,
    tokens: TokenIssuer,
    accounts: AccountStore,
    demo_accounts: Vec<aloft_access::demo::DemoAccount>,
    customers: CustomerStore,
    key_watcher: tokio::task::JoinHandle<()>,
    pipeline: Pipeline,
    sources: Option<ConsumerSettings>,
    jobs: std::collections::HashMap<&'static str, Arc<dyn aloft_kernel::jobs::JobHandler>>,
    schedules: Vec<aloft_kernel::jobs::Schedule>,
    subscriptions: Vec<aloft_kernel::subscriptions::Subscription>,
    demo_data: Vec<(&'static str, Arc<dyn aloft_module::DemoData>)>,
}

impl Application {
    /// Connects the database, applies migrations, connects the broker (in the background) and
    /// binds the listener.
    pub async fn build(config: AppConfig) -> anyhow::Result<Self> {
        let db = Database::connect(&config.database)
            .await
            .context("cannot open the database")?;
        aloft_kernel::migrate::run(&db)
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
        let roles = crate::roles::catalogue();
        let tokens = TokenIssuer::new(&keys, roles.clone());
        let shared_keys = SharedKeys::new(keys.clone(), &config.keys);
        // A master-key rotation (`aloft keys rotate`) is adopted within seconds, no restart.
        let key_watcher = shared_keys.watch(Duration::from_secs(5));
        // The customers domain holds every customer's data key; travel encrypts with them.
        let key_holder = CustomerStore::new(db.clone(), shared_keys);
        let travel = TravelStore::new(db.clone(), Arc::new(key_holder.clone()));
        let accounts = AccountStore::new(db.clone(), keys.clone());
        let customers = key_holder.with_row_scopes(Arc::new(Scopes));
        let sealed = customers
            .seal_plaintext_rows()
            .await
            .context("cannot encrypt customer rows written before encryption at rest")?;
        let sealed_travel = travel
            .seal_plaintext_rows()
            .await
            .context("cannot encrypt travel records written before encryption at rest")?;
        let filled = travel
            .fill_flight_keys()
            .await
            .context("cannot fill in the flight keys of timeline entries")?;
        if filled > 0 {
            tracing::info!(
                entries = filled,
                "filled in flight keys of timeline entries"
            );
        }
        if sealed + sealed_travel > 0 {
            tracing::info!(
                customers = sealed,
                travel_records = sealed_travel,
                "encrypted rows written before encryption at rest"
            );
        }
        let demo_accounts = if config.demo_accounts {
            aloft_access::demo::ensure(&accounts, &roles).await?
        } else {
            vec![]
        };
        let (auditor, audit_writer) = Auditor::start(db.clone());
        let fetch: Arc<dyn Fetch> = Arc::new(HttpFetch::default());
        let external = config
            .external_issuers
            .iter()
            .map(|c| ExternalIssuer::new(c.clone(), fetch.clone(), roles.clone()))
            .collect();
        let mut sign_in = SignInState::new(accounts.clone(), roles.clone(), tls.is_some());
        if config.sso.is_some() {
            sign_in = sign_in.with_sso();
        }
        let sso = config
            .sso
            .map(|c| Sso::new(c, fetch.clone(), &keys, accounts.clone(), sign_in.clone()));
        let pipeline = Pipeline::new(db.clone(), customers.clone(), travel.clone());
        let mail = config
            .mail
            .unwrap_or_else(|| aloft_mail::MailConfig::new(None, DEFAULT_MAIL_FROM));
        let mailer = aloft_mail::Mailer::new(
            db.clone(),
            &mail,
            aloft_mail::Templates::new()
                .extend(aloft_access::passengers::mail_templates())
                .extend(aloft_cases::service::mail_templates())
                .extend(aloft_compensation::mail_templates()),
        )
        .context("the mail settings are not usable")?;
        let live = aloft_insights::live::LiveHub::new();
        let Assembled {
            router,
            policies,
            jobs,
            schedules,
            subscriptions,
            demo_data,
        } = router(
            db.clone(),
            auditor.clone(),
            tls.is_some(),
            (accounts.clone(), sign_in, sso),
            (tokens.clone(), external),
            (customers.clone(), pipeline.clone()),
            (mailer, live.clone()),
        );
        // Outermost, so every layer and handler sees the client behind a trusted proxy.
        let router = router.layer(middleware::from_fn_with_state(
            config.trusted_proxies.clone(),
            aloft_kernel::http::resolve_client,
        ));
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let metrics_listener = match config.metrics_bind {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (--metrics-bind)"))?,
            ),
            None => None,
        };
        Ok(Self {
            listener,
            metrics_listener,
            router,
            policies,
            db,
            nats,
            bus: EventBus::default(),
            live,
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
            jobs,
            schedules,
            subscriptions,
            demo_data,
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
    pub fn issue_token(&self, role: &str, subject: &str, ttl: chrono::Duration) -> String {
        self.tokens.issue(role, subject, ttl, None)
    }

    /// The issuer of this instance's bearer tokens (tests issue scoped tokens with it).
    pub fn token_issuer(&self) -> &TokenIssuer {
        &self.tokens
    }

    /// The role catalogue.
    pub fn roles(&self) -> &Roles {
        self.tokens.roles()
    }

    /// A passenger's token for `customer` (what passenger sign-in returns), for tests.
    pub fn issue_passenger_token(&self, customer: uuid::Uuid) -> String {
        self.tokens.issue_for_passenger(
            "test",
            customer,
            aloft_access::passengers::PASSENGER_TOKEN_TTL,
        )
    }

    /// Every route's declared policy (tests hold the router to them).
    pub fn policies(&self) -> &[RoutePolicy] {
        &self.policies
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

    /// The address the metrics listener actually bound, if [`AppConfig::metrics_bind`] asked
    /// for one.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The modules' demo-data loaders (run by `aloft serve --demo` and `aloft demo` after the
    /// demo population), by module name.
    pub fn demo_data(&self) -> &[(&'static str, Arc<dyn aloft_module::DemoData>)] {
        &self.demo_data
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
        // Background jobs (mail, and the domains' clocks and reminders): exactly once across
        // every process on the database.
        let jobs = {
            let mut runner = aloft_kernel::jobs::JobRunner::new(self.db.clone(), self.jobs);
            for schedule in self.schedules {
                runner = runner.with_schedule(schedule);
            }
            tokio::spawn(runner.run(stopped(stop_rx.clone())))
        };
        // Reactions to committed events (case rules, webhooks): each acted on once.
        let subscriptions = tokio::spawn(
            aloft_kernel::subscriptions::SubscriptionRunner::new(
                self.db.clone(),
                self.bus.clone(),
                self.subscriptions,
            )
            .run(stopped(stop_rx.clone())),
        );
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
        // The operational endpoints alone, unauthenticated, on the internal listener.
        let ops_server = self.metrics_listener.map(|listener| {
            let router = ops_router(self.db.clone());
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
                {
                    tracing::error!(error = %e, "the metrics listener failed");
                }
            })
        });
        let grace = self.shutdown_grace;
        let announce_stop = {
            let stop_tx = stop_tx.clone();
            let live = self.live.clone();
            async move {
                shutdown.await;
                // Open dashboard streams end now, so they do not hold the graceful shutdown.
                live.stop();
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
        if let Some(ops_server) = ops_server {
            let _ = ops_server.await;
        }
        if let Some(consumer) = consumer {
            let _ = consumer.await;
        }
        let _ = relay.await;
        let _ = jobs.await;
        let _ = subscriptions.await;
        drop(server);
        // Every request has finished: the audit writer flushes what is queued and ends.
        if !self.audit_writer.close(Duration::from_secs(10)).await {
            tracing::error!("audit writer did not finish flushing within 10 s");
        }
        self.db.close().await;
        Ok(())
    }
}

/// Every domain module of the application, over its stores: the one list the router, the
/// gate, the navigation and the OpenAPI document are derived from.
pub fn modules(
    db: Database,
    auditor: Auditor,
    (accounts, sign_in, sso): (AccountStore, SignInState, Option<Sso>),
    tokens: TokenIssuer,
    (customers, pipeline): (CustomerStore, Pipeline),
    mailer: aloft_mail::Mailer,
    live: aloft_insights::live::LiveHub,
) -> Modules {
    let (privacy_db, privacy_auditor) = (db.clone(), auditor.clone());
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
    let (compensation_db, compensation_travel, compensation_auditor, compensation_mail) = (
        db.clone(),
        pipeline.travel().clone(),
        auditor.clone(),
        mailer.clone(),
    );
    let webhooks = aloft_webhooks::Webhooks::new(db.clone(), accounts.instance_keys());
    let passengers = PassengerAccounts::new(
        db.clone(),
        tokens.clone(),
        Arc::new(Directory(customers.clone())),
        mailer.clone(),
    );
    Modules::new()
        // First only because the others take `db` and `auditor` by value.
        .with(
            aloft_insights::InsightsModule::new(
                db.clone(),
                Arc::new(customers.clone()),
                Some(auditor.clone()),
                aloft_insights::InsightsConfig::default(),
            )
            .refreshing_when_empty()
            .with_live(live),
        )
        .with(aloft_portal::PortalModule::new(
            passengers.clone().with_account_secrets(accounts.clone()),
            customers.clone().with_auditor(auditor.clone()),
            pipeline.travel().clone(),
            Some(auditor.clone()),
            sign_in.tls(),
        ))
        .with(aloft_departure::DepartureModule::new(
            aloft_departure::Departures::new(
                customers.clone(),
                pipeline.travel().clone(),
                accounts.clone(),
                Some(auditor.clone()),
                Arc::new(Scopes),
            ),
        ))
        .with(aloft_customers::CustomersModule::new(
            customers.clone().with_auditor(auditor),
        ))
        .with(aloft_travel::TravelModule::new(timeline))
        .with(
            aloft_analytics::AnalyticsModule::new(aloft_analytics::storage::SegmentStore::new(
                db.clone(),
            ))
            .with_customers(customers.clone().with_auditor(privacy_auditor.clone())),
        )
        .with(aloft_cases::CasesModule::new(
            aloft_cases::Cases::new(
                db.clone(),
                Some(mailer.clone()),
                Arc::new(aloft_cases::ProfileFacts(customers.clone())),
                aloft_cases::CasesConfig::default(),
            )
            .with_manifest(Arc::new(aloft_cases::TravelManifest(
                pipeline.travel().clone(),
            ))),
        ))
        .with(aloft_ingest::IngestModule::new(
            pipeline,
            sources,
            stewardship,
        ))
        .with(aloft_access::AccessModule {
            sign_in,
            tokens: TokenEndpoint::new(accounts, tokens),
            passengers,
            sso,
            db,
            audit_actions: audit_actions(),
        })
        .with(aloft_mail::MailModule::new(mailer))
        .with(aloft_webhooks::WebhooksModule::new(webhooks))
        .with(aloft_rights::RightsModule::new(
            aloft_rights::Rules::default_rules(),
        ))
        .with(aloft_privacy::PrivacyModule::new(
            aloft_privacy::ConsentStore::new(privacy_db, Some(privacy_auditor))
                .with_keys(Arc::new(customers.clone())),
        ))
        .with(
            aloft_churn::ChurnModule::new(aloft_churn::ChurnStore::new(compensation_db.clone()))
                .with_travel(compensation_travel.clone()),
        )
        .with(aloft_compensation::CompensationModule::new(
            aloft_compensation::Compensation::new(
                compensation_db,
                compensation_travel,
                customers.clone(),
                compensation_mail,
                aloft_rights::Rules::default_rules(),
                aloft_compensation::Settings::default(),
                Some(compensation_auditor),
            ),
        ))
}

/// Every action the application records in the audit trail: each domain's `events::audit`,
/// the gate's refusals and the key rotation. Like `roles::registered_permissions`, one line per
/// domain.
pub fn audit_actions() -> Vec<aloft_kernel::audit::AuditAction> {
    [
        aloft_customers::events::audit::ALL,
        aloft_travel::events::audit::ALL,
        aloft_ingest::events::audit::ALL,
        aloft_access::events::audit::ALL,
        aloft_departure::events::audit::ALL,
        aloft_cases::events::audit::ALL,
        aloft_cases::rules::AUDIT_ACTIONS,
        aloft_webhooks::service::audit::ALL,
        aloft_mail::editor::AUDIT_ACTIONS,
        aloft_lake::audit::ALL,
        aloft_insights::events::audit::ALL,
        aloft_privacy::events::audit::ALL,
        aloft_compensation::events::audit::ALL,
        aloft_analytics::events::audit::ALL,
        aloft_churn::events::audit::ALL,
        aloft_access::audit_pages::ACTIONS,
        &[
            aloft_authz::gate::ACCESS_DENIED,
            aloft_authz::gate::CSRF_REJECTED,
            aloft_kernel::keys::MASTER_ROTATED,
        ],
    ]
    .concat()
}

/// What the `--metrics-bind` listener serves: `/metrics`, `/healthz` and `/readyz`, without the
/// gate (it is meant for an internal network: Prometheus, orchestrators' probes), and a
/// problem+json 404 for anything else — no page, API or asset is reachable there.
fn ops_router(db: Database) -> Router {
    aloft_kernel::http::ops_routes(OpsState {
        db,
        metrics: aloft_kernel::telemetry::metrics_handle(),
    })
    .fallback(aloft_kernel::http::api_not_found)
    .layer(middleware::from_fn(observe))
    .layer(middleware::from_fn(security_headers))
    .layer(middleware::from_fn(request_id))
}

/// The navigation entry of the API reference (served by the shell).
const API_NAV: aloft_web::NavEntry = aloft_web::NavEntry {
    section: aloft_web::Section::new("api"),
    href: "/api/docs",
    label: "API reference",
    summary: "Every endpoint, its fields and its errors, with a console to try them.",
    access: Access::Public,
    order: 100,
};

/// Every route's policy: the modules', the shell's and the binary's own.
pub fn policies(modules: &Modules) -> Vec<RoutePolicy> {
    let mut all = modules.policies();
    all.extend_from_slice(APP_POLICY);
    all.extend_from_slice(aloft_web::POLICY);
    all
}

/// The complete HTTP surface: API, OpenAPI document, pages, assets, operational endpoints;
/// returned with every route's policy.
pub fn router(
    db: Database,
    auditor: Auditor,
    tls: bool,
    (accounts, sign_in, sso): (AccountStore, SignInState, Option<Sso>),
    (tokens, external): (TokenIssuer, Vec<ExternalIssuer>),
    (customers, pipeline): (CustomerStore, Pipeline),
    (mailer, live): (aloft_mail::Mailer, aloft_insights::live::LiveHub),
) -> Assembled {
    let authenticator = AccessAuthenticator::new(accounts.clone(), tokens.clone(), external, tls);
    let catalogue: std::collections::BTreeSet<_> = tokens
        .roles()
        .permissions()
        .iter()
        .map(|p| p.permission)
        .collect();
    let modules = modules(
        db.clone(),
        auditor.clone(),
        (accounts, sign_in, sso),
        tokens,
        (customers, pipeline),
        mailer,
        live,
    );
    let registered: std::collections::BTreeSet<_> = modules
        .permissions()
        .iter()
        .chain(crate::roles::APP_PERMISSIONS)
        .map(|p| p.permission)
        .collect();
    assert_eq!(
        registered, catalogue,
        "roles::registered_permissions() must list exactly the modules' permissions and the binary's own"
    );
    let policies = policies(&modules);
    let gate = Gate::new(&policies, authenticator, Some(auditor))
        .with_refusal_page(aloft_web::refusal_page);
    let mut navigation = modules.navigation();
    navigation.push(API_NAV);
    let workspace = aloft_web::Workspace::new(
        navigation,
        modules.home_panels(),
        modules.search_sources(),
        modules.record_views(),
    )
    .with_actor_names(modules.actor_names())
    .with_portal(modules.portal_entries(), modules.portal_panels())
    .with_timeline_sources(modules.timeline_sources());
    let mut doc = ApiDoc::openapi();
    doc.tags = Some(
        modules
            .api_tags()
            .into_iter()
            .map(|(name, description)| {
                utoipa::openapi::tag::TagBuilder::new()
                    .name(name)
                    .description(Some(description))
                    .build()
            })
            .collect(),
    );
    let (api, openapi) = OpenApiRouter::with_openapi(doc)
        .merge(modules.api_routes())
        .split_for_parts();
    let openapi_json = openapi
        .to_pretty_json()
        .expect("the OpenAPI document serialises");
    let ops = OpsState {
        db,
        metrics: aloft_kernel::telemetry::metrics_handle(),
    };
    let router = Router::new()
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
        .merge(modules.page_routes())
        .merge(event_schemas(modules.events()))
        .merge(aloft_web::routes())
        .merge(aloft_kernel::http::ops_routes(ops))
        .fallback(not_found)
        .layer(middleware::from_fn(
            aloft_kernel::http::provide_access_context,
        ))
        .layer(middleware::from_fn_with_state(gate, authorize))
        .layer(middleware::from_fn_with_state(
            workspace,
            aloft_web::provide_workspace,
        ))
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
        // A client's request id only if short and plain; else a fresh one (logs, audit trail).
        .layer(middleware::from_fn(request_id));
    Assembled {
        router,
        policies,
        jobs: modules.jobs(),
        schedules: modules.schedules(),
        subscriptions: modules.subscriptions(),
        demo_data: modules.demo_data(),
    }
}

/// The row scopes the customers domain cannot answer alone, as conditions of its queries:
/// check-in agents see passengers with a flight from their station departing from 6 hours ago to
/// 48 hours ahead (travel's timeline); cabin crew the passengers of the flights on their roster
/// while those are active (access's roster joined to travel's timeline).
struct Scopes;

impl RowScopes for Scopes {
    fn visible_ids(
        &self,
        grant: &aloft_authz::ScopeGrant,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<ScopeSql> {
        use aloft_customers::permissions::{ROSTER, STATION};
        match grant.kind {
            STATION => {
                let (sql, binds) = TravelStore::departing_passengers_sql(
                    &grant.value,
                    now - chrono::Duration::hours(6),
                    now + chrono::Duration::hours(48),
                );
                Some(ScopeSql { sql, binds })
            }
            ROSTER => {
                let (flights, binds) = AccountStore::active_roster_flights_sql(&grant.value, now);
                Some(ScopeSql {
                    sql: TravelStore::flight_passengers_sql(&flights),
                    binds,
                })
            }
            _ => None,
        }
    }
}

/// The customers domain's row scope, for the travel domain's timeline routes.
struct ScopeOf(CustomerStore);

impl Visibility for ScopeOf {
    fn visible<'a>(
        &'a self,
        principal: Option<&'a aloft_authz::Principal>,
        customer: aloft_travel::CustomerId,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<bool, aloft_kernel::StorageError>> + Send + 'a>>
    {
        Box::pin(async move { self.0.visible(Reader::request(principal), customer).await })
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
                        aloft_kernel::StorageError,
                    >,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            Ok(self.0.get(customer).await?.map(|c| {
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
            dyn Future<Output = Result<Option<uuid::Uuid>, aloft_kernel::StorageError>> + Send + 'a,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .find_by_loyalty_and_email(loyalty_number, email)
                .await?
                .map(|id| id.as_uuid()))
        })
    }

    fn email_index(&self, email: &str) -> Option<String> {
        self.0.email_blind_index(email)
    }
}

/// The published event types (`GET /api/v1/events`) and the JSON Schema of each type's `data`
/// (`GET /api/v1/events/{type}/v{version}`, the `dataschema` of every event). Events carry no
/// personal data, so neither do their schemas: public, like the OpenAPI document.
fn event_schemas(types: Vec<aloft_kernel::event_types::EventType>) -> Router {
    use aloft_kernel::event_types::schema_url;
    let types = Arc::new(types);
    let list = {
        let types = types.clone();
        move || async move {
            let items: Vec<serde_json::Value> = types
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "type": t.event_type,
                        "version": t.version,
                        "description": t.description,
                        "dataschema": schema_url(t.event_type, t.version),
                    })
                })
                .collect();
            axum::Json(serde_json::json!({ "items": items }))
        }
    };
    let one =
        move |axum::extract::Path((event_type, version)): axum::extract::Path<(String, String)>| {
            let types = types.clone();
            async move {
                let version = version
                    .strip_prefix('v')
                    .and_then(|v| v.parse::<u32>().ok());
                match types
                    .iter()
                    .find(|t| t.event_type == event_type && Some(t.version) == version)
                {
                    Some(t) => (
                        [(http::header::CONTENT_TYPE, "application/schema+json")],
                        axum::Json(t.json_schema()),
                    )
                        .into_response(),
                    None => ApiError::NotFound("event type").into_response(),
                }
            }
        };
    Router::new()
        .route("/api/v1/events", get(list))
        .route("/api/v1/events/{event_type}/{version}", get(one))
}

/// Unknown paths: problem+json under `/api`, a page elsewhere.
async fn not_found(uri: Uri) -> Response {
    if uri.path().starts_with("/api/") {
        aloft_kernel::http::api_not_found().await
    } else {
        aloft_web::page_not_found().await
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
