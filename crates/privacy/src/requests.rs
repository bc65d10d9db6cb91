//! Data-subject requests (GDPR Art. 15–21) as tracked cases, pure and tested without IO: the
//! kinds, the states and the moves between them, the statutory deadline and its extension, and
//! whether a request is due soon or overdue.
//!
//! Why the deadline is a date, not an instant: Art. 12(3) gives "one month of receipt", and
//! Regulation (EEC, Euratom) No 1182/71 (time limits in EU law) counts a period in months to the
//! same date of the following month — or the month's last day where that date does not exist
//! (31 January → 28/29 February). The request is answered in time if answered on that date (UTC).
//! The regulation's move of a deadline falling on a holiday to the next working day is not
//! applied: answering earlier is never wrong, and holidays differ by member state.

use aloft_kernel::FieldError;
use aloft_kernel::fields::FieldReader;
use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What the person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestKind {
    /// A copy of everything held about them (Art. 15).
    Access,
    /// Their data in a machine-readable format to take elsewhere (Art. 20).
    Portability,
    /// Inaccurate data corrected (Art. 16).
    Rectification,
    /// Processing restricted while a dispute is settled (Art. 18).
    Restriction,
    /// Objection to processing for direct marketing and profiling (Art. 21).
    Objection,
    /// Erasure ("right to be forgotten", Art. 17).
    Erasure,
}

impl RequestKind {
    /// Every kind, in the order forms list them.
    pub const ALL: [RequestKind; 6] = [
        Self::Access,
        Self::Portability,
        Self::Rectification,
        Self::Restriction,
        Self::Objection,
        Self::Erasure,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Portability => "portability",
            Self::Rectification => "rectification",
            Self::Restriction => "restriction",
            Self::Objection => "objection",
            Self::Erasure => "erasure",
        }
    }

    /// The kind named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How it reads on screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Access => "Access (Art. 15)",
            Self::Portability => "Portability (Art. 20)",
            Self::Rectification => "Rectification (Art. 16)",
            Self::Restriction => "Restriction (Art. 18)",
            Self::Objection => "Objection (Art. 21)",
            Self::Erasure => "Erasure (Art. 17)",
        }
    }
}

/// Where a request is in its handling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    /// Received; the requester's identity is not yet confirmed (Art. 12(6)).
    Received,
    /// The requester is confirmed to be the person.
    IdentityVerified,
    /// Being fulfilled.
    InProgress,
    /// Fulfilled (terminal).
    Completed,
    /// Refused, with the reason the person is told (Art. 12(4); terminal).
    Refused,
}

impl RequestState {
    /// Every state, in the order of handling.
    pub const ALL: [RequestState; 5] = [
        Self::Received,
        Self::IdentityVerified,
        Self::InProgress,
        Self::Completed,
        Self::Refused,
    ];

    /// The stored and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::IdentityVerified => "identity_verified",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Refused => "refused",
        }
    }

    /// The state named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How it reads on screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Received => "Received",
            Self::IdentityVerified => "Identity verified",
            Self::InProgress => "In progress",
            Self::Completed => "Completed",
            Self::Refused => "Refused",
        }
    }

    /// Whether the request is finished (no deadline runs).
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Completed | Self::Refused)
    }

    /// The states a request may move to from here. Fulfilment needs a verified identity first:
    /// handing a person's data to someone else is itself a breach.
    pub fn next(self) -> &'static [RequestState] {
        match self {
            Self::Received => &[Self::IdentityVerified, Self::Refused],
            Self::IdentityVerified => &[Self::InProgress, Self::Refused],
            Self::InProgress => &[Self::Completed, Self::Refused],
            Self::Completed | Self::Refused => &[],
        }
    }
}

/// The channels a request can arrive by (Art. 12 lets the person use any).
pub const CHANNELS: &[&str] = &[
    "self_service",
    "web",
    "email",
    "letter",
    "phone",
    "in_person",
];

/// The purposes an objection withdraws when it names none: direct marketing, including the
/// profiling related to it (Art. 21(2)–(3)), to which an objection is absolute.
pub const OBJECTION_DEFAULT_PURPOSES: &[&str] = &[
    "marketing_email",
    "marketing_sms",
    "marketing_push",
    "personalisation",
];

/// Days before the deadline from which a request counts as due soon.
pub const DUE_SOON_DAYS: i64 = 7;

/// The statutory deadline: one calendar month from the date of receipt (see the module doc).
pub fn deadline(received: DateTime<Utc>) -> NaiveDate {
    add_months(received.date_naive(), 1)
}

/// The extended deadline: two further months (Art. 12(3)), counted from receipt as well.
pub fn extended_deadline(received: DateTime<Utc>) -> NaiveDate {
    add_months(received.date_naive(), 3)
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    // chrono clamps to the month's last day, as Regulation 1182/71 Art. 3(2)(c) counts.
    d.checked_add_months(Months::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// How urgent an open request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Past its deadline.
    Overdue,
    /// Within [`DUE_SOON_DAYS`] of it.
    DueSoon,
    /// Time enough.
    OnTrack,
    /// Finished; no deadline runs.
    Closed,
}

impl Urgency {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Overdue => "overdue",
            Self::DueSoon => "due_soon",
            Self::OnTrack => "on_track",
            Self::Closed => "closed",
        }
    }
}

/// How urgent a request in `state` with `deadline` is on `today` (UTC). The deadline day itself
/// is still in time.
pub fn urgency(state: RequestState, deadline: NaiveDate, today: NaiveDate) -> Urgency {
    if state.is_closed() {
        Urgency::Closed
    } else if today > deadline {
        Urgency::Overdue
    } else if (deadline - today).num_days() <= DUE_SOON_DAYS {
        Urgency::DueSoon
    } else {
        Urgency::OnTrack
    }
}

/// Why an extension is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    /// The request is finished.
    #[error("the request is closed")]
    Closed,
    /// It was extended before; the law allows one extension of two months.
    #[error("the request was already extended")]
    AlreadyExtended,
    /// The first month is over: the person had to be told of the extension within it.
    #[error("the first month is over; an extension had to be decided within it")]
    TooLate,
}

/// Whether a request may be extended on `today`: open, not extended before, and still within
/// its first month (Art. 12(3): the person is informed of an extension within one month).
pub fn may_extend(
    state: RequestState,
    extended: bool,
    deadline: NaiveDate,
    today: NaiveDate,
) -> Result<(), ExtensionError> {
    if state.is_closed() {
        Err(ExtensionError::Closed)
    } else if extended {
        Err(ExtensionError::AlreadyExtended)
    } else if today > deadline {
        Err(ExtensionError::TooLate)
    } else {
        Ok(())
    }
}

/// A new request, as read from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    /// The person's profile id (checked to exist by the store).
    pub customer_id: String,
    /// What they ask for.
    pub kind: RequestKind,
    /// How it arrived.
    pub channel: &'static str,
    /// What they wrote, for the handler (personal data: kept with the request, never in events).
    pub details: String,
}

/// Reads a new request, naming every bad field by JSON pointer.
pub fn parse_new(doc: &Value) -> Result<NewRequest, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["customer_id", "kind", "channel", "details"]);
    let customer_id = r.req("customer_id", |s| {
        uuid::Uuid::parse_str(s)
            .map(|u| u.to_string())
            .map_err(|_| "must be a customer id".to_owned())
    });
    let kinds: Vec<&str> = RequestKind::ALL.iter().map(|k| k.as_str()).collect();
    let kind = r.req("kind", |s| {
        RequestKind::parse(s).ok_or_else(|| {
            format!(
                "is not a kind of request; expected one of: {}",
                kinds.join(", ")
            )
        })
    });
    let channel = r.req("channel", |s| {
        CHANNELS.iter().copied().find(|c| *c == s).ok_or_else(|| {
            format!(
                "is not a known channel; expected one of: {}",
                CHANNELS.join(", ")
            )
        })
    });
    let details = r
        .opt("details", |s| {
            if s.chars().count() > 4000 {
                Err("must be at most 4000 characters".to_owned())
            } else {
                Ok(s.trim().to_owned())
            }
        })
        .unwrap_or_default();
    match (customer_id, kind, channel) {
        (Some(customer_id), Some(kind), Some(channel)) if errors.is_empty() => Ok(NewRequest {
            customer_id,
            kind,
            channel,
            details,
        }),
        _ => Err(errors),
    }
}

/// A move of a request, as read from the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The state to move to.
    pub to: RequestState,
    /// A note for the record: how identity was verified, what was done. Required for
    /// `identity_verified`; for `refused` it is the reason, and required.
    pub note: String,
    /// Objection: the purposes objected to (default [`OBJECTION_DEFAULT_PURPOSES`]).
    pub purposes: Vec<&'static str>,
    /// Rectification: the profile fields corrected (required to complete one).
    pub corrected_fields: Vec<String>,
}

/// The fields of a transition document.
pub const TRANSITION_FIELDS: &[&str] = &["to", "note", "reason", "purposes", "corrected_fields"];

fn strings(r: &mut FieldReader<'_, '_>, field: &str) -> Option<Vec<String>> {
    let arr = r.array(field)?;
    let mut out = Vec::new();
    for (i, v) in arr.iter().enumerate() {
        match v.as_str().map(str::trim) {
            Some(s) if !s.is_empty() && s.len() <= 100 => out.push(s.to_owned()),
            _ => r.fail(&format!("{field}/{i}"), "must be a non-empty name"),
        }
    }
    Some(out)
}

/// Reads a transition of a request of `kind` now in `from`, naming every bad field. Returns the
/// fields' errors (422) — an illegal move is the caller's 409, decided by [`check_move`].
pub fn parse_transition(doc: &Value, kind: RequestKind) -> Result<Transition, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(TRANSITION_FIELDS);
    let states: Vec<&str> = RequestState::ALL.iter().map(|s| s.as_str()).collect();
    let to = r.req("to", |s| {
        RequestState::parse(s).ok_or_else(|| {
            format!(
                "is not a state of a request; expected one of: {}",
                states.join(", ")
            )
        })
    });
    let text = |s: &str| {
        if s.chars().count() > 4000 {
            Err("must be at most 4000 characters".to_owned())
        } else {
            Ok(s.trim().to_owned())
        }
    };
    let note = r.opt("note", text).unwrap_or_default();
    let reason = r.opt("reason", text).unwrap_or_default();
    let purposes_given = strings(&mut r, "purposes");
    let corrected = strings(&mut r, "corrected_fields").unwrap_or_default();
    let mut purposes = Vec::new();
    if let Some(given) = &purposes_given {
        for (i, p) in given.iter().enumerate() {
            match crate::model::purpose(p) {
                Some(p) => purposes.push(p.code),
                None => r.fail(&format!("purposes/{i}"), "is not a known purpose"),
            }
        }
        if given.is_empty() {
            r.fail("purposes", "must name at least one purpose");
        }
    }
    if let Some(to) = to {
        match to {
            RequestState::IdentityVerified if note.is_empty() => {
                r.fail("note", "is required: how the identity was verified")
            }
            RequestState::Refused if reason.is_empty() => r.fail(
                "reason",
                "is required: the reason the person is told (Art. 12(4))",
            ),
            RequestState::Completed
                if kind == RequestKind::Rectification && corrected.is_empty() =>
            {
                r.fail(
                    "corrected_fields",
                    "is required: the profile fields corrected (through the customers API)",
                )
            }
            _ => {}
        }
        if purposes_given.is_some()
            && !(to == RequestState::Completed && kind == RequestKind::Objection)
        {
            r.fail("purposes", "only completing an objection names purposes");
        }
        let completes_rectification =
            to == RequestState::Completed && kind == RequestKind::Rectification;
        if !corrected.is_empty() && !completes_rectification {
            r.fail(
                "corrected_fields",
                "only completing a rectification names corrected fields",
            );
        }
    }
    match to {
        Some(to) if errors.is_empty() => Ok(Transition {
            to,
            note: if to == RequestState::Refused {
                reason
            } else {
                note
            },
            purposes: if purposes.is_empty() && kind == RequestKind::Objection {
                OBJECTION_DEFAULT_PURPOSES.to_vec()
            } else {
                purposes
            },
            corrected_fields: corrected,
        }),
        _ => Err(errors),
    }
}

/// Reads an extension: `reason`, required (the person is told why).
pub fn parse_extension(doc: &Value) -> Result<String, Vec<FieldError>> {
    parse_reason(doc)
}

/// Reads a document of one required `reason` (an extension, a lifted restriction): what the
/// person is told.
pub fn parse_reason(doc: &Value) -> Result<String, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["reason"]);
    let reason = r.req("reason", |s| match s.trim() {
        "" => Err("is required: the reason the person is told".to_owned()),
        t if t.chars().count() > 4000 => Err("must be at most 4000 characters".to_owned()),
        t => Ok(t.to_owned()),
    });
    match reason {
        Some(reason) if errors.is_empty() => Ok(reason),
        _ => Err(errors),
    }
}

/// Whether a request in `from` may move to `to`.
pub fn check_move(from: RequestState, to: RequestState) -> bool {
    from.next().contains(&to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_deadline_is_the_same_date_next_month_or_its_last_day() {
        assert_eq!(deadline(at(2026, 3, 14, 23)), date(2026, 4, 14));
        assert_eq!(deadline(at(2026, 1, 31, 9)), date(2026, 2, 28));
        assert_eq!(deadline(at(2028, 1, 31, 9)), date(2028, 2, 29));
        assert_eq!(deadline(at(2026, 12, 20, 0)), date(2027, 1, 20));
        assert_eq!(extended_deadline(at(2026, 11, 30, 8)), date(2027, 2, 28));
        assert_eq!(extended_deadline(at(2026, 3, 14, 8)), date(2026, 6, 14));
    }

    #[test]
    fn urgency_counts_the_deadline_day_as_in_time() {
        let d = date(2026, 4, 14);
        let open = RequestState::InProgress;
        assert_eq!(urgency(open, d, date(2026, 4, 1)), Urgency::OnTrack);
        assert_eq!(urgency(open, d, date(2026, 4, 7)), Urgency::DueSoon);
        assert_eq!(urgency(open, d, date(2026, 4, 14)), Urgency::DueSoon);
        assert_eq!(urgency(open, d, date(2026, 4, 15)), Urgency::Overdue);
        assert_eq!(
            urgency(RequestState::Completed, d, date(2026, 9, 1)),
            Urgency::Closed
        );
        assert!(Urgency::Overdue < Urgency::DueSoon && Urgency::DueSoon < Urgency::OnTrack);
    }

    #[test]
    fn an_extension_is_once_while_open_and_within_the_first_month() {
        let d = date(2026, 4, 14);
        let s = RequestState::IdentityVerified;
        assert_eq!(may_extend(s, false, d, date(2026, 4, 14)), Ok(()));
        assert_eq!(
            may_extend(s, true, d, date(2026, 4, 1)),
            Err(ExtensionError::AlreadyExtended)
        );
        assert_eq!(
            may_extend(s, false, d, date(2026, 4, 15)),
            Err(ExtensionError::TooLate)
        );
        assert_eq!(
            may_extend(RequestState::Refused, false, d, date(2026, 4, 1)),
            Err(ExtensionError::Closed)
        );
    }

    #[test]
    fn moves_follow_the_handling_order() {
        use RequestState::*;
        assert!(check_move(Received, IdentityVerified));
        assert!(!check_move(Received, InProgress));
        assert!(!check_move(Received, Completed));
        assert!(check_move(IdentityVerified, InProgress));
        assert!(check_move(InProgress, Completed));
        assert!(check_move(Received, Refused));
        assert!(!check_move(Completed, Refused));
        assert!(!check_move(Refused, InProgress));
    }

    fn pointers(e: Vec<FieldError>) -> Vec<String> {
        e.into_iter().map(|e| e.pointer).collect()
    }

    #[test]
    fn a_new_request_names_each_bad_field() {
        let ok = parse_new(
            &json!({"customer_id": "0190f4b2-6b1e-7cc0-8d2a-1f2e3d4c5b6a",
            "kind": "erasure", "channel": "email", "details": " please delete "}),
        )
        .unwrap();
        assert_eq!(ok.kind, RequestKind::Erasure);
        assert_eq!(ok.details, "please delete");
        assert_eq!(
            pointers(
                parse_new(&json!({"customer_id": "x", "kind": "forget_me", "colour": 1}))
                    .unwrap_err()
            ),
            ["/colour", "/customer_id", "/kind", "/channel"]
        );
    }

    #[test]
    fn transitions_require_what_the_record_needs() {
        use RequestKind::*;
        let e = |v: Value, k| pointers(parse_transition(&v, k).unwrap_err());
        assert_eq!(e(json!({"to": "identity_verified"}), Access), ["/note"]);
        assert_eq!(e(json!({"to": "refused"}), Access), ["/reason"]);
        assert_eq!(e(json!({"to": "done"}), Access), ["/to"]);
        assert_eq!(
            e(json!({"to": "completed"}), Rectification),
            ["/corrected_fields"]
        );
        assert_eq!(
            e(
                json!({"to": "completed", "purposes": ["telepathy"]}),
                Objection
            ),
            ["/purposes/0"]
        );
        assert_eq!(
            e(
                json!({"to": "completed", "purposes": ["analytics"]}),
                Access
            ),
            ["/purposes"]
        );
        let t = parse_transition(&json!({"to": "completed"}), Objection).unwrap();
        assert_eq!(t.purposes, OBJECTION_DEFAULT_PURPOSES);
        let t = parse_transition(
            &json!({"to": "refused", "reason": "manifestly unfounded"}),
            Erasure,
        )
        .unwrap();
        assert_eq!(t.note, "manifestly unfounded");
    }
}
