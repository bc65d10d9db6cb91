//! Logs, traces and metrics set-up.
//!
//! Logs are structured JSON lines on stderr (one object per event, with the request span's id and
//! route, and the `trace_id`/`span_id` of the span it happened in), or human-readable text for a
//! developer's terminal. The level comes from `ALOFT_LOG` (`RUST_LOG` syntax), default `info`.
//! Every span gets W3C trace context from [`aloft_otlp::TraceLayer`], so log lines can be joined
//! to a caller's trace even when nothing is exported; with an OTLP endpoint
//! (`--otlp-endpoint`) finished spans are also exported as OTLP/HTTP JSON (see `aloft-otlp`).
//! Metrics go to a process-wide Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

pub use aloft_otlp::{ExportGuard, ExportStats, OtlpConfig, OtlpError, TraceLayer};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (production, log shippers).
    #[default]
    Json,
    /// Human-readable text (a developer's terminal).
    Text,
}

/// Installs the global log subscriber (trace ids in log lines, no trace export). Calling it twice
/// is harmless (the second call is ignored).
pub fn init_logging(format: LogFormat) {
    let _ = install(format, TraceLayer::local());
}

/// Installs the global log subscriber and, with an `otlp_endpoint`, the trace exporter. Keep the
/// returned guard until the end of `main`: dropping it exports the spans still queued. Fails only
/// on an unusable endpoint; calling it again is harmless (the second subscriber is ignored).
pub fn init_telemetry(
    format: LogFormat,
    otlp_endpoint: Option<&str>,
) -> Result<Option<ExportGuard>, OtlpError> {
    match otlp_endpoint.map(str::trim).filter(|e| !e.is_empty()) {
        None => {
            init_logging(format);
            Ok(None)
        }
        Some(endpoint) => {
            let (traces, guard) = TraceLayer::exporting(OtlpConfig::new(endpoint))?;
            if install(format, traces) {
                tracing::info!("exporting traces over OTLP/HTTP");
            }
            Ok(Some(guard))
        }
    }
}

/// The subscriber [`init_telemetry`] installs, with log lines going to `writer` (stderr in
/// production; tests capture them): the `ALOFT_LOG` filter, `traces`, and the log layer. JSON
/// lines logged inside a span carry its `trace_id` and `span_id`.
pub fn subscriber<W>(
    format: LogFormat,
    traces: TraceLayer,
    writer: W,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_env("ALOFT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,async_nats=warn"));
    tracing_subscriber::registry()
        .with(filter)
        .with(traces)
        .with(log_layer(format, writer))
}

fn log_layer<S, W>(format: LogFormat, writer: W) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(aloft_otlp::WithTraceIds(
                tracing_subscriber::fmt::format()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            ))
            .with_writer(writer)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .compact()
            .with_writer(writer)
            .boxed(),
    }
}

/// Installs [`subscriber`] on stderr as the global subscriber; whether it was installed (false
/// when one already was).
fn install(format: LogFormat, traces: TraceLayer) -> bool {
    subscriber(format, traces, std::io::stderr)
        .try_init()
        .is_ok()
}

/// The process-wide Prometheus recorder (installed on first use).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.02,
                0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ];
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &buckets)
                .expect("bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (embedding, tests): keep serving ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
