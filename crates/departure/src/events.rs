//! What departure control records. It emits no domain events (it changes nothing); its reads
//! are audited.

/// Audit actions of departure control.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `departure.passenger_list_read`: a flight's passengers shown to a check-in agent.
    pub const PASSENGER_LIST_READ: AuditAction = AuditAction::new("departure.passenger_list_read");
    /// `departure.manifest_read`: a flight's manifest shown to its crew.
    pub const MANIFEST_READ: AuditAction = AuditAction::new("departure.manifest_read");
    /// `departure.boarding_pass_read`: the passenger of a scanned boarding pass shown.
    pub const BOARDING_PASS_READ: AuditAction = AuditAction::new("departure.boarding_pass_read");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[PASSENGER_LIST_READ, MANIFEST_READ, BOARDING_PASS_READ];
}
