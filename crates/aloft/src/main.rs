//! The `aloft` command: parses flags and environment, then hands over to [`app`] (serve),
//! the migrator, the demo loader or the benchmark. Nothing else lives here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use aloft::app::{AppConfig, Application, shutdown_signal};
use aloft::bench::{self, BenchArgs};
use aloft_access::KeySource;
use aloft_access::issuers::IssuerConfig;
use aloft_access::sso::SsoConfig;
use aloft_broker::NatsSettings;
use aloft_customers::CustomerStore;
use aloft_ingest::consumer::ConsumerSettings;
use aloft_kernel::telemetry::{LogFormat, init_telemetry};
use aloft_kernel::{Database, DatabaseSettings, SqliteDurability};

/// mimalloc instead of glibc's allocator: the bulk import allocates and frees many small
/// strings and JSON values on several threads, and glibc's `malloc`/`free` (with its arena
/// consolidation) was 30 % of the import's CPU time (`BENCHMARKS.md`, ingestion).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Aloft — customer management for airlines: one trustworthy view of every passenger.
#[derive(Debug, Parser)]
#[command(name = "aloft", version, about, long_about = None)]
struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, env = "ALOFT_LOG_FORMAT", value_enum, default_value_t = LogFormatArg::Json)]
    log_format: LogFormatArg,

    /// OpenTelemetry collector to export traces to over OTLP/HTTP (JSON), e.g.
    /// http://127.0.0.1:4318 (spans are POSTed to `<URL>/v1/traces`). Without it nothing is
    /// exported; log lines carry trace ids either way.
    #[arg(long, global = true, env = "ALOFT_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web application and API (applies pending migrations first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations, then exit.
    Migrate(StorageArgs),
    /// Fill the database with a deterministic synthetic passenger population.
    Demo(DemoArgs),
    /// Load-test profile read, search and update; prints p50/p99 and throughput.
    Bench(BenchArgs),
    /// Measure bulk import with identity resolution, and streaming latency through JetStream.
    BenchIngest(aloft::bench_ingest::BenchIngestArgs),
    /// Check or export the hash-chained audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Bearer tokens for scripts and operators on this host.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Identity resolution over a CSV file: writes `record_id,cluster_id` for every row.
    Resolve(ResolveCliArgs),
    /// Import a source system's export (NDJSON CloudEvents or a booking CSV) into customer
    /// timelines, resolving every record to a customer profile. Re-running is idempotent;
    /// rejected lines go to a reject file with their reasons.
    Import(ImportCliArgs),
    /// Manage the instance keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Rotate the master key without downtime: a new master key becomes current in the key
    /// file (the old one is kept to read what is not yet re-wrapped), every customer's data key
    /// is re-wrapped under it, and running servers adopt it within seconds.
    Rotate(StorageArgs),
}

#[derive(Debug, Args)]
struct ResolveCliArgs {
    /// Input CSV with a header row. Columns are recognised by name (record_id/rec_id,
    /// given_name, surname, full_name/pnr_name, date_of_birth/dob, email, phone,
    /// loyalty_number, passport_number, nationality, address_1, address_2, street_number,
    /// suburb/city, postcode, state, country); others are named in a warning.
    input: PathBuf,
    /// Where to write `record_id,cluster_id`.
    #[arg(long)]
    output: PathBuf,
    /// Map a column to a role, e.g. `--map cust_no=loyalty_number` or `--map ssn=ignore` (repeatable).
    #[arg(long = "map", value_name = "COLUMN=ROLE")]
    maps: Vec<String>,
    /// Link records of different sources only (needs a `source` column).
    #[arg(long)]
    link_only: bool,
    /// When different dates of birth forbid a merge: `verified` (both from a travel document),
    /// `always`, or `never` (they only weigh against it).
    #[arg(long, value_enum, default_value_t = DobVetoArg::Verified)]
    dob_veto: DobVetoArg,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DobVetoArg {
    /// Only dates read from travel documents veto.
    Verified,
    /// Any clearly different dates veto.
    Always,
    /// Dates only weigh.
    Never,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a signed bearer token (needs this instance's keys).
    Issue {
        #[command(flatten)]
        storage: StorageArgs,
        /// The role the token acts in, e.g. contact_centre_agent.
        #[arg(long, value_parser = parse_role)]
        role: &'static str,
        /// Who or what the token is for (appears in the audit trail).
        #[arg(long, default_value = "operator")]
        subject: String,
        /// Lifetime: 90s, 15m, 1h, 7d (at most 30d).
        #[arg(long, default_value = "1h", value_parser = parse_ttl)]
        ttl: chrono::Duration,
        /// Narrow the role to these permissions (repeatable), e.g. customer.read.
        #[arg(long = "scope", value_parser = parse_permission)]
        scopes: Vec<aloft_authz::Permission>,
        /// The station (IATA code) of a role limited to a station's passengers (check-in
        /// agents); without it, such a token sees no passenger.
        #[arg(long)]
        station: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<&'static str, String> {
    let roles = aloft::roles::catalogue();
    roles.get(s).map(|r| r.id).ok_or_else(|| {
        let all: Vec<&str> = roles.all().iter().map(|r| r.id).collect();
        format!("unknown role; one of: {}", all.join(", "))
    })
}

fn parse_permission(s: &str) -> Result<aloft_authz::Permission, String> {
    let roles = aloft::roles::catalogue();
    roles.permission(s).ok_or_else(|| {
        let all: Vec<&str> = roles
            .permissions()
            .iter()
            .map(|p| p.permission.as_str())
            .collect();
        format!("unknown permission; one of: {}", all.join(", "))
    })
}

fn parse_ttl(s: &str) -> Result<chrono::Duration, String> {
    aloft_access::tokens::parse_ttl(s)
        .ok_or_else(|| "expected e.g. 90s, 15m, 1h or 7d (at most 30d)".into())
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the whole chain; names the first broken link and exits 1 if there is one.
    Verify(StorageArgs),
    /// Write every audit record as JSON lines (for a SIEM), oldest first.
    Export {
        #[command(flatten)]
        storage: StorageArgs,
        /// File to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
struct StorageArgs {
    /// Database URL: `postgres://user@host/db` for PostgreSQL, or `sqlite://PATH`. Default: an
    /// embedded SQLite file in --data-dir.
    #[arg(long, env = "ALOFT_DATABASE_URL")]
    database_url: Option<String>,

    /// Directory of the embedded SQLite database (used when --database-url is not given).
    #[arg(long, env = "ALOFT_DATA_DIR", default_value = "aloft-data")]
    data_dir: PathBuf,

    /// Maximum pooled database connections.
    #[arg(long, env = "ALOFT_DB_MAX_CONNECTIONS", default_value_t = 16)]
    db_max_connections: u32,

    /// SQLite only. `normal`: a commit survives any crash of Aloft; `full`: it also survives the
    /// machine losing power, at one disk flush per write.
    #[arg(long, env = "ALOFT_SQLITE_DURABILITY", value_enum, default_value_t = Durability::Normal)]
    sqlite_durability: Durability,

    /// File holding the instance's master and index keys (created on first start; keep it
    /// secret and backed up apart from the database). Default: aloft.keys in --data-dir.
    #[arg(long, env = "ALOFT_KEY_FILE")]
    key_file: Option<PathBuf>,

    /// The master key itself (64 hex digits or base64), instead of a key file; needs
    /// ALOFT_INDEX_KEY too.
    #[arg(
        long,
        env = "ALOFT_MASTER_KEY",
        hide_env_values = true,
        requires = "index_key",
        hide = true
    )]
    master_key: Option<String>,

    /// The index key itself, instead of a key file; needs ALOFT_MASTER_KEY too.
    #[arg(
        long,
        env = "ALOFT_INDEX_KEY",
        hide_env_values = true,
        requires = "master_key",
        hide = true
    )]
    index_key: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Durability {
    /// Survives process crashes (WAL, synchronous=NORMAL).
    Normal,
    /// Survives power loss too (WAL, synchronous=FULL).
    Full,
}

impl StorageArgs {
    fn key_source(&self) -> KeySource {
        match (&self.master_key, &self.index_key) {
            (Some(m), Some(i)) => KeySource::Values {
                master: zeroize::Zeroizing::new(m.clone()),
                index: zeroize::Zeroizing::new(i.clone()),
            },
            _ => KeySource::File(
                self.key_file
                    .clone()
                    .unwrap_or_else(|| self.data_dir.join("aloft.keys")),
            ),
        }
    }

    fn settings(&self) -> DatabaseSettings {
        let mut s = match &self.database_url {
            Some(url) => DatabaseSettings::new(url.clone()),
            None => DatabaseSettings::sqlite_in(&self.data_dir),
        };
        s.max_connections = self.db_max_connections;
        s.sqlite_durability = match self.sqlite_durability {
            Durability::Normal => SqliteDurability::Normal,
            Durability::Full => SqliteDurability::Full,
        };
        s
    }
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    storage: StorageArgs,

    /// Address and port to listen on.
    #[arg(long, env = "ALOFT_BIND", default_value = "127.0.0.1:8080")]
    bind: SocketAddr,

    /// NATS server for publishing events to JetStream, e.g. nats://127.0.0.1:4222. Without it,
    /// events are dispatched in-process only (they are always kept in the outbox first).
    #[arg(long, env = "ALOFT_NATS_URL")]
    nats_url: Option<String>,

    /// PEM file of the CA that signs the NATS server's certificate; TLS is then required
    /// (use a `tls://` URL). Without it, a `tls://` URL is checked against the web PKI roots.
    #[arg(long, env = "ALOFT_NATS_CA")]
    nats_ca: Option<PathBuf>,

    /// PEM client certificate for mutual TLS with NATS (with --nats-client-key).
    #[arg(long, env = "ALOFT_NATS_CLIENT_CERT", requires = "nats_client_key")]
    nats_client_cert: Option<PathBuf>,

    /// PEM private key of --nats-client-cert.
    #[arg(long, env = "ALOFT_NATS_CLIENT_KEY", requires = "nats_client_cert")]
    nats_client_key: Option<PathBuf>,

    /// JetStream stream that receives Aloft's events (created if missing).
    #[arg(long, env = "ALOFT_NATS_STREAM", default_value = "ALOFT")]
    nats_stream: String,

    /// Subject prefix of published events (`<prefix>.customer.created`, …).
    #[arg(long, env = "ALOFT_NATS_SUBJECT_PREFIX", default_value = "aloft")]
    nats_subject_prefix: String,

    /// JetStream stream of source-system events Aloft consumes (with --nats-url; created if
    /// missing). Unprocessable events go to `dead_letter.sources`.
    #[arg(long, env = "ALOFT_SOURCE_STREAM", default_value = "ALOFT_SOURCES")]
    source_stream: String,

    /// Subject prefix of source-system events (`<prefix>.booking.pnr`, …).
    #[arg(long, env = "ALOFT_SOURCE_SUBJECT_PREFIX", default_value = "sources")]
    source_subject_prefix: String,

    /// Load demo data on start when the database has no customers yet.
    #[arg(long, env = "ALOFT_DEMO")]
    demo: bool,

    /// How many demo customers --demo creates.
    #[arg(long, env = "ALOFT_DEMO_CUSTOMERS", default_value_t = 10_000)]
    demo_customers: u64,

    /// Serve HTTPS: PEM certificate chain (requires --tls-key). HSTS is sent when TLS is on.
    #[arg(long, env = "ALOFT_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// Serve HTTPS: PEM private key (requires --tls-cert).
    #[arg(long, env = "ALOFT_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Accept bearer tokens from this external OAuth/OIDC issuer (its `iss`), e.g. an Okta or
    /// Entra ID tenant; needs --jwt-audience and --jwt-jwks-url.
    #[arg(long, env = "ALOFT_JWT_ISSUER", requires_all = ["jwt_audience", "jwt_jwks_url"])]
    jwt_issuer: Option<String>,

    /// The `aud` external tokens must carry (this API's identifier at the issuer).
    #[arg(long, env = "ALOFT_JWT_AUDIENCE")]
    jwt_audience: Option<String>,

    /// Where the external issuer publishes its signing keys (JWKS).
    #[arg(long, env = "ALOFT_JWT_JWKS_URL")]
    jwt_jwks_url: Option<String>,

    /// The claim of external tokens that holds role names.
    #[arg(long, env = "ALOFT_JWT_ROLE_CLAIM", default_value = "roles")]
    jwt_role_claim: String,

    /// Issuer role names to Aloft roles: `CRM.Agent=contact_centre_agent,…` (Aloft role ids
    /// are accepted as themselves).
    #[arg(long, env = "ALOFT_JWT_ROLE_MAP", default_value = "")]
    jwt_role_map: String,

    /// Workforce SSO: the OpenID Connect provider's issuer URL (Entra ID, Okta, Keycloak…);
    /// needs --oidc-client-id, --oidc-client-secret and --oidc-redirect-url.
    #[arg(long, env = "ALOFT_OIDC_ISSUER", requires_all = ["oidc_client_id", "oidc_client_secret", "oidc_redirect_url"])]
    oidc_issuer: Option<String>,

    /// Aloft's client id at the provider.
    #[arg(long, env = "ALOFT_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,

    /// Aloft's client secret at the provider.
    #[arg(long, env = "ALOFT_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,

    /// Where the provider sends the browser back: https://<aloft host>/sign-in/sso/callback.
    #[arg(long, env = "ALOFT_OIDC_REDIRECT_URL")]
    oidc_redirect_url: Option<String>,

    /// The ID-token claim holding role names.
    #[arg(long, env = "ALOFT_OIDC_ROLE_CLAIM", default_value = "roles")]
    oidc_role_claim: String,

    /// Provider role names to Aloft roles: `CRM.Agent=contact_centre_agent,…`.
    #[arg(long, env = "ALOFT_OIDC_ROLE_MAP", default_value = "")]
    oidc_role_map: String,

    /// Accept SSO sign-ins for which the provider reports no second factor (`amr`). Off by
    /// default: MFA is mandatory for staff.
    #[arg(long, env = "ALOFT_OIDC_ALLOW_WITHOUT_MFA")]
    oidc_allow_without_mfa: bool,

    /// Seconds in-flight requests may take to finish on shutdown.
    #[arg(long, env = "ALOFT_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    shutdown_grace_secs: u64,

    /// Reverse proxies (addresses or CIDR networks, comma-separated, e.g. `10.0.0.0/8,fd00::/8`)
    /// whose `X-Forwarded-For` names the client for rate limits and the audit trail. Without
    /// it the header is ignored (anyone can send it).
    #[arg(long, env = "ALOFT_TRUSTED_PROXIES", default_value = "", value_parser = parse_trusted_proxies)]
    trusted_proxies: aloft_kernel::http::TrustedProxies,

    /// Also serve `/metrics`, `/healthz` and `/readyz` on this address (plain HTTP, no
    /// authentication: bind it to an internal interface), e.g. `10.0.0.5:9090`. `/metrics` on
    /// the main listener needs a bearer token whose role holds `ops.metrics.read` either way.
    #[arg(long, env = "ALOFT_METRICS_BIND")]
    metrics_bind: Option<SocketAddr>,

    /// The SMTP server for outgoing mail: `smtp://user:pass@host:587` (STARTTLS when offered),
    /// `smtp://host:587?tls=required`, `smtps://host:465`. Without it, mail is kept for the
    /// development mail catcher (`/mail`) instead of being sent.
    #[arg(long, env = "ALOFT_SMTP_URL")]
    smtp_url: Option<String>,

    /// The sender of outgoing mail.
    #[arg(long, env = "ALOFT_MAIL_FROM", default_value = "Aloft <no-reply@aloft.invalid>")]
    mail_from: String,
}

fn parse_trusted_proxies(s: &str) -> Result<aloft_kernel::http::TrustedProxies, String> {
    aloft_kernel::http::TrustedProxies::parse(s)
}

#[derive(Debug, Args)]
struct ImportCliArgs {
    #[command(flatten)]
    storage: StorageArgs,

    /// The source system's name: every record's `data.source` must equal it (CSV rows with an
    /// empty `source` column take it).
    #[arg(long)]
    source: String,

    /// Where rejected lines go (one JSON object per problem: line, pointer, column, reason,
    /// text). Default: FILE.rejects.ndjson.
    #[arg(long)]
    reject_file: Option<PathBuf>,

    /// Events linked and written per transaction. Larger batches import faster; smaller ones
    /// hold SQLite's single write slot for less time (about half a second at the default) while
    /// the server is also serving agents.
    #[arg(long, default_value_t = aloft_ingest::import::BATCH_EVENTS)]
    batch_events: usize,

    /// The file: `.ndjson`/`.jsonl` (one CloudEvent per line) or `.csv` (booking export).
    file: PathBuf,
}

#[derive(Debug, Args)]
struct DemoArgs {
    #[command(flatten)]
    storage: StorageArgs,

    /// Number of customers to create.
    #[arg(long, default_value_t = 100_000)]
    customers: u64,

    /// Seed of the generator: the same seed gives the same population.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Kept until `main` returns: dropping it exports the spans still queued.
    let _traces = init_telemetry(
        match cli.log_format {
            LogFormatArg::Json => LogFormat::Json,
            LogFormatArg::Text => LogFormat::Text,
        },
        cli.otlp_endpoint.as_deref(),
    )
    .context("--otlp-endpoint")?;
    match cli.command {
        Command::Serve(args) => serve(*args).await,
        Command::Migrate(storage) => {
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            let n = aloft_kernel::migrate::run(&db).await?;
            println!("Applied {n} migration(s); the schema is current.");
            Ok(())
        }
        Command::Demo(args) => {
            let db = Database::connect(&args.storage.settings())
                .await
                .context("cannot open the database")?;
            aloft_kernel::migrate::run(&db).await?;
            let keys = aloft_access::InstanceKeys::load(&db, &args.storage.key_source()).await?;
            let store = CustomerStore::new(db.clone(), std::sync::Arc::new(keys));
            store.seal_plaintext_rows().await?;
            load_demo(&store, args.seed, args.customers).await
        }
        Command::Bench(args) => bench::run(args).await,
        Command::BenchIngest(args) => aloft::bench_ingest::run(args).await,
        Command::Audit(AuditCommand::Verify(storage)) => {
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            match aloft_kernel::audit::verify(&db).await? {
                Ok(n) => {
                    println!("The audit trail is intact: {n} record(s), every link verified.");
                    Ok(())
                }
                Err(broken) => {
                    println!("The audit trail is BROKEN: {broken}");
                    std::process::exit(1);
                }
            }
        }
        Command::Audit(AuditCommand::Export { storage, output }) => {
            use std::io::Write;
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            // Page through the trail so that memory stays flat however long it is.
            let (mut after, mut count) = (0u64, 0usize);
            loop {
                let records = aloft_kernel::audit::page_after(&db, after, 10_000).await?;
                let Some(last) = records.last() else { break };
                after = last.sequence;
                for r in &records {
                    serde_json::to_writer(&mut out, r)?;
                    out.write_all(b"\n")?;
                }
                count += records.len();
            }
            out.flush()?;
            if output.is_some() {
                eprintln!("Exported {count} audit record(s).");
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate(storage)) => {
            let KeySource::File(path) = storage.key_source() else {
                anyhow::bail!(
                    "the keys come from ALOFT_MASTER_KEY/ALOFT_INDEX_KEY: rotate them in your secret \
                     manager (add the new master key, keep the old one as previous) — `aloft keys rotate` \
                     rotates a key file"
                );
            };
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            aloft_kernel::migrate::run(&db).await?;
            let keys =
                aloft_access::InstanceKeys::load(&db, &KeySource::File(path.clone())).await?;
            // Finish any earlier rotation first: the file keeps only one previous key.
            let store = CustomerStore::new(db.clone(), std::sync::Arc::new(keys));
            let pending = store.rewrap_data_keys().await?;
            let rotated = aloft_access::InstanceKeys::rotate_key_file(&path)?;
            eprintln!(
                "New master key {} written to {} (previous kept for reading). Running servers adopt it within seconds.",
                rotated.master_key_id(),
                path.display()
            );
            let new_id = rotated.master_key_id().to_owned();
            let rotated = std::sync::Arc::new(rotated);
            let store = CustomerStore::new(db.clone(), rotated.clone());
            let rewrapped = store.rewrap_data_keys().await?;
            rotated.record_rotation(&db).await?;
            println!(
                "Rotated the master key to {new_id}: {rewrapped} customer data key(s) re-wrapped ({pending} left over from an earlier rotation). Back up the key file now."
            );
            Ok(())
        }
        Command::Resolve(args) => {
            let maps: Vec<&str> = args.maps.iter().map(String::as_str).collect();
            let mut resolve = aloft_identity::cli::ResolveArgs::new(&args.input, &args.output)
                .with_maps(&maps)?;
            resolve.link_only = args.link_only;
            resolve.dob_veto = match args.dob_veto {
                DobVetoArg::Verified => aloft_identity::cluster::DobVeto::WhenVerified,
                DobVetoArg::Always => aloft_identity::cluster::DobVeto::Always,
                DobVetoArg::Never => aloft_identity::cluster::DobVeto::Never,
            };
            let summary = aloft_identity::cli::run(&resolve)?;
            if let Some(warning) = summary.warning() {
                eprintln!("{warning}");
            }
            println!("{summary}");
            Ok(())
        }
        Command::Import(args) => import(args).await,
        Command::Token(TokenCommand::Issue {
            storage,
            role,
            subject,
            ttl,
            scopes,
            station,
        }) => {
            let roles = aloft::roles::catalogue();
            let def = roles.get(role).expect("parsed from the catalogue");
            anyhow::ensure!(
                def.is_staff(),
                "passenger tokens come from passenger sign-in (POST /api/v1/passenger/token), not from the CLI"
            );
            if let Some(p) = scopes.iter().find(|p| !def.allows(**p)) {
                anyhow::bail!(
                    "the role {role} does not include {p}; a token can only be narrower than its role"
                );
            }
            let settings = storage.settings();
            // A token is only worth something to an existing instance: never create a database
            // and keys here (the server would reject the token, signed with keys it never had).
            if let Some(path) = settings.sqlite_path()
                && !path.exists()
            {
                anyhow::bail!(
                    "no Aloft instance at {}: run this where the server keeps its data (--data-dir) or give --database-url",
                    path.display()
                );
            }
            let db = Database::connect(&settings)
                .await
                .context("cannot open the database")?;
            anyhow::ensure!(
                aloft_access::keys::instance_initialised(&db).await?,
                "this database holds no Aloft instance yet (start `aloft serve` on it first); no token was issued"
            );
            let keys = aloft_access::InstanceKeys::load(&db, &storage.key_source()).await?;
            let issuer = aloft_access::TokenIssuer::new(&keys, roles.clone());
            let scopes = (!scopes.is_empty()).then_some(scopes.as_slice());
            let station = station.map(|s| s.trim().to_ascii_uppercase());
            println!(
                "{}",
                issuer.issue_scoped(role, &subject, ttl, scopes, station.as_deref())
            );
            Ok(())
        }
    }
}

/// `aloft import`: the file through the ingestion pipeline, with a progress line on stderr.
async fn import(args: ImportCliArgs) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let db = Database::connect(&args.storage.settings())
        .await
        .context("cannot open the database")?;
    aloft_kernel::migrate::run(&db).await?;
    let keys = aloft_access::InstanceKeys::load(&db, &args.storage.key_source()).await?;
    let customers = CustomerStore::new(db.clone(), std::sync::Arc::new(keys));
    customers.seal_plaintext_rows().await?;
    let travel = aloft_travel::TravelStore::new(db.clone(), std::sync::Arc::new(customers.clone()));
    travel.seal_plaintext_rows().await?;
    let pipeline = aloft_ingest::Pipeline::new(db.clone(), customers, travel);
    let started = Instant::now();
    pipeline.warm().await?;
    eprintln!(
        "identity resolution ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let summary = aloft_ingest::import::run_import(
        aloft_ingest::import::ImportArgs {
            source: args.source,
            file: args.file,
            reject_file: args.reject_file,
            batch_events: args.batch_events,
        },
        &pipeline,
        &aloft_kernel::AccessContext::system("import"),
        |done, total| {
            let pct = (done * 100).checked_div(total).unwrap_or(100);
            if tty {
                eprint!("\r  {done}/{total} lines ({pct}%)");
                let _ = std::io::stderr().flush();
                if done == total {
                    eprintln!();
                }
            } else if last.elapsed() >= Duration::from_secs(5) || done == total {
                eprintln!("  {done}/{total} lines ({pct}%)");
                last = Instant::now();
            }
        },
    )
    .await?;
    println!("{summary}");
    println!("  rate:          {:.0} records/s", summary.rate());
    db.close().await;
    if summary.report.rejected_events > 0 {
        // Scripts notice partial imports; the accepted records are stored.
        std::process::exit(2);
    }
    Ok(())
}

/// How many demo customers get a travel history.
const DEMO_TRAVELLERS: i64 = 2_000;

async fn load_demo(store: &CustomerStore, seed: u64, customers: u64) -> anyhow::Result<()> {
    let db = store.database();
    let start = Instant::now();
    let step = (customers / 10).max(1_000);
    let mut next_report = step;
    let created = aloft_customers::demo::load(store, seed, customers, |done| {
        if done >= next_report || done == customers {
            eprintln!("demo data: {done}/{customers} customers");
            next_report += step;
        }
    })
    .await?;
    if created > 0 {
        db.analyze().await?;
    }
    if created == 0 {
        println!("The database already holds customers; demo customers not loaded again.");
    } else {
        println!(
            "Created {created} demo customers in {:.1} s.",
            start.elapsed().as_secs_f64()
        );
    }
    // Travel history for the first customers (idempotent: a second run adds nothing).
    let start = Instant::now();
    let ids: Vec<aloft_travel::CustomerId> = store
        .sample_ids(DEMO_TRAVELLERS)
        .await?
        .iter()
        .filter_map(|id| aloft_travel::CustomerId::parse(&id.to_string()))
        .collect();
    let travel = aloft_travel::TravelStore::new(db.clone(), std::sync::Arc::new(store.clone()));
    let records = aloft_travel::demo::load(&travel, seed, &ids).await?;
    if records > 0 {
        println!(
            "Recorded {records} demo travel records (bookings, bags, purchases, calls, feedback, lounge visits) for {} customers in {:.1} s.",
            ids.len(),
            start.elapsed().as_secs_f64()
        );
    }
    load_demo_duplicates(store, travel).await
}

/// How many demo travellers other source systems also know (cross-source duplicates).
const DEMO_DUPLICATES: i64 = 400;

/// Sends the demo duplicates (`aloft_ingest::demo`) through the ingestion pipeline, so identity
/// resolution links them (and sends the uncertain ones to the review queue). Idempotent.
async fn load_demo_duplicates(
    store: &CustomerStore,
    travel: aloft_travel::TravelStore,
) -> anyhow::Result<()> {
    let mut customers = Vec::new();
    for id in store.sample_ids(DEMO_DUPLICATES).await? {
        if let Some(c) = store.get(id).await? {
            customers.push(c);
        }
    }
    let events: Vec<aloft_ingest::SourceEvent> = aloft_ingest::demo::duplicates(&customers)
        .iter()
        .enumerate()
        .filter_map(|(i, v)| aloft_ingest::envelope::parse_value(i as u64, v).ok())
        .collect();
    let pipeline = aloft_ingest::Pipeline::new(store.database().clone(), store.clone(), travel);
    let report = pipeline
        .ingest(events, &aloft_kernel::AccessContext::system("demo"))
        .await?;
    if report.recorded > 0 {
        let methods: Vec<String> = report
            .linked_by_method
            .iter()
            .map(|(m, n)| format!("{n} by {m}"))
            .collect();
        println!(
            "Linked {} demo records from other source systems ({}); {} uncertain matches wait in the identity review queue.",
            report.recorded,
            methods.join(", "),
            aloft_ingest::merge::open_reviews(store.database()).await?
        );
    }
    if report.rejected_events > 0 {
        anyhow::bail!("demo duplicates rejected: {:?}", report.rejected);
    }
    Ok(())
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let nats_tls = aloft_broker::NatsTls {
        ca_file: args.nats_ca.clone(),
        client_cert: args.nats_client_cert.clone(),
        client_key: args.nats_client_key.clone(),
    };
    let nats = args.nats_url.as_ref().map(|url| NatsSettings {
        stream: args.nats_stream.clone(),
        subject_prefix: args.nats_subject_prefix.clone(),
        tls: nats_tls.clone(),
        ..NatsSettings::new(url.clone())
    });
    let sources = args.nats_url.as_ref().map(|url| ConsumerSettings {
        stream: args.source_stream.clone(),
        subject_prefix: args.source_subject_prefix.clone(),
        tls: nats_tls.clone(),
        ..ConsumerSettings::new(url.clone())
    });
    let settings = args.storage.settings();
    let app = Application::build(AppConfig {
        sources,
        trusted_proxies: args.trusted_proxies.clone(),
        metrics_bind: args.metrics_bind,
        mail: Some(aloft_mail::MailConfig::new(
            args.smtp_url.clone(),
            args.mail_from.clone(),
        )),
        database: settings.clone(),
        bind: args.bind,
        nats,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        tls: match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(aloft::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        keys: args.storage.key_source(),
        demo_accounts: args.demo,
        external_issuers: match (&args.jwt_issuer, &args.jwt_audience, &args.jwt_jwks_url) {
            (Some(issuer), Some(audience), Some(jwks_url)) => vec![IssuerConfig {
                issuer: issuer.clone(),
                audience: audience.clone(),
                jwks_url: jwks_url.clone(),
                role_claim: args.jwt_role_claim.clone(),
                role_map: IssuerConfig::parse_role_map(
                    &args.jwt_role_map,
                    &aloft::roles::catalogue(),
                )
                .map_err(|e| anyhow::anyhow!("--jwt-role-map: {e}"))?,
                refresh_cooldown: aloft_access::issuers::REFRESH_COOLDOWN,
            }],
            _ => vec![],
        },
        sso: match (
            &args.oidc_issuer,
            &args.oidc_client_id,
            &args.oidc_client_secret,
            &args.oidc_redirect_url,
        ) {
            (Some(issuer), Some(client_id), Some(secret), Some(redirect)) => Some(SsoConfig {
                issuer: issuer.clone(),
                client_id: client_id.clone(),
                client_secret: zeroize::Zeroizing::new(secret.clone()),
                redirect_url: redirect.clone(),
                role_claim: args.oidc_role_claim.clone(),
                role_map: IssuerConfig::parse_role_map(
                    &args.oidc_role_map,
                    &aloft::roles::catalogue(),
                )
                .map_err(|e| anyhow::anyhow!("--oidc-role-map: {e}"))?,
                require_mfa: !args.oidc_allow_without_mfa,
            }),
            _ => None,
        },
    })
    .await?;
    let mut crew_flights = Vec::new();
    if args.demo {
        load_demo(app.customers(), 42, args.demo_customers).await?;
        crew_flights = roster_demo_crew(&app).await?;
    }
    let addr = app.local_addr();
    let scheme = if args.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    announce(format!("Aloft is listening on {scheme}://{addr}"));
    announce(format!("  Web UI:        {scheme}://{addr}/"));
    announce(format!("  API reference: {scheme}://{addr}/api/docs"));
    announce(format!("  Storage:       {}", describe_storage(&settings)));
    if app.demo_accounts().is_empty() {
        announce(
            "Sign in with a staff account; API callers send a bearer token (`aloft token issue --role ROLE`).".into(),
        );
    } else {
        announce(format!(
            "Demo staff accounts (one per role), password `{}`, second factor from the TOTP key:",
            aloft_access::demo::DEMO_PASSWORD
        ));
        for a in app.demo_accounts() {
            announce(format!("  {:<28} TOTP key {}", a.username, a.totp_secret));
        }
        if !crew_flights.is_empty() {
            announce(format!(
                "  cabin_crew is rostered on {} (their passengers only).",
                crew_flights.join(", ")
            ));
        }
        announce("  Add the TOTP key to an authenticator app, or print the current code with e.g. `oathtool --totp -b KEY`.".into());
        announce("  These accounts are public: never use --demo on a real installation.".into());
    }
    app.run_until(shutdown_signal()).await
}

/// Puts the demo cabin crew account on the next few demo flights, so that the role shows its
/// passengers (cabin crew see nobody else). Returns the flights as `BA117 2026-12-02`.
async fn roster_demo_crew(app: &Application) -> anyhow::Result<Vec<String>> {
    let Some(crew) = app.accounts().by_username("cabin_crew").await? else {
        return Ok(vec![]);
    };
    let now = chrono::Utc::now();
    let flights = app
        .travel()
        .flights_departing(
            now - chrono::Duration::hours(6),
            now + chrono::Duration::hours(36),
            5,
        )
        .await?;
    let roster: Vec<aloft_access::roster::RosteredFlight> = flights
        .iter()
        .map(|(number, date)| aloft_access::roster::RosteredFlight {
            flight_number: number.clone(),
            departure_date: *date,
        })
        .collect();
    app.accounts()
        .set_roster(
            crew.id,
            &roster,
            &aloft_kernel::AccessContext::system("demo"),
        )
        .await?;
    Ok(roster
        .iter()
        .map(|f| format!("{} {}", f.flight_number, f.departure_date))
        .collect())
}

/// Prints a start-up line; a closed or broken stdout (a detached service) must not stop the server.
fn announce(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

fn describe_storage(s: &DatabaseSettings) -> String {
    if s.url.starts_with("sqlite:") {
        format!(
            "embedded SQLite at {}",
            s.url.trim_start_matches("sqlite://")
        )
    } else {
        "PostgreSQL".into()
    }
}
