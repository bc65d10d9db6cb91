//! `aloft bench`: a load benchmark over real HTTP on loopback.
//!
//! It seeds the database with demo customers (if it has fewer than asked), starts Aloft in-process
//! on an ephemeral port, then for each scenario sends requests at a fixed arrival rate (open loop:
//! arrivals never wait for answers, so a stalled server shows up in the percentiles instead of
//! silently slowing the load — no coordinated omission). Finally it measures the maximum read
//! throughput with a closed loop of connections.
//! Output is a Markdown table for `BENCHMARKS.md`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Mutex;

use aloft_customers::{CustomerId, CustomerStore};
use aloft_kernel::{Database, DatabaseSettings};

use crate::app::{AppConfig, Application};

/// Flags of `aloft bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Database to benchmark (default: a SQLite file in --data-dir).
    #[arg(long, env = "ALOFT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory of the SQLite database when --database-url is not given.
    #[arg(long, default_value = "aloft-bench-data")]
    pub data_dir: std::path::PathBuf,

    /// Customers in the database before measuring (created with demo data if missing).
    #[arg(long, default_value_t = 100_000)]
    pub customers: u64,

    /// Requests per second for each fixed-rate scenario.
    #[arg(long, default_value_t = 500)]
    pub rate: u32,

    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 20)]
    pub duration_secs: u64,

    /// Scenarios to run, comma separated: read, search, update, scoped, max, or `page:<path>`
    /// (a workspace page as the contact centre agent; `{id}` a random customer, `{name}` a
    /// random name prefix). `scoped` is the
    /// search as a check-in agent at a station (row scope in the query), over passengers of
    /// whom `--departing` depart from that station within the check-in window.
    #[arg(long, default_value = "read,search,update,scoped,max")]
    pub scenarios: String,

    /// Connections for the closed-loop `max` scenario.
    #[arg(long, default_value_t = 32)]
    pub connections: u32,

    /// Passengers given a flight from the benchmark's station (DXB) in the next day, for the
    /// `scoped` scenario.
    #[arg(long, default_value_t = 2_000)]
    pub departing: u64,

    /// SQLite only: `full` syncs the WAL on every commit (see `aloft serve --help`).
    #[arg(long)]
    pub sqlite_full_sync: bool,

    /// The role whose signed-in session the `page:` scenarios use (e.g.
    /// `security_operations_manager` for `page:/audit`): the demo account of that role, with a
    /// browser session cookie, as staff use the workspace.
    #[arg(long, default_value = crate::roles::ids::CONTACT_CENTRE_AGENT)]
    pub page_role: String,

    /// Records in the audit trail before measuring: synthetic ones are appended (reads of
    /// customers by 50 staff, failed sign-ins and lockouts from 300 addresses, refusals, over
    /// the last 14 days) until the chain holds this many, for the audit and security pages.
    #[arg(long, default_value_t = 0)]
    pub audit_records: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Read,
    Search,
    Update,
    /// The search, as a check-in agent whose row scope is a station.
    Scoped,
    /// A page of the web workspace, as the contact centre agent: `page:<path>` where `{id}`
    /// stands for a random customer and `{name}` for a random name prefix
    /// (`page:/customers/{id}?tab=timeline`).
    Page(&'static str),
}

struct Target {
    base: String,
    ids: Vec<CustomerId>,
    /// The version last seen of each of `ids` (same index), for the update scenario's `If-Match`.
    versions: Vec<AtomicI64>,
    name_prefixes: Vec<String>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// `Bearer …` for a contact centre agent: the benchmark measures the real, authorised and
    /// audited path.
    authorization: String,
    /// `Bearer …` for a check-in agent at the benchmark's station (the `scoped` scenario).
    scoped_authorization: String,
    /// `Bearer …` of a role holding `ops.metrics.read`, for the "server p99" column.
    metrics_authorization: String,
    /// The session cookie of `--page-role`'s demo account, for the `page:` scenarios.
    page_cookie: String,
}

impl Target {
    /// Sends request number `n` of `scenario`; true on a 2xx answer.
    async fn send(&self, scenario: Scenario, n: u64) -> bool {
        let pick = |len: usize| (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as usize % len;
        let req = match scenario {
            Scenario::Read => http::Request::get(format!(
                "{}/api/v1/customers/{}",
                self.base,
                self.ids[pick(self.ids.len())]
            ))
            .body(Full::new(Bytes::new())),
            Scenario::Search | Scenario::Scoped => {
                let prefix = &self.name_prefixes[pick(self.name_prefixes.len())];
                let q = percent_encoding::utf8_percent_encode(
                    prefix,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                http::Request::get(format!("{}/api/v1/customers?name={q}&limit=20", self.base))
                    .body(Full::new(Bytes::new()))
            }
            Scenario::Update => return self.update(pick(self.ids.len()), n).await,
            Scenario::Page(path) => {
                let path = path
                    .replace("{id}", &self.ids[pick(self.ids.len())].to_string())
                    .replace(
                        "{name}",
                        &percent_encoding::utf8_percent_encode(
                            &self.name_prefixes[pick(self.name_prefixes.len())],
                            percent_encoding::NON_ALPHANUMERIC,
                        )
                        .to_string(),
                    );
                http::Request::get(format!("{}{path}", self.base)).body(Full::new(Bytes::new()))
            }
        };
        let Ok(mut req) = req else { return false };
        let authorization = match scenario {
            Scenario::Scoped => &self.scoped_authorization,
            Scenario::Page(_) => {
                if let Ok(v) = http::HeaderValue::from_str(&self.page_cookie) {
                    req.headers_mut().insert(http::header::COOKIE, v);
                }
                ""
            }
            _ => &self.authorization,
        };
        // A page may answer with a redirect (the global search opens a single hit).
        let page = matches!(scenario, Scenario::Page(_));
        self.call(req, authorization)
            .await
            .is_some_and(|(status, _)| status.is_success() || (page && status.is_redirection()))
    }

    /// Sends `req` as `authorization`; the answer's status and the version its `ETag` names.
    async fn call(
        &self,
        mut req: http::Request<Full<Bytes>>,
        authorization: &str,
    ) -> Option<(http::StatusCode, Option<i64>)> {
        if !authorization.is_empty()
            && let Ok(v) = http::HeaderValue::from_str(authorization)
        {
            req.headers_mut().insert(http::header::AUTHORIZATION, v);
        }
        let resp = self.client.request(req).await.ok()?;
        let mut status = resp.status();
        // Sent to sign in: the request was not served (a lapsed session must not look fast).
        if status.is_redirection()
            && resp
                .headers()
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|l| l.starts_with("/sign-in"))
        {
            status = http::StatusCode::UNAUTHORIZED;
        }
        let version = resp
            .headers()
            .get(http::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim_start_matches("W/").trim_matches('"').parse().ok());
        let _ = resp.into_body().collect().await;
        Some((status, version))
    }

    /// The update scenario: a merge patch of customer `i` whose `If-Match` names the version last
    /// seen, as the API requires of every client. The benchmark seeded these customers (version
    /// 1), so it does not read before each write; a 412 — a version moved on by an earlier run on
    /// the same data or a concurrent update of the same customer — reads the profile and tries
    /// once more, and counts as an error only if that fails too.
    async fn update(&self, i: usize, n: u64) -> bool {
        let url = format!("{}/api/v1/customers/{}", self.base, self.ids[i]);
        let body = Bytes::from(format!(
            "{{\"preferences\":{{\"drink\":\"Still water {}\"}}}}",
            n % 1000
        ));
        for attempt in 0..2 {
            let version = self.versions[i].load(Ordering::Relaxed);
            let Ok(req) = http::Request::patch(&url)
                .header("content-type", "application/merge-patch+json")
                .header("if-match", format!("\"{version}\""))
                .body(Full::new(body.clone()))
            else {
                return false;
            };
            match self.call(req, &self.authorization).await {
                Some((status, seen)) if status.is_success() => {
                    if let Some(v) = seen {
                        self.versions[i].fetch_max(v, Ordering::Relaxed);
                    }
                    return true;
                }
                Some((http::StatusCode::PRECONDITION_FAILED, _)) if attempt == 0 => {
                    let Ok(read) = http::Request::get(&url).body(Full::new(Bytes::new())) else {
                        return false;
                    };
                    match self.call(read, &self.authorization).await {
                        Some((status, Some(v))) if status.is_success() => {
                            self.versions[i].fetch_max(v, Ordering::Relaxed);
                        }
                        _ => return false,
                    }
                }
                _ => return false,
            }
        }
        false
    }
}

/// Results of one scenario.
struct Outcome {
    label: String,
    /// Server-side p99 upper bound from `/metrics` (bucket bound), in seconds.
    server_p99: Option<f64>,
    hist: Histogram<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Outcome {
    fn row(&self) -> String {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} |",
            self.label,
            self.hist.len(),
            self.hist.len() as f64 / self.elapsed.as_secs_f64(),
            ms(0.5),
            ms(0.99),
            ms(0.999),
            self.hist.max() as f64 / 1000.0,
            self.errors,
            self.server_p99
                .map(|s| format!("≤ {}", s * 1000.0))
                .unwrap_or_else(|| "–".into())
        )
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

async fn fixed_rate(
    target: Arc<Target>,
    scenario: Scenario,
    rate: u32,
    duration: Duration,
) -> Outcome {
    let hist = Arc::new(Mutex::new(histogram()));
    let errors = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let total = u64::from(rate) * duration.as_secs();
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = start + interval * n as u32;
        tokio::time::sleep_until(scheduled).await;
        let (target, hist, errors) = (target.clone(), hist.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            // Latency counts from the moment the request starts; the schedule stays open-loop
            // (a slow server does not slow the arrivals), so queueing at the server is included.
            // Measuring from the scheduled instant instead would add the Tokio timer's 1 ms
            // granularity to every sample.
            let sent = tokio::time::Instant::now();
            let ok = target.send(scenario, n).await;
            let us = sent.elapsed().as_micros() as u64;
            if !ok {
                errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            let _ = hist.lock().await.record(us.max(1));
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let hist = hist.lock().await.clone();
    Outcome {
        label: match scenario {
            Scenario::Page(path) => format!("page {path} @ {rate}/s"),
            _ => format!("{scenario:?} @ {rate}/s").to_lowercase(),
        },
        server_p99: None,
        hist,
        errors: errors.load(std::sync::atomic::Ordering::Relaxed),
        elapsed,
    }
}

async fn closed_loop(target: Arc<Target>, connections: u32, duration: Duration) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for c in 0..connections {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut errors = 0;
            let mut n = u64::from(c) << 32;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                if !target.send(Scenario::Read, n).await {
                    errors += 1;
                }
                let _ = hist.record((t0.elapsed().as_micros() as u64).max(1));
                n += 1;
            }
            (hist, errors)
        }));
    }
    let mut hist = histogram();
    let mut errors = 0;
    for t in tasks {
        if let Ok((h, e)) = t.await {
            let _ = hist.add(h);
            errors += e;
        }
    }
    Outcome {
        label: format!("read, max ({connections} connections)"),
        server_p99: None,
        hist,
        errors,
        elapsed: start.elapsed(),
    }
}

/// Runs the benchmark and prints the table.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let mut settings = match &args.database_url {
        Some(url) => DatabaseSettings::new(url.clone()),
        None => DatabaseSettings::sqlite_in(&args.data_dir),
    };
    settings.max_connections = 16;
    if args.sqlite_full_sync {
        settings.sqlite_durability = aloft_kernel::SqliteDurability::Full;
    }
    let db = Database::connect(&settings)
        .await
        .context("cannot open the database")?;
    aloft_kernel::migrate::run(&db).await?;
    let key_source = aloft_access::KeySource::File(args.data_dir.join("aloft.keys"));
    let keys = std::sync::Arc::new(aloft_access::InstanceKeys::load(&db, &key_source).await?);
    let store = CustomerStore::new(db.clone(), keys);
    store.seal_plaintext_rows().await?;
    let existing = store.count().await? as u64;
    if existing < args.customers {
        eprintln!("seeding {} customers…", args.customers - existing);
        let t = Instant::now();
        seed(&store, existing, args.customers).await?;
        db.analyze().await?;
        eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());
    }
    if args.departing > 0 {
        let t = Instant::now();
        depart_soon(&db, &store, args.departing).await?;
        db.analyze().await?;
        eprintln!(
            "{} passengers depart from {STATION} in the next day ({:.1} s)",
            args.departing,
            t.elapsed().as_secs_f64()
        );
    }
    seed_audit(&db, args.audit_records).await?;
    db.close().await;

    let app = Application::build(AppConfig {
        // The `page:` scenarios sign in as a demo account (this database is the benchmark's own).
        demo_accounts: true,
        ..AppConfig::loopback(settings.clone(), key_source)
    })
    .await?;
    let base = format!("http://{}", app.local_addr());
    let authorization = format!(
        "Bearer {}",
        app.issue_token(
            crate::roles::ids::CONTACT_CENTRE_AGENT,
            "bench",
            chrono::Duration::hours(2)
        )
    );
    let page_account = app
        .accounts()
        .by_username(&args.page_role)
        .await?
        .with_context(|| format!("no demo account for role {}", args.page_role))?;
    let page_cookie = format!(
        "{}={}",
        aloft_access::gate::SESSION_COOKIE,
        app.accounts()
            .start_session(
                &page_account,
                aloft_access::model::Stage::Full,
                &aloft_kernel::AccessContext::system("bench"),
            )
            .await?
    );
    let scoped_authorization = format!(
        "Bearer {}",
        app.token_issuer().issue_scoped(
            crate::roles::ids::CHECKIN_AGENT,
            "bench",
            chrono::Duration::hours(2),
            None,
            Some(STATION),
        )
    );
    let metrics_authorization = format!(
        "Bearer {}",
        app.issue_token(
            crate::roles::ids::SECURITY_OPERATIONS_MANAGER,
            "bench",
            chrono::Duration::hours(2)
        )
    );
    let ids = app.customers().sample_ids(args.customers as i64).await?;
    anyhow::ensure!(!ids.is_empty(), "no customers to benchmark");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stop_rx.await;
    }));

    let name_prefixes = (0..500u64)
        .map(|i| {
            let p = aloft_customers::demo::profile(42, i * 97 % args.customers.max(1));
            p.last_name.as_str().chars().take(3).collect::<String>()
        })
        .collect();
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build(http);
    let versions = ids.iter().map(|_| AtomicI64::new(1)).collect();
    let target = Arc::new(Target {
        base,
        ids,
        versions,
        name_prefixes,
        client,
        authorization,
        scoped_authorization,
        metrics_authorization,
        page_cookie,
    });
    let duration = Duration::from_secs(args.duration_secs);

    // Warm-up: caches, connection pools, prepared statements.
    let _ = fixed_rate(target.clone(), Scenario::Read, 200, Duration::from_secs(2)).await;

    let backend = if settings.url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    println!(
        "Backend: {backend}; customers: {}; {} s per scenario",
        args.customers.max(existing),
        args.duration_secs
    );
    println!();
    println!(
        "| scenario | requests | throughput (req/s) | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors | server p99 (ms) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for name in args.scenarios.split(',').map(str::trim) {
        let before = server_buckets(&target).await;
        let mut outcome = match name {
            "read" => fixed_rate(target.clone(), Scenario::Read, args.rate, duration).await,
            "search" => fixed_rate(target.clone(), Scenario::Search, args.rate, duration).await,
            "update" => fixed_rate(target.clone(), Scenario::Update, args.rate, duration).await,
            "scoped" => fixed_rate(target.clone(), Scenario::Scoped, args.rate, duration).await,
            "max" => closed_loop(target.clone(), args.connections, duration).await,
            page if page.starts_with("page:") => {
                // Leaked once per scenario of a short-lived benchmark process.
                let path: &'static str =
                    Box::leak(page["page:".len()..].to_string().into_boxed_str());
                fixed_rate(target.clone(), Scenario::Page(path), args.rate, duration).await
            }
            other => {
                anyhow::bail!(
                    "unknown scenario {other:?}; expected read, search, update, scoped, max or page:<path>"
                )
            }
        };
        let after = server_buckets(&target).await;
        outcome.server_p99 = server_p99(&before, &after);
        println!("{}", outcome.row());
    }
    let _ = stop_tx.send(());
    server.await??;
    Ok(())
}

/// Cumulative counts of the server's request-latency histogram (all routes), by bucket bound.
async fn server_buckets(target: &Target) -> Vec<(f64, u64)> {
    let Ok(req) = http::Request::get(format!("{}/metrics", target.base))
        .header(http::header::AUTHORIZATION, &target.metrics_authorization)
        .body(Full::new(Bytes::new()))
    else {
        return vec![];
    };
    let Ok(resp) = target.client.request(req).await else {
        return vec![];
    };
    let Ok(body) = resp.into_body().collect().await else {
        return vec![];
    };
    let text = String::from_utf8_lossy(&body.to_bytes()).into_owned();
    let mut buckets: Vec<(f64, u64)> = Vec::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("aloft_http_request_duration_seconds_bucket{"))
    {
        let Some(le) = line.split("le=\"").nth(1).and_then(|r| r.split('"').next()) else {
            continue;
        };
        let bound = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap_or(f64::INFINITY)
        };
        let count: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|c| c.parse::<f64>().ok())
            .unwrap_or(0.0) as u64;
        match buckets.iter_mut().find(|(b, _)| *b == bound) {
            Some((_, c)) => *c += count,
            None => buckets.push((bound, count)),
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
}

/// The smallest bucket bound under which 99 % of the requests between two snapshots finished.
/// The server's own view of latency: it excludes the load generator and the network stack.
fn server_p99(before: &[(f64, u64)], after: &[(f64, u64)]) -> Option<f64> {
    let delta: Vec<(f64, u64)> = after
        .iter()
        .map(|(b, c)| {
            (
                *b,
                c - before
                    .iter()
                    .find(|(bb, _)| bb == b)
                    .map(|x| x.1)
                    .unwrap_or(0),
            )
        })
        .collect();
    let total = delta.last()?.1;
    if total == 0 {
        return None;
    }
    delta
        .iter()
        .find(|(_, c)| *c as f64 >= total as f64 * 0.99)
        .map(|(b, _)| *b)
}

/// The station of the `scoped` scenario's check-in agent.
const STATION: &str = "DXB";

/// Gives `n` customers (spread over the population) a booking on a flight from [`STATION`]
/// departing within the next day, so the check-in agent's scope holds them. Idempotent on the
/// booking's source id: a re-run moves the same bookings to new departure times.
async fn depart_soon(db: &Database, customers: &CustomerStore, n: u64) -> anyhow::Result<()> {
    use aloft_travel::{Record, RecordKind, TravelStore};
    let travel = TravelStore::new(db.clone(), Arc::new(customers.clone()));
    let ids = customers.sample_ids(n as i64).await?;
    let now = chrono::Utc::now();
    let mut batch = Vec::with_capacity(1_000);
    for (i, id) in ids.iter().enumerate() {
        // Dubai keeps UTC+4 all year; departures spread over the next 24 hours.
        let departure = now + chrono::Duration::minutes(30 + (i as i64 * 37) % (24 * 60));
        let local = |t: chrono::DateTime<chrono::Utc>| {
            (t + chrono::Duration::hours(4))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        };
        let record = Record::parse(
            RecordKind::Booking,
            &serde_json::json!({"source": "bench", "source_record_id": format!("bench-dxb-{id}"),
                "record_locator": format!("B{:05}", i % 100_000),
                "segments": [{"flight_number": format!("EK{}", 1 + i % 40), "origin": STATION,
                    "destination": "LHR", "scheduled_departure_local": local(departure),
                    "scheduled_arrival_local": local(departure + chrono::Duration::hours(8)),
                    "cabin": "economy", "rbd": "Y", "status": "scheduled"}]}),
        )
        .map_err(|e| anyhow::anyhow!("bench booking: {e:?}"))?;
        batch.push((*id, record));
        if batch.len() == 1_000 {
            travel
                .record_many(
                    std::mem::take(&mut batch),
                    &aloft_kernel::AccessContext::system("bench"),
                )
                .await?;
        }
    }
    if !batch.is_empty() {
        travel
            .record_many(batch, &aloft_kernel::AccessContext::system("bench"))
            .await?;
    }
    Ok(())
}

/// Appends synthetic audit records until the chain holds `target` (see
/// [`BenchArgs::audit_records`]): 90 % customer reads by 50 staff ids, 5 % failed sign-ins and
/// 2 % lockouts from 300 client addresses, 3 % refusals, spread over the last 14 days.
async fn seed_audit(db: &Database, target: u64) -> anyhow::Result<()> {
    let existing = aloft_kernel::audit::chain_length(db).await?;
    if existing >= target {
        return Ok(());
    }
    eprintln!("appending {} audit records…", target - existing);
    let t = Instant::now();
    let now = chrono::Utc::now();
    let span = 14 * 24 * 3600 * 1_000_000i64;
    let mut n = existing;
    while n < target {
        let end = (n + 5_000).min(target);
        let entries: Vec<_> = (n..end)
            .map(|i| {
                let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut ctx = aloft_kernel::AccessContext::system("bench");
                ctx.client_address = Some(format!("10.0.{}.{}", (h >> 20) % 3, (h >> 30) % 100));
                let (action, resource_type, resource, outcome) = match h % 100 {
                    0..=4 => {
                        ctx.actor = aloft_kernel::Actor::anonymous();
                        (
                            aloft_access::events::audit::AUTH_PASSWORD_FAILED,
                            "staff_account",
                            format!("bench-staff-{}", (h >> 8) % 50),
                            "failure",
                        )
                    }
                    5..=6 => {
                        ctx.actor = aloft_kernel::Actor::anonymous();
                        (
                            aloft_access::events::audit::AUTH_LOCKED_ATTEMPT,
                            "staff_account",
                            format!("bench-staff-{}", (h >> 8) % 50),
                            "denied",
                        )
                    }
                    7..=9 => {
                        ctx.actor.id = format!("bench-staff-{}", (h >> 8) % 50);
                        ctx.actor.role = crate::roles::ids::CONTACT_CENTRE_AGENT.into();
                        (
                            aloft_authz::gate::ACCESS_DENIED,
                            "route",
                            "GET /audit".to_owned(),
                            "denied",
                        )
                    }
                    _ => {
                        ctx.actor.id = format!("bench-staff-{}", (h >> 8) % 50);
                        ctx.actor.role = crate::roles::ids::CONTACT_CENTRE_AGENT.into();
                        (
                            aloft_customers::events::audit::CUSTOMER_READ,
                            "customer",
                            uuid::Uuid::now_v7().to_string(),
                            "success",
                        )
                    }
                };
                let mut e = ctx.entry(
                    action,
                    resource_type,
                    Some(resource),
                    vec!["name".into()],
                    outcome,
                );
                e.occurred_at = now - chrono::Duration::microseconds((h >> 3) as i64 % span);
                e
            })
            .collect();
        let mut tx = db.begin_write().await?;
        tx.audit(&entries).await?;
        tx.commit().await?;
        n = end;
    }
    db.analyze().await?;
    eprintln!("appended in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

/// Adds demo customers `from..to` (the same population `aloft demo` creates).
async fn seed(store: &CustomerStore, from: u64, to: u64) -> anyhow::Result<()> {
    let mut index = from;
    while index < to {
        let end = (index + 1_000).min(to);
        let batch = (index..end)
            .map(|i| aloft_customers::demo::profile(42, i))
            .collect();
        store
            .create_many(batch, &aloft_kernel::AccessContext::system("bench"))
            .await?;
        index = end;
    }
    Ok(())
}
