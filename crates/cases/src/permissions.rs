//! What case management lets roles do. The composition root grants these to roles.

use aloft_authz::{Permission, PermissionInfo};

/// Work cases: open, read, reply, move through the workflow, transfer.
pub const CASE_WORK: Permission = Permission::new("case.work");
/// Supervise: agents' queues and capacity, escalations, the dashboard.
pub const CASE_SUPERVISE: Permission = Permission::new("case.supervise");
/// Configure case types and workflows.
pub const CASE_CONFIGURE: Permission = Permission::new("case.configure");

/// Edit the case workflow (states, transitions, required fields, categories; a new version per
/// change) and the stations' business-hours calendars (the CMP manager).
pub const CASE_WORKFLOW_MANAGE: Permission = Permission::new("case.workflow.manage");

/// Report flight disruptions so irregular operations open cases for the affected passengers
/// (operations systems, integration clients, the CMP manager).
pub const CASE_DISRUPTIONS: Permission = Permission::new("case.disruptions.report");

/// Hand inbound e-mail to case management (the mail gateway's integration client, the CMP
/// manager who owns source integrations).
pub const CASE_INBOUND_MAIL: Permission = Permission::new("case.inbound_mail");

/// The permissions this domain registers, with what they allow.
pub const PERMISSIONS: &[PermissionInfo] = &[
    PermissionInfo {
        permission: CASE_WORK,
        description: "Work customer cases: open, read, reply, move through the workflow, transfer",
    },
    PermissionInfo {
        permission: CASE_SUPERVISE,
        description: "Supervise case queues: agents' queues, capacity and availability, escalations",
    },
    PermissionInfo {
        permission: CASE_CONFIGURE,
        description: "Configure case types and workflows (versioned; open cases keep theirs)",
    },
    PermissionInfo {
        permission: CASE_WORKFLOW_MANAGE,
        description: "Edit the case workflow (versioned; open cases keep theirs) and the stations' business-hours calendars",
    },
    PermissionInfo {
        permission: CASE_DISRUPTIONS,
        description: "Report flight disruptions: a case is opened (or linked) for every affected passenger",
    },
    PermissionInfo {
        permission: CASE_INBOUND_MAIL,
        description: "Hand inbound e-mail to case management: replies join their case, other messages open one",
    },
];
