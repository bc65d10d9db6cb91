//! Legal holds: the airline keeps data it would otherwise delete because litigation, a
//! regulator's investigation or an audit needs it. A hold is placed on one person or on a whole
//! data category of the retention policies ([`crate::retention::POLICIES`]), with the reason and
//! the matter it belongs to, and later lifted with a reason (migration 0038).
//!
//! What a hold does, and why:
//! - Retention runs skip the held rows (a person hold: every policy's rows about the person; a
//!   category hold: every row of that policy), and the dry run counts them as held.
//! - Erasure of a person under an active hold is refused (409 naming the hold): GDPR
//!   Art. 17(3)(e) excludes erasure "to the extent that processing is necessary for the
//!   establishment, exercise or defence of legal claims". We refuse rather than pseudonymise and
//!   keep, because a litigation hold exists precisely to keep the evidence as it is — a
//!   pseudonymised copy would be useless to the court and still be personal data. The officer
//!   answers the erasure request (refuse with that reason, or wait for the hold to be lifted and
//!   complete it then). Category holds suspend retention only: they describe a class of records
//!   over time, not one person, and erasing one person's rows is decided person by person.
//!
//! Every placement and lifting is one transaction with its event
//! (`aloft.privacy.hold_changed`, ids and codes only — never the reason) and audit record.

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::event_types::DomainEvent;
use aloft_kernel::fields::FieldReader;
use aloft_kernel::{AccessContext, CloudEvent, Database, FieldError, StorageError};
use aloft_vocab::CustomerId;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;

use crate::events::{EVENT_SOURCE, audit};
use crate::retention::POLICIES;

/// What a hold is placed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldTarget {
    /// One person.
    Customer(CustomerId),
    /// A data category of the retention policies.
    Category(&'static str),
}

/// A hold to place, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHold {
    /// On whom or what.
    pub target: HoldTarget,
    /// Why (e.g. "claim 2026-114 before the Amtsgericht Frankfurt").
    pub reason: String,
    /// The matter it belongs to (case number, file reference); may be empty.
    pub reference: String,
}

fn text(s: &str, max: usize, what: &str) -> Result<String, String> {
    match s.trim() {
        "" => Err(format!("is required: {what}")),
        t if t.chars().count() > max => Err(format!("must be at most {max} characters")),
        t => Ok(t.to_owned()),
    }
}

/// The data categories a hold may name: those of the retention policies.
pub fn categories() -> Vec<&'static str> {
    POLICIES.iter().map(|p| p.category).collect()
}

/// Reads a hold to place: exactly one of `customer_id` and `category`, a `reason`, an optional
/// `reference`. Every problem is named by its JSON pointer.
pub fn parse_new(doc: &Value) -> Result<NewHold, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["customer_id", "category", "reason", "reference"]);
    let customer = r.opt("customer_id", |s| {
        CustomerId::parse(s.trim()).ok_or_else(|| "must be a customer id".to_owned())
    });
    let category = r.opt("category", |s| {
        POLICIES
            .iter()
            .find(|p| p.category == s.trim())
            .map(|p| p.category)
            .ok_or_else(|| format!("must be one of: {}", categories().join(", ")))
    });
    let both = r.present("customer_id") && r.present("category");
    let neither = !r.present("customer_id") && !r.present("category");
    if both {
        r.fail(
            "category",
            "a hold is on one person or on one data category, not both",
        );
    }
    if neither {
        r.fail(
            "customer_id",
            "is required: the person held (or name a data category instead)",
        );
    }
    let reason = r.req("reason", |s| {
        text(s, 2000, "why the data must be kept (the matter)")
    });
    let reference = r
        .opt("reference", |s| {
            let t = s.trim();
            if t.chars().count() > 200 {
                Err("must be at most 200 characters".to_owned())
            } else {
                Ok(t.to_owned())
            }
        })
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(errors);
    }
    let target = match (customer, category) {
        (Some(c), None) => HoldTarget::Customer(c),
        (None, Some(c)) => HoldTarget::Category(c),
        _ => return Err(vec![FieldError::new("/customer_id", "is required")]),
    };
    Ok(NewHold {
        target,
        reason: reason.unwrap_or_default(),
        reference,
    })
}

/// Reads the reason a hold is lifted.
pub fn parse_lift(doc: &Value) -> Result<String, Vec<FieldError>> {
    let mut errors = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(vec![FieldError::new("", "must be a JSON object")]);
    };
    let mut r = FieldReader::new(obj, "", &mut errors);
    r.reject_unknown(&["reason"]);
    let reason = r.req("reason", |s| {
        text(s, 2000, "why the data need no longer be kept")
    });
    match reason {
        Some(reason) if errors.is_empty() => Ok(reason),
        _ => Err(errors),
    }
}

/// A legal hold as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hold {
    /// The hold's id.
    pub id: String,
    /// The person held, if a person hold.
    pub customer_id: Option<String>,
    /// The data category held, if a category hold.
    pub category: Option<String>,
    /// Why it was placed.
    pub reason: String,
    /// The matter it belongs to.
    pub reference: String,
    /// When (RFC 3339 UTC).
    pub placed_at: String,
    /// Who placed it (actor id).
    pub placed_by: String,
    /// When it was lifted, if it was.
    pub lifted_at: Option<String>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// Why it was lifted.
    pub lift_reason: String,
    /// Whether it holds now.
    pub active: bool,
}

/// Errors of placing and lifting holds.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    /// No such hold.
    #[error("no such hold")]
    NotFound,
    /// The person does not exist.
    #[error("no such customer")]
    UnknownCustomer,
    /// The hold was lifted already.
    #[error("the hold was lifted already")]
    AlreadyLifted,
    /// The database.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for HoldError {
    fn from(e: sqlx::Error) -> Self {
        HoldError::Storage(e.into())
    }
}

/// Event type: a legal hold was placed or lifted.
pub const HOLD_CHANGED: &str = "aloft.privacy.hold_changed";

/// `aloft.privacy.hold_changed`, version 1: ids and codes only, never the reason.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldChanged {
    /// The hold.
    pub hold_id: String,
    /// The person held, if a person hold.
    pub customer_id: Option<String>,
    /// The data category held, if a category hold.
    pub category: Option<String>,
    /// `placed` or `lifted`.
    pub change: String,
}

impl DomainEvent for HoldChanged {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        HOLD_CHANGED
    }
    fn subject(&self) -> Option<String> {
        self.customer_id.clone()
    }
}

const COLUMNS: &str = "id, customer_id, category, reason, reference, placed_at, placed_by, lifted_at, lifted_by, lift_reason";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Hold, sqlx::Error> {
    let lifted_at: Option<String> = r.try_get("lifted_at")?;
    Ok(Hold {
        id: r.try_get("id")?,
        customer_id: r.try_get("customer_id")?,
        category: r.try_get("category")?,
        reason: r.try_get("reason")?,
        reference: r.try_get("reference")?,
        placed_at: r.try_get("placed_at")?,
        placed_by: r.try_get("placed_by")?,
        active: lifted_at.is_none(),
        lifted_at,
        lifted_by: r.try_get("lifted_by")?,
        lift_reason: r.try_get("lift_reason")?,
    })
}

fn audit_target(h: &Hold) -> (&'static str, Option<String>) {
    match &h.customer_id {
        Some(c) => ("customer", Some(c.clone())),
        None => ("retention", h.category.clone()),
    }
}

/// Places a hold, with its event and audit record in one transaction.
pub async fn place(db: &Database, new: &NewHold, ctx: &AccessContext) -> Result<Hold, HoldError> {
    let b = db.backend();
    if let HoldTarget::Customer(c) = &new.target {
        let found = sqlx::query(&format!(
            "SELECT 1 FROM customers WHERE id = {}",
            b.param(1)
        ))
        .bind(c.to_string())
        .fetch_optional(db.pool())
        .await?;
        if found.is_none() {
            return Err(HoldError::UnknownCustomer);
        }
    }
    let (customer_id, category) = match &new.target {
        HoldTarget::Customer(c) => (Some(c.to_string()), None),
        HoldTarget::Category(c) => (None, Some((*c).to_owned())),
    };
    let hold = Hold {
        id: uuid::Uuid::now_v7().to_string(),
        customer_id,
        category,
        reason: new.reason.clone(),
        reference: new.reference.clone(),
        placed_at: to_db_time(now()),
        placed_by: ctx.actor.id.clone(),
        lifted_at: None,
        lifted_by: None,
        lift_reason: String::new(),
        active: true,
    };
    let mut tx = db.begin_write().await?;
    sqlx::query(&format!(
        "INSERT INTO privacy_holds (id, customer_id, category, reason, reference, placed_at, placed_by) VALUES ({})",
        (1..=7).map(|i| b.param(i)).collect::<Vec<_>>().join(", ")
    ))
    .bind(&hold.id)
    .bind(&hold.customer_id)
    .bind(&hold.category)
    .bind(&hold.reason)
    .bind(&hold.reference)
    .bind(&hold.placed_at)
    .bind(&hold.placed_by)
    .execute(tx.conn())
    .await
    .map_err(StorageError::from)?;
    tx.emit(&CloudEvent::of(&HoldChanged {
        hold_id: hold.id.clone(),
        customer_id: hold.customer_id.clone(),
        category: hold.category.clone(),
        change: "placed".into(),
    }))
    .await?;
    let (rt, rid) = audit_target(&hold);
    tx.audit(&[ctx.entry(
        audit::HOLD_PLACED,
        rt,
        rid,
        vec![format!("privacy_holds:{}", hold.id)],
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(hold)
}

/// One hold.
pub async fn get(db: &Database, id: &str) -> Result<Hold, HoldError> {
    if uuid::Uuid::parse_str(id).is_err() {
        return Err(HoldError::NotFound);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM privacy_holds WHERE id = {}",
        db.backend().param(1)
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    .ok_or(HoldError::NotFound)?;
    Ok(from_row(&row)?)
}

/// Lifts a hold with the reason, with its event and audit record in one transaction; a hold
/// lifted already (also by a concurrent lift) is a conflict.
pub async fn lift(
    db: &Database,
    id: &str,
    reason: &str,
    ctx: &AccessContext,
) -> Result<Hold, HoldError> {
    let hold = get(db, id).await?;
    if !hold.active {
        return Err(HoldError::AlreadyLifted);
    }
    let b = db.backend();
    let at = to_db_time(now());
    let mut tx = db.begin_write().await?;
    let n = sqlx::query(&format!(
        "UPDATE privacy_holds SET lifted_at = {}, lifted_by = {}, lift_reason = {} WHERE id = {} AND lifted_at IS NULL",
        b.param(1),
        b.param(2),
        b.param(3),
        b.param(4)
    ))
    .bind(&at)
    .bind(&ctx.actor.id)
    .bind(reason)
    .bind(id)
    .execute(tx.conn())
    .await
    .map_err(StorageError::from)?
    .rows_affected();
    if n != 1 {
        return Err(HoldError::AlreadyLifted);
    }
    tx.emit(&CloudEvent::of(&HoldChanged {
        hold_id: hold.id.clone(),
        customer_id: hold.customer_id.clone(),
        category: hold.category.clone(),
        change: "lifted".into(),
    }))
    .await?;
    let (rt, rid) = audit_target(&hold);
    tx.audit(&[ctx.entry(
        audit::HOLD_LIFTED,
        rt,
        rid,
        vec![format!("privacy_holds:{}", hold.id)],
        "success",
    )])
    .await?;
    tx.commit().await?;
    get(db, id).await
}

/// Holds, newest first: the active ones only, or all.
pub async fn list(db: &Database, active_only: bool) -> Result<Vec<Hold>, StorageError> {
    let filter = if active_only {
        " WHERE lifted_at IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM privacy_holds{filter} ORDER BY placed_at DESC, id DESC LIMIT 500"
    ))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// The SQL condition "no active legal hold covers this row" for a row of `table` whose person
/// is in `column`, under the retention `category` (a constant of the policies, never input).
pub fn not_on_hold_sql(table: &str, column: &str, category: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM privacy_holds g WHERE g.lifted_at IS NULL AND (g.customer_id = {table}.{column} OR g.category = '{}'))",
        category.replace('\'', "''")
    )
}

/// The active hold on `customer`, if any (checked inside the erasure's transaction).
pub async fn active_for(
    conn: &mut sqlx::AnyConnection,
    backend: aloft_kernel::Backend,
    customer: &str,
) -> Result<Option<Hold>, StorageError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM privacy_holds WHERE customer_id = {} AND lifted_at IS NULL ORDER BY placed_at LIMIT 1",
        backend.param(1)
    ))
    .bind(customer)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pointers(e: &[FieldError]) -> Vec<String> {
        e.iter().map(|e| e.pointer.clone()).collect()
    }

    #[test]
    fn a_hold_is_on_one_person_or_one_category_with_a_reason() {
        let c = CustomerId::generate().to_string();
        let h =
            parse_new(&json!({"customer_id": c, "reason": " claim 114 ", "reference": "LG-114"}))
                .unwrap();
        assert_eq!(h.reason, "claim 114");
        assert!(matches!(h.target, HoldTarget::Customer(_)));
        let h = parse_new(&json!({"category": "interactions", "reason": "audit"})).unwrap();
        assert_eq!(h.target, HoldTarget::Category("interactions"));

        let e = parse_new(&json!({"reason": "x"})).unwrap_err();
        assert_eq!(pointers(&e), ["/customer_id"]);
        let e = parse_new(&json!({"customer_id": c, "category": "interactions", "reason": "x"}))
            .unwrap_err();
        assert_eq!(pointers(&e), ["/category"]);
        let e = parse_new(&json!({"category": "everything", "reason": " "})).unwrap_err();
        assert_eq!(pointers(&e), ["/category", "/reason"]);
        let e = parse_new(&json!({"customer_id": "nobody", "reason": "x", "why": 1})).unwrap_err();
        assert_eq!(pointers(&e), ["/why", "/customer_id"]);
        assert_eq!(pointers(&parse_lift(&json!({})).unwrap_err()), ["/reason"]);
        assert_eq!(
            parse_lift(&json!({"reason": "settled"})).unwrap(),
            "settled"
        );
    }

    #[test]
    fn the_hold_condition_covers_the_person_and_the_category() {
        let sql = not_on_hold_sql("cases", "customer_id", "closed cases");
        assert!(sql.contains("g.customer_id = cases.customer_id"));
        assert!(sql.contains("g.category = 'closed cases'"));
        assert!(sql.contains("lifted_at IS NULL"));
    }
}
