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

/// `aloft.audience.published`: a part of a saved segment's consented audience, released to
/// the marketing platform.
pub const AUDIENCE_PUBLISHED: &str = "aloft.audience.published";

/// `aloft.audience.published`, version 1: one part (up to
/// [`crate::audience::PART_SIZE`] customer ids) of one publication. A publication is one
/// export (`export_id`) of `parts` events; the consumer has the whole audience when it holds
/// parts 1..=`parts` of that export, and replaces the previous audience of the segment with
/// it. Ids only: the platform resolves contacts through its own consented channel data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AudiencePublished {
    /// The export (one publication).
    pub export_id: String,
    /// The saved segment.
    pub segment_id: String,
    /// The version of its rule.
    pub segment_version: i64,
    /// The purpose every listed customer consented to (`marketing_email`).
    pub purpose: String,
    /// This part's number, from 1.
    pub part: u32,
    /// How many parts the publication has.
    pub parts: u32,
    /// The customers of this part.
    pub customer_ids: Vec<String>,
}

impl DomainEvent for AudiencePublished {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        AUDIENCE_PUBLISHED
    }
    fn subject(&self) -> Option<String> {
        Some(self.segment_id.clone())
    }
}

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
        EventType::of::<AudiencePublished>(
            AUDIENCE_PUBLISHED,
            "A part of a saved segment's audience (customer ids with the purpose's consent) released to the marketing platform.",
        ),
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

    /// `audience.exported`: a segment's audience was released (CSV or the marketing
    /// platform); the record names the export, whose row holds the counts and the purpose.
    pub const AUDIENCE_EXPORTED: AuditAction = AuditAction::new("audience.exported");
    /// `audience.member_released`: one customer's contact was released in an audience CSV.
    pub const AUDIENCE_MEMBER_RELEASED: AuditAction = AuditAction::new("audience.member_released");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        NEXT_BEST_ACTION_READ,
        OFFER_MADE,
        OFFER_ANSWERED,
        AUDIENCE_EXPORTED,
        AUDIENCE_MEMBER_RELEASED,
    ];
}
