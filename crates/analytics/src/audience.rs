//! Audiences: a saved segment's members released for a marketing purpose, with consent
//! enforced.
//!
//! A member is released only if their consent to the purpose is given now and their processing
//! is not restricted (Art. 18) — the privacy crate's answer, kept on the member's facts row
//! (`consent_allowed`, migration 0047, updated in the transaction of every consent change and
//! restriction) and copied onto each member row (migration 0058), whose index then holds the
//! consenting members of a segment as a few ranges: a million-member segment is split without
//! a probe of the consent state, or even a test of a row, per member.
//! Everyone else is left out and counted.
//!
//! Two ways out:
//! - **CSV** (`customer_id` and the contact the purpose's channel needs: `email` for
//!   `marketing_email`, `phone` for `marketing_sms`, none for `marketing_push`, whose app
//!   resolves its own devices). Contacts are read through the customers store, so they are
//!   decrypted there and every released person's read is audited
//!   (`audience.member_released`, field names only) before a byte is sent; a consenting member
//!   without that contact is left out and counted too.
//! - **The marketing platform over NATS**: customer ids only, never contacts, in
//!   `aloft.audience.published` events of up to [`PART_SIZE`] ids written to the outbox in the
//!   transaction that records the export — so a publication survives a restart (the relay
//!   delivers what committed) and a million members are a thousand messages, not a million.
//!
//! Every export is a row of `analytics_audience_exports` (counts, purpose, segment version)
//! written with its `audience.exported` audit record in one transaction.

use chrono::{DateTime, Utc};
use sqlx::Row;

use aloft_customers::{CustomerId, CustomerStore};
use aloft_kernel::db::to_db_time;
use aloft_kernel::events::CloudEvent;
use aloft_kernel::{AccessContext, StorageError};

use crate::events::{AudiencePublished, audit};
use crate::membership::SavedSegment;
use crate::storage::SegmentStore;

/// The consent mask values among the members of segment `$1`, found by skipping through the
/// index `(segment_id, consent_allowed, customer_id)`: one seek per value present (a loose
/// index scan as a recursive CTE, on both backends), not a read of every member.
pub const MASKS_PRESENT: &str = "WITH RECURSIVE present(mask) AS ( \
     SELECT MIN(consent_allowed) FROM analytics_segment_members WHERE segment_id = $1 \
     UNION ALL \
     SELECT (SELECT MIN(m.consent_allowed) FROM analytics_segment_members m \
     WHERE m.segment_id = $1 AND m.consent_allowed > present.mask) \
     FROM present WHERE present.mask IS NOT NULL) \
     SELECT mask FROM present WHERE mask IS NOT NULL";

/// Customer ids per `aloft.audience.published` event (≈ 40 kB, well under NATS' 1 MB).
pub const PART_SIZE: usize = 1000;

/// The contact a purpose's channel needs in a CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contact {
    /// The e-mail address.
    Email,
    /// The phone number (E.164).
    Phone,
    /// None: the channel resolves the customer id itself (app push).
    None,
}

impl Contact {
    /// The CSV column, if any.
    pub fn column(self) -> Option<&'static str> {
        match self {
            Contact::Email => Some("email"),
            Contact::Phone => Some("phone"),
            Contact::None => None,
        }
    }
}

/// The purposes an audience may be released for, with the contact each needs.
pub const PURPOSES: &[(&str, Contact, &str)] = &[
    (
        "marketing_email",
        Contact::Email,
        "Marketing e-mail (customer id and e-mail address)",
    ),
    (
        "marketing_sms",
        Contact::Phone,
        "Marketing text messages (customer id and phone number)",
    ),
    (
        "marketing_push",
        Contact::None,
        "Marketing app notifications (customer id only)",
    ),
    (
        "newsletter",
        Contact::Email,
        "The newsletter's subscribers (customer id and e-mail address)",
    ),
];

/// The contact a purpose needs, `None` if audiences are not released for it.
pub fn purpose(code: &str) -> Option<(&'static str, Contact)> {
    PURPOSES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(c, k, _)| (*c, *k))
}

/// Who of a segment may be released for a purpose.
#[derive(Debug, Clone)]
pub struct Split {
    /// The segment.
    pub segment: SavedSegment,
    /// Its members now.
    pub members: u64,
    /// The members with consent to the purpose (processing not restricted), by id.
    pub consented: Vec<String>,
}

impl Split {
    /// Members left out for lack of consent (or a restriction of processing).
    pub fn excluded_no_consent(&self) -> u64 {
        self.members - self.consented.len() as u64
    }
}

/// What an export released (the export's row).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ExportCounts {
    /// The export.
    pub export_id: String,
    /// The segment.
    pub segment_id: String,
    /// The purpose.
    pub purpose: String,
    /// Members of the segment.
    pub members: u64,
    /// Members released.
    pub released: u64,
    /// Members left out: no consent to the purpose (or processing restricted).
    pub excluded_no_consent: u64,
    /// Members left out: consent but not the contact the channel needs (CSV only).
    pub excluded_no_contact: u64,
}

/// A CSV export: the file and its counts.
#[derive(Debug, Clone)]
pub struct CsvExport {
    /// `text/csv`, header line first.
    pub csv: String,
    /// What was released.
    pub counts: ExportCounts,
}

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AudienceError {
    /// No such segment.
    #[error("no such segment")]
    NotFound,
    /// Contacts cannot be read (the server was assembled without the customers store).
    #[error("contacts cannot be read here")]
    NoContacts,
    /// The database or the audit trail.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// One CSV field, quoted when it has to be (RFC 4180).
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// A contact as a spreadsheet may safely open it: an e-mail address may legally begin with
/// `=`, `+`, `-` or `@`, which a spreadsheet would run as a formula (CSV injection), so such a
/// value is prefixed with `'`. Phone numbers are validated E.164 (`+` and digits only), which
/// no spreadsheet runs as anything but a number, and are left as they are.
fn safe_cell(contact: Contact, v: &str) -> String {
    if contact == Contact::Email && v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

/// The CSV of released rows: header `customer_id[,contact]`, one line per row.
pub fn to_csv(contact: Contact, rows: &[(String, Option<String>)]) -> String {
    let mut out = String::from("customer_id");
    if let Some(c) = contact.column() {
        out.push(',');
        out.push_str(c);
    }
    out.push_str("\r\n");
    for (id, value) in rows {
        out.push_str(&csv_field(id));
        if contact.column().is_some() {
            out.push(',');
            out.push_str(&csv_field(&safe_cell(
                contact,
                value.as_deref().unwrap_or(""),
            )));
        }
        out.push_str("\r\n");
    }
    out
}

/// Splits `ids` into publication parts of at most `size` (one empty part for no one, so the
/// platform still learns that the audience is empty now).
pub fn parts(ids: &[String], size: usize) -> Vec<&[String]> {
    if ids.is_empty() {
        return vec![&[]];
    }
    ids.chunks(size.max(1)).collect()
}

/// Releases audiences of saved segments.
#[derive(Clone)]
pub struct Audiences {
    store: SegmentStore,
    customers: Option<CustomerStore>,
}

impl Audiences {
    /// Audiences of `store`'s segments; contacts for CSVs come from `customers` (the audited
    /// store), without which a CSV needing a contact answers [`AudienceError::NoContacts`].
    pub fn new(store: SegmentStore, customers: Option<CustomerStore>) -> Self {
        Self { store, customers }
    }

    /// Who of the segment may be released for `purpose` now (counts and ids; nothing
    /// audited, nothing released).
    pub async fn split(
        &self,
        segment_id: &str,
        purpose: &str,
    ) -> Result<Option<Split>, StorageError> {
        let Some(segment) = self.store.saved_segment(segment_id).await? else {
            return Ok(None);
        };
        // Unknown purposes release no one (the routes accept only `PURPOSES`).
        let bit = aloft_privacy::purpose(purpose).map_or(0, |p| p.bit());
        let db = self.store.database();
        // The three reads below see one snapshot (a read transaction: SQLite's WAL snapshot,
        // PostgreSQL's REPEATABLE READ), so the released and the excluded add up to the members
        // of one moment.
        let mut tx = db.pool().begin().await?;
        if db.backend() == aloft_kernel::Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        // The consent check is the member row's copy of the facts row's mask (consent given
        // now, processing not restricted; kept equal in the transactions of every consent
        // change, restriction and fact write — migration 0058). The index on (segment, mask,
        // customer) is walked for the mask values present — one seek each, a few dozen at most
        // — and the members are then read as the ranges of the values with the purpose's bit;
        // the others are only counted. So the check costs those seeks, not a test per member.
        let masks: Vec<i64> = sqlx::query_scalar(MASKS_PRESENT)
            .bind(segment_id)
            .fetch_all(&mut *tx)
            .await?;
        let (with, without): (Vec<i64>, Vec<i64>) = masks.iter().partition(|m| *m & bit != 0);
        // Literal integers read from the database: safe to splice.
        let among = |masks: &[i64]| {
            if masks.is_empty() {
                "1 = 0".to_owned()
            } else {
                let list: Vec<String> = masks.iter().map(i64::to_string).collect();
                format!("consent_allowed IN ({})", list.join(", "))
            }
        };
        let consented: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT customer_id FROM analytics_segment_members WHERE segment_id = $1 AND {}",
            among(&with)
        ))
        .bind(segment_id)
        .fetch_all(&mut *tx)
        .await?;
        let excluded: i64 = sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM analytics_segment_members WHERE segment_id = $1 AND {}",
            among(&without)
        ))
        .bind(segment_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Split {
            segment,
            members: consented.len() as u64 + u64::try_from(excluded).unwrap_or(0),
            consented,
        }))
    }

    #[allow(clippy::too_many_arguments)] // one private helper for the two kinds of export
    async fn record(
        &self,
        tx: &mut aloft_kernel::WriteTx,
        kind: &str,
        split: &Split,
        purpose: &str,
        released: u64,
        excluded_no_contact: u64,
        fields: Vec<String>,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<ExportCounts, StorageError> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO analytics_audience_exports (id, segment_id, segment_version, purpose, \
             kind, members, released, excluded_no_consent, excluded_no_contact, exported_by, \
             exported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&id)
        .bind(&split.segment.id)
        .bind(split.segment.version)
        .bind(purpose)
        .bind(kind)
        .bind(i64::try_from(split.members).unwrap_or(i64::MAX))
        .bind(i64::try_from(released).unwrap_or(i64::MAX))
        .bind(i64::try_from(split.excluded_no_consent()).unwrap_or(i64::MAX))
        .bind(i64::try_from(excluded_no_contact).unwrap_or(i64::MAX))
        .bind(&ctx.actor.id)
        .bind(to_db_time(now))
        .execute(tx.conn())
        .await?;
        let mut ctx = ctx.clone();
        ctx.purpose = Some(purpose.to_owned());
        tx.audit(&[ctx.entry(
            audit::AUDIENCE_EXPORTED,
            "audience_export",
            Some(id.clone()),
            fields,
            "success",
        )])
        .await?;
        Ok(ExportCounts {
            export_id: id,
            segment_id: split.segment.id.clone(),
            purpose: purpose.to_owned(),
            members: split.members,
            released,
            excluded_no_consent: split.excluded_no_consent(),
            excluded_no_contact,
        })
    }

    /// The segment's audience for `purpose` as CSV: consenting members with the contact the
    /// channel needs, each release audited before the file is returned, and the export
    /// recorded with its counts. `purpose` must be one of [`PURPOSES`] (the caller checks).
    pub async fn export_csv(
        &self,
        segment_id: &str,
        purpose: &str,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<CsvExport, AudienceError> {
        let (code, contact) = self::purpose(purpose).ok_or(AudienceError::NotFound)?;
        let split = self
            .split(segment_id, code)
            .await?
            .ok_or(AudienceError::NotFound)?;
        let mut rows: Vec<(String, Option<String>)> = Vec::new();
        let mut excluded_no_contact = 0u64;
        if contact == Contact::None {
            rows = split.consented.iter().map(|c| (c.clone(), None)).collect();
        } else {
            let customers = self.customers.as_ref().ok_or(AudienceError::NoContacts)?;
            let ids: Vec<CustomerId> = split
                .consented
                .iter()
                .filter_map(|c| CustomerId::parse(c))
                .collect();
            let found = customers.get_all(&ids).await?;
            let mut released = Vec::with_capacity(found.len());
            for c in found {
                let value = match contact {
                    Contact::Email => c.profile.email.as_ref().map(|e| e.as_str().to_owned()),
                    Contact::Phone => c.profile.phone.as_ref().map(|p| p.as_str().to_owned()),
                    Contact::None => None,
                };
                if let Some(v) = value {
                    rows.push((c.id.to_string(), Some(v)));
                    released.push(c);
                }
            }
            excluded_no_contact = split.consented.len() as u64 - rows.len() as u64;
            rows.sort();
            // Audited (and durable) before anything is shown.
            let mut read_ctx = ctx.clone();
            read_ctx.purpose = Some(code.to_owned());
            customers
                .record_reads(&read_ctx, audit::AUDIENCE_MEMBER_RELEASED, &released)
                .await?;
        }
        let mut fields = vec!["customer_id".to_owned()];
        fields.extend(contact.column().map(str::to_owned));
        let db = self.store.database();
        let mut tx = db.begin_write().await?;
        let counts = self
            .record(
                &mut tx,
                "csv",
                &split,
                code,
                rows.len() as u64,
                excluded_no_contact,
                fields,
                ctx,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(CsvExport {
            csv: to_csv(contact, &rows),
            counts,
        })
    }

    /// Publishes the segment's audience for `purpose` to the marketing platform: the
    /// consenting members' ids in `aloft.audience.published` events of up to [`PART_SIZE`],
    /// with the export's row and audit record, in one transaction.
    pub async fn publish(
        &self,
        segment_id: &str,
        purpose: &str,
        ctx: &AccessContext,
        now: DateTime<Utc>,
    ) -> Result<ExportCounts, AudienceError> {
        let (code, _) = self::purpose(purpose).ok_or(AudienceError::NotFound)?;
        let split = self
            .split(segment_id, code)
            .await?
            .ok_or(AudienceError::NotFound)?;
        let db = self.store.database();
        let mut tx = db.begin_write().await?;
        let counts = self
            .record(
                &mut tx,
                "nats",
                &split,
                code,
                split.consented.len() as u64,
                0,
                vec!["customer_id".to_owned()],
                ctx,
                now,
            )
            .await?;
        let parts = parts(&split.consented, PART_SIZE);
        let total = u32::try_from(parts.len()).unwrap_or(u32::MAX);
        let events: Vec<CloudEvent> = parts
            .iter()
            .enumerate()
            .map(|(i, ids)| {
                CloudEvent::of(&AudiencePublished {
                    export_id: counts.export_id.clone(),
                    segment_id: split.segment.id.clone(),
                    segment_version: split.segment.version,
                    purpose: code.to_owned(),
                    part: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    parts: total,
                    customer_ids: ids.to_vec(),
                })
            })
            .collect();
        tx.emit_all(&events).await?;
        tx.commit().await?;
        Ok(counts)
    }
}

/// One past export (its row), for the dashboard.
#[derive(Debug, Clone)]
pub struct ExportRow {
    /// The segment.
    pub segment_id: String,
    /// The purpose.
    pub purpose: String,
    /// `csv` or `nats`.
    pub kind: String,
    /// Members of the segment then.
    pub members: i64,
    /// Members released.
    pub released: i64,
    /// Left out for lack of consent.
    pub excluded_no_consent: i64,
    /// Left out for lack of the contact.
    pub excluded_no_contact: i64,
    /// When (RFC 3339 UTC).
    pub exported_at: String,
}

impl Audiences {
    /// The exports made in `[from, to)`, newest first (at most `limit`). Counts only.
    pub async fn exports(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ExportRow>, StorageError> {
        let rows = sqlx::query(
            "SELECT segment_id, purpose, kind, members, released, excluded_no_consent, \
             excluded_no_contact, exported_at FROM analytics_audience_exports \
             WHERE exported_at >= $1 AND exported_at < $2 ORDER BY exported_at DESC LIMIT $3",
        )
        .bind(to_db_time(from))
        .bind(to_db_time(to))
        .bind(limit)
        .fetch_all(self.store.database().pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExportRow {
                    segment_id: r.try_get("segment_id")?,
                    purpose: r.try_get("purpose")?,
                    kind: r.try_get("kind")?,
                    members: r.try_get("members")?,
                    released: r.try_get("released")?,
                    excluded_no_consent: r.try_get("excluded_no_consent")?,
                    excluded_no_contact: r.try_get("excluded_no_contact")?,
                    exported_at: r.try_get("exported_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_the_channel_contact_and_quotes_when_needed() {
        let rows = vec![
            ("c1".to_owned(), Some("a@example.com".to_owned())),
            ("c2".to_owned(), Some("x,\"y\"@example.com".to_owned())),
        ];
        assert_eq!(
            to_csv(Contact::Email, &rows),
            "customer_id,email\r\nc1,a@example.com\r\nc2,\"x,\"\"y\"\"@example.com\"\r\n"
        );
        assert_eq!(to_csv(Contact::None, &rows[..1]), "customer_id\r\nc1\r\n");
    }

    #[test]
    fn publications_are_parts_of_bounded_size_and_never_nothing() {
        let ids: Vec<String> = (0..2500).map(|i| i.to_string()).collect();
        let p = parts(&ids, 1000);
        assert_eq!(
            p.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [1000, 1000, 500]
        );
        assert_eq!(parts(&[], 1000).len(), 1);
        assert!(parts(&[], 1000)[0].is_empty());
    }

    #[test]
    fn purposes_name_their_contact() {
        assert_eq!(
            purpose("marketing_email"),
            Some(("marketing_email", Contact::Email))
        );
        assert_eq!(purpose("marketing_sms").map(|p| p.1), Some(Contact::Phone));
        assert_eq!(purpose("marketing_push").map(|p| p.1), Some(Contact::None));
        assert!(purpose("analytics").is_none());
    }
}
