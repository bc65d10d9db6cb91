//! Typed, versioned domain events. Each domain declares the `data` of its CloudEvents as Rust
//! types ([`DomainEvent`]) in its `events.rs`, and registers them ([`EventType`]) through its
//! module, so that consumers (analytics, the enterprise bus) get one JSON Schema per event type
//! and version from the application itself (`GET /api/v1/events`).
//!
//! Versioning rule: fields may be added to a version; renaming or removing a field, or changing
//! its meaning, is a new version (`VERSION`), announced in `dataschema` of every event.
//! Invariant, as for all events: `data` carries identifiers, field names and codes, never
//! personal values.

use serde::Serialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::events::CloudEvent;

/// The `data` of one kind of CloudEvent.
pub trait DomainEvent: Serialize {
    /// The version of the `data` shape.
    const VERSION: u32;
    /// The CloudEvents `source` (`/aloft/customers`).
    const SOURCE: &'static str;

    /// The CloudEvents `type` (`aloft.customer.created`). A method, not a constant, because one
    /// shape may serve several types (a travel record of each kind was recorded).
    fn event_type(&self) -> &'static str;

    /// The CloudEvents `subject`: the id of what the event is about.
    fn subject(&self) -> Option<String>;
}

/// Where the schema of `event_type` at `version` is published.
pub fn schema_url(event_type: &str, version: u32) -> String {
    format!("/api/v1/events/{event_type}/v{version}")
}

impl CloudEvent {
    /// The CloudEvent of a typed domain event: fresh id, stamped now, `dataschema` naming its
    /// published schema.
    pub fn of<E: DomainEvent>(event: &E) -> Self {
        let data = serde_json::to_value(event).expect("domain event data serialises to JSON");
        let mut e = CloudEvent::new(E::SOURCE, event.event_type(), event.subject(), data);
        e.dataschema = Some(schema_url(event.event_type(), E::VERSION));
        e
    }
}

/// One published event type: what the schema endpoint lists.
#[derive(Debug, Clone)]
pub struct EventType {
    /// The CloudEvents `type`.
    pub event_type: &'static str,
    /// The version of its `data`.
    pub version: u32,
    /// When it is emitted, in a sentence.
    pub description: &'static str,
    /// The JSON Schema of `data`.
    pub schema: fn() -> RefOr<Schema>,
}

impl EventType {
    /// The published type `event_type` whose `data` is `E`.
    pub fn of<E: DomainEvent + utoipa::PartialSchema>(
        event_type: &'static str,
        description: &'static str,
    ) -> Self {
        Self {
            event_type,
            version: E::VERSION,
            description,
            schema: E::schema,
        }
    }

    /// The JSON Schema document of `data` (OpenAPI 3.1 schemas are JSON Schema 2020-12).
    pub fn json_schema(&self) -> serde_json::Value {
        let mut schema = serde_json::to_value((self.schema)()).unwrap_or_default();
        if let Some(o) = schema.as_object_mut() {
            o.insert(
                "$schema".into(),
                "https://json-schema.org/draft/2020-12/schema".into(),
            );
            o.insert(
                "$id".into(),
                schema_url(self.event_type, self.version).into(),
            );
            o.insert("title".into(), self.event_type.into());
            o.insert("description".into(), self.description.into());
        }
        schema
    }
}
