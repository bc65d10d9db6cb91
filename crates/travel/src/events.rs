//! The travel domain's CloudEvents, typed and versioned (`aloft_kernel::event_types`): one per
//! record kind, `aloft.travel.<kind>.recorded`. They carry identifiers, codes and field names,
//! never what people wrote or paid with.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::{Record, RecordKind};

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/travel";

/// The event type of a record of `kind` being recorded: `aloft.travel.<kind>.recorded`.
pub fn recorded_type(kind: RecordKind) -> &'static str {
    static TYPES: OnceLock<Vec<(RecordKind, &'static str)>> = OnceLock::new();
    TYPES
        .get_or_init(|| {
            RecordKind::ALL
                .iter()
                .map(|k| {
                    let name: &'static str =
                        Box::leak(format!("aloft.travel.{}.recorded", k.as_str()).into_boxed_str());
                    (*k, name)
                })
                .collect()
        })
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, t)| *t)
        .expect("every record kind has an event type")
}

/// `aloft.travel.<kind>.recorded`, version 1: a source record was stored, changed, or seen
/// again unchanged.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RecordRecorded {
    /// The record's id in Aloft.
    pub record_id: String,
    /// The customer it belongs to (absent for flight-level records such as forecasts).
    pub customer_id: Option<String>,
    /// The record kind (`booking`, `baggage_event`, …).
    pub kind: String,
    /// The source system.
    pub source: String,
    /// The record's version after this.
    pub version: i64,
    /// `created`, `updated` or `already_recorded`.
    pub outcome: String,
    /// Names of the top-level fields that changed (for `updated`).
    pub changed_fields: Vec<String>,
    /// Codes another domain's rule may act on without reading the record — for a baggage
    /// event `event` (`mishandled`…), `bag_tag`, `airport`, `flight_number`, `record_locator`.
    /// Identifiers and codes only, never what people wrote or paid; absent for other kinds.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
}

/// The [`RecordRecorded::facts`] of a record.
pub fn rule_facts(record: &Record) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    if let Record::BaggageEvent(b) = record {
        facts.insert("event".into(), b.event.as_str().into());
        facts.insert("bag_tag".into(), b.bag_tag.to_string());
        facts.insert("airport".into(), b.airport.to_string());
        if let Some(f) = &b.flight_number {
            facts.insert("flight_number".into(), f.to_string());
        }
        if let Some(l) = &b.record_locator {
            facts.insert("record_locator".into(), l.to_string());
        }
    }
    facts
}

impl DomainEvent for RecordRecorded {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        RecordKind::parse(&self.kind)
            .map(recorded_type)
            .unwrap_or("aloft.travel.record.recorded")
    }
    fn subject(&self) -> Option<String> {
        Some(self.record_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    RecordKind::ALL
        .iter()
        .map(|k| {
            EventType::of::<RecordRecorded>(
                recorded_type(*k),
                "A source-system record of this kind was stored, changed or seen again.",
            )
        })
        .collect()
}

/// What this domain records in the audit trail: typed actions, so that no code coins an action
/// string of its own and the audit page can offer every action by name.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `travel.record`.
    pub const TRAVEL_RECORD: AuditAction = AuditAction::new("travel.record");
    /// `travel.bulk_record`.
    pub const TRAVEL_BULK_RECORD: AuditAction = AuditAction::new("travel.bulk_record");
    /// `customer.timeline_read`.
    pub const CUSTOMER_TIMELINE_READ: AuditAction = AuditAction::new("customer.timeline_read");
    /// `customer.suggestions_read`.
    pub const CUSTOMER_SUGGESTIONS_READ: AuditAction =
        AuditAction::new("customer.suggestions_read");

    /// `customer.interactions_read`: the texts of interactions and feedback were shown.
    pub const CUSTOMER_INTERACTIONS_READ: AuditAction =
        AuditAction::new("customer.interactions_read");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        TRAVEL_RECORD,
        TRAVEL_BULK_RECORD,
        CUSTOMER_TIMELINE_READ,
        CUSTOMER_SUGGESTIONS_READ,
        CUSTOMER_INTERACTIONS_READ,
    ];
}
