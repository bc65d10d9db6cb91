//! What compensation processing publishes: a proposal made for a passenger, and the payment
//! instruction Finance acts on once it is approved. Ids, codes and amounts only — never a name
//! or an address.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/compensation";
/// Event type: a compensation proposal was made for a passenger.
pub const PROPOSED: &str = "aloft.compensation.proposed";
/// Event type: Finance is to pay an approved compensation.
pub const PAYMENT_INSTRUCTED: &str = "aloft.compensation.payment_instructed";

/// `aloft.compensation.proposed`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Proposed {
    /// The proposal.
    pub proposal_id: String,
    /// The passenger's profile.
    pub customer_id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// `EU261`, `UK261`, `APPR` or `MONTREAL`.
    pub regime: String,
    /// `pending`, `approved`, `not_owed` or `awaiting_facts`.
    pub status: String,
}

impl DomainEvent for Proposed {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        PROPOSED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// `aloft.compensation.payment_instructed`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PaymentInstructed {
    /// The approved proposal; Finance pays each id once.
    pub proposal_id: String,
    /// The passenger's profile (the payee; bank details stay with Finance).
    pub customer_id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// The regime that owes it.
    pub regime: String,
    /// Decimal string (`"300.00"`).
    pub amount: String,
    /// `EUR`, `GBP`, `CAD`, `SDR`.
    pub currency: String,
    /// `cash`, `voucher` or `miles`.
    pub method: String,
    /// `auto` (below the automatic limit) or `person`.
    pub approved_by: String,
}

impl DomainEvent for PaymentInstructed {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        PAYMENT_INSTRUCTED
    }
    fn subject(&self) -> Option<String> {
        Some(self.proposal_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![
        EventType::of::<Proposed>(
            PROPOSED,
            "A compensation proposal was made for a passenger of a disrupted flight (one per passenger, flight and regime).",
        ),
        EventType::of::<PaymentInstructed>(
            PAYMENT_INSTRUCTED,
            "An approved compensation is to be paid by Finance (cash, voucher or miles); emitted once per proposal.",
        ),
    ]
}

/// Audit actions of compensation processing.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `compensation.disruption_processed`: a disruption's passengers were judged.
    pub const DISRUPTION_PROCESSED: AuditAction =
        AuditAction::new("compensation.disruption_processed");
    /// `compensation.proposal_decided`: a proposal approved or rejected by a person.
    pub const PROPOSAL_DECIDED: AuditAction = AuditAction::new("compensation.proposal_decided");
    /// `compensation.contact_read`: a passenger's e-mail address read to send the approval.
    pub const CONTACT_READ: AuditAction = AuditAction::new("compensation.contact_read");
    /// `compensation.claim_received`: a passenger claimed for a flight of their own booking.
    pub const CLAIM_RECEIVED: AuditAction = AuditAction::new("compensation.claim_received");
    /// `compensation.proposals_read`: a passenger's proposals shown.
    pub const PROPOSALS_READ: AuditAction = AuditAction::new("compensation.proposals_read");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        DISRUPTION_PROCESSED,
        PROPOSAL_DECIDED,
        CONTACT_READ,
        CLAIM_RECEIVED,
        PROPOSALS_READ,
    ];
}
