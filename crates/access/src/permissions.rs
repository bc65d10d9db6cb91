//! What the access domain lets roles do: review roles, manage accounts and integration clients,
//! read the audit trail. The composition root grants these permissions to roles.

use aloft_authz::{Permission, PermissionInfo};

/// Search and verify the audit trail.
pub const AUDIT_READ: Permission = Permission::new("audit.read");
/// Review roles and their permissions.
pub const ACCESS_REVIEW: Permission = Permission::new("access.review");
/// Create, disable and reset staff accounts.
pub const ACCOUNTS_MANAGE: Permission = Permission::new("accounts.manage");
/// Create and revoke integration API clients.
pub const API_CLIENTS_MANAGE: Permission = Permission::new("api_clients.manage");
/// Approve or reject a grant of a role whose permissions its requester does not hold (the
/// second person of four-eyes grants, [`crate::grants`]).
pub const ACCESS_APPROVE: Permission = Permission::new("access.approve");
/// Watch sign-in anomalies: failed sign-ins, refusals and lockouts by account and address
/// (`/security`, the security panel of the start page).
pub const SECURITY_MONITOR: Permission = Permission::new("security.monitor");
/// Review the platform's configuration on the start page: the roles matrix, sources, policies.
pub const CONFIG_REVIEW: Permission = Permission::new("config.review");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: AUDIT_READ,
        description: "Search and verify the audit trail",
    },
    PermissionInfo {
        permission: ACCESS_REVIEW,
        description: "Review roles and permissions",
    },
    PermissionInfo {
        permission: ACCOUNTS_MANAGE,
        description: "Manage staff accounts",
    },
    PermissionInfo {
        permission: API_CLIENTS_MANAGE,
        description: "Manage integration API clients",
    },
    PermissionInfo {
        permission: ACCESS_APPROVE,
        description: "Approve grants of roles their requester does not hold (four-eyes)",
    },
    PermissionInfo {
        permission: SECURITY_MONITOR,
        description: "Watch sign-in anomalies (failed sign-ins, refusals, lockouts)",
    },
    PermissionInfo {
        permission: CONFIG_REVIEW,
        description: "Review the configuration overview (roles matrix, sources, policies)",
    },
];
