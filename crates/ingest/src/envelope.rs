//! Source events: CloudEvents 1.0 in JSON (one per NDJSON line, one per array item of the batch
//! API, one per JetStream message) and the rejections that every way in reports.
//!
//! The event's `data` is exactly the record document `aloft_travel::Record::parse` validates; the
//! record kind follows from the last part of `type` (see `data/samples/README.md`). Identity
//! hints travel as CloudEvents extension attributes (`loyaltynumber`, `passengername` in PNR form
//! `SURNAME/GIVENTITLE`, `email`, `phone`, `dateofbirth`, `passportnumber`, `nationality`), never
//! inside `data`, so that the record document stays free of identity data the travel domain does
//! not own.
//!
//! Parsing never panics and never drops anything silently: every problem becomes a
//! [`Rejection`] naming where it is (line or position, JSON pointer) and why.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use aloft_travel::RecordKind;

/// Longest accepted event id (CloudEvents sets no limit; ours keeps the ledger index small).
pub const MAX_EVENT_ID_LEN: usize = 200;

/// What the source system tells Aloft about the person a record belongs to. All optional: the
/// linker uses whatever is there (see [`crate::linker`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityHints {
    /// Frequent-flyer number (`loyaltynumber`).
    pub loyalty_number: Option<String>,
    /// Reservation name `SURNAME/GIVENNAMES[TITLE]` (`passengername`).
    pub passenger_name: Option<String>,
    /// E-mail address (`email`).
    pub email: Option<String>,
    /// Phone number, E.164 (`phone`).
    pub phone: Option<String>,
    /// Date of birth `YYYY-MM-DD` (`dateofbirth`).
    pub date_of_birth: Option<String>,
    /// Passport number (`passportnumber`).
    pub passport_number: Option<String>,
    /// Nationality, ISO 3166-1 alpha-2 or alpha-3 as the profile accepts (`nationality`).
    pub nationality: Option<String>,
}

impl IdentityHints {
    /// The CloudEvents extension attribute names, with a setter each.
    pub const ATTRIBUTES: &'static [&'static str] = &[
        "loyaltynumber",
        "passengername",
        "email",
        "phone",
        "dateofbirth",
        "passportnumber",
        "nationality",
    ];

    fn slot(&mut self, attribute: &str) -> Option<&mut Option<String>> {
        Some(match attribute {
            "loyaltynumber" => &mut self.loyalty_number,
            "passengername" => &mut self.passenger_name,
            "email" => &mut self.email,
            "phone" => &mut self.phone,
            "dateofbirth" => &mut self.date_of_birth,
            "passportnumber" => &mut self.passport_number,
            "nationality" => &mut self.nationality,
            _ => return None,
        })
    }

    /// Sets a hint by its attribute name (blank values are no hint). Unknown names are ignored.
    pub fn set(&mut self, attribute: &str, value: &str) {
        let value = value.trim();
        if let Some(slot) = self.slot(attribute) {
            *slot = (!value.is_empty()).then(|| value.to_owned());
        }
    }

    /// True when there is nothing to identify the passenger by.
    pub fn is_empty(&self) -> bool {
        self == &IdentityHints::default()
    }
}

/// One parsed source event, ready for the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceEvent {
    /// Where it came from in its input: the 1-based line of a file, the 0-based index of an API
    /// array, the JetStream stream sequence. Rejections cite it.
    pub position: u64,
    /// CloudEvents `id`: with at-least-once delivery the idempotency key of processing.
    pub id: String,
    /// CloudEvents `source` (`/gds/amadeus`).
    pub source: String,
    /// CloudEvents `type` (`com.airline.booking.pnr`).
    pub event_type: String,
    /// The record kind the type maps to.
    pub kind: RecordKind,
    /// Who the record is about.
    pub hints: IdentityHints,
    /// The record document (validated later by the pipeline, which reports every bad field).
    pub data: Value,
}

impl SourceEvent {
    /// The record's source system name (`data.source`), if it has one.
    pub fn data_source(&self) -> Option<&str> {
        self.data.get("source").and_then(Value::as_str)
    }

    /// The record's id in its source (`data.source_record_id`), if it has one.
    pub fn source_record_id(&self) -> Option<&str> {
        self.data.get("source_record_id").and_then(Value::as_str)
    }
}

/// Why one value of one input item was not accepted. An item with several bad values has one
/// rejection per value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Rejection {
    /// Where the item is: the 1-based line of a file (for CSV the row of the offending segment),
    /// the 0-based index of an API array, the stream sequence of a message.
    pub position: u64,
    /// The event's id, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// JSON pointer of the bad value inside the event (`/data/segments/0/cabin`, `/type`,
    /// `/loyaltynumber`); for CSV rows, inside the booking document built from the rows.
    pub pointer: String,
    /// For CSV rows: the column holding the bad value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What is wrong, as a sentence that does not repeat the value.
    pub reason: String,
}

impl Rejection {
    /// A rejection without a column.
    pub fn new(
        position: u64,
        event_id: Option<&str>,
        pointer: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            position,
            event_id: event_id.map(str::to_owned),
            pointer: pointer.into(),
            column: None,
            reason: reason.into(),
        }
    }
}

/// The record kind of a CloudEvents `type`, from its last dot-separated part (documented in
/// `data/samples/README.md`): `pnr` → booking, `ancillary`, `forecast` → segment forecast,
/// `purchase`, `post_order`, `call`/`message`/`session` → interaction, `feedback`, `visit` →
/// lounge visit, `ride` → chauffeur ride, `event` → baggage event.
pub fn kind_of(event_type: &str) -> Option<RecordKind> {
    Some(match event_type.rsplit('.').next().unwrap_or("") {
        "pnr" => RecordKind::Booking,
        "ancillary" => RecordKind::Ancillary,
        "forecast" => RecordKind::SegmentForecast,
        "purchase" => RecordKind::Purchase,
        "post_order" => RecordKind::PostOrder,
        "call" | "message" | "session" => RecordKind::Interaction,
        "feedback" => RecordKind::Feedback,
        "visit" => RecordKind::LoungeVisit,
        "ride" => RecordKind::ChauffeurRide,
        "event" => RecordKind::BaggageEvent,
        _ => return None,
    })
}

/// Parses one event given as text (an NDJSON line, a message payload).
pub fn parse_text(position: u64, text: &str) -> Result<SourceEvent, Vec<Rejection>> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => parse_value(position, &v),
        Err(e) => Err(vec![Rejection::new(
            position,
            None,
            "",
            format!(
                "not a JSON document ({:?} error at column {})",
                e.classify(),
                e.column()
            ),
        )]),
    }
}

/// Parses one event given as a JSON value, reporting every envelope problem at once.
pub fn parse_value(position: u64, v: &Value) -> Result<SourceEvent, Vec<Rejection>> {
    let Some(obj) = v.as_object() else {
        return Err(vec![Rejection::new(
            position,
            None,
            "",
            "an event must be a JSON object (CloudEvents 1.0)",
        )]);
    };
    let id = obj
        .get("id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= MAX_EVENT_ID_LEN);
    let mut errors = Vec::new();
    let mut fail = |pointer: &str, reason: &str| {
        errors.push(Rejection::new(position, id, pointer, reason));
    };
    if id.is_none() {
        fail(
            "/id",
            "the event id is required: a non-empty string of at most 200 characters",
        );
    }
    match obj.get("specversion").and_then(Value::as_str) {
        Some("1.0") => {}
        _ => fail("/specversion", "must be \"1.0\" (CloudEvents 1.0)"),
    }
    let source = obj
        .get("source")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    if source.is_none() {
        fail(
            "/source",
            "the CloudEvents source is required (a URI reference)",
        );
    }
    let event_type = obj.get("type").and_then(Value::as_str);
    let kind = match event_type {
        None => {
            fail("/type", "the event type is required");
            None
        }
        Some(t) => {
            let k = kind_of(t);
            if k.is_none() {
                fail(
                    "/type",
                    "unknown event type: its last part must name a record (pnr, ancillary, forecast, purchase, post_order, call, message, session, feedback, visit, ride, event)",
                );
            }
            k
        }
    };
    if let Some(ct) = obj.get("datacontenttype") {
        let ok = ct
            .as_str()
            .map(|c| {
                c.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .is_some_and(|c| c == "application/json" || c.ends_with("+json"));
        if !ok {
            fail("/datacontenttype", "must be application/json when given");
        }
    }
    let data = obj.get("data");
    if !data.is_some_and(Value::is_object) {
        fail("/data", "the record document is required as a JSON object");
    }
    let mut hints = IdentityHints::default();
    for attribute in IdentityHints::ATTRIBUTES {
        match obj.get(*attribute) {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => hints.set(attribute, s),
            Some(_) => fail(
                &format!("/{attribute}"),
                "an identity hint must be a string",
            ),
        }
    }
    match (id, source, event_type, kind, data) {
        (Some(id), Some(source), Some(event_type), Some(kind), Some(data)) if errors.is_empty() => {
            Ok(SourceEvent {
                position,
                id: id.to_owned(),
                source: source.to_owned(),
                event_type: event_type.to_owned(),
                kind,
                hints,
                data: data.clone(),
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_event_parses_with_its_hints() {
        let line = r#"{"specversion": "1.0", "id": "voice-1", "source": "/voice/genesys", "type": "com.airline.voice.call", "loyaltynumber": "AL123456789", "passengername": "SMITH/JOHNMR", "data": {"source": "genesys"}}"#;
        let e = parse_text(3, line).unwrap();
        assert_eq!(e.kind, RecordKind::Interaction);
        assert_eq!(e.hints.loyalty_number.as_deref(), Some("AL123456789"));
        assert_eq!(e.hints.passenger_name.as_deref(), Some("SMITH/JOHNMR"));
        assert_eq!(e.position, 3);
        assert_eq!(e.data_source(), Some("genesys"));
    }

    #[test]
    fn every_envelope_problem_is_reported() {
        let errs = parse_value(
            7,
            &serde_json::json!({"id": "x", "type": "com.airline.foo.bar", "email": 3}),
        )
        .unwrap_err();
        let mut pointers: Vec<&str> = errs.iter().map(|r| r.pointer.as_str()).collect();
        pointers.sort();
        assert_eq!(
            pointers,
            ["/data", "/email", "/source", "/specversion", "/type"]
        );
        assert!(errs.iter().all(|r| r.event_id.as_deref() == Some("x")));
        assert_eq!(parse_text(1, "{not json").unwrap_err()[0].pointer, "");
        assert_eq!(parse_text(1, "[]").unwrap_err().len(), 1);
    }
}
