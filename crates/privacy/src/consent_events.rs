//! Consent events from source systems: `POST /api/v1/consent-events` (issue 21 item 1, "source
//! systems send consent events").
//!
//! The website's preference centre, the app, a kiosk or a partner's booking flow send what a
//! passenger chose there as CloudEvents 1.0 (a JSON array, `application/cloudevents-batch+json`,
//! or one event). Each event's `data` is the same consent change the API and the agents' form
//! take (purpose, channel, granted, lawful basis, notice version, touchpoint, proof); `subject`
//! is the passenger's Aloft customer id; `time` is when the passenger gave or withdrew it.
//!
//! - **Once per event.** The event's identity (`source` + `id`) is stored on the history row it
//!   becomes (migration 0062, unique), so a source that re-sends after a timeout records nothing
//!   twice and is told `duplicate` with the original row.
//! - **Given, not arrived.** Events arrive late and out of order; the current state is the
//!   change given last (`time`), so an older change that arrives after a newer one joins the
//!   history (`recorded_not_current`) but does not overwrite the state.
//! - **Bad input loses nothing else.** Every event is checked on its own; each rejected one is
//!   reported with its position, event id, JSON pointer and reason, and stores nothing; the
//!   others of the batch are recorded — in one transaction, each with its history row, state,
//!   `aloft.consent.changed` event and audit record (`insert_change_from`, the one writer of
//!   consent). A database outage is a 503 and the whole batch may be re-sent.
//! - **Least privilege.** The route needs `privacy.consent.events.send`, an integration's
//!   permission that reads no customer data; the answer names only ids the sender sent.
//!
//! A profile merged into another (`customers.merged_into`) takes the consent on the survivor,
//! which is the person the source meant; an unknown or erased customer is rejected.

use std::collections::HashMap;

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::db::Database;
use aloft_kernel::http::JsonBody;
use aloft_kernel::{AccessContext, ApiError, FieldError, Problem, StorageError};
use aloft_vocab::CustomerId;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::{ConsentChange, parse_change};
use crate::permissions::CONSENT_EVENTS_SEND;
use crate::store::{ConsentStore, Origin, insert_change_from};

/// The route.
pub const PATH: &str = "/api/v1/consent-events";

/// Most events per call (each is a few hundred bytes).
pub const MAX_EVENTS: usize = 500;

/// Largest accepted body: room for [`MAX_EVENTS`] events of a few KiB each (the API's default
/// limit is 64 KiB).
pub const MAX_BODY: usize = 2 * 1024 * 1024;

/// How far ahead of this server's clock an event's `time` may be (clock skew).
pub const FUTURE_SKEW_SECONDS: i64 = 300;

/// Who may call it.
pub const POLICY: &[RoutePolicy] = &[RoutePolicy::new(
    "POST",
    PATH,
    Access::Permission(CONSENT_EVENTS_SEND),
)];

/// A source system's consent event, checked.
#[derive(Debug, Clone)]
pub struct ConsentEvent {
    /// The event's CloudEvents `source` (the sending system).
    pub event_source: String,
    /// The event's `id`, unique within its source.
    pub event_id: String,
    /// The passenger (`subject`).
    pub customer: CustomerId,
    /// When the passenger gave or withdrew the consent (`time`).
    pub given_at: DateTime<Utc>,
    /// What they chose (`data`).
    pub change: ConsentChange,
}

/// Checks one event against the envelope and the purpose register, naming every problem by
/// JSON pointer within the event. Pure: `now` bounds `time`.
pub fn parse_event(v: &Value, now: DateTime<Utc>) -> Result<ConsentEvent, Vec<FieldError>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "an event must be a JSON object (CloudEvents 1.0)",
        )]);
    };
    let mut errors = Vec::new();
    let text = |name: &str, max: usize, errors: &mut Vec<FieldError>| -> Option<String> {
        match obj.get(name) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= max => Some(s.clone()),
            Some(Value::String(_)) => {
                errors.push(FieldError::new(
                    format!("/{name}"),
                    format!("must be 1 to {max} characters"),
                ));
                None
            }
            None | Some(Value::Null) => {
                errors.push(FieldError::new(format!("/{name}"), "is required"));
                None
            }
            Some(_) => {
                errors.push(FieldError::new(format!("/{name}"), "must be a string"));
                None
            }
        }
    };
    if let Some(v) = text("specversion", 10, &mut errors)
        && v != "1.0"
    {
        errors.push(FieldError::new("/specversion", "must be \"1.0\""));
    }
    let event_id = text("id", 200, &mut errors);
    let event_source = text("source", 500, &mut errors);
    if let Some(t) = text("type", 200, &mut errors)
        && t.rsplit('.').next() != Some("consent")
    {
        errors.push(FieldError::new(
            "/type",
            "must end in \".consent\" (e.g. com.airline.web.consent); other source events go to /api/v1/ingest/events",
        ));
    }
    let customer = text("subject", 100, &mut errors).and_then(|s| match CustomerId::parse(&s) {
        Some(c) => Some(c),
        None => {
            errors.push(FieldError::new(
                "/subject",
                "must be the passenger's Aloft customer id",
            ));
            None
        }
    });
    let given_at =
        text("time", 64, &mut errors).and_then(|s| match DateTime::parse_from_rfc3339(&s) {
            Ok(t)
                if t.with_timezone(&Utc)
                    <= now + chrono::Duration::seconds(FUTURE_SKEW_SECONDS) =>
            {
                Some(t.with_timezone(&Utc))
            }
            Ok(_) => {
                errors.push(FieldError::new(
                    "/time",
                    "is in the future: it must be when the passenger gave or withdrew the consent",
                ));
                None
            }
            Err(_) => {
                errors.push(FieldError::new(
                    "/time",
                    "must be an RFC 3339 instant with its offset (2026-12-01T09:30:00Z)",
                ));
                None
            }
        });
    if let Some(ct) = obj.get("datacontenttype")
        && ct.as_str() != Some("application/json")
    {
        errors.push(FieldError::new(
            "/datacontenttype",
            "must be application/json (or left out)",
        ));
    }
    let change = match obj.get("data") {
        None | Some(Value::Null) => {
            errors.push(FieldError::new("/data", "is required: the consent change"));
            None
        }
        Some(data) => match parse_change(data) {
            Ok(c) => Some(c),
            Err(es) => {
                errors.extend(
                    es.into_iter()
                        .map(|e| FieldError::new(format!("/data{}", e.pointer), e.detail)),
                );
                None
            }
        },
    };
    match (event_id, event_source, customer, given_at, change) {
        (Some(event_id), Some(event_source), Some(customer), Some(given_at), Some(change))
            if errors.is_empty() =>
        {
            Ok(ConsentEvent {
                event_source,
                event_id,
                customer,
                given_at,
                change,
            })
        }
        _ => Err(errors),
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Recorded, and it is the passenger's choice now.
    Recorded,
    /// Recorded in the history, but a change given later is already the current state.
    RecordedNotCurrent,
    /// Sent before: nothing recorded again; `consent_id` is the row it became then.
    Duplicate,
}

/// One recorded (or duplicate) event.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accepted {
    /// Its index in the batch (0-based).
    pub position: usize,
    /// Its `id`.
    pub event_id: String,
    /// What became of it.
    pub outcome: Outcome,
    /// The history row (`GET /api/v1/customers/{id}/consents`).
    pub consent_id: String,
    /// The profile it was recorded on (the survivor, if the sender named a merged profile).
    pub customer_id: String,
}

/// One rejected event: nothing of it was stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Rejected {
    /// Its index in the batch (0-based).
    pub position: usize,
    /// Its `id`, if it had one.
    pub event_id: Option<String>,
    /// The field, as a JSON pointer within the event.
    pub pointer: String,
    /// What is wrong.
    pub reason: String,
}

/// The answer to a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    /// Events received.
    pub received: usize,
    /// Recorded now (current or not).
    pub recorded: usize,
    /// Sent before, not recorded again.
    pub duplicates: usize,
    /// Each recorded or duplicate event.
    pub accepted: Vec<Accepted>,
    /// Each problem of each rejected event.
    pub rejected: Vec<Rejected>,
}

impl ConsentStore {
    /// Records checked source events in one transaction (see the module docs); events naming
    /// no known customer come back as rejections.
    pub async fn record_events(
        &self,
        events: Vec<(usize, ConsentEvent)>,
        ctx: &AccessContext,
    ) -> Result<(Vec<Accepted>, Vec<Rejected>), StorageError> {
        let db = self.db();
        let survivors = survivors(db, events.iter().map(|(_, e)| e.customer)).await?;
        let mut tx = db.begin_write().await?;
        let b = db.backend();
        let mut accepted = Vec::with_capacity(events.len());
        let mut rejected = Vec::new();
        for (position, e) in events {
            let Some(customer) = survivors.get(&e.customer).copied() else {
                rejected.push(Rejected {
                    position,
                    event_id: Some(e.event_id),
                    pointer: "/subject".into(),
                    reason: "no customer with this id (never known here, or erased)".into(),
                });
                continue;
            };
            let before: Option<String> = sqlx::query_scalar(&format!(
                "SELECT id FROM privacy_consents WHERE event_source = {} AND event_id = {}",
                b.param(1),
                b.param(2)
            ))
            .bind(&e.event_source)
            .bind(&e.event_id)
            .fetch_optional(tx.conn())
            .await?;
            if let Some(consent_id) = before {
                accepted.push(Accepted {
                    position,
                    event_id: e.event_id,
                    outcome: Outcome::Duplicate,
                    consent_id,
                    customer_id: customer.to_string(),
                });
                continue;
            }
            let origin = Origin {
                event_source: e.event_source,
                event_id: e.event_id.clone(),
                given_at: e.given_at,
            };
            let (rec, current) =
                insert_change_from(&mut tx, customer, &e.change, ctx, Some(&origin)).await?;
            accepted.push(Accepted {
                position,
                event_id: e.event_id,
                outcome: if current {
                    Outcome::Recorded
                } else {
                    Outcome::RecordedNotCurrent
                },
                consent_id: rec.id,
                customer_id: customer.to_string(),
            });
        }
        tx.commit().await?;
        Ok((accepted, rejected))
    }
}

/// The profile each named customer's consent goes to: itself, or the profile it was merged
/// into (followed a few steps); customers not found are absent.
async fn survivors(
    db: &Database,
    named: impl Iterator<Item = CustomerId>,
) -> Result<HashMap<CustomerId, CustomerId>, StorageError> {
    let b = db.backend();
    let mut out = HashMap::new();
    for c in named {
        if out.contains_key(&c) {
            continue;
        }
        let mut at = c;
        for _ in 0..5 {
            let row = sqlx::query(&format!(
                "SELECT merged_into FROM customers WHERE id = {}",
                b.param(1)
            ))
            .bind(at.to_string())
            .fetch_optional(db.pool())
            .await?;
            let Some(row) = row else { break };
            let next: Option<String> = row.try_get("merged_into")?;
            match next.as_deref().and_then(CustomerId::parse) {
                Some(n) => at = n,
                None => {
                    out.insert(c, at);
                    break;
                }
            }
        }
    }
    Ok(out)
}

/// The route (documented in OpenAPI).
pub fn api_routes(store: ConsentStore) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(store)
}

/// Receive consent events from a source system.
///
/// A JSON array of CloudEvents 1.0 (or one event): `type` ending in `.consent`, `subject` the
/// passenger's customer id, `time` when they gave or withdrew the consent, `data` the change
/// (`purpose`, `granted`, `source` touchpoint, `proof`; optional `channel`, `lawful_basis`,
/// `notice_version`). Each event is recorded once per `source` + `id`; rejected events are
/// listed with position, pointer and reason, and the rest are recorded.
#[utoipa::path(
    post,
    path = "/api/v1/consent-events",
    tag = "privacy",
    request_body(content = Vec<serde_json::Value>, content_type = "application/cloudevents-batch+json",
        description = "Up to 500 consent events"),
    responses(
        (status = 200, description = "Processed: what became of each event", body = Report),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More than 500 events", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body is neither an event nor an array of events", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database or audit trail unavailable; re-send the batch (nothing is recorded twice)", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn receive(
    State(store): State<ConsentStore>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Report>), ApiError> {
    let items = aloft_kernel::http::event_batch(body, MAX_EVENTS, true)?;
    let now = Utc::now();
    let mut events = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    for (position, item) in items.iter().enumerate() {
        match parse_event(item, now) {
            Ok(e) => events.push((position, e)),
            Err(errors) => {
                let event_id = item.get("id").and_then(Value::as_str).map(str::to_owned);
                rejected.extend(errors.into_iter().map(|e| Rejected {
                    position,
                    event_id: event_id.clone(),
                    pointer: e.pointer,
                    reason: e.detail,
                }));
            }
        }
    }
    let (accepted, late) = match store.record_events(events.clone(), &ctx).await {
        // Two deliveries of the same event raced past each other's duplicate check: the
        // loser's batch is read again, where the winner's row now shows it as a duplicate.
        Err(StorageError::Conflict(_)) => store.record_events(events, &ctx).await?,
        other => other?,
    };
    rejected.extend(late);
    rejected.sort_by_key(|r| r.position);
    let recorded = accepted
        .iter()
        .filter(|a| a.outcome != Outcome::Duplicate)
        .count();
    Ok((
        StatusCode::OK,
        Json(Report {
            received: items.len(),
            recorded,
            duplicates: accepted.len() - recorded,
            accepted,
            rejected,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "specversion": "1.0",
            "id": "pref-1",
            "source": "//web.example-airline.com/preferences",
            "type": "com.airline.web.consent",
            "subject": "0193b3f0-0000-7000-8000-000000000001",
            "time": "2026-12-01T09:30:00Z",
            "data": {"purpose": "marketing_email", "granted": true, "source": "web", "proof": "form submission 8812"}
        })
    }

    fn now() -> DateTime<Utc> {
        "2026-12-07T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn a_well_formed_event_is_read_with_its_given_time() {
        let e = parse_event(&event(), now()).unwrap();
        assert_eq!(e.event_id, "pref-1");
        assert_eq!(e.event_source, "//web.example-airline.com/preferences");
        assert_eq!(e.given_at.to_rfc3339(), "2026-12-01T09:30:00+00:00");
        assert_eq!(e.change.purpose.code, "marketing_email");
        assert!(e.change.granted);
        assert_eq!(e.change.proof, "form submission 8812");
    }

    #[test]
    fn every_problem_is_named_by_pointer_within_the_event() {
        let mut v = event();
        v["specversion"] = json!("0.3");
        v["type"] = json!("com.airline.web.pnr");
        v["subject"] = json!("L123");
        v["time"] = json!("yesterday");
        v["data"]["purpose"] = json!("telepathy");
        v["data"].as_object_mut().unwrap().remove("proof");
        let errors = parse_event(&v, now()).unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        for p in [
            "/specversion",
            "/type",
            "/subject",
            "/time",
            "/data/purpose",
            "/data/proof",
        ] {
            assert!(pointers.contains(&p), "{p} in {pointers:?}");
        }
    }

    #[test]
    fn an_event_from_the_future_or_without_data_is_refused() {
        let mut v = event();
        v["time"] = json!("2026-12-08T00:00:00Z");
        let errors = parse_event(&v, now()).unwrap_err();
        assert_eq!(errors[0].pointer, "/time");
        let mut v = event();
        v["time"] = json!("2026-12-07T00:04:00+00:00");
        assert!(
            parse_event(&v, now()).is_ok(),
            "within the allowed clock skew"
        );
        let mut v = event();
        v.as_object_mut().unwrap().remove("data");
        assert_eq!(parse_event(&v, now()).unwrap_err()[0].pointer, "/data");
        assert_eq!(parse_event(&json!([1]), now()).unwrap_err()[0].pointer, "");
    }
}
