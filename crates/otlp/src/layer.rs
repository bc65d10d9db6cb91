//! The `tracing` layer: trace context for every span, and finished spans for the exporter.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Span, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::context::{SpanId, TraceContext, TraceId, parse_traceparent};
use crate::export::{ExportGuard, OtlpConfig, Queue};

/// The span fields that are exported, by their OpenTelemetry semantic-convention names. Nothing
/// else a span carries leaves the process: these hold templates, methods, codes and system
/// names, never a value a person typed.
pub const ATTRIBUTES: &[&str] = &[
    "http.route",
    "http.request.method",
    "http.response.status_code",
    "db.system",
    "db.operation",
    "messaging.system",
    "messaging.operation",
    "messaging.batch.message_count",
];

/// An attribute value as recorded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// What the layer keeps in a span's extensions.
pub(crate) struct SpanState {
    pub ctx: TraceContext,
    /// The parent span: local, or the caller's (remote) from `traceparent`.
    pub parent: Option<SpanId>,
    /// Present only when exporting.
    pub recording: Option<Recording>,
}

/// Start time and allow-listed attributes of a span being exported.
pub(crate) struct Recording {
    pub start_unix_nanos: u64,
    pub attributes: Vec<(&'static str, Value)>,
}

/// A finished span, queued for export.
#[derive(Debug, Clone)]
pub(crate) struct FinishedSpan {
    pub ctx: TraceContext,
    pub parent: Option<SpanId>,
    pub name: &'static str,
    pub start_unix_nanos: u64,
    pub end_unix_nanos: u64,
    pub attributes: Vec<(&'static str, Value)>,
}

pub(crate) fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Gives every span a [`TraceContext`] and, when exporting, queues finished spans (see the crate
/// documentation).
#[derive(Clone)]
pub struct TraceLayer {
    queue: Option<Arc<Queue>>,
}

impl fmt::Debug for TraceLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceLayer")
            .field("exporting", &self.queue.is_some())
            .finish()
    }
}

impl TraceLayer {
    /// Trace ids for log correlation and `traceparent` propagation, no export.
    pub fn local() -> Self {
        Self { queue: None }
    }

    /// Trace ids, and finished spans exported to `config`'s collector. Starts the exporter
    /// thread; keep the returned guard until the end of `main` (dropping it exports what is
    /// still queued, waiting at most a few seconds).
    pub fn exporting(config: OtlpConfig) -> Result<(Self, ExportGuard), crate::OtlpError> {
        let (queue, guard) = crate::export::start(config)?;
        Ok((Self { queue: Some(queue) }, guard))
    }
}

/// Copies allow-listed fields into a recording.
struct Allowed<'a>(&'a mut Vec<(&'static str, Value)>);

impl Allowed<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        let name = field.name();
        if !ATTRIBUTES.contains(&name) {
            return;
        }
        match self.0.iter_mut().find(|(k, _)| *k == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl Visit for Allowed<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::Str(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::Int(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::Int(i64::try_from(value).unwrap_or(i64::MAX)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::Bool(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if ATTRIBUTES.contains(&field.name()) {
            self.put(field, Value::Str(format!("{value:?}")));
        }
    }
}

impl<S> Layer<S> for TraceLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = if let Some(p) = attrs.parent() {
            ctx.span(p)
        } else if attrs.is_contextual() {
            ctx.lookup_current()
        } else {
            None
        };
        let parent_ctx =
            parent.and_then(|p| p.extensions().get::<SpanState>().map(|state| state.ctx));
        let span_id = SpanId::random();
        let (trace_ctx, parent_id) = match parent_ctx {
            Some(p) => (
                TraceContext {
                    trace_id: p.trace_id,
                    span_id,
                    sampled: p.sampled,
                },
                Some(p.span_id),
            ),
            None => (
                TraceContext {
                    trace_id: TraceId::random(),
                    span_id,
                    sampled: true,
                },
                None,
            ),
        };
        let recording = self.queue.as_ref().map(|_| {
            let mut attributes = Vec::new();
            attrs.record(&mut Allowed(&mut attributes));
            Recording {
                start_unix_nanos: unix_nanos(),
                attributes,
            }
        });
        span.extensions_mut().insert(SpanState {
            ctx: trace_ctx,
            parent: parent_id,
            recording,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if self.queue.is_none() {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(recording) = ext
            .get_mut::<SpanState>()
            .and_then(|s| s.recording.as_mut())
        {
            values.record(&mut Allowed(&mut recording.attributes));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(queue) = &self.queue else { return };
        let Some(span) = ctx.span(&id) else { return };
        let Some(state) = span.extensions_mut().remove::<SpanState>() else {
            return;
        };
        let Some(recording) = state.recording else {
            return;
        };
        if !state.ctx.sampled {
            return;
        }
        queue.push(FinishedSpan {
            ctx: state.ctx,
            parent: state.parent,
            name: span.name(),
            start_unix_nanos: recording.start_unix_nanos,
            end_unix_nanos: unix_nanos(),
            attributes: recording.attributes,
        });
    }
}

/// Runs `f` on the layer's state of `span`, if the span is recorded by a registry-based
/// subscriber with a [`TraceLayer`].
fn with_state<R>(span: &Span, f: impl FnOnce(&mut SpanState) -> R) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span(id)?;
        let mut ext = data.extensions_mut();
        ext.get_mut::<SpanState>().map(f)
    })
    .flatten()
}

/// Makes `span` (a root span, e.g. a server's request span) continue the caller's trace named by
/// a W3C `traceparent` header: same trace id, the caller's span as parent, the caller's sampling
/// decision. Call it right after creating the span, before any child exists. Returns whether the
/// header was valid and adopted; an invalid header is ignored (the span keeps its new trace).
pub fn continue_trace(span: &Span, traceparent: &str) -> bool {
    let Some(remote) = parse_traceparent(traceparent) else {
        return false;
    };
    with_state(span, |state| {
        state.ctx.trace_id = remote.trace_id;
        state.ctx.sampled = remote.sampled;
        state.parent = Some(remote.span_id);
    })
    .is_some()
}

/// The trace context of `span`, if a [`TraceLayer`] is installed.
pub fn trace_context(span: &Span) -> Option<TraceContext> {
    with_state(span, |state| state.ctx)
}

/// The `traceparent` header for a call made inside `span` (e.g. an outgoing message).
pub fn traceparent(span: &Span) -> Option<String> {
    trace_context(span).map(|c| c.traceparent())
}

/// Like [`traceparent`], but only when `span`'s trace is being exported: for context stored with
/// data (an outbox event), which should cost nothing when tracing is off.
pub fn exported_traceparent(span: &Span) -> Option<String> {
    with_state(span, |state| {
        (state.recording.is_some() && state.ctx.sampled).then(|| state.ctx.traceparent())
    })
    .flatten()
}
