//! Black-box test harness: starts the real application on port 0 over a fresh database of the
//! chosen backend, and talks to it over real HTTP.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use aloft::app::{AppConfig, Application};
use aloft_broker::NatsSettings;
use aloft_platform::testing::TestDatabase;
use aloft_platform::{Backend, DatabaseSettings};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

pub struct TestApp {
    pub addr: SocketAddr,
    pub test_db: TestDatabase,
    client: Client<HttpConnector, Full<Bytes>>,
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
        let test_db = TestDatabase::new(backend).await;
        let mut database = adjust(test_db.settings.clone());
        database.acquire_timeout = Duration::from_secs(1);
        let app = Application::build(AppConfig {
            database,
            bind: "127.0.0.1:0".parse().unwrap(),
            nats,
            shutdown_grace: Duration::from_secs(5),
            tls: None,
        })
        .await
        .expect("the application builds");
        let addr = app.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            test_db,
            client: Client::builder(TokioExecutor::new()).build_http(),
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
        for (k, v) in headers {
            req = req.header(*k, *v);
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

/// Runs `scenario` once per configured backend.
pub async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Backend) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in aloft_platform::testing::backends() {
        scenario(backend).await;
    }
}
