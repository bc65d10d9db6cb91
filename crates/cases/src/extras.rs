//! An agent's priority override (with its reason, audited, announced) and macros — canned
//! replies the CMP manager keeps and agents insert into a reply.

use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{AccessContext, CloudEvent, StorageError};

use crate::events::{CasePriorityChanged, audit};
use crate::model::{OverrideWithoutReason, Prioritised, Priority, override_priority, sla_targets};
use crate::service::{Case, CaseError, Cases, entry, opt_time, short_ref};

/// Why an override is refused (nothing changes).
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// No reason given.
    #[error(transparent)]
    NoReason(#[from] OverrideWithoutReason),
    /// The case refuses the change.
    #[error(transparent)]
    Case(#[from] CaseError),
}

/// A canned reply.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct Macro {
    /// Stable id (`bag-found`): letters, digits and dashes.
    pub id: String,
    /// Its name in the agent's list.
    pub name: String,
    /// The text inserted; `{{reference}}` becomes the case's reference.
    pub body: String,
    /// Last changed.
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl Macro {
    /// The text for `case`, placeholders filled.
    pub fn text_for(&self, case: &Case) -> String {
        self.body.replace("{{reference}}", &short_ref(&case.id))
    }
}

/// Whether `id` is a macro id (1–64 of `a-z`, `0-9`, `-`).
pub fn is_macro_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Cases {
    /// Sets a case's priority by hand, with a reason that joins the priority's reasons; the SLA
    /// clocks take the new priority's targets (minutes already used are kept).
    pub async fn override_priority(
        &self,
        id: &str,
        to: Priority,
        reason: &str,
        ctx: &AccessContext,
    ) -> Result<Case, OverrideError> {
        let mut case = self
            .get_raw(id)
            .await
            .map_err(CaseError::from)?
            .ok_or(CaseError::NotFound)?;
        let workflow = self
            .workflow(case.workflow_version)
            .await
            .map_err(CaseError::from)?;
        if workflow.is_terminal(&case.state) {
            return Err(CaseError::Closed.into());
        }
        let computed = Prioritised {
            priority: case.priority,
            reasons: case.priority_reasons.clone(),
        };
        let changed = override_priority(&computed, to, reason)?;
        let from = case.priority;
        let targets = sla_targets(case.category, to);
        let mut clocks = case.clocks;
        for (clock, target) in [
            (&mut clocks.first_response, targets.first_response),
            (&mut clocks.next_response, targets.next_response),
            (&mut clocks.resolution, targets.resolution),
        ] {
            if let Some(c) = clock {
                c.target = target;
            }
        }
        // The case's own station calendar: a Frankfurt case stays on Frankfurt's hours.
        let view = self.clocks_view_at(&clocks, false, case.station.as_deref());
        let at = now();
        let mut tx = self.db.begin_write().await.map_err(CaseError::from)?;
        let done = sqlx::query(
            "UPDATE cases SET priority = $1, priority_rank = $2, priority_reasons = $3, \
             clocks = $4, first_response_due = $5, next_response_due = $6, resolution_due = $7, \
             updated_at = $8, version = version + 1 WHERE id = $9 AND version = $10",
        )
        .bind(to.as_str())
        .bind(to as i32)
        .bind(serde_json::to_string(&changed.reasons).unwrap_or_default())
        .bind(serde_json::to_string(&clocks).unwrap_or_default())
        .bind(opt_time(view.first_response_due))
        .bind(opt_time(view.next_response_due))
        .bind(opt_time(view.resolution_due))
        .bind(to_db_time(at))
        .bind(id)
        .bind(case.version)
        .execute(tx.conn())
        .await
        .map_err(CaseError::from)?
        .rows_affected();
        if done == 0 {
            return Err(CaseError::Busy.into());
        }
        entry(
            &mut tx,
            id,
            at,
            &ctx.actor.id,
            "priority",
            None,
            None,
            serde_json::json!({"from": from.as_str(), "to": to.as_str(), "reason": reason.trim()}),
        )
        .await
        .map_err(CaseError::from)?;
        tx.emit(&CloudEvent::of(&CasePriorityChanged {
            case_id: id.to_owned(),
            customer_id: case.customer_id.clone(),
            from: from.as_str().into(),
            to: to.as_str().into(),
        }))
        .await
        .map_err(CaseError::from)?;
        tx.audit(&[ctx.entry(
            audit::PRIORITY_OVERRIDDEN,
            "case",
            Some(id.to_owned()),
            vec!["priority".into()],
            "success",
        )])
        .await
        .map_err(CaseError::from)?;
        tx.commit().await.map_err(CaseError::from)?;
        case = self
            .get_raw(id)
            .await
            .map_err(CaseError::from)?
            .ok_or(CaseError::NotFound)?;
        Ok(case)
    }

    /// Every macro, by name.
    pub async fn macros(&self) -> Result<Vec<Macro>, StorageError> {
        sqlx::query("SELECT id, name, body, updated_at FROM case_macros ORDER BY name, id")
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(decode_macro)
            .collect()
    }

    /// One macro.
    pub async fn macro_by_id(&self, id: &str) -> Result<Option<Macro>, StorageError> {
        sqlx::query("SELECT id, name, body, updated_at FROM case_macros WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .as_ref()
            .map(decode_macro)
            .transpose()
    }

    /// Creates or replaces a macro (audited). `true` when it is new.
    pub async fn save_macro(
        &self,
        id: &str,
        name: &str,
        body: &str,
        ctx: &AccessContext,
    ) -> Result<bool, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let existed = sqlx::query(
            "UPDATE case_macros SET name = $1, body = $2, updated_at = $3, \
             updated_by = $4 WHERE id = $5",
        )
        .bind(name)
        .bind(body)
        .bind(to_db_time(now()))
        .bind(&ctx.actor.id)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if !existed {
            sqlx::query(
                "INSERT INTO case_macros (id, name, body, updated_at, updated_by) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(name)
            .bind(body)
            .bind(to_db_time(now()))
            .bind(&ctx.actor.id)
            .execute(tx.conn())
            .await?;
        }
        tx.audit(&[ctx.entry(
            audit::MACRO_SAVED,
            "case_macro",
            Some(id.to_owned()),
            vec!["name".into(), "body".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(!existed)
    }

    /// Deletes a macro (audited). `false` when there was none.
    pub async fn delete_macro(&self, id: &str, ctx: &AccessContext) -> Result<bool, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let gone = sqlx::query("DELETE FROM case_macros WHERE id = $1")
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected()
            == 1;
        if gone {
            tx.audit(&[ctx.entry(
                audit::MACRO_DELETED,
                "case_macro",
                Some(id.to_owned()),
                vec![],
                "success",
            )])
            .await?;
        }
        tx.commit().await?;
        Ok(gone)
    }
}

fn decode_macro(r: &sqlx::any::AnyRow) -> Result<Macro, StorageError> {
    let at: String = r.try_get("updated_at")?;
    Ok(Macro {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        body: r.try_get("body")?,
        updated_at: from_db_time(&at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_ids_are_slugs() {
        assert!(is_macro_id("bag-found-2"));
        assert!(!is_macro_id(""));
        assert!(!is_macro_id("Bag found"));
        assert!(!is_macro_id(&"a".repeat(65)));
    }
}
