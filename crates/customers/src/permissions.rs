//! What the customers domain lets roles do, and the row scopes it understands. The composition
//! root grants these permissions to roles; the domain's routes and storage check them.

use aloft_authz::{Permission, PermissionInfo, ScopeKind};

/// Find and view customer profiles (sensitive fields masked unless another permission allows
/// them).
pub const CUSTOMER_READ: Permission = Permission::new("customer.read");
/// Create and change customer profiles.
pub const CUSTOMER_WRITE: Permission = Permission::new("customer.write");
/// See travel document numbers unmasked.
pub const TRAVEL_DOCUMENT_READ: Permission = Permission::new("customer.travel_document.read");
/// Follow the frequent-flyer programme: tier changes across the member base.
pub const LOYALTY_MANAGE: Permission = Permission::new("loyalty.manage");
/// A passenger's own profile, and only theirs.
pub const OWN_PROFILE: Permission = Permission::new("self.profile");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: CUSTOMER_READ,
        description: "Find and view customer profiles",
    },
    PermissionInfo {
        permission: CUSTOMER_WRITE,
        description: "Create and change customer profiles",
    },
    PermissionInfo {
        permission: TRAVEL_DOCUMENT_READ,
        description: "See passport numbers unmasked",
    },
    PermissionInfo {
        permission: LOYALTY_MANAGE,
        description: "Follow loyalty tier changes across the member base",
    },
    PermissionInfo {
        permission: OWN_PROFILE,
        description: "View and change one's own profile (passengers)",
    },
];

/// A check-in agent's station (IATA code): passengers departing from it within the check-in
/// window.
pub const STATION: ScopeKind = ScopeKind::new("station");
/// A crew member (the principal's subject): passengers of the flights on their roster while
/// those are active.
pub const ROSTER: ScopeKind = ScopeKind::new("roster");
/// One customer (a passenger's own record).
pub const OWN_RECORD: ScopeKind = ScopeKind::new("customer");
