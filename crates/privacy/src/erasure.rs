//! Erasure (GDPR Art. 17): the person's data key is destroyed (crypto-shredding: every field
//! sealed under it, in any table or backup of those tables, becomes unreadable) and every table
//! of [`PERSONAL_TABLES`] is treated as it says — rows deleted, or kept pseudonymised with
//! their text emptied where another law requires the record, or (the audit trail) kept with ids
//! only.
//!
//! Why one transaction rather than a resumable multi-step job: the whole erasure of one person
//! is one statement per table, each finding the person's rows through an index — a person with
//! 10,000 travel records and timeline entries is erased in ~0.1–0.2 s on either backend
//! (BENCHMARKS.md) — so a crash anywhere leaves nothing half-erased (the transaction rolls back)
//! and running it again finishes it. Repeating a finished erasure changes nothing (idempotent)
//! and says so. The indexes are part of that guarantee: deleting a travel record makes the
//! database look for timeline rows still referring to it, and without the index on
//! `timeline.record_id` (migration 0056) each of those looks was a scan of the whole timeline
//! (20.6 s for that person); a test holds every customer column of [`PERSONAL_TABLES`] (but the
//! outbox's, read whole once per erasure) and every reference to those tables indexed. Rows
//! reached through another key ([`crate::coverage::PersonalTable::via`]) come through indexes
//! too (a case's entries, a mail's idempotency key, a session's account) but for the events: the
//! outbox and the webhook deliveries are searched for the person's id in the payload, one scan
//! each per erasure (no index serves a search inside the text).
//!
//! Why the person's mails are deleted rather than kept with the case: the case (and its
//! timeline's steps) is the record the limitation periods require; a mail is a copy of its
//! texts, and its address is the person's.
//!
//! A person under an active legal hold ([`crate::holds`]) is not erased: the erasure fails with
//! [`ErasureError::Held`] naming the hold (GDPR Art. 17(3)(e)), checked inside the transaction,
//! and nothing changes. Why refuse rather than pseudonymise: see [`crate::holds`].

use aloft_kernel::{AccessContext, CloudEvent, Database, StorageError};
use aloft_vocab::CustomerId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::coverage::{OnErasure, PERSONAL_TABLES, person_where, tables};
use crate::events::{CustomerErased, audit};

/// What one table's erasure did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErasedTable {
    /// The table.
    pub table: String,
    /// The column that referred to the person.
    pub column: String,
    /// `deleted`, `pseudonymised` or `kept_ids_only`.
    pub action: String,
    /// Rows affected.
    pub rows: u64,
    /// For pseudonymised rows, the law that requires keeping them.
    pub legal_basis: Option<String>,
}

/// The outcome of an erasure.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErasureReport {
    /// The erased customer.
    pub customer_id: String,
    /// Whether there was nothing left to erase (a repeated request).
    pub already_erased: bool,
    /// Whether a data key was destroyed by this run.
    pub key_destroyed: bool,
    /// Table by table.
    pub tables: Vec<ErasedTable>,
}

/// Why an erasure did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ErasureError {
    /// An active legal hold covers the person; nothing was erased.
    #[error("the person is under legal hold {}", .0.id)]
    Held(Box<crate::holds::Hold>),
    /// The database; nothing was erased.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for ErasureError {
    fn from(e: sqlx::Error) -> Self {
        ErasureError::Storage(e.into())
    }
}

/// Erases `customer` everywhere, in one transaction with its audit record and the event
/// `aloft.customer.erased` (ids only).
pub async fn erase(
    db: &Database,
    customer: CustomerId,
    ctx: &AccessContext,
) -> Result<ErasureReport, ErasureError> {
    let present = tables(db).await?;
    let b = db.backend();
    let p = b.param(1);
    let id = customer.to_string();
    let mut tx = db.begin_write().await?;
    if let Some(hold) = crate::holds::active_for(tx.conn(), b, &id).await? {
        return Err(ErasureError::Held(Box::new(hold)));
    }
    // Crypto-shredding first: the key of the person and of profiles merged into theirs.
    let shred = sqlx::query(&format!(
        "UPDATE customers SET data_key = NULL WHERE (id = {p} OR merged_into = {}) AND data_key IS NOT NULL",
        b.param(2)
    ))
    .bind(&id)
    .bind(&id)
    .execute(tx.conn())
    .await?
    .rows_affected();
    let mut out = Vec::new();
    let mut touched = 0u64;
    // Reverse order: rows that refer to others (timeline → travel records, profiles last).
    for pt in PERSONAL_TABLES.iter().rev() {
        if !present.iter().any(|t| t == pt.table) {
            continue;
        }
        let extra = pt
            .condition
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let (which, binds) = person_where(pt, b);
        let (sql, action, basis) = match pt.on_erasure {
            OnErasure::Delete => (
                format!("DELETE FROM {} WHERE {which}{extra}", pt.table),
                "deleted",
                None,
            ),
            OnErasure::Pseudonymise {
                legal_basis,
                clear,
                reset,
            } => {
                let sets: Vec<String> = clear
                    .iter()
                    .map(|c| format!("{c} = ''"))
                    .chain(reset.iter().map(|(c, v)| format!("{c} = {v}")))
                    .collect();
                if sets.is_empty() {
                    // Nothing but ids, codes and amounts: the rows stand as they are.
                    out.push(ErasedTable {
                        table: pt.table.into(),
                        column: pt.column.into(),
                        action: "pseudonymised".into(),
                        rows: 0,
                        legal_basis: Some(legal_basis.into()),
                    });
                    continue;
                }
                // Only rows not yet pseudonymised: a repeated erasure touches nothing.
                let cond: Vec<String> = clear
                    .iter()
                    .map(|c| format!("{c} <> ''"))
                    .chain(reset.iter().map(|(c, v)| format!("{c} <> {v}")))
                    .collect();
                (
                    format!(
                        "UPDATE {} SET {} WHERE {which}{extra} AND ({})",
                        pt.table,
                        sets.join(", "),
                        cond.join(" OR ")
                    ),
                    "pseudonymised",
                    Some(legal_basis),
                )
            }
            OnErasure::KeepIdsOnly => {
                out.push(ErasedTable {
                    table: pt.table.into(),
                    column: pt.column.into(),
                    action: "kept_ids_only".into(),
                    rows: 0,
                    legal_basis: None,
                });
                continue;
            }
        };
        let mut query = sqlx::query(&sql);
        for _ in 0..binds {
            query = query.bind(id.clone());
        }
        let rows = query.execute(tx.conn()).await?.rows_affected();
        touched += rows;
        out.push(ErasedTable {
            table: pt.table.into(),
            column: pt.column.into(),
            action: action.into(),
            rows,
            legal_basis: basis.map(str::to_owned),
        });
    }
    let already_erased = touched == 0 && shred == 0;
    tx.emit(&CloudEvent::of(&CustomerErased {
        customer_id: id.clone(),
        repeated: already_erased,
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::SUBJECT_ERASED,
        "customer",
        Some(id.clone()),
        out.iter()
            .filter(|t| t.rows > 0)
            .map(|t| format!("{}.{}", t.table, t.column))
            .collect(),
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(ErasureReport {
        customer_id: id,
        already_erased,
        key_destroyed: shred > 0,
        tables: out,
    })
}
