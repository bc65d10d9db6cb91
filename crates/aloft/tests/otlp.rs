//! Traces over OTLP, end to end: the real application with the exporter pointed at a small
//! collector started by the test, which records what it is sent.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aloft_kernel::Backend;
use aloft_kernel::telemetry::{LogFormat, OtlpConfig, TraceLayer};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use common::TestApp;

/// One request the collector received.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    content_type: String,
    body: Vec<u8>,
}

/// A minimal OTLP/HTTP collector: reads HTTP/1.1 requests (keep-alive, `Content-Length`
/// bodies), records them and answers `200 {}`.
async fn collector() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut request_line = String::new();
                    if stream.read_line(&mut request_line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = request_line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_owned();
                    let path = parts.next().unwrap_or("").to_owned();
                    let (mut length, mut content_type) = (0usize, String::new());
                    loop {
                        let mut line = String::new();
                        stream.read_line(&mut line).await.unwrap();
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        let (name, value) = line.split_once(':').unwrap();
                        match name.to_ascii_lowercase().as_str() {
                            "content-length" => length = value.trim().parse().unwrap(),
                            "content-type" => content_type = value.trim().to_owned(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.unwrap();
                    store.lock().unwrap().push(Received {
                        method,
                        path,
                        content_type,
                        body,
                    });
                    let reply = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                    if stream.get_mut().write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, received)
}

/// Log lines, captured.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every span the collector received, after checking each request is OTLP/HTTP JSON from
/// `service.name = aloft`.
fn spans(received: &[Received]) -> Vec<Value> {
    let mut spans = Vec::new();
    for r in received {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, "/v1/traces");
        assert_eq!(r.content_type, "application/json");
        let body: Value = serde_json::from_slice(&r.body).expect("the export is JSON");
        for rs in body["resourceSpans"].as_array().expect("resourceSpans") {
            let service = rs["resource"]["attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["key"] == "service.name")
                .expect("service.name");
            assert_eq!(service["value"]["stringValue"], "aloft");
            for ss in rs["scopeSpans"].as_array().expect("scopeSpans") {
                for span in ss["spans"].as_array().expect("spans") {
                    for key in ["traceId", "spanId", "name", "kind"] {
                        assert!(span.get(key).is_some(), "{key} missing: {span}");
                    }
                    assert_eq!(span["traceId"].as_str().unwrap().len(), 32);
                    assert_eq!(span["spanId"].as_str().unwrap().len(), 16);
                    let start: u64 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
                    let end: u64 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
                    assert!(start > 1_600_000_000_000_000_000 && start <= end, "{span}");
                    spans.push(span.clone());
                }
            }
        }
    }
    spans
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A request that arrives with a `traceparent` is exported as a server span in the caller's
/// trace, with its database transaction (and commit) as child spans and the later publication
/// of its event by the outbox relay in the same trace; the export is OTLP/HTTP JSON; no personal
/// data leaves in a span; and the request's log lines carry the trace id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_is_traced_through_its_transaction_to_the_outbox() {
    let (endpoint, received) = collector().await;
    let (traces, exporter) = TraceLayer::exporting(OtlpConfig {
        interval: Duration::from_millis(200),
        ..OtlpConfig::new(endpoint)
    })
    .unwrap();
    let logs = Capture::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(aloft_kernel::telemetry::subscriber(
        LogFormat::Json,
        traces,
        move || writer.clone(),
    ))
    .expect("the only subscriber of this test binary");

    let app = TestApp::spawn(Backend::Sqlite).await;
    let reply = app
        .request(
            "POST",
            "/api/v1/customers",
            &[
                ("content-type", "application/json"),
                (
                    "traceparent",
                    &format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"),
                ),
            ],
            Bytes::from(json!({"first_name": "Zebulon", "last_name": "Quillfeather"}).to_string()),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());

    // The relay publishes the event a moment after the commit; export until it shows up.
    let mut all = Vec::new();
    for _ in 0..50 {
        exporter.flush().await;
        all = spans(&received.lock().unwrap());
        if all
            .iter()
            .any(|s| s["name"] == "outbox.send" && s["traceId"] == CALLER_TRACE)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let trace: Vec<&Value> = all
        .iter()
        .filter(|s| s["traceId"] == CALLER_TRACE)
        .collect();
    let named = |name: &str| -> Vec<&Value> {
        trace
            .iter()
            .copied()
            .filter(|s| s["name"] == name)
            .collect()
    };

    let request = named("POST /api/v1/customers");
    assert_eq!(request.len(), 1, "one server span: {trace:#?}");
    let request = request[0];
    assert_eq!(request["kind"], 2, "SERVER");
    assert_eq!(
        request["parentSpanId"], CALLER_SPAN,
        "continues the caller's span"
    );
    assert_eq!(
        attribute(request, "http.route").unwrap()["stringValue"],
        "/api/v1/customers"
    );
    assert_eq!(
        attribute(request, "http.request.method").unwrap()["stringValue"],
        "POST"
    );
    assert_eq!(
        attribute(request, "http.response.status_code").unwrap()["intValue"],
        "201"
    );

    let transactions: Vec<&Value> = named("db.transaction")
        .into_iter()
        .filter(|s| s["parentSpanId"] == request["spanId"])
        .collect();
    assert!(
        !transactions.is_empty(),
        "a database span is a child of the request span: {trace:#?}"
    );
    let tx = transactions[0];
    assert_eq!(tx["kind"], 3, "CLIENT");
    assert_eq!(attribute(tx, "db.system").unwrap()["stringValue"], "sqlite");
    let commit = named("db.commit");
    assert!(
        commit.iter().any(|c| c["parentSpanId"] == tx["spanId"]
            && attribute(c, "db.operation").unwrap()["stringValue"] == "COMMIT"),
        "the commit is a child of its transaction: {trace:#?}"
    );

    let sends = named("outbox.send");
    assert_eq!(
        sends.len(),
        1,
        "the event is published in the request's trace"
    );
    assert_eq!(sends[0]["kind"], 4, "PRODUCER");
    assert!(
        trace
            .iter()
            .any(|s| s["spanId"] == sends[0]["parentSpanId"]),
        "the publication's parent is a span of the request"
    );
    assert_eq!(
        attribute(sends[0], "messaging.system").unwrap()["stringValue"],
        "in-process"
    );
    // The relay's batch is its own trace, with the stamping transaction inside.
    let batch = all
        .iter()
        .find(|s| s["name"] == "outbox.publish")
        .expect("the relay's batch span");
    assert!(batch.get("parentSpanId").is_none());
    assert!(
        all.iter()
            .any(|s| s["name"] == "db.transaction" && s["parentSpanId"] == batch["spanId"]),
        "the batch's stamping transaction is its child"
    );

    // Only ids, templates and codes leave the process.
    let exported: String = received
        .lock()
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    for personal in ["Zebulon", "Quillfeather", "request_id"] {
        assert!(!exported.contains(personal), "{personal} was exported");
    }

    // The access-log line of the request carries the trace id.
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let access = lines
        .iter()
        .find(|l| l["message"] == "handled request" && l["span"]["route"] == "/api/v1/customers")
        .unwrap_or_else(|| panic!("no access log line in {log}"));
    assert_eq!(access["trace_id"], CALLER_TRACE);
    assert_eq!(access["span_id"], request["spanId"]);

    let stats = exporter.stats();
    assert_eq!(stats.dropped, 0, "{stats:?}");
    assert_eq!(stats.failed, 0, "{stats:?}");
    assert!(stats.exported >= trace.len() as u64, "{stats:?}");
    drop(app);
}
