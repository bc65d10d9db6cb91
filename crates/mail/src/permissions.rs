//! What the mail crate lets roles do. The composition root grants these permissions to roles.

use aloft_authz::{Permission, PermissionInfo};

/// Read the messages the development mail catcher kept (they hold recipients' addresses and
/// the full text, so not every staff member may).
pub const MAIL_CATCHER_READ: Permission = Permission::new("mail.catcher.read");

/// Edit the texts of the messages Aloft sends (per template and language; every version kept
/// and audited): the CMP manager.
pub const MAIL_TEMPLATES_MANAGE: Permission = Permission::new("mail.templates.manage");

/// The permissions this crate registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: MAIL_CATCHER_READ,
        description: "Read mail kept by the development mail catcher",
    },
    PermissionInfo {
        permission: MAIL_TEMPLATES_MANAGE,
        description: "Edit the texts of the e-mail Aloft sends, per language (versioned, audited)",
    },
];
