//! Distributed traces for Aloft without an OpenTelemetry SDK.
//!
//! Why not `opentelemetry-otlp`: it brings tonic/prost or reqwest, a second HTTP stack and
//! minutes of build time on a small machine, for what Aloft needs from it: span ids, W3C trace
//! context, and an HTTP POST of JSON. This crate does that on top of `tracing` and the `hyper`
//! client the workspace already compiles.
//!
//! Design:
//! - [`TraceLayer`] is a `tracing_subscriber::Layer`. Every new span gets a [`TraceContext`]
//!   (trace id inherited from its parent span, a fresh span id) stored in the registry's span
//!   extensions. A root span starts a new trace, unless [`continue_trace`] adopts the caller's
//!   W3C `traceparent` (the HTTP request span does this), so Aloft's spans join the caller's
//!   trace.
//! - Without an endpoint ([`TraceLayer::local`]) that is all it does: ids for log correlation.
//!   With one ([`TraceLayer::exporting`]) it also records each span's start and end (UTC
//!   nanoseconds) and a fixed allow-list of attributes ([`ATTRIBUTES`]: route templates, methods,
//!   status codes, database and messaging system names). Other span fields are never exported,
//!   so ids and templates leave the process, personal data does not.
//! - A closed span goes into a bounded in-memory queue. A full queue drops the span and counts it
//!   (`aloft_otlp_spans_dropped_total`); recording never blocks and never allocates more than the
//!   queue holds. A dedicated thread with its own single-threaded Tokio runtime drains the queue
//!   every 2 s or as soon as 512 spans wait, and POSTs them as OTLP/HTTP JSON to
//!   `{endpoint}/v1/traces`, retrying connection failures, 429 and 502–504 with exponential
//!   backoff. A batch that still fails is dropped and counted. Exporting runs beside the
//!   application's runtime, so a slow or absent collector costs requests nothing.
//! - Events written to the outbox inside an exported trace keep its `traceparent` (the
//!   CloudEvents distributed-tracing attribute, see [`exported_traceparent`]); the outbox relay
//!   publishes each under an `outbox.send` span in that trace, so one trace shows the request,
//!   its database transaction and the later publication of its events.
//! - [`WithTraceIds`] wraps the JSON log formatter and adds `"trace_id"` and `"span_id"` to
//!   every line logged inside a span, so a log search leads to the trace and back.

mod context;
mod encode;
mod export;
mod layer;
mod log;

pub use context::{SpanId, TraceContext, TraceId, parse_traceparent};
pub use export::{ExportGuard, ExportStats, OtlpConfig};
pub use layer::{
    ATTRIBUTES, TraceLayer, continue_trace, exported_traceparent, trace_context, traceparent,
};
pub use log::WithTraceIds;

/// Why tracing could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// The endpoint is not an `http://` or `https://` URL with a host.
    #[error(
        "the OTLP endpoint must be an http:// or https:// URL with a host (e.g. http://127.0.0.1:4318)"
    )]
    BadEndpoint,
    /// The exporter thread could not be started.
    #[error("cannot start the OTLP exporter: {0}")]
    Start(String),
}
