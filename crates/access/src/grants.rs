//! Four-eyes grants. An administrator manages accounts and clients but reads no customer data;
//! were they free to create a check-in agent or a client acting as the data privacy officer,
//! they could read every passport through it. So a grant of a role holding permissions its
//! requester does not hold waits — the account disabled, the client without tokens — until a
//! second person holding [`ACCESS_APPROVE`](crate::permissions::ACCESS_APPROVE) approves it.
//! Requester and approver must differ. Every request and decision is audited in the same
//! transaction as the change.

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, StorageError, WriteTx};
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use crate::storage::AccountStore;

/// What a grant gives a role to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A staff account.
    Account,
    /// An integration client.
    Client,
}

impl Subject {
    fn as_str(self) -> &'static str {
        match self {
            Subject::Account => "account",
            Subject::Client => "client",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "account" => Some(Subject::Account),
            "client" => Some(Subject::Client),
            _ => None,
        }
    }
}

/// A grant waiting for its second person.
#[derive(Debug, Clone)]
pub struct PendingGrant {
    /// Grant id.
    pub id: String,
    /// Account or client.
    pub subject: Subject,
    /// The account's or client's id.
    pub subject_id: String,
    /// The role granted.
    pub role: String,
    /// Who asked (audit actor id).
    pub requested_by: String,
    /// When.
    pub requested_at: DateTime<Utc>,
}

/// Why a decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// No pending grant with that id.
    #[error("no pending grant with that id")]
    NotFound,
    /// The requester tried to decide their own grant.
    #[error("a grant needs a second person: you asked for it, so someone else must decide")]
    SamePerson,
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Records a pending grant for `subject_id` in the caller's transaction (the one creating the
/// account or client), with its audit record.
pub async fn request(
    tx: &mut WriteTx,
    subject: Subject,
    subject_id: &str,
    role: &str,
    ctx: &AccessContext,
) -> Result<(), StorageError> {
    let id = Uuid::now_v7().to_string();
    sqlx::query(
        "INSERT INTO access_grants (id, subject_kind, subject_id, role, requested_by, requested_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(subject.as_str())
    .bind(subject_id)
    .bind(role)
    .bind(&ctx.actor.id)
    .bind(to_db_time(now()))
    .execute(tx.conn())
    .await?;
    tx.audit(&[ctx.entry(
        crate::events::audit::ACCESS_GRANT_REQUESTED,
        "access_grant",
        Some(id),
        vec!["role".into(), subject.as_str().into()],
        "success",
    )])
    .await?;
    Ok(())
}

impl AccountStore {
    /// Grants waiting for a decision, oldest first.
    pub async fn pending_grants(&self) -> Result<Vec<PendingGrant>, StorageError> {
        let rows = sqlx::query(
            "SELECT id, subject_kind, subject_id, role, requested_by, requested_at FROM access_grants \
             WHERE decided_at IS NULL ORDER BY requested_at, id",
        )
        .fetch_all(self.database().pool())
        .await?;
        rows.iter()
            .map(|r| {
                let kind: String = r.try_get("subject_kind")?;
                Ok(PendingGrant {
                    id: r.try_get("id")?,
                    subject: Subject::parse(&kind).ok_or_else(|| {
                        StorageError::Corrupt(format!("access grant of unknown kind {kind}"))
                    })?,
                    subject_id: r.try_get("subject_id")?,
                    role: r.try_get("role")?,
                    requested_by: r.try_get("requested_by")?,
                    requested_at: aloft_kernel::db::from_db_time(
                        &r.try_get::<String, _>("requested_at")?,
                    )?,
                })
            })
            .collect()
    }

    /// Approves or rejects grant `id` as `ctx`'s actor. Approval enables the account or lets the
    /// client obtain tokens; rejection leaves it disabled (accounts) or revokes it (clients).
    pub async fn decide_grant(
        &self,
        id: &str,
        approve: bool,
        ctx: &AccessContext,
    ) -> Result<PendingGrant, GrantError> {
        let grant = self
            .pending_grants()
            .await?
            .into_iter()
            .find(|g| g.id == id)
            .ok_or(GrantError::NotFound)?;
        if grant.requested_by == ctx.actor.id {
            return Err(GrantError::SamePerson);
        }
        let t = to_db_time(now());
        let mut tx = self.database().begin_write().await?;
        let decided = sqlx::query(
            "UPDATE access_grants SET decided_by = $2, decided_at = $3, decision = $4 \
             WHERE id = $1 AND decided_at IS NULL",
        )
        .bind(id)
        .bind(&ctx.actor.id)
        .bind(&t)
        .bind(if approve { "approved" } else { "rejected" })
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if decided == 0 {
            return Err(GrantError::NotFound);
        }
        let sql = match (grant.subject, approve) {
            (Subject::Account, true) => {
                "UPDATE staff_accounts SET disabled_at = NULL WHERE id = $1"
            }
            // A rejected account stays disabled, as it was created.
            (Subject::Account, false) => {
                "UPDATE staff_accounts SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1"
            }
            (Subject::Client, true) => "UPDATE api_clients SET awaiting_approval = 0 WHERE id = $1",
            (Subject::Client, false) => {
                "UPDATE api_clients SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1"
            }
        };
        let mut q = sqlx::query(sql).bind(&grant.subject_id);
        if sql.contains("$2") {
            q = q.bind(&t);
        }
        q.execute(tx.conn()).await.map_err(StorageError::from)?;
        tx.audit(&[ctx.entry(
            if approve {
                crate::events::audit::ACCESS_GRANT_APPROVED
            } else {
                crate::events::audit::ACCESS_GRANT_REJECTED
            },
            "access_grant",
            Some(grant.id.clone()),
            vec!["role".into(), grant.subject.as_str().into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(grant)
    }
}
