//! Black-box test harness: starts the real application on port 0 over a fresh database of the
//! chosen backend, and talks to it over real HTTP.
#![allow(dead_code)]

pub mod portal;
pub mod smtp;

use std::net::SocketAddr;
use std::time::Duration;

use aloft::app::{AppConfig, Application};
use aloft::roles::ids;
use aloft_access::KeySource;
use aloft_broker::NatsSettings;
use aloft_kernel::testing::TestDatabase;
use aloft_kernel::{Backend, DatabaseSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Optional configuration for [`TestApp::spawn_full`].
#[derive(Default)]
pub struct Extras {
    pub external_issuers: Vec<aloft_access::issuers::IssuerConfig>,
    pub sso: Option<aloft_access::sso::SsoConfig>,
    /// Key source instead of fresh random keys.
    pub keys: Option<KeySource>,
    /// Consume source events from this stream.
    pub sources: Option<aloft_ingest::consumer::ConsumerSettings>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: aloft_kernel::http::TrustedProxies,
    /// Serve the operational endpoints on this separate listener too (`--metrics-bind`).
    pub metrics_bind: Option<SocketAddr>,
    /// Outgoing mail (an SMTP server on loopback); `None` keeps mail for the catcher.
    pub mail: Option<aloft_mail::MailConfig>,
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// The separate listener of the operational endpoints, when [`Extras::metrics_bind`] asked.
    pub metrics_addr: Option<SocketAddr>,
    pub test_db: TestDatabase,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Sent as `Authorization` unless a request names its own (or `anonymous` is set).
    pub token: String,
    /// A bearer token per role.
    pub role_tokens: RoleTokens,
    /// `Debug` of the router (its route table), for the route policy test.
    pub route_debug: String,
    /// Issues tokens of this instance (scoped ones, for row-scope tests).
    pub issuer: aloft_access::TokenIssuer,
    /// Every route's declared policy, as the gate has them.
    pub policies: Vec<aloft_authz::RoutePolicy>,
    /// Staff accounts.
    pub accounts: aloft_access::AccountStore,
    /// Customer profiles (without read auditing), also the holder of customers' data keys.
    pub customers: aloft_customers::CustomerStore,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |s| s, None).await
    }

    /// Starts the app; `adjust` may change the database settings (e.g. route through a proxy).
    pub async fn spawn_with(
        backend: Backend,
        adjust: impl FnOnce(DatabaseSettings) -> DatabaseSettings,
        nats: Option<NatsSettings>,
    ) -> Self {
        Self::spawn_full(backend, adjust, nats, Extras::default()).await
    }

    /// Starts the app accepting tokens from these external issuers too.
    pub async fn spawn_full(
        backend: Backend,
        adjust: impl FnOnce(DatabaseSettings) -> DatabaseSettings,
        nats: Option<NatsSettings>,
        extras: Extras,
    ) -> Self {
        let test_db = TestDatabase::new(backend).await;
        let mut database = adjust(test_db.settings.clone());
        database.acquire_timeout = Duration::from_secs(1);
        let app = Application::build(AppConfig {
            database,
            bind: "127.0.0.1:0".parse().unwrap(),
            nats,
            shutdown_grace: Duration::from_secs(5),
            tls: None,
            keys: extras.keys.unwrap_or_else(test_keys),
            demo_accounts: true,
            external_issuers: extras.external_issuers,
            sso: extras.sso,
            sources: extras.sources,
            trusted_proxies: extras.trusted_proxies,
            mail: extras.mail,
            metrics_bind: extras.metrics_bind,
        })
        .await
        .expect("the application builds");
        let addr = app.local_addr();
        let metrics_addr = app.metrics_addr();
        // The data privacy officer may read and write profiles and see travel documents: the
        // default caller of the functional tests. Role-specific tests issue their own tokens.
        let token = app.issue_token(
            ids::DATA_PRIVACY_OFFICER,
            "tests",
            chrono::Duration::hours(1),
        );
        let tokens = RoleTokens::new(&app);
        let route_debug = format!("{:?}", app.router());
        let policies = app.policies().to_vec();
        let issuer = app.token_issuer().clone();
        let accounts = app.accounts().clone();
        let customers = app.customers().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            metrics_addr,
            test_db,
            client: Client::builder(TokioExecutor::new()).build_http(),
            token: format!("Bearer {token}"),
            role_tokens: tokens,
            route_debug,
            policies,
            issuer,
            accounts,
            customers,
            stop: Some(tx),
            server: Some(server),
        }
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Reply {
        let mut req = http::Request::builder()
            .method(method)
            .uri(format!("http://{}{path}", self.addr));
        let mut has_auth = false;
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("authorization") || k.eq_ignore_ascii_case("cookie") {
                has_auth = true;
                if v.is_empty() {
                    continue; // `("authorization", "")` = send no credentials
                }
            }
            req = req.header(*k, *v);
        }
        if !has_auth {
            req = req.header("authorization", &self.token);
        }
        let resp = self
            .client
            .request(req.body(Full::new(body)).unwrap())
            .await
            .expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body read")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A JSON request (`body` when given) with the API token of demo role `role`.
    pub async fn call(&self, method: &str, role: &str, path: &str, body: Option<&Value>) -> Reply {
        self.request(
            method,
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", self.role_tokens.get(role)),
            ],
            body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string())),
        )
        .await
    }

    /// An unauthenticated request to another listener of the app (`addr`).
    pub async fn request_at(&self, addr: SocketAddr, method: &str, path: &str) -> Reply {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("http://{addr}{path}"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let resp = self.client.request(req).await.expect("request sent");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .expect("body read")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], Bytes::new()).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            Bytes::from(body.to_string()),
        )
        .await
    }

    pub async fn patch_json(&self, path: &str, body: &Value, if_match: Option<&str>) -> Reply {
        let mut headers = vec![("content-type", "application/merge-patch+json")];
        if let Some(m) = if_match {
            headers.push(("if-match", m));
        }
        self.request("PATCH", path, &headers, Bytes::from(body.to_string()))
            .await
    }

    pub async fn create_customer(&self, body: Value) -> Value {
        let r = self.post_json("/api/v1/customers", &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()
    }

    /// Signs in through the real pages (password, then TOTP code) and returns the session.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        totp: &aloft_security::TotpSecret,
    ) -> StaffSession {
        let form = format!("username={username}&password={password}&next=%2F");
        let r = self
            .request(
                "POST",
                "/sign-in",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("authorization", ""),
                ],
                Bytes::from(form),
            )
            .await;
        assert_eq!(r.status, 303, "password step: {}", r.text());
        assert!(
            r.header("location").starts_with("/sign-in/mfa"),
            "{}",
            r.header("location")
        );
        let half = StaffSession::from_reply(&r, None);
        let page = self
            .request(
                "GET",
                "/sign-in/mfa",
                &[("cookie", &half.cookie)],
                Bytes::new(),
            )
            .await;
        let half = StaffSession {
            csrf: csrf_of(&page.text()),
            ..half
        };
        let code = totp_now(totp);
        let r = self
            .request(
                "POST",
                "/sign-in/mfa",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("cookie", &half.cookie),
                ],
                Bytes::from(format!("csrf={}&code={code}&next=%2F", half.csrf)),
            )
            .await;
        assert_eq!(r.status, 303, "second factor: {}", r.text());
        let full = StaffSession::from_reply(&r, None);
        assert_ne!(
            full.cookie, half.cookie,
            "the session id changes at sign-in"
        );
        let home = self
            .request("GET", "/", &[("cookie", &full.cookie)], Bytes::new())
            .await;
        assert_eq!(home.status, 200, "{}", home.text());
        StaffSession {
            csrf: csrf_of(&home.text()),
            ..full
        }
    }

    /// GET as a signed-in staff member.
    pub async fn get_as(&self, session: &StaffSession, path: &str) -> Reply {
        self.request("GET", path, &[("cookie", &session.cookie)], Bytes::new())
            .await
    }

    /// POSTs an HTML form (URL-encoded `body`) as a signed-in staff member, with the CSRF token.
    pub async fn post_form_as(&self, session: &StaffSession, path: &str, body: &str) -> Reply {
        let body = if body.is_empty() {
            format!("csrf={}", session.csrf)
        } else {
            format!("csrf={}&{body}", session.csrf)
        };
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("cookie", &session.cookie),
            ],
            Bytes::from(body),
        )
        .await
    }

    /// A bearer token of a scoped role with its row-scope value (a station).
    pub fn issue_scoped_token(&self, role: &str, subject: &str, value: &str) -> String {
        self.issuer
            .issue_scoped(role, subject, chrono::Duration::hours(1), None, Some(value))
    }

    /// Approves every pending four-eyes grant as the security operations manager (the second
    /// person); returns how many.
    pub async fn approve_pending_grants(&self) -> usize {
        let som = self.sign_in_as("security_operations_manager").await;
        let page = self.get_as(&som, "/access/grants").await.text();
        let ids: Vec<String> = page
            .match_indices("action=\"/access/grants/")
            .map(|(i, m)| {
                let rest = &page[i + m.len()..];
                rest[..rest.find('/').unwrap()].to_owned()
            })
            .filter(|id| !id.is_empty())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for id in &ids {
            let r = self
                .post_form_as(&som, &format!("/access/grants/{id}/approve"), "")
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
        }
        ids.len()
    }

    /// Signs in as the demo account of `role`.
    pub async fn sign_in_as(&self, role: &str) -> StaffSession {
        self.sign_in(
            role,
            aloft_access::demo::DEMO_PASSWORD,
            &aloft_access::demo::demo_secret(role),
        )
        .await
    }

    /// Keeps a recurring job of `kind` from running during the test: its next slot's
    /// occurrence (enqueued by the runner at start-up) is marked done, after one running now
    /// has finished. For tests that write what such a job replaces — the analytics facts
    /// rebuild (every 10 minutes, on the clock) replaces every facts row from the profiles, so
    /// a test crossing a slot boundary lost the rows it had written.
    #[allow(dead_code)] // not every test binary needs it
    pub async fn skip_scheduled(&self, kind: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let running: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind = $1 AND state = 'running'",
            )
            .bind(kind)
            .fetch_one(self.test_db.db.pool())
            .await
            .unwrap();
            if running == 0 {
                let skipped = sqlx::query(
                    "UPDATE jobs SET state = 'done' WHERE kind = $1 AND state = 'pending'",
                )
                .bind(kind)
                .execute(self.test_db.db.pool())
                .await
                .unwrap()
                .rows_affected();
                if skipped > 0 {
                    return;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {kind} occurrence was enqueued within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server ran cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// A signed-in browser: the session cookie and the page's CSRF token.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub cookie: String,
    pub csrf: String,
}

impl StaffSession {
    fn from_reply(r: &Reply, csrf: Option<String>) -> Self {
        let set = r.header("set-cookie");
        let cookie = set
            .split(';')
            .next()
            .expect("a session cookie is set")
            .to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Lax"),
            "{set}"
        );
        Self {
            cookie,
            csrf: csrf.unwrap_or_default(),
        }
    }
}

/// The CSRF token a page's forms carry.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("the page has a CSRF field");
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// The current TOTP code of `secret`.
pub fn totp_now(secret: &aloft_security::TotpSecret) -> String {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    aloft_security::totp::code_at(secret, unix)
}

/// Fresh random instance keys, given as values (nothing written to disk).
pub fn test_keys() -> KeySource {
    KeySource::Values {
        master: zeroize::Zeroizing::new(
            aloft_security::MasterKey::generate()
                .export_base64()
                .to_string(),
        ),
        index: zeroize::Zeroizing::new(
            aloft_security::IndexKey::generate()
                .export_base64()
                .to_string(),
        ),
    }
}

/// A bearer token (`Bearer …`) for every role.
pub struct RoleTokens(Vec<(&'static str, String)>);

impl RoleTokens {
    fn new(app: &Application) -> Self {
        Self(
            app.roles()
                .all()
                .iter()
                .map(|r| {
                    let token = if r.id == ids::PASSENGER {
                        app.issue_passenger_token(uuid::Uuid::now_v7())
                    } else {
                        app.issue_token(r.id, r.id, chrono::Duration::hours(1))
                    };
                    (r.id, format!("Bearer {token}"))
                })
                .collect(),
        )
    }

    /// The `Authorization` value for `role`.
    pub fn get(&self, role: &str) -> &str {
        &self
            .0
            .iter()
            .find(|(r, _)| *r == role)
            .expect("every role has a token")
            .1
    }
}

/// Runs `scenario` once per configured backend.
pub async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in aloft_kernel::testing::backends() {
        scenario(backend).await;
    }
}
