//! Event rules: a committed event of another domain opens a case, or joins the open case about
//! the same matter — a bag reported mishandled opens a baggage case for its passenger before
//! they call. Issue 19, item 2.
//!
//! - The rules are data: an ordered list (first enabled match wins), shipped with one rule
//!   (baggage mishandled → baggage case), edited by the CMP manager through
//!   `GET|PUT /api/v1/case-event-rules`. Each save is a new version (`case_event_rules`,
//!   migration 0052) with who and when, an `aloft.case.event_rules_published` event and an
//!   audit record, in one transaction.
//! - A rule names an event type rules can act on ([`ruleable_types`]: travel's records — the
//!   events that carry a customer and codes), conditions on the event's `data` (dotted paths,
//!   e.g. `facts.event` = `mishandled`), the category, a subject with `{path}` placeholders,
//!   and where the booking reference is.
//! - The reaction is a durable subscription (`aloft_kernel::subscriptions`): the case opens in
//!   the transaction that records the delivery, so a replayed or redelivered event never opens
//!   a second case, and an event arriving while the process is down is acted on after restart.
//!
//! Invariant: a rule never reads personal text — events carry identifiers and codes only, and
//! the case's description says which rule opened it on which event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aloft_authz::{Access, RoutePolicy};
use aloft_kernel::audit::AuditAction;
use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::event_types::{DomainEvent, EventType};
use aloft_kernel::http::JsonBody;
use aloft_kernel::subscriptions::{Delivery, EventHandler, HandlerError, Subscription};
use aloft_kernel::{
    AccessContext, ApiError, CloudEvent, Database, FieldError, Problem, StorageError,
};
use aloft_vocab::CustomerId;
use axum::Json;
use axum::extract::State;
use futures_util::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::Category;
use crate::permissions::CASE_CONFIGURE;
use crate::service::{Cases, NewCase};

/// The subscription's name (its cursor and deliveries are kept under it).
pub const SUBSCRIPTION: &str = "cases.event_rules";

/// The channel recorded on cases a rule opened.
pub const CHANNEL: &str = "event_rule";

/// Audit action of a published rule set.
pub const PUBLISHED: AuditAction = AuditAction::new("case.event_rules_published");

/// This module's audit actions (registered with the application's list).
pub const AUDIT_ACTIONS: &[AuditAction] = &[PUBLISHED];

/// The most rules a set may hold (each event is matched against all of them).
const MAX_RULES: usize = 50;

/// How long a process reuses the rule set it read (another process's save applies within this).
const CACHE: Duration = Duration::from_secs(5);

/// One rule: when an event of `event_type` whose data matches `when` is committed, open a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRule {
    /// What it is for, in the CMP manager's words (unique).
    pub name: String,
    /// The CloudEvents type it reacts to (one of [`ruleable_types`]).
    pub event_type: String,
    /// Conditions, all of which must hold: a dotted path into the event's `data`
    /// (`facts.event`, `outcome`) and the value it must have.
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    /// The category of the case it opens.
    pub category: String,
    /// The case's subject; `{path}` is replaced by that value of the event's data.
    pub subject: String,
    /// The path of the booking reference in the event's data, if any (`facts.record_locator`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking_from: Option<String>,
    /// Off keeps the rule without acting on it.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

/// Every rule, in the order they are tried, and the version they were saved as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuleSet {
    /// 1 is the shipped set; each save adds one.
    pub version: i64,
    /// The rules, first match wins.
    pub rules: Vec<EventRule>,
    /// Who saved it (`system:cases` for the shipped set).
    pub saved_by: String,
    /// When (RFC 3339).
    pub saved_at: String,
}

/// The event types rules can act on: travel's records, which name their customer and carry
/// codes (`facts`) rather than what people wrote.
pub fn ruleable_types() -> Vec<&'static str> {
    aloft_travel::model::RecordKind::ALL
        .iter()
        .map(|k| aloft_travel::events::recorded_type(*k))
        .collect()
}

impl RuleSet {
    /// What Aloft ships: a bag reported mishandled (lost, damaged or pilfered; a property
    /// irregularity report exists) opens a baggage case, linked to its booking.
    pub fn shipped() -> Self {
        Self {
            version: 1,
            rules: vec![EventRule {
                name: "Mishandled bag".into(),
                event_type: "aloft.travel.baggage_event.recorded".into(),
                when: BTreeMap::from([
                    ("facts.event".into(), "mishandled".into()),
                    ("outcome".into(), "created".into()),
                ]),
                category: "baggage".into(),
                subject: "Bag {facts.bag_tag} mishandled at {facts.airport}".into(),
                booking_from: Some("facts.record_locator".into()),
                enabled: true,
            }],
            saved_by: "system:cases".into(),
            saved_at: "2026-12-06T00:00:00Z".into(),
        }
    }

    /// The first enabled rule `event` satisfies.
    pub fn matching(&self, event_type: &str, data: &serde_json::Value) -> Option<&EventRule> {
        self.rules.iter().find(|r| {
            r.enabled
                && r.event_type == event_type
                && r.when
                    .iter()
                    .all(|(path, want)| value_at(data, path).as_deref() == Some(want.as_str()))
        })
    }
}

/// The value at a dotted `path` of `data` as text (strings as they are, numbers and booleans
/// written out); `None` when absent or not a scalar.
pub fn value_at(data: &serde_json::Value, path: &str) -> Option<String> {
    let mut v = data;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `template` with each `{path}` replaced by that value of `data` (`?` when absent).
pub fn render(template: &str, data: &serde_json::Value) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        match rest[open..].find('}') {
            Some(close) => {
                let path = &rest[open + 1..open + close];
                out.push_str(value_at(data, path).as_deref().unwrap_or("?"));
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 100
        && p.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
}

/// Checks a rule list; every problem named by its JSON pointer (`/rules/0/event_type`).
pub fn validate(rules: &[EventRule]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if rules.len() > MAX_RULES {
        errors.push(FieldError::new(
            "/rules",
            format!("holds {} rules; at most {MAX_RULES}", rules.len()),
        ));
    }
    let types = ruleable_types();
    for (i, r) in rules.iter().enumerate() {
        let at = |f: &str| format!("/rules/{i}/{f}");
        let name = r.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                at("name"),
                "is required (1-100 characters)",
            ));
        } else if rules[..i].iter().any(|o| o.name.trim() == name) {
            errors.push(FieldError::new(
                at("name"),
                "is the name of an earlier rule",
            ));
        }
        if !types.contains(&r.event_type.as_str()) {
            errors.push(FieldError::new(
                at("event_type"),
                format!(
                    "is not an event rules can act on; one of: {}",
                    types.join(", ")
                ),
            ));
        }
        for (path, value) in &r.when {
            if !is_path(path) {
                errors.push(FieldError::new(
                    format!(
                        "{}/{}",
                        at("when"),
                        path.replace('~', "~0").replace('/', "~1")
                    ),
                    "a condition's path is dotted names of a-z, 0-9 and _ (facts.event)",
                ));
            } else if value.chars().count() > 200 {
                errors.push(FieldError::new(
                    format!("{}/{path}", at("when")),
                    "a condition's value is at most 200 characters",
                ));
            }
        }
        if Category::parse(&r.category).is_none() {
            errors.push(FieldError::new(
                at("category"),
                format!(
                    "is not a case category; one of: {}",
                    Category::ALL.map(|c| c.as_str()).join(", ")
                ),
            ));
        }
        if r.subject.trim().is_empty() || r.subject.chars().count() > 200 {
            errors.push(FieldError::new(
                at("subject"),
                "is required (1-200 characters)",
            ));
        }
        if let Some(p) = &r.booking_from
            && !is_path(p)
        {
            errors.push(FieldError::new(
                at("booking_from"),
                "is a dotted path into the event's data (facts.record_locator)",
            ));
        }
    }
    errors
}

/// `aloft.case.event_rules_published`, version 1: the CMP manager saved a new rule set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventRulesPublished {
    /// The new version.
    pub version: i64,
    /// How many rules it holds, and how many are enabled.
    pub rules: usize,
    /// Enabled rules.
    pub enabled: usize,
}

impl DomainEvent for EventRulesPublished {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = crate::events::EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        "aloft.case.event_rules_published"
    }
    fn subject(&self) -> Option<String> {
        Some(format!("case-event-rules/{}", self.version))
    }
}

/// The event types this part of the module emits.
pub fn event_types() -> Vec<EventType> {
    vec![EventType::of::<EventRulesPublished>(
        "aloft.case.event_rules_published",
        "The CMP manager saved a new version of the rules that open cases from events.",
    )]
}

/// A rule set as read, and when.
type Cached = (Instant, Arc<RuleSet>);

/// The stored rule sets, with a short-lived cache for the subscriber.
#[derive(Clone)]
pub struct EventRules {
    db: Database,
    cached: Arc<Mutex<Option<Cached>>>,
}

impl EventRules {
    /// Over `db`.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            cached: Arc::new(Mutex::new(None)),
        }
    }

    /// The rule set in force (the shipped one until the first save).
    pub async fn current(&self) -> Result<RuleSet, StorageError> {
        let row = sqlx::query(
            "SELECT version, definition, created_at, created_by FROM case_event_rules \
             ORDER BY version DESC LIMIT 1",
        )
        .fetch_optional(self.db.pool())
        .await?;
        let Some(row) = row else {
            return Ok(RuleSet::shipped());
        };
        let def: String = row.try_get("definition")?;
        let rules: Vec<EventRule> =
            serde_json::from_str(&def).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let at: String = row.try_get("created_at")?;
        Ok(RuleSet {
            version: row.try_get("version")?,
            rules,
            saved_by: row.try_get("created_by")?,
            saved_at: from_db_time(&at)?.to_rfc3339(),
        })
    }

    async fn cached(&self) -> Result<Arc<RuleSet>, StorageError> {
        if let Some((at, set)) = self.cached.lock().ok().and_then(|c| c.clone())
            && at.elapsed() < CACHE
        {
            return Ok(set);
        }
        let set = Arc::new(self.current().await?);
        if let Ok(mut c) = self.cached.lock() {
            *c = Some((Instant::now(), set.clone()));
        }
        Ok(set)
    }

    /// Saves `rules` as the next version; `Err` names every problem and nothing is saved. A
    /// concurrent save of the same version is a conflict (409), not a silent overwrite.
    pub async fn save(
        &self,
        rules: Vec<EventRule>,
        expected_version: Option<i64>,
        ctx: &AccessContext,
    ) -> Result<RuleSet, ApiError> {
        let errors = validate(&rules);
        if !errors.is_empty() {
            return Err(ApiError::Invalid(errors));
        }
        let current = self.current().await?;
        if let Some(v) = expected_version
            && v != current.version
        {
            return Err(ApiError::Conflict(FieldError::new(
                "/version",
                format!(
                    "the rules are at version {}, not {v}: reload and apply the change again",
                    current.version
                ),
            )));
        }
        let version = current.version + 1;
        let at = now();
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO case_event_rules (version, definition, created_at, created_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(version)
        .bind(serde_json::to_string(&rules).unwrap_or_default())
        .bind(to_db_time(at))
        .bind(&ctx.actor.id)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if inserted == 0 {
            return Err(ApiError::Conflict(FieldError::new(
                "/version",
                "another save took this version meanwhile: reload and apply the change again",
            )));
        }
        tx.emit(&CloudEvent::of(&EventRulesPublished {
            version,
            rules: rules.len(),
            enabled: rules.iter().filter(|r| r.enabled).count(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            PUBLISHED,
            "case_event_rules",
            Some(version.to_string()),
            vec!["rules".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        if let Ok(mut c) = self.cached.lock() {
            *c = None;
        }
        Ok(RuleSet {
            version,
            rules,
            saved_by: ctx.actor.id.clone(),
            saved_at: at.to_rfc3339(),
        })
    }
}

/// The subscriber: opens (or links) the case a matching rule asks for, once per event.
struct Opener {
    cases: Cases,
    rules: EventRules,
}

impl EventHandler for Opener {
    fn handle<'a>(
        &'a self,
        event: &'a CloudEvent,
        delivery: Delivery,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let set = self.rules.cached().await?;
            let Some(rule) = set.matching(&event.event_type, &event.data) else {
                return Ok(());
            };
            let Some(customer) =
                value_at(&event.data, "customer_id").and_then(|c| CustomerId::parse(&c))
            else {
                return Ok(());
            };
            let Some(category) = Category::parse(&rule.category) else {
                return Ok(());
            };
            let new = NewCase {
                customer_id: customer,
                category,
                subject: render(&rule.subject, &event.data),
                description: format!(
                    "Opened by the rule \u{201c}{}\u{201d} (version {}) on {} at {}.",
                    rule.name,
                    set.version,
                    event.event_type,
                    event.time.to_rfc3339()
                ),
                channel: CHANNEL.into(),
                booking_reference: rule
                    .booking_from
                    .as_deref()
                    .and_then(|p| value_at(&event.data, p))
                    .map(|b| b.to_ascii_uppercase()),
                queue: None,
                regulatory_deadline: None,
            };
            let ctx = AccessContext::system("cases.event_rules");
            match self.cases.open_for_event(new, &ctx, &delivery).await {
                Ok(_) => Ok(()),
                // The customer was erased or merged away meanwhile: nothing to open.
                Err(crate::service::CaseError::UnknownCustomer) => Ok(()),
                Err(e) => Err(HandlerError::Failed(e.to_string())),
            }
        })
    }
}

/// The durable subscription that applies the rules.
pub fn subscription(cases: Cases, rules: EventRules) -> Subscription {
    Subscription {
        name: SUBSCRIPTION,
        event_types: ruleable_types().into_iter().map(str::to_owned).collect(),
        handler: Arc::new(Opener { cases, rules }),
    }
}

/// Who may read and change the rules: the CMP manager (`case.configure`).
pub const POLICY: &[RoutePolicy] = &[
    RoutePolicy::new(
        "GET",
        "/api/v1/case-event-rules",
        Access::Permission(CASE_CONFIGURE),
    ),
    RoutePolicy::new(
        "PUT",
        "/api/v1/case-event-rules",
        Access::Permission(CASE_CONFIGURE),
    ),
];

/// The rule set in force and the event types a rule may name.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// The rules and their version.
    #[serde(flatten)]
    pub set: RuleSet,
    /// What `event_type` may be.
    pub event_types: Vec<&'static str>,
}

/// A new rule set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesChange {
    /// Every rule, in the order they are tried.
    pub rules: Vec<EventRule>,
    /// The version this change was made on; a save since then is a 409.
    #[serde(default)]
    pub version: Option<i64>,
}

/// The rules that open cases from events, in the order they are tried.
#[utoipa::path(
    get,
    path = "/api/v1/case-event-rules",
    tag = "cases",
    responses((status = 200, description = "The rule set in force", body = RulesView))
)]
async fn get_rules(State(rules): State<EventRules>) -> Result<Json<RulesView>, ApiError> {
    Ok(Json(RulesView {
        set: rules.current().await?,
        event_types: ruleable_types(),
    }))
}

/// Replace the rules (CMP manager): a new version, evented and audited; cases already opened
/// are not touched.
#[utoipa::path(
    put,
    path = "/api/v1/case-event-rules",
    tag = "cases",
    request_body = RulesChange,
    responses(
        (status = 200, description = "Saved as the next version", body = RulesView),
        (status = 409, description = "Saved by someone else since `version`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Every problem named by its pointer (/rules/0/event_type); nothing saved", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn put_rules(
    State(rules): State<EventRules>,
    ctx: AccessContext,
    JsonBody(body): JsonBody,
) -> Result<Json<RulesView>, ApiError> {
    let change: RulesChange = serde_json::from_value(body).map_err(|e| {
        let msg = e.to_string();
        // serde names the field in its message; point at the list for anything structural.
        ApiError::field("/rules", format!("is not a list of rules: {msg}"))
    })?;
    let set = rules.save(change.rules, change.version, &ctx).await?;
    Ok(Json(RulesView {
        set,
        event_types: ruleable_types(),
    }))
}

/// The API routes.
pub fn api_routes(rules: EventRules) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(get_rules, put_rules))
        .with_state(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(event: &str, outcome: &str) -> serde_json::Value {
        serde_json::json!({
            "record_id": "r1", "customer_id": "0193a1b2-0000-7000-8000-000000000001",
            "kind": "baggage_event", "source": "baggage", "version": 1, "outcome": outcome,
            "changed_fields": [],
            "facts": {"event": event, "bag_tag": "0125123456", "airport": "JFK",
                      "record_locator": "k7xq2m"}
        })
    }

    #[test]
    fn the_shipped_rule_opens_a_baggage_case_for_a_new_mishandled_bag_only() {
        let set = RuleSet::shipped();
        let t = "aloft.travel.baggage_event.recorded";
        let rule = set.matching(t, &bag("mishandled", "created")).unwrap();
        assert_eq!(rule.category, "baggage");
        assert_eq!(
            render(&rule.subject, &bag("mishandled", "created")),
            "Bag 0125123456 mishandled at JFK"
        );
        assert!(set.matching(t, &bag("arrived", "created")).is_none());
        assert!(
            set.matching(t, &bag("mishandled", "already_recorded"))
                .is_none()
        );
        assert!(
            set.matching(
                "aloft.travel.booking.recorded",
                &bag("mishandled", "created")
            )
            .is_none()
        );
        assert!(validate(&set.rules).is_empty());
    }

    #[test]
    fn a_disabled_rule_is_skipped_and_the_first_match_wins() {
        let mut set = RuleSet::shipped();
        let mut second = set.rules[0].clone();
        second.name = "Any bag event".into();
        second.when.clear();
        second.category = "complaint".into();
        set.rules.push(second);
        let t = "aloft.travel.baggage_event.recorded";
        assert_eq!(
            set.matching(t, &bag("mishandled", "created"))
                .unwrap()
                .category,
            "baggage"
        );
        set.rules[0].enabled = false;
        assert_eq!(
            set.matching(t, &bag("mishandled", "created"))
                .unwrap()
                .category,
            "complaint"
        );
    }

    #[test]
    fn values_render_as_text_and_missing_ones_as_a_question_mark() {
        let d = serde_json::json!({"a": {"b": 3, "c": true}, "s": "x"});
        assert_eq!(value_at(&d, "a.b").as_deref(), Some("3"));
        assert_eq!(value_at(&d, "a.c").as_deref(), Some("true"));
        assert_eq!(value_at(&d, "a"), None);
        assert_eq!(render("{s}-{a.b}-{nope}-{open", &d), "x-3-?-{open");
    }

    #[test]
    fn every_problem_is_named_by_its_pointer() {
        let mut bad = RuleSet::shipped().rules;
        bad[0].event_type = "aloft.case.opened".into();
        bad[0].category = "lost_property".into();
        bad[0].when.insert("Facts/Event".into(), "x".into());
        bad[0].booking_from = Some("".into());
        let mut dup = RuleSet::shipped().rules[0].clone();
        dup.subject = " ".into();
        bad.push(dup);
        let pointers: Vec<String> = validate(&bad).into_iter().map(|e| e.pointer).collect();
        assert_eq!(
            pointers,
            vec![
                "/rules/0/event_type",
                "/rules/0/when/Facts~1Event",
                "/rules/0/category",
                "/rules/0/booking_from",
                "/rules/1/name",
                "/rules/1/subject",
            ]
        );
    }
}
