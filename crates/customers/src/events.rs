//! The customers domain's CloudEvents, typed and versioned (`aloft_kernel::event_types`). They
//! carry identifiers and field names, never personal values: consumers read values through the
//! API, audited.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/customers";
/// Event type: a profile was created.
pub const CUSTOMER_CREATED: &str = "aloft.customer.created";
/// Event type: a profile changed.
pub const CUSTOMER_UPDATED: &str = "aloft.customer.updated";
/// Event type: a profile was merged into another.
pub const CUSTOMER_MERGED: &str = "aloft.customer.merged";
/// Event type: a merge was undone.
pub const CUSTOMER_UNMERGED: &str = "aloft.customer.unmerged";

/// `aloft.customer.created`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerCreated {
    /// The new profile.
    pub customer_id: String,
    /// Its version (1).
    pub version: i64,
}

impl DomainEvent for CustomerCreated {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CUSTOMER_CREATED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// `aloft.customer.updated`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerUpdated {
    /// The profile.
    pub customer_id: String,
    /// Its version after the change.
    pub version: i64,
    /// Names of the fields that changed (never their values).
    pub changed_fields: Vec<String>,
}

impl DomainEvent for CustomerUpdated {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CUSTOMER_UPDATED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// `aloft.customer.merged`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerMerged {
    /// The merge (for lineage and unmerge).
    pub merge_id: String,
    /// The surviving profile.
    pub customer_id: String,
    /// The profile merged into it (its id now leads to the survivor).
    pub absorbed_customer_id: String,
    /// The survivor's version after the merge.
    pub version: i64,
    /// Names of the survivor's fields the merge changed.
    pub changed_fields: Vec<String>,
}

impl DomainEvent for CustomerMerged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CUSTOMER_MERGED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// `aloft.customer.unmerged`, version 1.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CustomerUnmerged {
    /// The merge undone.
    pub merge_id: String,
    /// The profile that had survived.
    pub customer_id: String,
    /// The profile restored.
    pub restored_customer_id: String,
    /// The survivor's version after the unmerge.
    pub version: i64,
}

impl DomainEvent for CustomerUnmerged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CUSTOMER_UNMERGED
    }
    fn subject(&self) -> Option<String> {
        Some(self.customer_id.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![
        EventType::of::<CustomerCreated>(CUSTOMER_CREATED, "A customer profile was created."),
        EventType::of::<CustomerUpdated>(
            CUSTOMER_UPDATED,
            "A customer profile changed (the names of the changed fields).",
        ),
        EventType::of::<CustomerMerged>(
            CUSTOMER_MERGED,
            "A duplicate profile was merged into a surviving one.",
        ),
        EventType::of::<CustomerUnmerged>(
            CUSTOMER_UNMERGED,
            "A merge was undone; the absorbed profile is restored.",
        ),
    ]
}

/// What this domain records in the audit trail: typed actions, so that no code coins an action
/// string of its own and the audit page can offer every action by name.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `customer.read`.
    pub const CUSTOMER_READ: AuditAction = AuditAction::new("customer.read");
    /// `customer.search`.
    pub const CUSTOMER_SEARCH: AuditAction = AuditAction::new("customer.search");
    /// `customer.read_own`.
    pub const CUSTOMER_READ_OWN: AuditAction = AuditAction::new("customer.read_own");
    /// `customer.create`.
    pub const CUSTOMER_CREATE: AuditAction = AuditAction::new("customer.create");
    /// `customer.update`.
    pub const CUSTOMER_UPDATE: AuditAction = AuditAction::new("customer.update");
    /// `customer.bulk_create`.
    pub const CUSTOMER_BULK_CREATE: AuditAction = AuditAction::new("customer.bulk_create");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        CUSTOMER_READ,
        CUSTOMER_SEARCH,
        CUSTOMER_READ_OWN,
        CUSTOMER_CREATE,
        CUSTOMER_UPDATE,
        CUSTOMER_BULK_CREATE,
    ];
}
