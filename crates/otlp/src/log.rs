//! Trace ids in JSON log lines.
//!
//! `tracing-subscriber`'s JSON formatter writes the fields it knows; rather than re-implement it,
//! [`WithTraceIds`] lets it format the line and adds `"trace_id"` and `"span_id"` before the
//! closing brace when the event happened inside a span that has a trace context.

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::layer::SpanState;

/// Wraps a JSON [`FormatEvent`] (e.g. `tracing_subscriber::fmt::format().json()`) so that lines
/// logged inside a span carry its `trace_id` and `span_id`. Needs a [`crate::TraceLayer`] in the
/// same subscriber; without one, lines are written unchanged.
#[derive(Debug, Clone)]
pub struct WithTraceIds<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let ids = ctx
            .parent_span()
            .and_then(|span| span.extensions().get::<SpanState>().map(|s| s.ctx));
        let Some(ids) = ids else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        match line.rfind('}') {
            Some(end) => {
                let (object, rest) = line.split_at(end);
                let separator = if object.trim_end().ends_with('{') {
                    ""
                } else {
                    ","
                };
                write!(
                    writer,
                    "{object}{separator}\"trace_id\":\"{}\",\"span_id\":\"{}\"{rest}",
                    ids.trace_id, ids.span_id
                )
            }
            None => writer.write_str(&line),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::{TraceLayer, continue_trace};

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

    #[test]
    fn json_lines_inside_a_span_carry_its_trace_id() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::registry()
            .with(TraceLayer::local())
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .event_format(WithTraceIds(
                        tracing_subscriber::fmt::format()
                            .json()
                            .flatten_event(true)
                            .with_current_span(true)
                            .with_span_list(false),
                    ))
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("outside");
            let span = tracing::info_span!("request", route = "/x");
            assert!(continue_trace(
                &span,
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            ));
            let _in = span.enter();
            let child = tracing::info_span!("db.write");
            child.in_scope(|| tracing::info!(rows = 1, "inside"));
        });
        let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].get("trace_id").is_none());
        assert_eq!(lines[1]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(lines[1]["span_id"].as_str().unwrap().len(), 16);
        assert_eq!(lines[1]["message"], "inside");
        assert_eq!(lines[1]["rows"], 1);
    }
}
