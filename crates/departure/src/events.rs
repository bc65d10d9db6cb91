//! What departure control records: the check-ins it learns of (the event
//! `aloft.passenger.checked_in`) and, in the audit trail, every passenger list, manifest and
//! boarding pass it shows.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/departure";
/// Event type: a passenger is checked in for a flight.
pub const PASSENGER_CHECKED_IN: &str = "aloft.passenger.checked_in";

/// `aloft.passenger.checked_in`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PassengerCheckedIn {
    /// The passenger's profile.
    pub customer_id: String,
    /// The flight: number and local departure date (`EK201 2026-12-06`).
    pub flight: String,
    /// How the check-in became known: `boarding_pass` (scanned at the desk) or `desk`.
    pub method: String,
}

impl DomainEvent for PassengerCheckedIn {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        PASSENGER_CHECKED_IN
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![EventType::of::<PassengerCheckedIn>(
        PASSENGER_CHECKED_IN,
        "A passenger is checked in for a flight (boarding pass scanned at the desk, or checked in there).",
    )]
}

/// Audit actions of departure control.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `departure.passenger_list_read`: a flight's passengers shown to a check-in agent.
    pub const PASSENGER_LIST_READ: AuditAction = AuditAction::new("departure.passenger_list_read");
    /// `departure.manifest_read`: a flight's manifest shown to its crew.
    pub const MANIFEST_READ: AuditAction = AuditAction::new("departure.manifest_read");
    /// `departure.boarding_pass_read`: the passenger of a scanned boarding pass shown.
    pub const BOARDING_PASS_READ: AuditAction = AuditAction::new("departure.boarding_pass_read");
    /// `departure.checkin_recorded`: a passenger's check-in recorded.
    pub const CHECKIN_RECORDED: AuditAction = AuditAction::new("departure.checkin_recorded");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        PASSENGER_LIST_READ,
        MANIFEST_READ,
        BOARDING_PASS_READ,
        CHECKIN_RECORDED,
    ];
}
