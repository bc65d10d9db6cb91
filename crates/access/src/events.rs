//! What the access domain records: its audit actions (it emits no CloudEvents of its own).

/// What this domain records in the audit trail: typed actions, so that no code coins an action
/// string of its own and the audit page can offer every action by name.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `auth.client_failed`.
    pub const AUTH_CLIENT_FAILED: AuditAction = AuditAction::new("auth.client_failed");
    /// `auth.client_token_issued`.
    pub const AUTH_CLIENT_TOKEN_ISSUED: AuditAction = AuditAction::new("auth.client_token_issued");
    /// `auth.locked`.
    pub const AUTH_LOCKED: AuditAction = AuditAction::new("auth.locked");
    /// `auth.locked_attempt`.
    pub const AUTH_LOCKED_ATTEMPT: AuditAction = AuditAction::new("auth.locked_attempt");
    /// `auth.mfa_enrolled`.
    pub const AUTH_MFA_ENROLLED: AuditAction = AuditAction::new("auth.mfa_enrolled");
    /// `auth.mfa_failed`.
    pub const AUTH_MFA_FAILED: AuditAction = AuditAction::new("auth.mfa_failed");
    /// `auth.mfa_passed`.
    pub const AUTH_MFA_PASSED: AuditAction = AuditAction::new("auth.mfa_passed");
    /// `auth.password_accepted`.
    pub const AUTH_PASSWORD_ACCEPTED: AuditAction = AuditAction::new("auth.password_accepted");
    /// `auth.password_failed`.
    pub const AUTH_PASSWORD_FAILED: AuditAction = AuditAction::new("auth.password_failed");
    /// `auth.rate_limited`.
    pub const AUTH_RATE_LIMITED: AuditAction = AuditAction::new("auth.rate_limited");
    /// `auth.recovery_code_used`.
    pub const AUTH_RECOVERY_CODE_USED: AuditAction = AuditAction::new("auth.recovery_code_used");
    /// `auth.signed_out`.
    pub const AUTH_SIGNED_OUT: AuditAction = AuditAction::new("auth.signed_out");
    /// `auth.signed_out_everywhere`.
    pub const AUTH_SIGNED_OUT_EVERYWHERE: AuditAction =
        AuditAction::new("auth.signed_out_everywhere");
    /// `auth.sso_refused_without_mfa`.
    pub const AUTH_SSO_REFUSED_WITHOUT_MFA: AuditAction =
        AuditAction::new("auth.sso_refused_without_mfa");
    /// `auth.sso_refused_without_role`.
    pub const AUTH_SSO_REFUSED_WITHOUT_ROLE: AuditAction =
        AuditAction::new("auth.sso_refused_without_role");
    /// `auth.sso_signed_in`.
    pub const AUTH_SSO_SIGNED_IN: AuditAction = AuditAction::new("auth.sso_signed_in");
    /// `account.created`.
    pub const ACCOUNT_CREATED: AuditAction = AuditAction::new("account.created");
    /// `account.created_by_sso`.
    pub const ACCOUNT_CREATED_BY_SSO: AuditAction = AuditAction::new("account.created_by_sso");
    /// `account.disabled`.
    pub const ACCOUNT_DISABLED: AuditAction = AuditAction::new("account.disabled");
    /// `account.enabled`.
    pub const ACCOUNT_ENABLED: AuditAction = AuditAction::new("account.enabled");
    /// `account.mfa_reset`.
    pub const ACCOUNT_MFA_RESET: AuditAction = AuditAction::new("account.mfa_reset");
    /// `account.roster_set`.
    pub const ACCOUNT_ROSTER_SET: AuditAction = AuditAction::new("account.roster_set");
    /// `account.unlocked`.
    pub const ACCOUNT_UNLOCKED: AuditAction = AuditAction::new("account.unlocked");
    /// `api_client.created`.
    pub const API_CLIENT_CREATED: AuditAction = AuditAction::new("api_client.created");
    /// `api_client.revoked`.
    pub const API_CLIENT_REVOKED: AuditAction = AuditAction::new("api_client.revoked");
    /// `access.grant_requested`.
    pub const ACCESS_GRANT_REQUESTED: AuditAction = AuditAction::new("access.grant_requested");
    /// `access.grant_approved`.
    pub const ACCESS_GRANT_APPROVED: AuditAction = AuditAction::new("access.grant_approved");
    /// `access.grant_rejected`.
    pub const ACCESS_GRANT_REJECTED: AuditAction = AuditAction::new("access.grant_rejected");
    /// `passenger.email_verification_failed`.
    pub const PASSENGER_EMAIL_VERIFICATION_FAILED: AuditAction =
        AuditAction::new("passenger.email_verification_failed");
    /// `passenger.email_verified`.
    pub const PASSENGER_EMAIL_VERIFIED: AuditAction = AuditAction::new("passenger.email_verified");
    /// `passenger.locked_attempt`.
    pub const PASSENGER_LOCKED_ATTEMPT: AuditAction = AuditAction::new("passenger.locked_attempt");
    /// `passenger.rate_limited`.
    pub const PASSENGER_RATE_LIMITED: AuditAction = AuditAction::new("passenger.rate_limited");
    /// `passenger.registered`.
    pub const PASSENGER_REGISTERED: AuditAction = AuditAction::new("passenger.registered");
    /// `passenger.sign_in_failed`.
    pub const PASSENGER_SIGN_IN_FAILED: AuditAction = AuditAction::new("passenger.sign_in_failed");
    /// `passenger.signed_in`.
    pub const PASSENGER_SIGNED_IN: AuditAction = AuditAction::new("passenger.signed_in");
    /// `passenger.unverified_sign_in`.
    pub const PASSENGER_UNVERIFIED_SIGN_IN: AuditAction =
        AuditAction::new("passenger.unverified_sign_in");
    /// `passenger.password_accepted`: the portal's first step; the second factor is due.
    pub const PASSENGER_PASSWORD_ACCEPTED: AuditAction =
        AuditAction::new("passenger.password_accepted");
    /// `passenger.mfa_passed`.
    pub const PASSENGER_MFA_PASSED: AuditAction = AuditAction::new("passenger.mfa_passed");
    /// `passenger.mfa_failed`.
    pub const PASSENGER_MFA_FAILED: AuditAction = AuditAction::new("passenger.mfa_failed");
    /// `passenger.recovery_code_used`.
    pub const PASSENGER_RECOVERY_CODE_USED: AuditAction =
        AuditAction::new("passenger.recovery_code_used");
    /// `passenger.mfa_enrolled`.
    pub const PASSENGER_MFA_ENROLLED: AuditAction = AuditAction::new("passenger.mfa_enrolled");
    /// `passenger.mfa_removed`.
    pub const PASSENGER_MFA_REMOVED: AuditAction = AuditAction::new("passenger.mfa_removed");
    /// `passenger.signed_out`.
    pub const PASSENGER_SIGNED_OUT: AuditAction = AuditAction::new("passenger.signed_out");
    /// `passenger.sign_up_unmatched`: a portal sign-up named no profile (or one already
    /// signed up); answered like any other.
    pub const PASSENGER_SIGN_UP_UNMATCHED: AuditAction =
        AuditAction::new("passenger.sign_up_unmatched");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        AUTH_CLIENT_FAILED,
        AUTH_CLIENT_TOKEN_ISSUED,
        AUTH_LOCKED,
        AUTH_LOCKED_ATTEMPT,
        AUTH_MFA_ENROLLED,
        AUTH_MFA_FAILED,
        AUTH_MFA_PASSED,
        AUTH_PASSWORD_ACCEPTED,
        AUTH_PASSWORD_FAILED,
        AUTH_RATE_LIMITED,
        AUTH_RECOVERY_CODE_USED,
        AUTH_SIGNED_OUT,
        AUTH_SIGNED_OUT_EVERYWHERE,
        AUTH_SSO_REFUSED_WITHOUT_MFA,
        AUTH_SSO_REFUSED_WITHOUT_ROLE,
        AUTH_SSO_SIGNED_IN,
        ACCOUNT_CREATED,
        ACCOUNT_CREATED_BY_SSO,
        ACCOUNT_DISABLED,
        ACCOUNT_ENABLED,
        ACCOUNT_MFA_RESET,
        ACCOUNT_ROSTER_SET,
        ACCOUNT_UNLOCKED,
        API_CLIENT_CREATED,
        API_CLIENT_REVOKED,
        ACCESS_GRANT_REQUESTED,
        ACCESS_GRANT_APPROVED,
        ACCESS_GRANT_REJECTED,
        PASSENGER_EMAIL_VERIFICATION_FAILED,
        PASSENGER_EMAIL_VERIFIED,
        PASSENGER_LOCKED_ATTEMPT,
        PASSENGER_RATE_LIMITED,
        PASSENGER_REGISTERED,
        PASSENGER_SIGN_IN_FAILED,
        PASSENGER_SIGNED_IN,
        PASSENGER_UNVERIFIED_SIGN_IN,
        PASSENGER_PASSWORD_ACCEPTED,
        PASSENGER_MFA_PASSED,
        PASSENGER_MFA_FAILED,
        PASSENGER_RECOVERY_CODE_USED,
        PASSENGER_MFA_ENROLLED,
        PASSENGER_MFA_REMOVED,
        PASSENGER_SIGNED_OUT,
        PASSENGER_SIGN_UP_UNMATCHED,
    ];
}
