//! What the travel domain lets roles do. The composition root grants these permissions to roles.

use aloft_authz::{Permission, PermissionInfo};

/// Read a customer's timeline (bookings, flights, bags, purchases, interactions, feedback) and
/// the preference suggestions learned from it.
pub const TIMELINE_READ: Permission = Permission::new("timeline.read");
/// Log an interaction (call, e-mail, chat note) on a customer's timeline.
pub const INTERACTION_WRITE: Permission = Permission::new("interaction.write");

/// Read what people wrote: call notes, e-mail and chat bodies, feedback text (decrypted; every
/// read audited). Cabin crew and check-in agents see that contacts happened, not what was said.
pub const INTERACTION_READ: Permission = Permission::new("interaction.read");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: TIMELINE_READ,
        description: "Read a customer's timeline and preference suggestions",
    },
    PermissionInfo {
        permission: INTERACTION_READ,
        description: "Read call notes, e-mail and chat bodies and feedback text",
    },
    PermissionInfo {
        permission: INTERACTION_WRITE,
        description: "Log calls, e-mails and chats on a customer's timeline",
    },
];
