//! What this domain records in the audit trail (typed actions, gathered by the binary's
//! `app::audit_actions()`).

/// Audit actions of the insights domain.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `insights.snapshot_computed`: the background job read the whole population (plain profile
    /// fields, travel records, and — decrypted in memory, never stored — dates of birth for age
    /// bands) to compute a snapshot of aggregates. Recorded once per snapshot, with the fields
    /// read, in the snapshot's own transaction.
    pub const SNAPSHOT_COMPUTED: AuditAction = AuditAction::new("insights.snapshot_computed");
    /// `insights.exported`: an aggregate table was downloaded as CSV.
    pub const EXPORTED: AuditAction = AuditAction::new("insights.exported");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[SNAPSHOT_COMPUTED, EXPORTED];
}
