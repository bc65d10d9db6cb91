//! Merging and unmerging golden profiles, with lineage, and the data steward's review queue.
//!
//! **Merge** (`absorbed` into `survivor`), in one transaction:
//! 1. both profiles are locked; neither may already be merged;
//! 2. survivorship ([`aloft_customers::survivorship`]) chooses the golden values field by field,
//!    weighing each profile's source ([`source_priority`] of the source that created it), how
//!    recently it changed and how complete each value is;
//! 3. the absorbed profile is marked `merged_into` the survivor (it leaves every search and frees
//!    its loyalty number), then the survivor takes the golden values (a new version);
//! 4. the absorbed profile's travel records, timeline entries and source links move to the
//!    survivor (encrypted fields re-sealed under the survivor's key); open reviews of the pair
//!    are closed as `merged`, other open reviews of the absorbed profile now name the survivor;
//! 5. the lineage row keeps the survivor's stored profile as it was, the survivorship choices
//!    (field names and rules, never values) and every record and link moved;
//! 6. `aloft.customer.merged` goes to the outbox and the merge is audited on both profiles.
//!
//! The survivor keeps its id (golden ids are stable) and the absorbed id keeps leading to it.
//!
//! **Unmerge** undoes exactly one merge, in one transaction: the survivor's previous profile is
//! restored — except the fields edited on it since the merge (found in the audit trail, which
//! names the fields of every `customer.update`), which keep their edited values: unmerge gives
//! back what the merge took, not a later correction — the absorbed profile stands on its own
//! again, and the records and links that merge moved go back. Lineage is a stack: a merge can
//! be undone only while it is the newest one still in force on its survivor and the survivor
//! has not itself been merged away (undo the later merge first). Records that arrived after the
//! merge stay with the survivor.
//!
//! **Review queue**: the linker sends uncertain matches to `identity_review` (status `open`); a
//! steward decides `merge` (the new profile is merged into the existing candidate) or `distinct`
//! (different people; the row is closed and kept).

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::Row;
use utoipa::ToSchema;
use uuid::Uuid;

use aloft_customers::events::{CustomerMerged, CustomerUnmerged};
use aloft_customers::model::changed_fields;
use aloft_customers::storage::LockedCustomer;
use aloft_customers::survivorship::{Contender, FieldChoice, survive};
use aloft_customers::{CustomerError, CustomerId, CustomerStore, Profile};
use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{
    AccessContext, ApiError, CloudEvent, Database, FieldError, StorageError, WriteTx,
};
use aloft_travel::TravelStore;

/// The source name of profiles created in Aloft itself (staff, the API, self-service).
pub const ALOFT_SOURCE: &str = "aloft";

/// How much a source's copy of a person's details is trusted, higher first: the loyalty
/// programme (members maintain their own details) and Aloft itself (staff entries, verified
/// self-service) over booking channels and GDS (often typed by agents or travel bookers), over
/// partners. Unknown sources rank with booking channels.
pub fn source_priority(source: &str) -> u8 {
    let s = source.to_ascii_lowercase();
    if s == ALOFT_SOURCE || s.contains("loyalty") {
        3
    } else if s.contains("partner") {
        1
    } else {
        2
    }
}

/// Why a merge, unmerge or review decision was refused.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A named profile, merge or review does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request is wrong in a way the named field explains.
    #[error("{}", .0.detail)]
    Refused(FieldError),
    /// The golden values do not form a valid profile (a survivorship rule is wrong).
    #[error("invalid golden profile")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for MergeError {
    fn from(e: sqlx::Error) -> Self {
        MergeError::Storage(e.into())
    }
}

impl From<CustomerError> for MergeError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::NotFound => MergeError::NotFound("customer"),
            CustomerError::Invalid(errs) => MergeError::Invalid(errs),
            CustomerError::Duplicate(f) => MergeError::Refused(f),
            CustomerError::StaleVersion => MergeError::Refused(FieldError::new(
                "",
                "the profile changed meanwhile; reload and try again",
            )),
            CustomerError::Merged(s) => MergeError::Refused(FieldError::new(
                "",
                format!("the profile was merged into customer {s}"),
            )),
            CustomerError::Storage(s) => MergeError::Storage(s),
        }
    }
}

impl From<MergeError> for ApiError {
    fn from(e: MergeError) -> Self {
        match e {
            MergeError::NotFound(what) => ApiError::NotFound(what),
            MergeError::Refused(f) => ApiError::Conflict(f),
            MergeError::Invalid(errs) => ApiError::Invalid(errs),
            MergeError::Storage(s) => s.into(),
        }
    }
}

/// A merge and its lineage.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Merge {
    /// The merge's id (unmerge names it).
    #[schema(value_type = String, format = Uuid)]
    pub id: Uuid,
    /// The profile that kept its id.
    pub survivor_id: String,
    /// The profile merged into it.
    pub absorbed_id: String,
    /// How each golden value was chosen (field names and rules, no values).
    pub survivorship: Vec<FieldChoice>,
    /// Travel records moved to the survivor.
    pub moved_records: i64,
    /// Source links moved to the survivor.
    pub moved_links: i64,
    /// The review this merge decided, if any.
    pub review_id: Option<i64>,
    /// Why (the steward's words, or the review).
    pub reason: String,
    /// Who merged (account id).
    pub merged_by: String,
    /// When.
    pub merged_at: DateTime<Utc>,
    /// Who undid it, if anyone.
    pub unmerged_by: Option<String>,
    /// When it was undone.
    pub unmerged_at: Option<DateTime<Utc>>,
}

/// What to merge.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The profile merged into the one named in the path (it loses its own standing).
    pub absorb: String,
    /// Why: shown in the lineage.
    #[serde(default)]
    pub reason: String,
}

/// The steward's decision on an uncertain match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Same person: merge the new profile into the candidate.
    Merge,
    /// Different people: close the review, keep both profiles.
    Distinct,
}

/// One uncertain match in the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Review {
    /// The review's id.
    pub id: i64,
    /// The source record that raised it.
    pub source: String,
    /// Its id in that source.
    pub source_record_id: String,
    /// The profile created for the record.
    pub customer_id: String,
    /// The existing profile it may be the same person as.
    pub candidate_customer_id: String,
    /// Match weight in bits.
    pub weight: f64,
    /// Field names and weights behind the weight.
    #[schema(value_type = Object)]
    pub explanation: Value,
    /// `open`, `merged` or `distinct`.
    pub status: String,
    /// When it was raised.
    pub created_at: DateTime<Utc>,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
}

fn refuse(pointer: &str, detail: impl Into<String>) -> MergeError {
    MergeError::Refused(FieldError::new(pointer, detail))
}

/// The source that created a profile: the source of its first `new` link, else Aloft itself.
async fn origin(tx: &mut WriteTx, id: CustomerId) -> Result<String, StorageError> {
    let source: Option<String> = sqlx::query_scalar(
        "SELECT source FROM identity_links WHERE customer_id = $1 AND method = 'new' \
         ORDER BY created_at, source, source_record_id LIMIT 1",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *tx.conn())
    .await?;
    Ok(source.unwrap_or_else(|| ALOFT_SOURCE.to_owned()))
}

/// Moves identity links from one profile to another (all, or those in `only`).
async fn move_links(
    tx: &mut WriteTx,
    from: CustomerId,
    to: CustomerId,
    only: Option<&HashSet<(String, String)>>,
) -> Result<Vec<(String, String)>, StorageError> {
    let rows = sqlx::query(
        "SELECT source, source_record_id FROM identity_links WHERE customer_id = $1 \
         ORDER BY source, source_record_id",
    )
    .bind(from.to_string())
    .fetch_all(&mut *tx.conn())
    .await?;
    let mut moved = Vec::new();
    for r in rows {
        let key: (String, String) = (r.try_get("source")?, r.try_get("source_record_id")?);
        if only.is_some_and(|o| !o.contains(&key)) {
            continue;
        }
        sqlx::query(
            "UPDATE identity_links SET customer_id = $1 WHERE source = $2 AND source_record_id = $3",
        )
        .bind(to.to_string())
        .bind(&key.0)
        .bind(&key.1)
        .execute(&mut *tx.conn())
        .await?;
        moved.push(key);
    }
    Ok(moved)
}

async fn lock_unmerged(
    customers: &CustomerStore,
    tx: &mut WriteTx,
    id: CustomerId,
    pointer: &str,
) -> Result<LockedCustomer, MergeError> {
    let locked = customers
        .lock(tx, id)
        .await?
        .ok_or(MergeError::NotFound("customer"))?;
    if let Some(s) = locked.customer.merged_into {
        return Err(refuse(
            pointer,
            format!("customer {id} was already merged into customer {s}"),
        ));
    }
    Ok(locked)
}

/// Merges `absorbed` into `survivor` (see the module documentation). `review` is the review
/// this merge decides, closed in the same transaction.
pub async fn merge(
    customers: &CustomerStore,
    travel: &TravelStore,
    survivor: CustomerId,
    absorbed: CustomerId,
    reason: &str,
    review: Option<i64>,
    ctx: &AccessContext,
) -> Result<Merge, MergeError> {
    if survivor == absorbed {
        return Err(refuse("/absorb", "a profile cannot be merged into itself"));
    }
    let db = customers.database();
    let mut tx = db.begin_write().await?;
    // Lock in id order so two opposite merges cannot deadlock on PostgreSQL.
    let (first, second) = if survivor.to_string() < absorbed.to_string() {
        (survivor, absorbed)
    } else {
        (absorbed, survivor)
    };
    let l1 = lock_unmerged(
        customers,
        &mut tx,
        first,
        if first == survivor { "" } else { "/absorb" },
    )
    .await?;
    let l2 = lock_unmerged(
        customers,
        &mut tx,
        second,
        if second == survivor { "" } else { "/absorb" },
    )
    .await?;
    let (s, a) = if first == survivor {
        (l1, l2)
    } else {
        (l2, l1)
    };
    let (s_source, a_source) = (
        origin(&mut tx, survivor).await?,
        origin(&mut tx, absorbed).await?,
    );
    let (golden, choices) = survive(
        &Contender {
            profile: &s.customer.profile,
            source: &s_source,
            priority: source_priority(&s_source),
            updated_at: s.customer.updated_at,
        },
        &Contender {
            profile: &a.customer.profile,
            source: &a_source,
            priority: source_priority(&a_source),
            updated_at: a.customer.updated_at,
        },
        now().date_naive(),
    )
    .map_err(MergeError::Invalid)?;
    customers.mark_merged(&mut tx, &a, survivor).await?;
    let changed: Vec<String> = changed_fields(&s.customer.profile, &golden)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let version = if changed.is_empty() {
        s.customer.version
    } else {
        customers
            .replace_profile(&mut tx, &s, golden)
            .await?
            .version
    };
    let records = travel.transfer(&mut tx, absorbed, survivor, None).await?;
    let links = move_links(&mut tx, absorbed, survivor, None).await?;
    close_reviews_of_pair(&mut tx, survivor, absorbed, ctx).await?;

    // Audited first: the lineage row keeps where the merge stands in the audit chain, and
    // unmerge keeps the survivor's edits audited after it.
    let audit_seq = tx
        .audit(&[
            ctx.entry(
                crate::events::audit::CUSTOMER_MERGE,
                "customer",
                Some(survivor.to_string()),
                changed.clone(),
                "success",
            ),
            ctx.entry(
                crate::events::audit::CUSTOMER_MERGE,
                "customer",
                Some(absorbed.to_string()),
                vec![],
                "success",
            ),
        ])
        .await?;
    let id = Uuid::now_v7();
    let stamp = now();
    sqlx::query(
        "INSERT INTO identity_merges (id, survivor_id, absorbed_id, survivor_version_before, \
         survivor_profile, survivor_sealed, survivorship, review_id, reason, merged_by, merged_at, \
         audit_seq, survivor_version_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(id.to_string())
    .bind(survivor.to_string())
    .bind(absorbed.to_string())
    .bind(s.customer.version)
    .bind(&s.stored_profile)
    .bind(s.stored_sealed.as_deref())
    .bind(serde_json::to_string(&choices).unwrap_or_else(|_| "[]".into()))
    .bind(review)
    .bind(reason)
    .bind(&ctx.actor.id)
    .bind(to_db_time(stamp))
    .bind(audit_seq)
    .bind(version)
    .execute(&mut *tx.conn())
    .await?;
    record_moves(&mut tx, id, "record", &records).await?;
    record_moves(&mut tx, id, "link", &links).await?;
    tx.emit(&CloudEvent::of(&CustomerMerged {
        merge_id: id.to_string(),
        customer_id: survivor.to_string(),
        absorbed_customer_id: absorbed.to_string(),
        version,
        changed_fields: changed.clone(),
    }))
    .await?;
    tx.commit().await?;
    tracing::info!(merge_id = %id, records = records.len(), links = links.len(), "profiles merged");
    Ok(Merge {
        id,
        survivor_id: survivor.to_string(),
        absorbed_id: absorbed.to_string(),
        survivorship: choices,
        moved_records: records.len() as i64,
        moved_links: links.len() as i64,
        review_id: review,
        reason: reason.to_owned(),
        merged_by: ctx.actor.id.clone(),
        merged_at: stamp,
        unmerged_by: None,
        unmerged_at: None,
    })
}

/// Open reviews of the merged pair are decided by the merge; other open reviews of the absorbed
/// profile now name the survivor.
async fn close_reviews_of_pair(
    tx: &mut WriteTx,
    survivor: CustomerId,
    absorbed: CustomerId,
    ctx: &AccessContext,
) -> Result<(), StorageError> {
    let (s, a) = (survivor.to_string(), absorbed.to_string());
    let stamp = to_db_time(now());
    sqlx::query(
        "UPDATE identity_review SET status = 'merged', decided_by = $1, decided_at = $2 \
         WHERE status = 'open' AND ((customer_id = $3 AND candidate_customer_id = $4) \
         OR (customer_id = $4 AND candidate_customer_id = $3))",
    )
    .bind(&ctx.actor.id)
    .bind(&stamp)
    .bind(&s)
    .bind(&a)
    .execute(&mut *tx.conn())
    .await?;
    for column in ["customer_id", "candidate_customer_id"] {
        sqlx::query(&format!(
            "UPDATE identity_review SET {column} = $1 WHERE status = 'open' AND {column} = $2"
        ))
        .bind(&s)
        .bind(&a)
        .execute(&mut *tx.conn())
        .await?;
    }
    Ok(())
}

async fn record_moves(
    tx: &mut WriteTx,
    merge: Uuid,
    kind: &str,
    keys: &[(String, String)],
) -> Result<(), StorageError> {
    let backend = tx_backend(tx);
    for chunk in keys.chunks(200) {
        let sql = format!(
            "INSERT INTO identity_merge_moves (merge_id, kind, source, source_record_id) VALUES {}",
            backend.values_rows(chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (source, id) in chunk {
            q = q.bind(merge.to_string()).bind(kind).bind(source).bind(id);
        }
        q.execute(&mut *tx.conn()).await?;
    }
    Ok(())
}

fn tx_backend(tx: &mut WriteTx) -> aloft_kernel::Backend {
    aloft_kernel::Backend::of(tx.conn())
}

/// Undoes merge `id` (see the module documentation).
pub async fn unmerge(
    customers: &CustomerStore,
    travel: &TravelStore,
    id: Uuid,
    ctx: &AccessContext,
) -> Result<Merge, MergeError> {
    let db = customers.database();
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!(
        "SELECT {MERGE_COLUMNS} FROM identity_merges WHERE id = $1"
    ))
    .bind(id.to_string())
    .fetch_optional(&mut *tx.conn())
    .await?
    .ok_or(MergeError::NotFound("merge"))?;
    let mut merge = decode_merge(&row)?;
    if merge.unmerged_at.is_some() {
        return Err(refuse("", "this merge was already undone"));
    }
    let later: Option<String> = sqlx::query_scalar(
        "SELECT id FROM identity_merges WHERE survivor_id = $1 AND unmerged_at IS NULL \
         AND merged_at > $2 ORDER BY merged_at DESC LIMIT 1",
    )
    .bind(&merge.survivor_id)
    .bind(to_db_time(merge.merged_at))
    .fetch_optional(&mut *tx.conn())
    .await?;
    if let Some(later) = later {
        return Err(refuse(
            "",
            format!(
                "a later merge ({later}) into the same profile is still in force; undo it first"
            ),
        ));
    }
    let bad = || StorageError::Corrupt(format!("merge {id}: bad customer id"));
    let survivor = CustomerId::parse(&merge.survivor_id).ok_or_else(bad)?;
    let absorbed = CustomerId::parse(&merge.absorbed_id).ok_or_else(bad)?;
    let s = customers
        .lock(&mut tx, survivor)
        .await?
        .ok_or(MergeError::NotFound("customer"))?;
    if let Some(next) = s.customer.merged_into {
        return Err(refuse(
            "",
            format!(
                "the surviving profile was itself merged into customer {next}; undo that merge first"
            ),
        ));
    }
    let a = customers
        .lock(&mut tx, absorbed)
        .await?
        .ok_or(MergeError::NotFound("customer"))?;
    if a.customer.merged_into != Some(survivor) {
        return Err(refuse(
            "",
            "the absorbed profile is no longer merged into the survivor",
        ));
    }
    // The survivor first: it gives back a loyalty number it may have taken from the other.
    let before = customers.open_snapshot(
        &s,
        row.try_get::<String, _>("survivor_profile")?.as_str(),
        row.try_get::<Option<String>, _>("survivor_sealed")?
            .as_deref(),
    )?;
    // Fields edited on the survivor since the merge keep their current values: unmerge gives
    // back what the merge took, not a later correction by an agent or the passenger.
    let edited = match row.try_get::<Option<i64>, _>("survivor_version_after")? {
        Some(version) => changed_since(&mut tx, survivor, version).await?,
        None => {
            let audit_seq: Option<i64> = row.try_get("audit_seq")?;
            edited_since(&mut tx, survivor, audit_seq, merge.merged_at).await?
        }
    };
    let before = keep_edits(
        before,
        &s.customer.profile,
        &edited,
        Utc::now().date_naive(),
    )
    .map_err(|errors| {
        let fields: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        refuse(
            "",
            format!(
                "the profile was edited since the merge in a way that does not fit the profile \
                 it had before ({}); correct it, then undo the merge",
                fields.join(", ")
            ),
        )
    })?;
    let changed: Vec<String> = changed_fields(&s.customer.profile, &before)
        .into_iter()
        .map(str::to_owned)
        .collect();
    let version = if changed.is_empty() {
        s.customer.version
    } else {
        customers
            .replace_profile(&mut tx, &s, before)
            .await?
            .version
    };
    customers.release(&mut tx, &a).await?;
    let moves = sqlx::query(
        "SELECT kind, source, source_record_id FROM identity_merge_moves WHERE merge_id = $1",
    )
    .bind(id.to_string())
    .fetch_all(&mut *tx.conn())
    .await?;
    let (mut records, mut links) = (HashSet::new(), HashSet::new());
    for m in moves {
        let key: (String, String) = (m.try_get("source")?, m.try_get("source_record_id")?);
        match m.try_get::<String, _>("kind")?.as_str() {
            "record" => records.insert(key),
            _ => links.insert(key),
        };
    }
    travel
        .transfer(&mut tx, survivor, absorbed, Some(&records))
        .await?;
    move_links(&mut tx, survivor, absorbed, Some(&links)).await?;
    let stamp = now();
    sqlx::query("UPDATE identity_merges SET unmerged_by = $1, unmerged_at = $2 WHERE id = $3")
        .bind(&ctx.actor.id)
        .bind(to_db_time(stamp))
        .bind(id.to_string())
        .execute(&mut *tx.conn())
        .await?;
    tx.emit(&CloudEvent::of(&CustomerUnmerged {
        merge_id: id.to_string(),
        customer_id: survivor.to_string(),
        restored_customer_id: absorbed.to_string(),
        version,
    }))
    .await?;
    tx.audit(&[
        ctx.entry(
            crate::events::audit::CUSTOMER_UNMERGE,
            "customer",
            Some(survivor.to_string()),
            changed,
            "success",
        ),
        ctx.entry(
            crate::events::audit::CUSTOMER_UNMERGE,
            "customer",
            Some(absorbed.to_string()),
            vec![],
            "success",
        ),
    ])
    .await?;
    tx.commit().await?;
    tracing::info!(merge_id = %id, "merge undone");
    merge.unmerged_by = Some(ctx.actor.id.clone());
    merge.unmerged_at = Some(stamp);
    Ok(merge)
}

/// The profile fields of `customer` changed by edits after its version `version` (the one the
/// merge left), from the customers domain's change log. Top-level fields: an edit of one part
/// of the address keeps the whole current address.
async fn changed_since(
    tx: &mut WriteTx,
    customer: CustomerId,
    version: i64,
) -> Result<BTreeSet<String>, StorageError> {
    let rows: Vec<String> = sqlx::query_scalar(
        "SELECT changed_fields FROM customer_changes WHERE customer_id = $1 AND version > $2",
    )
    .bind(customer.to_string())
    .bind(version)
    .fetch_all(&mut *tx.conn())
    .await?;
    let mut out = BTreeSet::new();
    for fields in rows {
        let names: Vec<String> = serde_json::from_str(&fields)
            .map_err(|e| StorageError::Corrupt(format!("customer change fields: {e}")))?;
        out.extend(names);
    }
    Ok(out)
}

/// For merges recorded before the change log existed (migration 0021): the profile fields of
/// `customer` changed by an edit (`customer.update` in the audit trail, which names the fields
/// of every change) after the merge: after its audit record
/// `merge_seq` in the chain, or — for merges recorded before the chain position was kept —
/// after `merged_at` by the hosts' clocks. Top-level fields: an edit of one part of the address
/// keeps the whole current address.
async fn edited_since(
    tx: &mut WriteTx,
    customer: CustomerId,
    merge_seq: Option<i64>,
    merged_at: DateTime<Utc>,
) -> Result<BTreeSet<String>, StorageError> {
    let after = match merge_seq {
        Some(_) => "seq > $2",
        None => "occurred_at > $2",
    };
    let query = format!(
        "SELECT fields FROM audit_log WHERE resource_type = 'customer' AND resource_id = $1 \
         AND action = 'customer.update' AND outcome = 'success' AND {after}"
    );
    let q = sqlx::query_scalar(&query).bind(customer.to_string());
    let q = match merge_seq {
        Some(seq) => q.bind(seq),
        None => q.bind(to_db_time(merged_at)),
    };
    let rows: Vec<String> = q.fetch_all(&mut *tx.conn()).await?;
    let mut out = BTreeSet::new();
    for fields in rows {
        let names: Vec<String> = serde_json::from_str(&fields)
            .map_err(|e| StorageError::Corrupt(format!("audit record fields: {e}")))?;
        out.extend(names);
    }
    Ok(out)
}

/// `before` with the `edited` fields as `current` has them (absent where `current` has none).
/// Pure; fails if the combination is not a valid profile.
fn keep_edits(
    before: Profile,
    current: &Profile,
    edited: &BTreeSet<String>,
    today: chrono::NaiveDate,
) -> Result<Profile, Vec<aloft_kernel::FieldError>> {
    if edited.is_empty() {
        return Ok(before);
    }
    let (mut doc, now) = (before.to_document(), current.to_document());
    if let Value::Object(fields) = &mut doc {
        for name in edited {
            match now.get(name) {
                Some(v) => fields.insert(name.clone(), v.clone()),
                None => fields.remove(name),
            };
        }
    }
    Profile::parse(&doc, today)
}

const MERGE_COLUMNS: &str = "id, survivor_id, absorbed_id, survivor_profile, survivor_sealed, \
    survivorship, review_id, reason, merged_by, merged_at, unmerged_by, unmerged_at, audit_seq, survivor_version_after, \
    (SELECT COUNT(*) FROM identity_merge_moves m WHERE m.merge_id = identity_merges.id AND m.kind = 'record') AS moved_records, \
    (SELECT COUNT(*) FROM identity_merge_moves m WHERE m.merge_id = identity_merges.id AND m.kind = 'link') AS moved_links";

fn decode_merge(row: &sqlx::any::AnyRow) -> Result<Merge, StorageError> {
    let id: String = row.try_get("id")?;
    let time = |c: &str| -> Result<Option<DateTime<Utc>>, StorageError> {
        row.try_get::<Option<String>, _>(c)?
            .map(|s| from_db_time(&s))
            .transpose()
    };
    Ok(Merge {
        id: Uuid::try_parse(&id)
            .map_err(|_| StorageError::Corrupt(format!("merge {id}: bad id")))?,
        survivor_id: row.try_get("survivor_id")?,
        absorbed_id: row.try_get("absorbed_id")?,
        survivorship: serde_json::from_str(&row.try_get::<String, _>("survivorship")?)
            .unwrap_or_default(),
        moved_records: row.try_get("moved_records")?,
        moved_links: row.try_get("moved_links")?,
        review_id: row.try_get("review_id")?,
        reason: row.try_get("reason")?,
        merged_by: row.try_get("merged_by")?,
        merged_at: time("merged_at")?
            .ok_or_else(|| StorageError::Corrupt(format!("merge {id}: no time")))?,
        unmerged_by: row.try_get("unmerged_by")?,
        unmerged_at: time("unmerged_at")?,
    })
}

/// Every merge a profile took part in (as survivor or absorbed), newest first.
pub async fn lineage(db: &Database, customer: CustomerId) -> Result<Vec<Merge>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT {MERGE_COLUMNS} FROM identity_merges WHERE survivor_id = $1 OR absorbed_id = $1 \
         ORDER BY merged_at DESC, id DESC LIMIT 100"
    ))
    .bind(customer.to_string())
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(decode_merge).collect()
}

const REVIEW_COLUMNS: &str = "id, source, source_record_id, customer_id, candidate_customer_id, \
    weight, explanation, status, created_at, decided_by, decided_at";

fn decode_review(row: &sqlx::any::AnyRow) -> Result<Review, StorageError> {
    let time = |c: &str| -> Result<Option<DateTime<Utc>>, StorageError> {
        row.try_get::<Option<String>, _>(c)?
            .map(|s| from_db_time(&s))
            .transpose()
    };
    Ok(Review {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        source_record_id: row.try_get("source_record_id")?,
        customer_id: row.try_get("customer_id")?,
        candidate_customer_id: row.try_get("candidate_customer_id")?,
        weight: row.try_get("weight")?,
        explanation: serde_json::from_str(&row.try_get::<String, _>("explanation")?)
            .unwrap_or(Value::Null),
        status: row.try_get("status")?,
        created_at: time("created_at")?.unwrap_or_else(now),
        decided_by: row.try_get("decided_by")?,
        decided_at: time("decided_at")?,
    })
}

/// Reviews with `status` (`open`, `merged`, `distinct`), oldest first for open ones (first
/// come, first served), newest first otherwise; `after` continues from a review id.
pub async fn reviews(
    db: &Database,
    status: &str,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<Review>, StorageError> {
    let (cmp, order) = if status == "open" {
        (">", "ASC")
    } else {
        ("<", "DESC")
    };
    let sql = match after {
        Some(_) => format!(
            "SELECT {REVIEW_COLUMNS} FROM identity_review WHERE status = $1 AND id {cmp} $2 ORDER BY id {order} LIMIT $3"
        ),
        None => format!(
            "SELECT {REVIEW_COLUMNS} FROM identity_review WHERE status = $1 ORDER BY id {order} LIMIT $2"
        ),
    };
    let mut q = sqlx::query(&sql).bind(status);
    if let Some(a) = after {
        q = q.bind(a);
    }
    let rows = q.bind(limit.clamp(1, 200)).fetch_all(db.pool()).await?;
    rows.iter().map(decode_review).collect()
}

/// How many reviews are open.
pub async fn open_reviews(db: &Database) -> Result<i64, StorageError> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM identity_review WHERE status = 'open'")
            .fetch_one(db.pool())
            .await?,
    )
}

/// One review.
pub async fn review(db: &Database, id: i64) -> Result<Option<Review>, StorageError> {
    let row = sqlx::query(&format!(
        "SELECT {REVIEW_COLUMNS} FROM identity_review WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    row.as_ref().map(decode_review).transpose()
}

/// Decides an open review. `Merge` merges the record's new profile into the existing candidate
/// (the older profile keeps its id); `Distinct` closes the review. Returns the merge, if any.
pub async fn decide(
    customers: &CustomerStore,
    travel: &TravelStore,
    id: i64,
    decision: Decision,
    ctx: &AccessContext,
) -> Result<Option<Merge>, MergeError> {
    let r = review(customers.database(), id)
        .await?
        .ok_or(MergeError::NotFound("review"))?;
    if r.status != "open" {
        return Err(refuse(
            "/decision",
            format!("this review was already decided ({})", r.status),
        ));
    }
    match decision {
        Decision::Merge => {
            let bad = || StorageError::Corrupt(format!("review {id}: bad customer id"));
            let candidate = CustomerId::parse(&r.candidate_customer_id).ok_or_else(bad)?;
            let new = CustomerId::parse(&r.customer_id).ok_or_else(bad)?;
            let reason = format!("review {id}: same person ({:.1} bits)", r.weight);
            // The pair's open reviews, this one included, are closed inside the merge.
            merge(customers, travel, candidate, new, &reason, Some(id), ctx)
                .await
                .map(Some)
        }
        Decision::Distinct => {
            let mut tx = customers.database().begin_write().await?;
            let done = sqlx::query(
                "UPDATE identity_review SET status = 'distinct', decided_by = $1, decided_at = $2 \
                 WHERE id = $3 AND status = 'open'",
            )
            .bind(&ctx.actor.id)
            .bind(to_db_time(now()))
            .bind(id)
            .execute(&mut *tx.conn())
            .await?;
            if done.rows_affected() == 0 {
                return Err(refuse("/decision", "this review was already decided"));
            }
            tx.audit(&[ctx.entry(
                crate::events::audit::IDENTITY_REVIEW_DECIDE,
                "identity_review",
                Some(id.to_string()),
                vec!["distinct".into()],
                "success",
            )])
            .await?;
            tx.commit().await?;
            Ok(None)
        }
    }
}

/// A number that changes whenever a merge is made or undone anywhere (another process
/// included): the linker re-seeds when it moves.
pub async fn merge_epoch(db: &Database) -> Result<(i64, i64), StorageError> {
    let row =
        sqlx::query("SELECT COUNT(*) AS merges, COUNT(unmerged_at) AS undone FROM identity_merges")
            .fetch_one(db.pool())
            .await?;
    Ok((row.try_get("merges")?, row.try_get("undone")?))
}
