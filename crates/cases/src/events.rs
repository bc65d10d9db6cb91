//! What case management publishes (CloudEvents, ids and field names only — never the
//! customer's words) and what it records in the audit trail.

use aloft_kernel::event_types::{DomainEvent, EventType};
use serde::Serialize;
use utoipa::ToSchema;

/// CloudEvents `source` of this domain.
pub const EVENT_SOURCE: &str = "/aloft/cases";

/// `aloft.case.opened`: a case is opened.
pub const CASE_OPENED: &str = "aloft.case.opened";
/// `aloft.case.linked`: a request about a matter already open was linked to its case.
pub const CASE_LINKED: &str = "aloft.case.linked";
/// `aloft.case.state_changed`: a case moved between workflow states.
pub const CASE_STATE_CHANGED: &str = "aloft.case.state_changed";
/// `aloft.case.message_added`: a message was added (by an agent or the customer).
pub const CASE_MESSAGE_ADDED: &str = "aloft.case.message_added";
/// `aloft.case.assigned`: a case was given to an agent or queue.
pub const CASE_ASSIGNED: &str = "aloft.case.assigned";
/// `aloft.case.priority_changed`: an agent set the priority by hand (with a reason).
pub const CASE_PRIORITY_CHANGED: &str = "aloft.case.priority_changed";
/// `aloft.case.rated`: the passenger rated the resolution (CSAT).
pub const CASE_RATED: &str = "aloft.case.rated";
/// `aloft.case.sla_warning`: an SLA clock passed its warning share.
pub const CASE_SLA_WARNING: &str = "aloft.case.sla_warning";
/// `aloft.case.sla_breached`: an SLA clock passed its target.
pub const CASE_SLA_BREACHED: &str = "aloft.case.sla_breached";

macro_rules! case_event {
    ($name:ident, $ty:expr, $doc:literal { $($(#[$m:meta])* $f:ident : $t:ty),* $(,)? }) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Serialize, ToSchema)]
        pub struct $name {
            /// The case.
            pub case_id: String,
            /// The customer it concerns.
            pub customer_id: String,
            $($(#[$m])* pub $f: $t,)*
        }
        impl DomainEvent for $name {
            const VERSION: u32 = 1;
            const SOURCE: &'static str = EVENT_SOURCE;
            fn event_type(&self) -> &'static str {
                $ty
            }
            fn subject(&self) -> Option<String> {
                Some(self.case_id.clone())
            }
        }
    };
}

case_event!(CaseOpened, CASE_OPENED, "`aloft.case.opened`, version 1." {
    /// Category (`baggage`).
    category: String,
    /// Channel it came from.
    channel: String,
    /// Computed priority.
    priority: String,
    /// Queue it was routed to.
    queue: String,
    /// Agent it was given to, if any.
    assignee: Option<String>,
});
case_event!(CaseLinked, CASE_LINKED, "`aloft.case.linked`, version 1." {
    /// Channel the new request came from.
    channel: String,
});
case_event!(CaseStateChanged, CASE_STATE_CHANGED, "`aloft.case.state_changed`, version 1." {
    /// Previous state.
    from: String,
    /// New state.
    to: String,
    /// Workflow version the case follows.
    workflow_version: i64,
});
case_event!(CaseMessageAdded, CASE_MESSAGE_ADDED, "`aloft.case.message_added`, version 1." {
    /// `agent` or `customer`.
    author: String,
});
case_event!(CaseAssigned, CASE_ASSIGNED, "`aloft.case.assigned`, version 1." {
    /// Queue.
    queue: String,
    /// Agent, if any.
    assignee: Option<String>,
    /// Why (`routing`, `transfer`, `escalation`, `reassignment`).
    reason: String,
});
case_event!(CasePriorityChanged, CASE_PRIORITY_CHANGED, "`aloft.case.priority_changed`, version 1." {
    /// Previous priority.
    from: String,
    /// New priority.
    to: String,
});
case_event!(CaseRated, CASE_RATED, "`aloft.case.rated`, version 1." {
    /// The rating, 1 (poor) to 5 (excellent).
    csat: i64,
});
case_event!(CaseSlaWarning, CASE_SLA_WARNING, "`aloft.case.sla_warning`, version 1." {
    /// Which clock (`first_response`, `next_response`, `resolution`).
    clock: String,
});
case_event!(CaseSlaBreached, CASE_SLA_BREACHED, "`aloft.case.sla_breached`, version 1." {
    /// Which clock (`first_response`, `next_response`, `resolution`).
    clock: String,
});

/// `aloft.case.disruption_processed`: irregular operations handled a flight disruption.
pub const CASE_DISRUPTION_PROCESSED: &str = "aloft.case.disruption_processed";

/// `aloft.case.disruption_processed`, version 1: the cases a flight disruption opened or linked.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DisruptionProcessed {
    /// The reported disruption.
    pub disruption_id: String,
    /// The flight (`LH400 2026-07-01`).
    pub flight: String,
    /// `cancellation` or `delay`.
    pub kind: String,
    /// Passengers booked on the flight.
    pub passengers: i64,
    /// Cases opened.
    pub opened: i64,
    /// Open cases linked instead.
    pub linked: i64,
}

impl DomainEvent for DisruptionProcessed {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CASE_DISRUPTION_PROCESSED
    }
    fn subject(&self) -> Option<String> {
        Some(self.disruption_id.clone())
    }
}

/// Type of the event announcing a new version of the case workflow.
pub const CASE_WORKFLOW_PUBLISHED: &str = "aloft.case.workflow_published";
/// Type of the event announcing a station's business calendar changed.
pub const CASE_CALENDAR_CHANGED: &str = "aloft.case.calendar_changed";

/// `aloft.case.workflow_published`, version 1: the CMP manager published a new workflow
/// version; new cases follow it, open cases keep theirs.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkflowPublished {
    /// The new version.
    pub version: i64,
    /// The version it replaces.
    pub previous: i64,
    /// Its state names.
    pub states: Vec<String>,
    /// How many transitions it allows.
    pub transitions: usize,
    /// Its category names.
    pub categories: Vec<String>,
}

impl DomainEvent for WorkflowPublished {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CASE_WORKFLOW_PUBLISHED
    }
    fn subject(&self) -> Option<String> {
        Some(format!("workflow/{}", self.version))
    }
}

/// `aloft.case.calendar_changed`, version 1: a station's business calendar was saved; SLA
/// clocks of its cases run on it from now on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CalendarChanged {
    /// The station (IATA code) or `default`.
    pub station: String,
    /// The station calendar's new version.
    pub version: i64,
    /// Its IANA time zone.
    pub time_zone: String,
    /// How many holidays it lists.
    pub holidays: usize,
}

impl DomainEvent for CalendarChanged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        CASE_CALENDAR_CHANGED
    }
    fn subject(&self) -> Option<String> {
        Some(self.station.clone())
    }
}

/// The event types this domain publishes.
pub fn event_types() -> Vec<EventType> {
    vec![
        EventType::of::<CaseOpened>(CASE_OPENED, "A case is opened."),
        EventType::of::<CaseLinked>(
            CASE_LINKED,
            "A request about a matter already open was linked to its case instead of opening another.",
        ),
        EventType::of::<CaseStateChanged>(
            CASE_STATE_CHANGED,
            "A case moved between workflow states.",
        ),
        EventType::of::<CaseMessageAdded>(CASE_MESSAGE_ADDED, "A message was added to a case."),
        EventType::of::<CaseAssigned>(CASE_ASSIGNED, "A case was given to a queue or an agent."),
        EventType::of::<CaseSlaWarning>(
            CASE_SLA_WARNING,
            "An SLA clock of a case passed its warning share.",
        ),
        EventType::of::<CaseSlaBreached>(
            CASE_SLA_BREACHED,
            "An SLA clock of a case passed its target; the case is escalated.",
        ),
        EventType::of::<CasePriorityChanged>(
            CASE_PRIORITY_CHANGED,
            "An agent set a case's priority by hand, with a reason (kept on the case, not in the event).",
        ),
        EventType::of::<CaseRated>(
            CASE_RATED,
            "The passenger rated how their case was resolved (CSAT 1-5), once.",
        ),
        EventType::of::<DisruptionProcessed>(
            CASE_DISRUPTION_PROCESSED,
            "A flight disruption opened a case for every affected passenger, or linked their open one.",
        ),
        EventType::of::<WorkflowPublished>(
            CASE_WORKFLOW_PUBLISHED,
            "The CMP manager published a new case workflow version; open cases keep theirs.",
        ),
        EventType::of::<CalendarChanged>(
            CASE_CALENDAR_CHANGED,
            "A station's business-hours calendar (time zone, opening hours, holidays) was saved.",
        ),
    ]
}

/// Audit actions of case management.
pub mod audit {
    use aloft_kernel::audit::AuditAction;

    /// `case.opened`: a case opened (or a request linked to an open one).
    pub const OPENED: AuditAction = AuditAction::new("case.opened");
    /// `case.read`: a case shown.
    pub const READ: AuditAction = AuditAction::new("case.read");
    /// `case.transitioned`: a case's state changed.
    pub const TRANSITIONED: AuditAction = AuditAction::new("case.transitioned");
    /// `case.message_added`: a message added.
    pub const MESSAGE_ADDED: AuditAction = AuditAction::new("case.message_added");
    /// `case.assigned`: a case given to a queue or agent (routing, transfer, escalation).
    pub const ASSIGNED: AuditAction = AuditAction::new("case.assigned");
    /// `case.agent_configured`: an agent's queues, capacity or availability set.
    pub const AGENT_CONFIGURED: AuditAction = AuditAction::new("case.agent_configured");

    /// `case.disruption_reported`: a flight disruption reported for irregular operations.
    pub const DISRUPTION_REPORTED: AuditAction = AuditAction::new("case.disruption_reported");
    /// `case.disruption_processed`: a disruption's cases opened or linked.
    pub const DISRUPTION_PROCESSED: AuditAction = AuditAction::new("case.disruption_processed");

    /// `case.rated`: the passenger rated the resolution.
    pub const RATED: AuditAction = AuditAction::new("case.rated");

    /// `case.priority_overridden`: an agent set the priority by hand.
    pub const PRIORITY_OVERRIDDEN: AuditAction = AuditAction::new("case.priority_overridden");
    /// `case.macro_saved`: a canned reply created or changed.
    pub const MACRO_SAVED: AuditAction = AuditAction::new("case.macro_saved");
    /// `case.macro_deleted`: a canned reply deleted.
    pub const MACRO_DELETED: AuditAction = AuditAction::new("case.macro_deleted");

    /// `case.workflow_published`: a new workflow version published.
    pub const WORKFLOW_PUBLISHED: AuditAction = AuditAction::new("case.workflow_published");
    /// `case.calendar_saved`: a station's business calendar saved.
    pub const CALENDAR_SAVED: AuditAction = AuditAction::new("case.calendar_saved");

    /// Every action of this domain.
    pub const ALL: &[AuditAction] = &[
        OPENED,
        READ,
        TRANSITIONED,
        MESSAGE_ADDED,
        ASSIGNED,
        AGENT_CONFIGURED,
        DISRUPTION_REPORTED,
        DISRUPTION_PROCESSED,
        RATED,
        PRIORITY_OVERRIDDEN,
        MACRO_SAVED,
        MACRO_DELETED,
        WORKFLOW_PUBLISHED,
        CALENDAR_SAVED,
    ];
}
