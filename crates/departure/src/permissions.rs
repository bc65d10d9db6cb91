//! What departure control lets roles do. The composition root grants these permissions to roles;
//! the rows each shows are the principal's row scope (a check-in agent's station, a crew member's
//! roster).

use aloft_authz::{Permission, PermissionInfo};

/// Work the check-in console: the station's departures today, a flight's passengers with their
/// special service requests and documents, boarding-pass scans.
pub const CHECKIN_CONSOLE: Permission = Permission::new("departure.checkin");
/// Read the manifest (passenger information list) of one's rostered flights.
pub const CREW_MANIFEST: Permission = Permission::new("departure.manifest");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: CHECKIN_CONSOLE,
        description: "Work the check-in console: the station's departures, passengers and boarding-pass scans",
    },
    PermissionInfo {
        permission: CREW_MANIFEST,
        description: "Read the passenger manifests of one's rostered flights (also offline)",
    },
];
