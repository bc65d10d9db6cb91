//! The OTLP/HTTP JSON encoding of a batch of spans (the protobuf JSON mapping of
//! `ExportTraceServiceRequest`: lowerCamelCase names, ids as hex, 64-bit integers as strings,
//! enums as numbers).

use serde::Serialize;

use crate::layer::{FinishedSpan, Value};

/// `SpanKind` numbers.
const KIND_INTERNAL: u8 = 1;
const KIND_SERVER: u8 = 2;
const KIND_CLIENT: u8 = 3;
const KIND_PRODUCER: u8 = 4;
/// `Status.code` for an error.
const STATUS_ERROR: u8 = 2;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest<'a> {
    resource_spans: [ResourceSpans<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResourceSpans<'a> {
    resource: Resource<'a>,
    scope_spans: [ScopeSpans<'a>; 1],
}

#[derive(Serialize)]
struct Resource<'a> {
    attributes: Vec<KeyValue<'a>>,
}

#[derive(Serialize)]
struct Scope<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct ScopeSpans<'a> {
    scope: Scope<'a>,
    spans: Vec<Span<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Span<'a> {
    trace_id: String,
    span_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
    name: String,
    kind: u8,
    start_time_unix_nano: String,
    end_time_unix_nano: String,
    attributes: Vec<KeyValue<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
}

#[derive(Serialize)]
struct Status {
    code: u8,
}

#[derive(Serialize)]
struct KeyValue<'a> {
    key: &'a str,
    value: AnyValue,
}

/// The variant names are the OTLP JSON keys (`{"stringValue": "…"}`).
#[allow(clippy::enum_variant_names)]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum AnyValue {
    StringValue(String),
    IntValue(String),
    BoolValue(bool),
}

impl From<&Value> for AnyValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::Str(s) => AnyValue::StringValue(s.clone()),
            Value::Int(i) => AnyValue::IntValue(i.to_string()),
            Value::Bool(b) => AnyValue::BoolValue(*b),
        }
    }
}

/// Who produced the spans: the `service.name` (and `service.version`) resource attributes.
#[derive(Debug, Clone)]
pub(crate) struct ServiceInfo {
    pub name: String,
    pub version: String,
}

fn attr<'a>(span: &'a FinishedSpan, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

fn str_attr<'a>(span: &'a FinishedSpan, key: &str) -> Option<&'a str> {
    match attr(span, key) {
        Some(Value::Str(s)) => Some(s),
        _ => None,
    }
}

/// The span's name as OpenTelemetry conventions have it: `GET /api/v1/customers/{id}` for a
/// server span with a route template, else the `tracing` span name.
fn name_of(span: &FinishedSpan) -> String {
    match (
        str_attr(span, "http.request.method"),
        str_attr(span, "http.route"),
    ) {
        (Some(method), Some(route)) => format!("{method} {route}"),
        _ => span.name.to_owned(),
    }
}

fn kind_of(span: &FinishedSpan) -> u8 {
    if attr(span, "http.route").is_some() {
        KIND_SERVER
    } else if attr(span, "db.system").is_some() {
        KIND_CLIENT
    } else if attr(span, "messaging.system").is_some() {
        KIND_PRODUCER
    } else {
        KIND_INTERNAL
    }
}

/// A server error marks the span failed; client errors do not (the server did its job).
fn status_of(span: &FinishedSpan) -> Option<Status> {
    match attr(span, "http.response.status_code") {
        Some(Value::Int(code)) if *code >= 500 => Some(Status { code: STATUS_ERROR }),
        _ => None,
    }
}

/// The request body for `POST /v1/traces`.
pub(crate) fn encode(spans: &[FinishedSpan], service: &ServiceInfo) -> Vec<u8> {
    let request = ExportRequest {
        resource_spans: [ResourceSpans {
            resource: Resource {
                attributes: vec![
                    KeyValue {
                        key: "service.name",
                        value: AnyValue::StringValue(service.name.clone()),
                    },
                    KeyValue {
                        key: "service.version",
                        value: AnyValue::StringValue(service.version.clone()),
                    },
                ],
            },
            scope_spans: [ScopeSpans {
                scope: Scope {
                    name: "aloft",
                    version: &service.version,
                },
                spans: spans
                    .iter()
                    .map(|s| Span {
                        trace_id: s.ctx.trace_id.to_string(),
                        span_id: s.ctx.span_id.to_string(),
                        parent_span_id: s.parent.map(|p| p.to_string()),
                        name: name_of(s),
                        kind: kind_of(s),
                        start_time_unix_nano: s.start_unix_nanos.to_string(),
                        end_time_unix_nano: s.end_unix_nanos.to_string(),
                        attributes: s
                            .attributes
                            .iter()
                            .map(|(k, v)| KeyValue {
                                key: k,
                                value: v.into(),
                            })
                            .collect(),
                        status: status_of(s),
                    })
                    .collect(),
            }],
        }],
    };
    serde_json::to_vec(&request).expect("spans serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{SpanId, TraceContext, TraceId};

    #[test]
    fn encodes_the_otlp_json_mapping() {
        let span = FinishedSpan {
            ctx: TraceContext {
                trace_id: TraceId([0xab; 16]),
                span_id: SpanId([0xcd; 8]),
                sampled: true,
            },
            parent: Some(SpanId([1; 8])),
            name: "request",
            start_unix_nanos: 1_700_000_000_000_000_001,
            end_unix_nanos: 1_700_000_000_000_000_002,
            attributes: vec![
                ("http.request.method", Value::Str("GET".into())),
                ("http.route", Value::Str("/api/v1/customers/{id}".into())),
                ("http.response.status_code", Value::Int(503)),
            ],
        };
        let body: serde_json::Value = serde_json::from_slice(&encode(
            &[span],
            &ServiceInfo {
                name: "aloft".into(),
                version: "0.1.0".into(),
            },
        ))
        .unwrap();
        let rs = &body["resourceSpans"][0];
        assert_eq!(rs["resource"]["attributes"][0]["key"], "service.name");
        assert_eq!(
            rs["resource"]["attributes"][0]["value"]["stringValue"],
            "aloft"
        );
        let s = &rs["scopeSpans"][0]["spans"][0];
        assert_eq!(s["traceId"], "ab".repeat(16));
        assert_eq!(s["spanId"], "cd".repeat(8));
        assert_eq!(s["parentSpanId"], "01".repeat(8));
        assert_eq!(s["name"], "GET /api/v1/customers/{id}");
        assert_eq!(s["kind"], 2);
        assert_eq!(s["startTimeUnixNano"], "1700000000000000001");
        assert_eq!(s["endTimeUnixNano"], "1700000000000000002");
        assert_eq!(s["attributes"][2]["value"]["intValue"], "503");
        assert_eq!(s["status"]["code"], 2);
    }
}
