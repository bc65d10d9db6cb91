//! The bounded span queue and the exporter thread that empties it over OTLP/HTTP JSON.
//!
//! Why a thread of its own: export must never compete with request handling for the
//! application's Tokio workers, nor depend on that runtime still running at shutdown. The queue
//! is a mutex-guarded deque (pushes are a few nanoseconds under a lock nobody holds for long);
//! when it is full, spans are dropped and counted, never waited for.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::Notify;

use crate::OtlpError;
use crate::encode::{ServiceInfo, encode};
use crate::layer::FinishedSpan;

/// Where and how to export spans.
#[derive(Debug, Clone)]
pub struct OtlpConfig {
    /// The collector's base URL, e.g. `http://127.0.0.1:4318`; spans go to `{endpoint}/v1/traces`
    /// (a URL already ending in `/v1/traces` is used as it is).
    pub endpoint: String,
    /// The `service.name` resource attribute.
    pub service_name: String,
    /// The `service.version` resource attribute.
    pub service_version: String,
    /// Spans held while waiting for export; more are dropped.
    pub queue_capacity: usize,
    /// Spans per export request; a full batch is exported without waiting for the interval.
    pub batch_size: usize,
    /// Longest time a span waits in the queue.
    pub interval: Duration,
    /// Attempts per batch (connection failures, timeouts, 429, 502–504 are retried).
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one.
    pub first_backoff: Duration,
    /// Time allowed for one export request.
    pub request_timeout: Duration,
}

impl OtlpConfig {
    /// Defaults for `endpoint`: service `aloft`, 4096 queued spans, batches of 512 or every 2 s,
    /// 4 attempts from 250 ms backoff, 5 s per request.
    pub fn new(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            service_name: "aloft".into(),
            service_version: env!("CARGO_PKG_VERSION").into(),
            queue_capacity: 4096,
            batch_size: 512,
            interval: Duration::from_secs(2),
            max_attempts: 4,
            first_backoff: Duration::from_millis(250),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// The `POST` target, checked.
    fn traces_url(&self) -> Result<http::Uri, OtlpError> {
        let base = self.endpoint.trim().trim_end_matches('/');
        let url = if base.ends_with("/v1/traces") {
            base.to_owned()
        } else {
            format!("{base}/v1/traces")
        };
        let uri: http::Uri = url.parse().map_err(|_| OtlpError::BadEndpoint)?;
        match (uri.scheme_str(), uri.host()) {
            (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(uri),
            _ => Err(OtlpError::BadEndpoint),
        }
    }
}

/// Counts since the exporter started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExportStats {
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans dropped because the queue was full.
    pub dropped: u64,
    /// Spans dropped because their batch could not be delivered.
    pub failed: u64,
}

type Ack = Box<dyn FnOnce() + Send>;

/// Shared between the layer (producer) and the exporter thread (consumer).
pub(crate) struct Queue {
    spans: Mutex<VecDeque<FinishedSpan>>,
    capacity: usize,
    batch_size: usize,
    wake: Notify,
    /// Called once everything queued before them has been exported or given up on.
    acks: Mutex<Vec<Ack>>,
    stopping: AtomicBool,
    exported: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves a usable queue: spans are plain data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Queue {
    /// Queues a finished span, or drops and counts it when the queue is full. Never blocks
    /// beyond the queue's short critical section.
    pub(crate) fn push(&self, span: FinishedSpan) {
        let mut spans = lock(&self.spans);
        if spans.len() >= self.capacity {
            drop(spans);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("aloft_otlp_spans_dropped_total", "reason" => "queue_full")
                .increment(1);
            return;
        }
        spans.push_back(span);
        let full_batch = spans.len() >= self.batch_size;
        drop(spans);
        if full_batch {
            self.wake.notify_one();
        }
    }

    fn take(&self, n: usize) -> Vec<FinishedSpan> {
        let mut spans = lock(&self.spans);
        let n = n.min(spans.len());
        spans.drain(..n).collect()
    }

    fn stats(&self) -> ExportStats {
        ExportStats {
            exported: self.exported.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Keeps the exporter running; dropping it exports what is queued (waiting at most 5 s) and
/// stops the exporter thread.
pub struct ExportGuard {
    queue: Arc<Queue>,
}

impl std::fmt::Debug for ExportGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportGuard")
            .field("stats", &self.queue.stats())
            .finish()
    }
}

impl ExportGuard {
    /// Counts of exported and dropped spans.
    pub fn stats(&self) -> ExportStats {
        self.queue.stats()
    }

    /// Exports everything queued now and waits until it was delivered or given up on.
    pub async fn flush(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        lock(&self.queue.acks).push(Box::new(move || {
            let _ = tx.send(());
        }));
        self.queue.wake.notify_one();
        let _ = rx.await;
    }
}

impl Drop for ExportGuard {
    fn drop(&mut self) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        lock(&self.queue.acks).push(Box::new(move || {
            let _ = tx.send(());
        }));
        self.queue.stopping.store(true, Ordering::Relaxed);
        self.queue.wake.notify_one();
        let _ = rx.recv_timeout(Duration::from_secs(5));
    }
}

/// Starts the exporter thread.
pub(crate) fn start(config: OtlpConfig) -> Result<(Arc<Queue>, ExportGuard), OtlpError> {
    let url = config.traces_url()?;
    let queue = Arc::new(Queue {
        spans: Mutex::new(VecDeque::with_capacity(config.batch_size.min(4096))),
        capacity: config.queue_capacity.max(1),
        batch_size: config.batch_size.max(1),
        wake: Notify::new(),
        acks: Mutex::new(Vec::new()),
        stopping: AtomicBool::new(false),
        exported: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        failed: AtomicU64::new(0),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| OtlpError::Start(e.to_string()))?;
    let exporter = Exporter {
        queue: queue.clone(),
        url,
        service: ServiceInfo {
            name: config.service_name.clone(),
            version: config.service_version.clone(),
        },
        client: None,
        config,
        failing: false,
    };
    std::thread::Builder::new()
        .name("otlp-export".into())
        .spawn(move || runtime.block_on(exporter.run()))
        .map_err(|e| OtlpError::Start(e.to_string()))?;
    Ok((queue.clone(), ExportGuard { queue }))
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

struct Exporter {
    queue: Arc<Queue>,
    url: http::Uri,
    service: ServiceInfo,
    /// Built inside the exporter's runtime (the connector needs one).
    client: Option<HttpClient>,
    config: OtlpConfig,
    /// Whether the last batch failed (a warning is logged once per failure streak).
    failing: bool,
}

/// Why one export attempt failed.
enum Failure {
    /// Worth retrying: the collector is unreachable, slow or overloaded.
    Retry(String),
    /// Not worth retrying: the collector refused the data.
    Refused(String),
}

impl Exporter {
    async fn run(mut self) {
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        self.client = Some(Client::builder(hyper_util::rt::TokioExecutor::new()).build(https));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.interval) => {}
                _ = self.queue.wake.notified() => {}
            }
            let acks = std::mem::take(&mut *lock(&self.queue.acks));
            let stopping = self.queue.stopping.load(Ordering::Relaxed);
            loop {
                let batch = self.queue.take(self.config.batch_size);
                if batch.is_empty() {
                    break;
                }
                self.export(batch).await;
            }
            for ack in acks {
                ack();
            }
            if stopping {
                break;
            }
        }
    }

    async fn export(&mut self, batch: Vec<FinishedSpan>) {
        let n = batch.len() as u64;
        let body = Bytes::from(encode(&batch, &self.service));
        let mut backoff = self.config.first_backoff;
        let mut last_error = String::new();
        for attempt in 1..=self.config.max_attempts.max(1) {
            match self.post(body.clone()).await {
                Ok(()) => {
                    self.queue.exported.fetch_add(n, Ordering::Relaxed);
                    metrics::counter!("aloft_otlp_spans_exported_total").increment(n);
                    if self.failing {
                        self.failing = false;
                        tracing::info!("OTLP trace export recovered");
                    }
                    return;
                }
                Err(Failure::Refused(reason)) => {
                    last_error = reason;
                    break;
                }
                Err(Failure::Retry(reason)) => {
                    last_error = reason;
                    if attempt < self.config.max_attempts {
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                    }
                }
            }
        }
        self.queue.failed.fetch_add(n, Ordering::Relaxed);
        metrics::counter!("aloft_otlp_spans_dropped_total", "reason" => "export_failed")
            .increment(n);
        if !self.failing {
            self.failing = true;
            // The endpoint is not logged: a URL may carry credentials.
            tracing::warn!(error = %last_error, spans = n, "OTLP trace export failed; spans dropped until the collector answers");
        }
    }

    async fn post(&self, body: Bytes) -> Result<(), Failure> {
        let Some(client) = &self.client else {
            return Err(Failure::Refused("no HTTP client".into()));
        };
        let request = http::Request::post(self.url.clone())
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "aloft-otlp")
            .body(Full::new(body))
            .map_err(|e| Failure::Refused(e.to_string()))?;
        let timeout = self.config.request_timeout;
        let response = tokio::time::timeout(timeout, client.request(request))
            .await
            .map_err(|_| Failure::Retry("timed out".into()))?
            .map_err(|e| Failure::Retry(e.to_string()))?;
        let status = response.status();
        // Read the (small) answer so the connection can be reused.
        let _ = tokio::time::timeout(timeout, response.into_body().collect()).await;
        match status.as_u16() {
            200..=299 => Ok(()),
            429 | 502..=504 => Err(Failure::Retry(format!("HTTP {status}"))),
            _ => Err(Failure::Refused(format!("HTTP {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::TraceLayer;

    #[test]
    fn endpoints_are_checked() {
        let url = |e: &str| OtlpConfig::new(e).traces_url().map(|u| u.to_string());
        assert_eq!(
            url("http://127.0.0.1:4318").unwrap(),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            url("https://otel.example/").unwrap(),
            "https://otel.example/v1/traces"
        );
        assert_eq!(
            url("http://c:4318/v1/traces").unwrap(),
            "http://c:4318/v1/traces"
        );
        for bad in ["", "127.0.0.1:4318", "ftp://x", "http://", "not a url"] {
            assert!(url(bad).is_err(), "{bad}");
        }
    }

    /// With the collector down and the exporter busy, recording spans neither blocks nor grows
    /// memory: spans beyond the queue are dropped and counted, and the queued ones are given up
    /// on after the retries.
    #[tokio::test]
    async fn a_dead_collector_drops_and_counts_spans_and_never_blocks() {
        // A port nothing listens on: bind, note, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = OtlpConfig {
            queue_capacity: 16,
            batch_size: 512,
            interval: Duration::from_secs(3600),
            max_attempts: 2,
            first_backoff: Duration::from_millis(10),
            ..OtlpConfig::new(format!("http://127.0.0.1:{port}"))
        };
        let (layer, guard) = TraceLayer::exporting(config).unwrap();
        let subscriber = tracing_subscriber::registry().with(layer);
        let started = Instant::now();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..1000 {
                let request = tracing::info_span!("request", "http.route" = "/x");
                let _in = request.enter();
                let _db = tracing::info_span!("db.write", "db.system" = "sqlite").entered();
            }
        });
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "recording 2000 spans took {:?}",
            started.elapsed()
        );
        let stats = guard.stats();
        assert_eq!(stats.dropped, 2000 - 16, "{stats:?}");
        tokio::time::timeout(Duration::from_secs(10), guard.flush())
            .await
            .expect("a flush finishes even though the collector is down");
        let stats = guard.stats();
        assert_eq!(stats.failed, 16, "{stats:?}");
        assert_eq!(stats.exported, 0, "{stats:?}");
    }
}
