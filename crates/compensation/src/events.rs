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

/// Event type: goodwill was given to a passenger of a disrupted flight.
pub const GOODWILL_AWARDED: &str = "aloft.compensation.goodwill_awarded";
/// Event type: a version of the goodwill policy was published.
pub const GOODWILL_PUBLISHED: &str = "aloft.compensation.goodwill_published";

/// `aloft.compensation.goodwill_awarded`, version 1: for the loyalty system (miles) and
/// Finance (vouchers); one per passenger, flight and benefit kind.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoodwillAwarded {
    /// The award (each is given once).
    pub award_id: String,
    /// The passenger's profile.
    pub customer_id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// `miles`, `voucher`, `meal_voucher`, `lounge_access`.
    pub benefit: String,
    /// Miles or the decimal amount (`null` for lounge access).
    pub amount: Option<String>,
    /// The voucher's currency.
    pub currency: Option<String>,
    /// The policy version and the row that gave it.
    pub policy_version: i64,
    /// The row's name.
    pub rule: String,
}

impl DomainEvent for GoodwillAwarded {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        GOODWILL_AWARDED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// `aloft.compensation.goodwill_published`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GoodwillPublished {
    /// The version now in force.
    pub version: i64,
    /// The version it replaces (`null` for the first).
    pub replaces: Option<i64>,
}

impl DomainEvent for GoodwillPublished {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        GOODWILL_PUBLISHED
    }
    fn subject(&self) -> Option<String> {
        Some(self.version.to_string())
    }
}

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
        EventType::of::<GoodwillAwarded>(
            GOODWILL_AWARDED,
            "Goodwill (miles, a voucher, a meal voucher, lounge access) was given to a passenger of a disrupted flight under the published policy; once per passenger, flight and benefit.",
        ),
        EventType::of::<GoodwillPublished>(
            GOODWILL_PUBLISHED,
            "A version of the goodwill policy was published after its simulation; it applies to disruptions processed from now on.",
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
    /// `compensation.goodwill_saved`: a goodwill policy version was saved as a draft.
    pub const GOODWILL_SAVED: AuditAction = AuditAction::new("compensation.goodwill_saved");
    /// `compensation.goodwill_simulated`: a version was replayed over past disruptions.
    pub const GOODWILL_SIMULATED: AuditAction = AuditAction::new("compensation.goodwill_simulated");
    /// `compensation.goodwill_published`: a version was put in force.
    pub const GOODWILL_PUBLISHED: AuditAction = AuditAction::new("compensation.goodwill_published");
    /// `compensation.facts_completed`: a proposal waiting for the final arrival was judged.
    pub const FACTS_COMPLETED: AuditAction = AuditAction::new("compensation.facts_completed");
    /// `compensation.method_chosen`: the passenger chose how a proposal is paid.
    pub const METHOD_CHOSEN: AuditAction = AuditAction::new("compensation.method_chosen");
    /// `compensation.settings_changed`: the automatic approval limits or the connection time.
    pub const SETTINGS_CHANGED: AuditAction = AuditAction::new("compensation.settings_changed");
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
        SETTINGS_CHANGED,
        METHOD_CHOSEN,
        FACTS_COMPLETED,
        GOODWILL_SAVED,
        GOODWILL_SIMULATED,
        GOODWILL_PUBLISHED,
        PROPOSALS_READ,
    ];
}
