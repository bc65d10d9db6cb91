//! The permissions of compensation processing. Evaluating a claim (`compensation.evaluate`)
//! belongs to `aloft-rights`.

use aloft_authz::{Permission, PermissionInfo};

/// Report flight disruptions for automatic processing (operations systems, integration clients).
pub const COMPENSATION_PROCESS: Permission = Permission::new("compensation.process");
/// See proposals and approve or reject the pending ones (customer affairs executive).
pub const COMPENSATION_APPROVE: Permission = Permission::new("compensation.approve");

/// Edit, simulate and publish the goodwill policy (CMP manager).
pub const GOODWILL_POLICY: Permission = Permission::new("compensation.goodwill");

/// Set the amounts approved without a person and the minimum connection time (CMP manager).
pub const COMPENSATION_SETTINGS: Permission = Permission::new("compensation.settings");

/// The permissions this crate registers.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: COMPENSATION_PROCESS,
        description: "Report flight disruptions so affected passengers' compensation is proposed",
    },
    PermissionInfo {
        permission: COMPENSATION_APPROVE,
        description: "See compensation proposals and approve or reject those above the automatic limit",
    },
    PermissionInfo {
        permission: GOODWILL_POLICY,
        description: "Edit the goodwill policy's decision tables, simulate them on past disruptions and publish them",
    },
    PermissionInfo {
        permission: COMPENSATION_SETTINGS,
        description: "Set the amounts approved without a person, per currency, and the minimum connection time",
    },
];
