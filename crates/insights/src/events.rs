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

    /// `insights.facts_derived`: the dashboard facts of a batch of customers were derived again
    /// (stated seat and meal preference, travel records, and the words of interactions,
    /// feedback and cases — opened in memory, kept only as sentiment label, score and topics).
    /// One record per batch, in the batch's own transaction.
    pub const FACTS_DERIVED: AuditAction = AuditAction::new("insights.facts_derived");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[SNAPSHOT_COMPUTED, EXPORTED, FACTS_DERIVED];
}
