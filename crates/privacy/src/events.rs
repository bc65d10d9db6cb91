//! What the privacy domain records: consent changes as the CloudEvent `aloft.consent.changed`
//! (codes and ids only — never the proof, which may quote the passenger) and, in the audit
//! trail, every consent recorded and every consent history shown.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/privacy";
/// Event type: a consent or subscription was given or withdrawn.
pub const CONSENT_CHANGED: &str = "aloft.consent.changed";

/// `aloft.consent.changed`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentChanged {
    /// The passenger's profile.
    pub customer_id: String,
    /// The history row (`/api/v1/customers/{id}/consents` lists it).
    pub consent_id: String,
    /// The purpose code (`marketing_email`).
    pub purpose: String,
    /// The channel code (`email`, `sms`, `push`, `any`).
    pub channel: String,
    /// Given (`true`) or withdrawn (`false`).
    pub granted: bool,
    /// The lawful basis (`consent`, `contract`…).
    pub lawful_basis: String,
    /// The notice version the passenger saw.
    pub notice_version: String,
    /// The touchpoint (`web`, `contact_centre`…).
    pub source: String,
    /// When the passenger gave or withdrew it (a source system's time, else when recorded).
    pub given_at: String,
    /// Whether it is now the current state: `false` for a change given before the current
    /// one (a source event that arrived late), which only joins the history.
    pub current: bool,
}

impl DomainEvent for ConsentChanged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CONSENT_CHANGED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// Event type: everything about a customer was erased (downstream copies must follow).
pub const CUSTOMER_ERASED: &str = "aloft.customer.erased";

/// `aloft.customer.erased`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerErased {
    /// The erased customer's id (kept: it names nothing once the profile is gone).
    pub customer_id: String,
    /// Whether this was a repeated request that found nothing left.
    pub repeated: bool,
}

impl DomainEvent for CustomerErased {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CUSTOMER_ERASED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// Event type: a data-subject request was received, moved, or its deadline extended.
pub const REQUEST_CHANGED: &str = "aloft.privacy_request.changed";

/// `aloft.privacy_request.changed`, version 1. Ids and codes only: never what the person wrote,
/// a note or a reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestChanged {
    /// The request.
    pub request_id: String,
    /// The person it is about.
    pub customer_id: String,
    /// `access`, `portability`, `rectification`, `restriction`, `objection`, `erasure`.
    pub kind: String,
    /// `received`, `extended`, `restriction_lifted`, or the state moved to (`identity_verified`, `in_progress`,
    /// `completed`, `refused`).
    pub change: String,
    /// The state now.
    pub state: String,
    /// The date it must be answered by (YYYY-MM-DD, UTC).
    pub deadline: String,
}

impl DomainEvent for RequestChanged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        REQUEST_CHANGED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![
        EventType::of::<ConsentChanged>(
            CONSENT_CHANGED,
            "A passenger's consent or subscription for a purpose and channel was given or withdrawn.",
        ),
        EventType::of::<RequestChanged>(
            REQUEST_CHANGED,
            "A data-subject request (access, portability, rectification, restriction, objection, erasure) was received, moved to another state, or its deadline extended.",
        ),
        EventType::of::<crate::retention::RetentionApplied>(
            crate::retention::RETENTION_APPLIED,
            "A retention run deleted or pseudonymised rows past their period; counts per data category, no ids.",
        ),
        EventType::of::<crate::holds::HoldChanged>(
            crate::holds::HOLD_CHANGED,
            "A legal hold on a person or a data category was placed or lifted; ids and codes only.",
        ),
        EventType::of::<crate::sharing::PartnerShared>(
            crate::sharing::PARTNER_SHARED,
            "Anonymised insights were released to a partner; the share's id, partner and counts.",
        ),
        EventType::of::<crate::sharing::PartnerChanged>(
            crate::sharing::PARTNER_CHANGED,
            "A partner was registered for anonymised sharing, or its lifetime privacy budget set or raised; ids, the change and the total.",
        ),
        EventType::of::<CustomerErased>(
            CUSTOMER_ERASED,
            "Everything about a customer was erased (key destroyed, records deleted or pseudonymised); copies elsewhere must follow.",
        ),
    ]
}

/// Audit actions of the privacy domain.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `privacy.consent_recorded`: a consent given or withdrawn was recorded.
    pub const CONSENT_RECORDED: AuditAction = AuditAction::new("privacy.consent_recorded");
    /// `privacy.consent_read`: a passenger's consent history was shown.
    pub const CONSENT_READ: AuditAction = AuditAction::new("privacy.consent_read");

    /// `privacy.subject_exported`: everything held about a person exported (access request).
    pub const SUBJECT_EXPORTED: AuditAction = AuditAction::new("privacy.subject_exported");

    /// `privacy.subject_erased`: a person erased everywhere (fields: the tables touched).
    pub const SUBJECT_ERASED: AuditAction = AuditAction::new("privacy.subject_erased");

    /// `privacy.request_received`: a data-subject request was opened.
    pub const REQUEST_RECEIVED: AuditAction = AuditAction::new("privacy.request_received");
    /// `privacy.request_changed`: a request was moved or extended.
    pub const REQUEST_CHANGED: AuditAction = AuditAction::new("privacy.request_changed");
    /// `privacy.request_read`: a request (with what the person wrote) was shown.
    pub const REQUEST_READ: AuditAction = AuditAction::new("privacy.request_read");
    /// `privacy.requests_listed`: the list of requests (ids, kinds, deadlines) was shown.
    pub const REQUESTS_LISTED: AuditAction = AuditAction::new("privacy.requests_listed");
    /// `privacy.processing_restricted`: a person's processing was restricted (Art. 18).
    pub const PROCESSING_RESTRICTED: AuditAction =
        AuditAction::new("privacy.processing_restricted");

    /// `privacy.restriction_lifted`: a person's restriction of processing was lifted.
    pub const RESTRICTION_LIFTED: AuditAction = AuditAction::new("privacy.restriction_lifted");

    /// `privacy.retention_applied`: a retention run changed rows (fields: `table:rows`).
    pub const RETENTION_APPLIED: AuditAction = AuditAction::new("privacy.retention_applied");

    /// `privacy.hold_placed`: a legal hold was placed (on the customer, or on a category).
    pub const HOLD_PLACED: AuditAction = AuditAction::new("privacy.hold_placed");
    /// `privacy.hold_lifted`: a legal hold was lifted.
    pub const HOLD_LIFTED: AuditAction = AuditAction::new("privacy.hold_lifted");

    /// `privacy.partner_share`: anonymised insights released to a partner (fields: partner,
    /// columns, k and l, levels and counts).
    pub const PARTNER_SHARE: AuditAction = AuditAction::new("privacy.partner_share");

    /// `privacy.dp_budget_set`: a partner's differential-privacy budget was set.
    pub const DP_BUDGET_SET: AuditAction = AuditAction::new("privacy.dp_budget_set");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        CONSENT_RECORDED,
        CONSENT_READ,
        SUBJECT_EXPORTED,
        SUBJECT_ERASED,
        REQUEST_RECEIVED,
        REQUEST_CHANGED,
        REQUEST_READ,
        REQUESTS_LISTED,
        PROCESSING_RESTRICTED,
        RETENTION_APPLIED,
        RESTRICTION_LIFTED,
        HOLD_PLACED,
        HOLD_LIFTED,
        PARTNER_SHARE,
        DP_BUDGET_SET,
        crate::sharing::PARTNER_REGISTERED,
        crate::dp::DP_BUDGET_RAISED,
    ];
}
