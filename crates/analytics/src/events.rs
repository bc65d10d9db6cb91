//! What analytics publishes (CloudEvents: ids and codes only, never personal values) and what
//! it records in the audit trail.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/analytics";

/// `aloft.offer.made`: an action of the catalogue was offered to a customer.
pub const OFFER_MADE: &str = "aloft.offer.made";
/// `aloft.offer.accepted`: the customer accepted an offer.
pub const OFFER_ACCEPTED: &str = "aloft.offer.accepted";
/// `aloft.offer.declined`: the customer declined an offer.
pub const OFFER_DECLINED: &str = "aloft.offer.declined";

/// `aloft.segment.entered`: a customer now meets a saved segment's rule.
pub const SEGMENT_ENTERED: &str = "aloft.segment.entered";
/// `aloft.segment.left`: a customer no longer meets a saved segment's rule.
pub const SEGMENT_LEFT: &str = "aloft.segment.left";

/// `aloft.segment.entered` and `aloft.segment.left`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SegmentMembership {
    /// The saved segment.
    pub segment_id: String,
    /// The version of its rule that was evaluated.
    pub segment_version: i64,
    /// The customer.
    pub customer_id: String,
    /// `true` entered, `false` left.
    pub entered: bool,
}

impl DomainEvent for SegmentMembership {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        if self.entered {
            SEGMENT_ENTERED
        } else {
            SEGMENT_LEFT
        }
    }
    fn subject(&self) -> Option<String> {
        Some(self.segment_id.clone())
    }
}

/// `aloft.offer.made`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferMade {
    /// The offer.
    pub offer_id: String,
    /// The customer it was made to.
    pub customer_id: String,
    /// The action's code (`upgrade_offer`).
    pub action: String,
    /// The channel (`agent`, `email`…).
    pub channel: String,
    /// Cost to the airline, a decimal string in `currency`.
    pub cost: String,
    /// Expected value, a decimal string in `currency`.
    pub expected_value: String,
    /// ISO 4217 currency of the amounts.
    pub currency: String,
}

impl DomainEvent for OfferMade {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        OFFER_MADE
    }
    fn subject(&self) -> Option<String> {
        Some(self.offer_id.clone())
    }
}

/// `aloft.offer.accepted` and `aloft.offer.declined`, version 1: the customer's answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OfferAnswered {
    /// The offer.
    pub offer_id: String,
    /// The customer.
    pub customer_id: String,
    /// The action's code.
    pub action: String,
    /// The channel it was offered on.
    pub channel: String,
    /// `accepted` or `declined`.
    pub outcome: String,
}

impl DomainEvent for OfferAnswered {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        if self.outcome == "accepted" {
            OFFER_ACCEPTED
        } else {
            OFFER_DECLINED
        }
    }
    fn subject(&self) -> Option<String> {
        Some(self.offer_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![
        EventType::of::<OfferMade>(
            OFFER_MADE,
            "An action of the next-best-action catalogue was offered to a customer.",
        ),
        EventType::of::<OfferAnswered>(OFFER_ACCEPTED, "The customer accepted an offer."),
        EventType::of::<OfferAnswered>(OFFER_DECLINED, "The customer declined an offer."),
        EventType::of::<SegmentMembership>(
            SEGMENT_ENTERED,
            "A customer entered a saved segment (their facts changed, or the segment was reconciled).",
        ),
        EventType::of::<SegmentMembership>(SEGMENT_LEFT, "A customer left a saved segment."),
    ]
}

/// Audit actions of analytics.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `offer.next_best_action_read`: a customer's next best action (derived from their
    /// segment facts, offer history and consent) was shown.
    pub const NEXT_BEST_ACTION_READ: AuditAction = AuditAction::new("offer.next_best_action_read");
    /// `offer.made`: an offer was recorded for a customer.
    pub const OFFER_MADE: AuditAction = AuditAction::new("offer.made");
    /// `offer.answered`: a customer's answer to an offer was recorded.
    pub const OFFER_ANSWERED: AuditAction = AuditAction::new("offer.answered");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[NEXT_BEST_ACTION_READ, OFFER_MADE, OFFER_ANSWERED];
}
