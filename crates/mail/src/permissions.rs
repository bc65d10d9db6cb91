//! What the mail crate lets roles do. The composition root grants these permissions to roles.

use aloft_authz::{Permission, PermissionInfo};

/// Read the messages the development mail catcher kept (they hold recipients' addresses and
/// the full text, so not every staff member may).
pub const MAIL_CATCHER_READ: Permission = Permission::new("mail.catcher.read");

/// The permissions this crate registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[PermissionInfo {
    permission: MAIL_CATCHER_READ,
    description: "Read mail kept by the development mail catcher",
}];
