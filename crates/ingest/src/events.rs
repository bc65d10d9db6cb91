//! What the ingest domain records: its audit actions (it emits no CloudEvents of its own).

/// What this domain records in the audit trail: typed actions, so that no code coins an action
/// string of its own and the audit page can offer every action by name.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `customer.merge`.
    pub const CUSTOMER_MERGE: AuditAction = AuditAction::new("customer.merge");
    /// `customer.unmerge`.
    pub const CUSTOMER_UNMERGE: AuditAction = AuditAction::new("customer.unmerge");
    /// `identity.review_decide`.
    pub const IDENTITY_REVIEW_DECIDE: AuditAction = AuditAction::new("identity.review_decide");
    /// `customer.sources_read`.
    pub const CUSTOMER_SOURCES_READ: AuditAction = AuditAction::new("customer.sources_read");
    /// `customer.lineage_read`.
    pub const CUSTOMER_LINEAGE_READ: AuditAction = AuditAction::new("customer.lineage_read");
    /// `identity.review_read`.
    pub const IDENTITY_REVIEW_READ: AuditAction = AuditAction::new("identity.review_read");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        CUSTOMER_MERGE,
        CUSTOMER_UNMERGE,
        IDENTITY_REVIEW_DECIDE,
        CUSTOMER_SOURCES_READ,
        CUSTOMER_LINEAGE_READ,
        IDENTITY_REVIEW_READ,
    ];
}
