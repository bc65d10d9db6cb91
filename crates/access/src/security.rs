//! Security operations from the audit trail: the sign-in anomalies view (`/security`: failed
//! sign-ins, refusals and lockouts over time, by account and by client address, flagged when
//! unusual) and the start-page panels of the roles that watch access — security operations,
//! data privacy, administration and the CMP's configuration.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use http::StatusCode;
use maud::{Markup, html};
use sqlx::Row;

use aloft_authz::{Access, Roles, RoutePolicy, ScopeRule};
use aloft_kernel::audit::{
    self, AuditAction, Bucket, GroupedCount, Grouping, TrailQuery, counts_over_time, grouped_counts,
};
use aloft_kernel::db::{Database, StorageError, to_db_time};
use aloft_web::kit::{self, Column, Crumb, DataTable, FeedItem, Series, Tab, TimeChart, Tone};
use aloft_web::{HomePanel, Section, layout, page};

use crate::audit_pages::{last_verification, readable};
use crate::directory::{Named, fallback_name, names_of};
use crate::events::audit as acts;
use crate::permissions::{ACCOUNTS_MANAGE, AUDIT_READ, CONFIG_REVIEW, SECURITY_MONITOR};

/// The security section of the workspace.
pub const SECTION: Section = Section::new("security");

/// The anomalies view is for those who watch security.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "GET",
    "/security",
    Access::Permission(SECURITY_MONITOR),
)];

/// Sign-in attempts that failed: a wrong password or code, a client secret refused, an SSO
/// sign-in refused, a passenger's wrong password.
pub const FAILED: &[AuditAction] = &[
    acts::AUTH_PASSWORD_FAILED,
    acts::AUTH_MFA_FAILED,
    acts::AUTH_CLIENT_FAILED,
    acts::AUTH_SSO_REFUSED_WITHOUT_MFA,
    acts::AUTH_SSO_REFUSED_WITHOUT_ROLE,
    acts::PASSENGER_SIGN_IN_FAILED,
];
/// Requests the gate refused: a permission not held, a CSRF token missing or wrong.
pub const DENIED: &[AuditAction] = &[
    aloft_authz::gate::ACCESS_DENIED,
    aloft_authz::gate::CSRF_REJECTED,
];
/// Lockouts and back-offs: an address locked out of an account, attempts while locked,
/// attempts over the rate limit.
pub const LOCKOUTS: &[AuditAction] = &[
    acts::AUTH_LOCKED,
    acts::AUTH_LOCKED_ATTEMPT,
    acts::AUTH_RATE_LIMITED,
    acts::PASSENGER_LOCKED_ATTEMPT,
    acts::PASSENGER_RATE_LIMITED,
];

/// When a count is unusual: at or over `warn` it is flagged, at or over `alarm` it is alarming.
#[derive(Debug, Clone, Copy)]
pub struct Threshold {
    /// Flag as unusual.
    pub warn: u64,
    /// Flag as a likely attack.
    pub alarm: u64,
}

/// Failed sign-ins and lockouts of one account per day.
pub const ACCOUNT_PER_DAY: Threshold = Threshold { warn: 5, alarm: 20 };
/// Failed sign-ins, lockouts and refusals from one client address per day.
pub const ADDRESS_PER_DAY: Threshold = Threshold {
    warn: 10,
    alarm: 50,
};
/// Refusals of one signed-in account per day (someone trying pages their role does not open).
pub const DENIALS_PER_DAY: Threshold = Threshold { warn: 5, alarm: 25 };

impl Threshold {
    fn over(self, days: u64) -> Threshold {
        Threshold {
            warn: self.warn * days,
            alarm: self.alarm * days,
        }
    }

    fn badge(self, n: u64) -> Option<Markup> {
        if n >= self.alarm {
            Some(kit::badge("Likely attack", Tone::Bad))
        } else if n >= self.warn {
            Some(kit::badge("Unusual", Tone::Warn))
        } else {
            None
        }
    }
}

fn all_watched() -> Vec<&'static str> {
    [FAILED, DENIED, LOCKOUTS]
        .concat()
        .iter()
        .map(|a| a.as_str())
        .collect()
}

/// The three kinds of event the view counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Failed,
    Denied,
    Lockout,
}

fn kind_of(action: &str) -> Option<Kind> {
    if FAILED.iter().any(|a| a.as_str() == action) {
        Some(Kind::Failed)
    } else if DENIED.iter().any(|a| a.as_str() == action) {
        Some(Kind::Denied)
    } else if LOCKOUTS.iter().any(|a| a.as_str() == action) {
        Some(Kind::Lockout)
    } else {
        None
    }
}

/// The period the view covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last 24 hours, per hour.
    Day,
    /// The last 14 days, per day.
    Fortnight,
}

impl Window {
    fn days(self) -> u64 {
        match self {
            Window::Day => 1,
            Window::Fortnight => 14,
        }
    }

    /// The buckets (key, label) in time order and the start of the first.
    fn buckets(self, now: DateTime<Utc>) -> (Vec<(String, String)>, DateTime<Utc>) {
        let (bucket, n, step) = match self {
            Window::Day => (Bucket::Hour, 24, Duration::hours(1)),
            Window::Fortnight => (Bucket::Day, 14, Duration::days(1)),
        };
        let list: Vec<(String, String)> = (0..n)
            .rev()
            .map(|i| {
                let t = now - step * i;
                let label = match self {
                    Window::Day => t.format("%H:00").to_string(),
                    Window::Fortnight => t.format("%a %-d").to_string(),
                };
                (bucket.key(t), label)
            })
            .collect();
        let start = match self {
            Window::Day => {
                let t = now - Duration::hours(23);
                t.date_naive()
                    .and_hms_opt(t.format("%H").to_string().parse().unwrap_or(0), 0, 0)
                    .unwrap_or_default()
                    .and_utc()
            }
            Window::Fortnight => (now - Duration::days(13))
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .and_utc(),
        };
        (list, start)
    }

    fn bucket(self) -> Bucket {
        match self {
            Window::Day => Bucket::Hour,
            Window::Fortnight => Bucket::Day,
        }
    }
}

/// Counts per kind for one account or address.
#[derive(Debug, Clone, Default)]
struct Tally {
    failed: u64,
    denied: u64,
    lockouts: u64,
    last_at: String,
}

impl Tally {
    fn total(&self) -> u64 {
        self.failed + self.denied + self.lockouts
    }
}

fn tally(rows: Vec<GroupedCount>) -> Vec<(Option<String>, Tally)> {
    let mut by: HashMap<Option<String>, Tally> = HashMap::new();
    for r in rows {
        let t = by.entry(r.key).or_default();
        match kind_of(&r.action) {
            Some(Kind::Failed) => t.failed += r.count,
            Some(Kind::Denied) => t.denied += r.count,
            Some(Kind::Lockout) => t.lockouts += r.count,
            None => {}
        }
        if r.last_at > t.last_at {
            t.last_at = r.last_at;
        }
    }
    let mut list: Vec<_> = by.into_iter().collect();
    list.sort_by(|a, b| {
        b.1.total()
            .cmp(&a.1.total())
            .then_with(|| b.1.last_at.cmp(&a.1.last_at))
    });
    list
}

/// What the anomalies view and the security panel show.
struct Activity {
    /// When the figures were counted (RFC 3339 UTC).
    as_of: String,
    chart: TimeChart,
    failed: u64,
    denied: u64,
    lockouts: u64,
    accounts: Vec<(Option<String>, Tally)>,
    addresses: Vec<(Option<String>, Tally)>,
    names: HashMap<String, Named>,
}

async fn activity(db: &Database, window: Window, top: usize) -> Result<Activity, StorageError> {
    let now = Utc::now();
    let (buckets, since) = window.buckets(now);
    let watched = all_watched();
    let counts = counts_over_time(db, &watched, since, window.bucket()).await?;
    let index: HashMap<&str, usize> = buckets
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.as_str(), i))
        .collect();
    let mut series = [
        vec![0u64; buckets.len()],
        vec![0u64; buckets.len()],
        vec![0u64; buckets.len()],
    ];
    for (bucket, action, n) in &counts {
        if let (Some(&i), Some(kind)) = (index.get(bucket.as_str()), kind_of(action)) {
            series[kind as usize][i] += n;
        }
    }
    let (failed, denied, lockouts) = (
        series[0].iter().sum(),
        series[1].iter().sum(),
        series[2].iter().sum(),
    );
    let [f, d, l] = series;
    let chart = TimeChart {
        title: match window {
            Window::Day => {
                "Sign-in failures, refusals and lockouts per hour (UTC), last 24 hours".to_owned()
            }
            Window::Fortnight => {
                "Sign-in failures, refusals and lockouts per day (UTC), last 14 days".to_owned()
            }
        },
        buckets: buckets.iter().map(|(_, l)| l.clone()).collect(),
        series: vec![
            Series {
                name: "Failed sign-ins".into(),
                values: f,
            },
            Series {
                name: "Refusals".into(),
                values: d,
            },
            Series {
                name: "Lockouts and back-offs".into(),
                values: l,
            },
        ],
    };
    let mut accounts = tally(grouped_counts(db, &watched, since, Grouping::Subject).await?);
    accounts.truncate(top);
    let mut addresses = tally(grouped_counts(db, &watched, since, Grouping::ClientAddress).await?);
    addresses.truncate(top);
    let ids: BTreeSet<String> = accounts.iter().filter_map(|(k, _)| k.clone()).collect();
    let names = names_of(db, &ids).await?;
    Ok(Activity {
        as_of: to_db_time(now),
        chart,
        failed,
        denied,
        lockouts,
        accounts,
        addresses,
        names,
    })
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn since_date(window: Window) -> String {
    (Utc::now() - Duration::days(window.days() as i64 - 1))
        .format("%Y-%m-%d")
        .to_string()
}

fn account_label(key: &Option<String>, names: &HashMap<String, Named>) -> Markup {
    match key {
        None => html! { span.muted { "Unknown username" } },
        Some(id) => match names.get(id) {
            Some(n) => html! { span title={ (n.kind) " " (id) } { (n.full()) } },
            None => html! { span title=(id) { (fallback_name(id)) } },
        },
    }
}

fn accounts_table(a: &Activity, window: Window, caption: &str) -> Markup {
    let days = window.days();
    let from = since_date(window);
    let rows = a
        .accounts
        .iter()
        .map(|(key, t)| {
            let flag = ACCOUNT_PER_DAY
                .over(days)
                .badge(t.failed + t.lockouts)
                .or_else(|| DENIALS_PER_DAY.over(days).badge(t.denied));
            let trail = key.as_ref().map(|id| {
                // Failed sign-ins name the account as their record, refusals as their actor.
                if t.denied > t.failed + t.lockouts {
                    format!("/audit?actor={}&from={from}", enc(id))
                } else {
                    format!("/audit?record={}&from={from}", enc(id))
                }
            });
            vec![
                html! {
                    @if let Some(href) = &trail { a href=(href) { (account_label(key, &a.names)) } }
                    @else { (account_label(key, &a.names)) }
                },
                html! { (t.failed) },
                html! { (t.denied) },
                html! { (t.lockouts) },
                html! { time datetime=(t.last_at) { (readable(&t.last_at)) } },
                html! { @if let Some(b) = flag { (b) } @else { span.muted { "—" } } },
            ]
        })
        .collect();
    DataTable::new(
        caption,
        vec![
            Column::new("Account"),
            Column::new("Failed").numeric(),
            Column::new("Refused").numeric(),
            Column::new("Lockouts").numeric(),
            Column::new("Last"),
            Column::new("Flag"),
        ],
    )
    .id("top-accounts")
    .rows(rows)
    .render()
}

fn addresses_table(a: &Activity, window: Window, caption: &str) -> Markup {
    let days = window.days();
    let from = since_date(window);
    let rows = a
        .addresses
        .iter()
        .map(|(key, t)| {
            let flag = ADDRESS_PER_DAY.over(days).badge(t.total());
            vec![
                html! {
                    @match key {
                        Some(ip) => a href={ "/audit?address=" (enc(ip)) "&from=" (from) } { (ip) },
                        None => span.muted { "Not known" },
                    }
                },
                html! { (t.failed) },
                html! { (t.denied) },
                html! { (t.lockouts) },
                html! { time datetime=(t.last_at) { (readable(&t.last_at)) } },
                html! { @if let Some(b) = flag { (b) } @else { span.muted { "—" } } },
            ]
        })
        .collect();
    DataTable::new(
        caption,
        vec![
            Column::new("Client address"),
            Column::new("Failed").numeric(),
            Column::new("Refused").numeric(),
            Column::new("Lockouts").numeric(),
            Column::new("Last"),
            Column::new("Flag"),
        ],
    )
    .id("top-addresses")
    .rows(rows)
    .render()
}

/// How long aggregates over the trail are reused. Counting a busy fortnight of the trail takes
/// longer than a page may; a figure half a minute old serves watching just as well, and the page
/// says how old it is.
pub const REFRESH: std::time::Duration = std::time::Duration::from_secs(30);

/// Aggregates computed at most once per [`REFRESH`]: a fresh value is served as is, a stale one
/// too while one background task recomputes it (stale-while-revalidate), so no request waits for
/// the trail to be counted except the very first.
struct Cached<V> {
    entries: std::sync::Mutex<HashMap<String, Entry<V>>>,
    /// Held while a missing value is computed, so concurrent first requests wait for that one
    /// computation instead of each counting the trail.
    first: tokio::sync::Mutex<()>,
}

/// A cached value: when it was computed, the value, whether a refresh is under way.
type Entry<V> = (std::time::Instant, Arc<V>, bool);

impl<V: Send + Sync + 'static> Cached<V> {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            entries: std::sync::Mutex::new(HashMap::new()),
            first: tokio::sync::Mutex::new(()),
        })
    }

    async fn get<F, Fut>(self: &Arc<Self>, key: &str, compute: F) -> Result<Arc<V>, StorageError>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<V, StorageError>> + Send + 'static,
    {
        let stale = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get_mut(key) {
                Some((at, value, _)) if at.elapsed() < REFRESH => return Ok(value.clone()),
                Some((_, value, refreshing)) => {
                    let start = !*refreshing;
                    *refreshing = true;
                    Some((value.clone(), start))
                }
                None => None,
            }
        };
        match stale {
            Some((value, start)) => {
                if start {
                    let me = self.clone();
                    let key = key.to_owned();
                    tokio::spawn(async move {
                        let fresh = compute().await;
                        let mut entries = me.entries.lock().unwrap_or_else(|e| e.into_inner());
                        match fresh {
                            Ok(v) => {
                                entries
                                    .insert(key, (std::time::Instant::now(), Arc::new(v), false));
                            }
                            Err(_) => {
                                if let Some(e) = entries.get_mut(&key) {
                                    e.2 = false;
                                }
                            }
                        }
                    });
                }
                Ok(value)
            }
            None => {
                let _one = self.first.lock().await;
                if let Some((_, value, _)) = self
                    .entries
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(key)
                {
                    return Ok(value.clone());
                }
                let value = Arc::new(compute().await?);
                self.entries
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(
                        key.to_owned(),
                        (std::time::Instant::now(), value.clone(), false),
                    );
                Ok(value)
            }
        }
    }
}

/// The state of `/security`: the trail and the aggregates of each period.
#[derive(Clone)]
struct Watch {
    db: Database,
    cache: Arc<Cached<Activity>>,
}

/// `/security`. The fortnight (the long count) is counted once in the background at start-up,
/// so the first person to open it does not wait for a busy trail to be counted.
pub fn routes(db: Database) -> Router {
    let cache: Arc<Cached<Activity>> = Cached::new();
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let (warm, counting) = (cache.clone(), db.clone());
        runtime.spawn(async move {
            for window in [Window::Fortnight] {
                let db = counting.clone();
                let _ = warm
                    .get(&format!("{window:?}"), move || async move {
                        activity(&db, window, 15).await
                    })
                    .await;
            }
        });
    }
    Router::new()
        .route("/security", get(anomalies_page))
        .with_state(Watch { db, cache })
}

#[derive(Debug, Default, serde::Deserialize)]
struct WindowQuery {
    #[serde(default)]
    window: Option<String>,
}

async fn anomalies_page(State(watch): State<Watch>, Query(q): Query<WindowQuery>) -> Response {
    let window = match q.window.as_deref() {
        Some("14d") => Window::Fortnight,
        _ => Window::Day,
    };
    let db = watch.db.clone();
    let found = watch
        .cache
        .get(&format!("{window:?}"), move || async move {
            activity(&db, window, 15).await
        })
        .await;
    let crumbs = [Crumb {
        label: "Home",
        href: "/",
    }];
    let header = kit::page_header(
        &crumbs,
        "Sign-in anomalies",
        Some(
            html! { "Failed sign-ins, refused requests and lockouts from the audit trail, by account and by client address. Flags: an account with "
            (ACCOUNT_PER_DAY.warn) "+ failures a day, an address with " (ADDRESS_PER_DAY.warn) "+ events a day, an account refused " (DENIALS_PER_DAY.warn) "+ times a day." },
        ),
        Some(html! {
            a role="button" class="secondary" href={ "/audit?action=auth.*&from=" (since_date(window)) } { "Sign-in events in the trail" }
            a role="button" class="secondary" href="/audit/verify" { "Verify the chain" }
        }),
    );
    let tabs = kit::tabs(
        "Period",
        &[
            Tab {
                label: "Last 24 hours",
                href: "/security",
                current: window == Window::Day,
            },
            Tab {
                label: "Last 14 days",
                href: "/security?window=14d",
                current: window == Window::Fortnight,
            },
        ],
    );
    let (status, body) = match found {
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            kit::notice(
                "The audit trail cannot be read right now. Please try again in a moment.",
                Tone::Bad,
            ),
        ),
        Ok(a) => {
            let days = window.days();
            let from = since_date(window);
            let fail_flag = ACCOUNT_PER_DAY.over(days * 4).badge(a.failed);
            (
                StatusCode::OK,
                html! {
                    (kit::stats(&[
                        ("Failed sign-ins", a.failed.to_string(), Some(&format!("/audit?action=auth.*&from={from}"))),
                        ("Refused requests", a.denied.to_string(), Some(&format!("/audit?action=access.denied&from={from}"))),
                        ("Lockouts and back-offs", a.lockouts.to_string(), Some(&format!("/audit?action=auth.locked&from={from}"))),
                    ]))
                    @if let Some(b) = fail_flag { p { (b) " Failed sign-ins are far above the usual level." } }
                    p.muted { "Counted " time datetime=(a.as_of) { (readable(&a.as_of)) } "; the figures are refreshed every " (REFRESH.as_secs()) " seconds." }
                    (a.chart.render())
                    @if a.accounts.is_empty() && a.addresses.is_empty() {
                        (kit::empty_state("Nothing unusual", "No failed sign-in, refusal or lockout in this period.", None))
                    } @else {
                        h2 { "By account" }
                        (accounts_table(&a, window, "Accounts with the most failures, refusals and lockouts"))
                        h2 { "By client address" }
                        (addresses_table(&a, window, "Client addresses with the most failures, refusals and lockouts"))
                    }
                },
            )
        }
    };
    page(
        status,
        layout(
            "Sign-in anomalies",
            SECTION,
            html! { (header) (tabs) (body) },
        ),
    )
}

// ---- Start-page panels ----------------------------------------------------------------------

fn unavailable() -> Markup {
    kit::notice(
        "These figures cannot be read right now. Please try again in a moment.",
        Tone::Bad,
    )
}

/// The chain's status line: its length and the last verification's outcome.
async fn chain_line(db: &Database) -> Markup {
    let length = audit::chain_length(db).await.ok();
    let last = last_verification(db).await.ok().flatten();
    html! {
        p {
            "Audit chain: " (length.map_or("?".to_owned(), |n| n.to_string())) " records. "
            @match &last {
                Some(v) if v.outcome == "intact" => {
                    (kit::badge("Intact", Tone::Good)) " when last verified, "
                    time datetime=(v.at) { (readable(&v.at)) } " (" (v.records) " records). "
                }
                Some(v) => {
                    (kit::badge("Broken", Tone::Bad)) " at record " (v.records) ", found "
                    time datetime=(v.at) { (readable(&v.at)) } ". "
                }
                None => { (kit::badge("Not verified yet", Tone::Warn)) " " }
            }
            a href="/audit/verify" { "Verify now" }
        }
    }
}

/// The last 24 hours of sign-in failures, refusals and lockouts (the security panel's figures).
async fn activity_of_day(db: Database) -> Result<Activity, StorageError> {
    activity(&db, Window::Day, 5).await
}

async fn security_panel(db: Database, cache: Arc<Cached<Activity>>) -> Markup {
    let counting = db.clone();
    let found = cache.get("panel", move || activity_of_day(counting)).await;
    let body = match found {
        Err(_) => unavailable(),
        Ok(a) => html! {
            (kit::stats(&[
                ("Failed sign-ins, 24 h", a.failed.to_string(), Some("/security")),
                ("Refused requests, 24 h", a.denied.to_string(), Some("/security")),
                ("Lockouts, 24 h", a.lockouts.to_string(), Some("/security")),
            ]))
            (a.chart.render())
            p.muted { "Counted " time datetime=(a.as_of) { (readable(&a.as_of)) } "." }
            @if a.addresses.is_empty() {
                p.muted { "No failed sign-in, refusal or lockout in the last 24 hours." }
            } @else {
                (addresses_table(&a, Window::Day, "Top client addresses, last 24 hours"))
            }
            (chain_line(&db).await)
            p {
                a href="/security" { "Sign-in anomalies" } " · "
                a href="/audit?action=auth.*" { "Sign-in events in the audit trail" } " · "
                a href="/audit" { "Whole audit trail" }
            }
        },
    };
    kit::panel("security-activity", "Security: sign-ins and refusals", body)
}

/// The actions that read customer data: the `customer` family's reads and searches.
fn customer_reads(actions: &[AuditAction]) -> Vec<&'static str> {
    actions
        .iter()
        .map(|a| a.as_str())
        .filter(|a| {
            a.strip_prefix("customer.").is_some_and(|verb| {
                verb.starts_with("read") || verb.ends_with("_read") || verb == "search"
            })
        })
        .collect()
}

async fn pending_grants(db: &Database) -> Result<u64, StorageError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM access_grants WHERE decision IS NULL")
        .fetch_one(db.pool())
        .await?;
    Ok(row.try_get::<i64, _>("n")?.max(0) as u64)
}

/// Reads of customer data in the last 24 hours: how many, and by whom.
type Reads = (u64, Vec<GroupedCount>);

async fn privacy_panel(
    db: Database,
    actions: Arc<Vec<AuditAction>>,
    cache: Arc<Cached<Reads>>,
) -> Markup {
    let counting = db.clone();
    let figures = async {
        let grants = pending_grants(&db).await?;
        let reads = cache
            .get("reads", move || reads_today(counting, actions))
            .await?;
        Ok::<_, StorageError>((grants, reads))
    }
    .await;
    let body = match figures {
        Err(_) => unavailable(),
        Ok((grants, reads)) => {
            let (read_count, readers) = (reads.0, reads.1.clone());
            let mut by_actor: HashMap<String, u64> = HashMap::new();
            for r in readers {
                if let Some(k) = r.key {
                    *by_actor.entry(k).or_default() += r.count;
                }
            }
            let mut top: Vec<(String, u64)> = by_actor.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            top.truncate(5);
            let ids: BTreeSet<String> = top.iter().map(|(k, _)| k.clone()).collect();
            let names = names_of(&db, &ids).await.unwrap_or_default();
            let from = (Utc::now() - Duration::hours(24))
                .format("%Y-%m-%d")
                .to_string();
            html! {
                (kit::stats(&[
                    ("Grants awaiting approval", grants.to_string(), Some("/access/grants")),
                    ("Reads of customer data, 24 h", read_count.to_string(), Some(&format!("/audit?action=customer.read&from={from}"))),
                    ("Staff who read them", top.len().to_string(), None),
                ]))
                @if !top.is_empty() {
                    h3 { "Who read most customer data (24 h)" }
                    ul {
                        @for (id, n) in &top {
                            li {
                                a href={ "/audit?actor=" (enc(id)) "&from=" (from) } {
                                    (names.get(id).map_or_else(|| fallback_name(id), |n| n.full()))
                                }
                                ": " (n) " read(s)"
                            }
                        }
                    }
                }
                (kit::empty_state(
                    "Subject requests",
                    "Access, erasure and rectification requests will be worked here when cases arrive; until then, answer them from the audit trail and the customer's page.",
                    None,
                ))
                p {
                    a href="/audit" { "Audit trail" } " · "
                    a href="/access/grants" { "Grants (four-eyes)" } " · "
                    a href="/audit/verify" { "Verify the chain" }
                }
            }
        }
    };
    kit::panel(
        "privacy-oversight",
        "Privacy: access to customer data",
        body,
    )
}

async fn admin_panel(db: Database) -> Markup {
    let now = to_db_time(Utc::now());
    let figures = async {
        let a = sqlx::query(
            "SELECT COUNT(*) AS total, \
             SUM(CASE WHEN locked_until IS NOT NULL AND locked_until > $1 THEN 1 ELSE 0 END) AS locked, \
             SUM(CASE WHEN totp_secret IS NULL AND disabled_at IS NULL THEN 1 ELSE 0 END) AS unenrolled, \
             SUM(CASE WHEN disabled_at IS NOT NULL THEN 1 ELSE 0 END) AS disabled \
             FROM staff_accounts",
        )
        .bind(&now)
        .fetch_one(db.pool())
        .await?;
        let c = sqlx::query(
            "SELECT \
             SUM(CASE WHEN revoked_at IS NULL AND expires_at > $1 AND awaiting_approval = 0 THEN 1 ELSE 0 END) AS active, \
             SUM(CASE WHEN revoked_at IS NULL AND awaiting_approval <> 0 THEN 1 ELSE 0 END) AS awaiting, \
             SUM(CASE WHEN revoked_at IS NULL AND expires_at <= $1 THEN 1 ELSE 0 END) AS expired \
             FROM api_clients",
        )
        .bind(&now)
        .fetch_one(db.pool())
        .await?;
        let n = |r: &sqlx::any::AnyRow, c: &str| -> u64 {
            r.try_get::<Option<i64>, _>(c).ok().flatten().unwrap_or(0).max(0) as u64
        };
        let changes = audit::trail(
            &db,
            &TrailQuery {
                actions: crate::events::audit::ALL
                    .iter()
                    .map(|a| a.as_str())
                    .filter(|a| a.starts_with("account.") || a.starts_with("api_client."))
                    .map(str::to_owned)
                    .collect(),
                limit: 6,
                ..TrailQuery::default()
            },
        )
        .await?;
        Ok::<_, StorageError>((
            [n(&a, "total"), n(&a, "locked"), n(&a, "unenrolled"), n(&a, "disabled")],
            [n(&c, "active"), n(&c, "awaiting"), n(&c, "expired")],
            changes.records,
        ))
    }
    .await;
    let body = match figures {
        Err(_) => unavailable(),
        Ok(([total, locked, unenrolled, disabled], [active, awaiting, expired], changes)) => {
            let mut ids: BTreeSet<String> = BTreeSet::new();
            for r in &changes {
                ids.insert(r.actor_id.clone());
                ids.extend(r.resource_id.clone());
            }
            let names = names_of(&db, &ids).await.unwrap_or_default();
            let name = |id: &str| {
                names
                    .get(id)
                    .map_or_else(|| fallback_name(id), |n| n.full())
            };
            let items: Vec<FeedItem> = changes
                .iter()
                .map(|r| FeedItem {
                    when: readable(&r.occurred_at),
                    datetime: r.occurred_at.clone(),
                    title: format!(
                        "{}: {}",
                        sentence(&r.action),
                        r.resource_id.as_deref().map_or_else(String::new, name)
                    ),
                    badges: vec![],
                    meta: Some(format!("by {}", name(&r.actor_id))),
                    details: None,
                    kind: "account",
                })
                .collect();
            html! {
                h3 { "Staff accounts" }
                (kit::stats(&[
                    ("Accounts", total.to_string(), Some("/access/accounts")),
                    ("Locked now", locked.to_string(), Some("/access/accounts")),
                    ("Second factor not set up", unenrolled.to_string(), Some("/access/accounts")),
                    ("Disabled or awaiting approval", disabled.to_string(), Some("/access/accounts")),
                ]))
                h3 { "Integration clients" }
                (kit::stats(&[
                    ("Active", active.to_string(), Some("/access/clients")),
                    ("Awaiting approval", awaiting.to_string(), Some("/access/clients")),
                    ("Expired", expired.to_string(), Some("/access/clients")),
                ]))
                h3 { "Recent account changes" }
                @if items.is_empty() {
                    p.muted { "No account or client has been changed yet." }
                } @else {
                    (kit::feed(&items))
                }
                p { a href="/access/accounts" { "Manage accounts" } " · " a href="/access/clients" { "Manage clients" } }
            }
        }
    };
    kit::panel(
        "access-administration",
        "Accounts and integration clients",
        body,
    )
}

/// An action as a phrase: `account.roster_set` → `Account roster set`.
fn sentence(action: &str) -> String {
    let words = action.replace(['.', '_'], " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn scope_text(rule: &ScopeRule) -> String {
    match rule {
        ScopeRule::Unlimited => "All rows".to_owned(),
        ScopeRule::FromCredential(kind) => {
            format!("Only their {}", kind.as_str().replace('_', " "))
        }
        ScopeRule::OfSubject(kind) => format!("Only their {}", kind.as_str().replace('_', " ")),
    }
}

async fn configuration_panel(roles: Roles) -> Markup {
    let rows = roles
        .all()
        .iter()
        .map(|r| {
            vec![
                html! { a href={ "/access/roles#role-" (r.id) } { (r.label) } },
                html! { (r.permissions.len()) },
                html! { (scope_text(&r.scope)) },
            ]
        })
        .collect();
    let body = html! {
        (kit::stats(&[
            ("Roles", roles.all().len().to_string(), Some("/access/roles")),
            ("Permissions", roles.permissions().len().to_string(), Some("/access/roles")),
        ]))
        (DataTable::new("Roles, what they hold and which rows they see", vec![
            Column::new("Role"), Column::new("Permissions").numeric(), Column::new("Rows"),
        ]).id("roles-summary").rows(rows).render())
        p { a href="/access/roles" { "Open the roles × permissions matrix" } }
        h3 { "Sources" }
        (kit::empty_state(
            "No source integrations page yet",
            "Source systems (reservations, departure control, loyalty) deliver through the ingest API and the event stream configured at start-up; each customer's Sources tab shows what they contributed.",
            Some(html! { a href="/api/docs" { "Ingest API reference" } }),
        ))
        h3 { "Policies" }
        (kit::empty_state(
            "Retention and consent policies",
            "Policies appear here as their modules arrive. Route access is governed by the roles matrix above; everything not granted is denied.",
            None,
        ))
    };
    kit::panel(
        "cmp-configuration",
        "Configuration: roles, sources, policies",
        body,
    )
}

/// Reads of customer data in the last 24 hours: how many, and by whom.
async fn reads_today(db: Database, actions: Arc<Vec<AuditAction>>) -> Result<Reads, StorageError> {
    let reads = customer_reads(&actions);
    let since = Utc::now() - Duration::hours(24);
    let n = audit::count_since(&db, &reads, since).await?;
    let by = grouped_counts(&db, &reads, since, Grouping::Subject).await?;
    Ok((n, by))
}

/// The start-page panels of the roles that watch and run access. Their counts over the trail
/// are made once in the background at start-up (then kept 30 s and refreshed behind the
/// answer), so the first security manager to sign in does not wait for a busy trail.
pub fn home_panels(db: Database, roles: Roles, actions: Vec<AuditAction>) -> Vec<HomePanel> {
    let actions = Arc::new(actions);
    let (d1, d2, d3) = (db.clone(), db.clone(), db);
    let (activity_cache, reads_cache): (Arc<Cached<Activity>>, Arc<Cached<Reads>>) =
        (Cached::new(), Cached::new());
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let (activity, reads) = (activity_cache.clone(), reads_cache.clone());
        let (db_a, db_r, acts) = (d1.clone(), d2.clone(), actions.clone());
        runtime.spawn(async move {
            let _ = activity
                .get("panel", move || async move { activity_of_day(db_a).await })
                .await;
            let _ = reads.get("reads", move || reads_today(db_r, acts)).await;
        });
    }
    vec![
        HomePanel::new(
            "security-activity",
            Access::Permission(SECURITY_MONITOR),
            10,
            move |_| security_panel(d1.clone(), activity_cache.clone()),
        )
        .wide(),
        HomePanel::new(
            "privacy-oversight",
            Access::Permission(AUDIT_READ),
            20,
            move |_| privacy_panel(d2.clone(), actions.clone(), reads_cache.clone()),
        ),
        HomePanel::new(
            "access-administration",
            Access::Permission(ACCOUNTS_MANAGE),
            10,
            move |_| admin_panel(d3.clone()),
        )
        .wide(),
        HomePanel::new(
            "cmp-configuration",
            Access::Permission(CONFIG_REVIEW),
            10,
            move |_| configuration_panel(roles.clone()),
        )
        .wide(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_flag_by_level_and_scale_with_the_period() {
        assert!(ACCOUNT_PER_DAY.badge(4).is_none());
        assert!(
            ACCOUNT_PER_DAY
                .badge(5)
                .unwrap()
                .into_string()
                .contains("Unusual")
        );
        assert!(
            ACCOUNT_PER_DAY
                .badge(20)
                .unwrap()
                .into_string()
                .contains("Likely attack")
        );
        assert!(ACCOUNT_PER_DAY.over(14).badge(20).is_none());
    }

    #[test]
    fn the_day_window_has_24_hourly_buckets_ending_now() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T06:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (b, start) = Window::Day.buckets(now);
        assert_eq!(b.len(), 24);
        assert_eq!(b.last().unwrap().0, "2026-12-06T06");
        assert_eq!(b[0].0, "2026-12-05T07");
        assert_eq!(to_db_time(start), "2026-12-05T07:00:00.000000Z");
        let (b, _) = Window::Fortnight.buckets(now);
        assert_eq!((b.len(), b[13].0.as_str()), (14, "2026-12-06"));
    }

    #[test]
    fn customer_reads_are_the_customer_familys_reads_and_searches() {
        let a = [
            AuditAction::new("customer.read"),
            AuditAction::new("customer.search"),
            AuditAction::new("customer.timeline_read"),
            AuditAction::new("customer.update"),
            AuditAction::new("auth.locked"),
        ];
        assert_eq!(
            customer_reads(&a),
            vec!["customer.read", "customer.search", "customer.timeline_read"]
        );
    }
}
