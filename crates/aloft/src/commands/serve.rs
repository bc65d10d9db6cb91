//! `aloft serve`: the web UI and API, with demo data when asked.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use aloft::app::{AppConfig, Application, shutdown_signal};
use aloft_access::issuers::IssuerConfig;
use aloft_access::sso::SsoConfig;
use aloft_broker::NatsSettings;
use aloft_ingest::consumer::ConsumerSettings;
use aloft_kernel::DatabaseSettings;

use super::StorageArgs;
use super::demo::load_demo;

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
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
    #[arg(
        long,
        env = "ALOFT_MAIL_FROM",
        default_value = "Aloft <no-reply@aloft.invalid>"
    )]
    mail_from: String,

    /// A sentiment model written by `aloft sentiment train`, used for every text the server
    /// labels; without it, the built-in lexicon model.
    #[arg(long, env = "ALOFT_SENTIMENT_MODEL")]
    sentiment_model: Option<PathBuf>,
}

pub(crate) fn parse_trusted_proxies(s: &str) -> Result<aloft_kernel::http::TrustedProxies, String> {
    aloft_kernel::http::TrustedProxies::parse(s)
}

pub(crate) async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    if let Some(path) = &args.sentiment_model {
        let model = super::sentiment::load_model(path)
            .map_err(|e| anyhow::anyhow!("--sentiment-model: {e:#}"))?;
        tracing::info!(model = %model.describe(), "sentiment model loaded");
        if aloft_sentiment::install(model).is_err() {
            anyhow::bail!("--sentiment-model: a sentiment model is already installed");
        }
    }
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
        load_demo(&app, 42, args.demo_customers).await?;
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
pub(crate) async fn roster_demo_crew(app: &Application) -> anyhow::Result<Vec<String>> {
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
pub(crate) fn announce(line: String) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

pub(crate) fn describe_storage(s: &DatabaseSettings) -> String {
    if s.url.starts_with("sqlite:") {
        format!(
            "embedded SQLite at {}",
            s.url.trim_start_matches("sqlite://")
        )
    } else {
        "PostgreSQL".into()
    }
}
