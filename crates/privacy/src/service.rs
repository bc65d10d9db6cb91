//! Data-subject requests stored and fulfilled (migration 0033): every request and every move of
//! it is written with its event `aloft.privacy_request.changed` and its audit record in one
//! transaction; completing a request does what it asks.
//!
//! Fulfilment by kind, when a request moves to `completed`:
//! - access, portability: the subject access export ([`crate::coverage::export`]) is produced,
//!   opened with the person's key, audited, and returned with the move; the request keeps what
//!   was exported (tables, row counts), never the data.
//! - erasure: [`crate::erasure::erase`] runs (its own transaction: it is idempotent, so a crash
//!   between the erasure and the request's completion is finished by completing again).
//! - restriction: the person's processing is restricted (`privacy_restrictions`); from then the
//!   consent check answers "not allowed" for every purpose a law does not require.
//! - objection: the consents of the objected purposes are withdrawn on every channel, with the
//!   request as proof, in the request's transaction.
//! - rectification: what was corrected and by whom is recorded, linked to the profile versions
//!   changed since receipt (the correction itself is made through the customers API, which
//!   validates and versions it).

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, CloudEvent, StorageError, WriteTx};
use aloft_vocab::CustomerId;
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use utoipa::ToSchema;

use crate::coverage::ExportSection;
use crate::events::{RequestChanged, audit};
use crate::model::{ConsentChange, PURPOSES, purpose};
use crate::requests::{
    ExtensionError, NewRequest, RequestKind, RequestState, Transition, Urgency, check_move,
    deadline, extended_deadline, may_extend, urgency,
};
use crate::store::{ConsentStore, insert_change};

/// Errors of request handling.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// No such request.
    #[error("no such request")]
    NotFound,
    /// No such customer.
    #[error("no such customer")]
    UnknownCustomer,
    /// The move is not allowed from the request's state.
    #[error("a request in {from} cannot move to {to}")]
    Illegal {
        /// The state now.
        from: &'static str,
        /// The state asked for.
        to: &'static str,
    },
    /// The extension is not allowed.
    #[error(transparent)]
    Extension(#[from] ExtensionError),
    /// The person's profile no longer exists (erased): there is nothing to export or restrict.
    #[error("the person's profile no longer exists")]
    CustomerGone,
    /// The person's processing is not restricted (nothing to lift).
    #[error("the person's processing is not restricted")]
    NotRestricted,
    /// Another move of the same request happened at the same moment.
    #[error("the request changed meanwhile")]
    Busy,
    /// The audit trail cannot record the access; nothing is shown.
    #[error("audit trail unavailable")]
    AuditUnavailable,
    /// A legal hold covers the person: the erasure is refused (Art. 17(3)(e)); nothing changed.
    #[error("the person is under legal hold {}", .0.id)]
    Held(Box<crate::holds::Hold>),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<crate::erasure::ErasureError> for RequestError {
    fn from(e: crate::erasure::ErasureError) -> Self {
        match e {
            crate::erasure::ErasureError::Held(h) => RequestError::Held(h),
            crate::erasure::ErasureError::Storage(s) => RequestError::Storage(s),
        }
    }
}

/// One move of a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Step {
    /// The state before (`""` for the receipt).
    pub from: String,
    /// The state after, or `extended`.
    pub to: String,
    /// How identity was verified, the refusal or extension reason, what was done.
    pub note: String,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who.
    pub actor: String,
}

/// A data-subject request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PrivacyRequest {
    /// The request's id.
    pub id: String,
    /// The person.
    pub customer_id: String,
    /// What they ask for.
    pub kind: RequestKind,
    /// How it arrived.
    pub channel: String,
    /// What they wrote (empty in lists, and after erasure).
    pub details: String,
    /// Where it is.
    pub state: RequestState,
    /// When it was received (RFC 3339 UTC).
    pub received_at: String,
    /// Who recorded it.
    pub received_by: String,
    /// The date it must be answered by (YYYY-MM-DD, UTC).
    pub deadline: String,
    /// Whether the deadline was extended by two months.
    pub extended: bool,
    /// Why (told to the person within the first month).
    pub extension_reason: String,
    /// `overdue`, `due_soon`, `on_track` or `closed`, as of now.
    pub urgency: Urgency,
    /// What fulfilment did (ids, tables, counts, field names).
    pub outcome: Value,
    /// Last change (RFC 3339 UTC).
    pub updated_at: String,
    /// Every move, oldest first (empty in lists).
    pub steps: Vec<Step>,
    #[serde(skip)]
    version: i64,
}

/// A request as a move returns it; for access and portability, with the export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Moved {
    /// The request as it now stands.
    #[serde(flatten)]
    pub request: PrivacyRequest,
    /// The subject access export, when completing an access or portability request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export: Option<Vec<ExportSection>>,
}

/// Which requests a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// Not completed or refused.
    Open,
    /// Completed or refused.
    Closed,
    /// Every request.
    All,
    /// In this state.
    State(RequestState),
}

impl Filter {
    /// The filter named `s` (`open`, `closed`, `all` or a state).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            "all" => Some(Self::All),
            s => RequestState::parse(s).map(Self::State),
        }
    }

    fn sql(self) -> String {
        match self {
            Self::Open => "state NOT IN ('completed', 'refused')".into(),
            Self::Closed => "state IN ('completed', 'refused')".into(),
            Self::All => "1 = 1".into(),
            Self::State(s) => format!("state = '{}'", s.as_str()),
        }
    }
}

/// Per purpose: how many people have consent given and withdrawn now (the DPO console).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PurposeStats {
    /// The purpose code.
    pub purpose: String,
    /// People with consent given on at least one channel.
    pub given: i64,
    /// People with consent withdrawn on every channel they were asked on.
    pub withdrawn: i64,
}

const COLUMNS: &str = "id, customer_id, kind, channel, details, state, received_at, received_by, deadline, extended_at, extension_reason, outcome, updated_at, version";

/// Data-subject request handling over the consent store. Cheap to clone.
#[derive(Clone)]
pub struct Requests {
    store: ConsentStore,
}

fn today() -> NaiveDate {
    now().date_naive()
}

fn row_to_request(r: &sqlx::any::AnyRow) -> Result<PrivacyRequest, StorageError> {
    let get = |c: &str| r.try_get::<String, _>(c).map_err(StorageError::from);
    let kind = get("kind")?;
    let state = get("state")?;
    let kind = RequestKind::parse(&kind)
        .ok_or_else(|| StorageError::Corrupt(format!("unknown request kind {kind}")))?;
    let state = RequestState::parse(&state)
        .ok_or_else(|| StorageError::Corrupt(format!("unknown request state {state}")))?;
    let deadline = get("deadline")?;
    let due = NaiveDate::parse_from_str(&deadline, "%Y-%m-%d")
        .map_err(|_| StorageError::Corrupt(format!("bad deadline {deadline}")))?;
    let extended_at: Option<String> = r.try_get("extended_at").map_err(StorageError::from)?;
    Ok(PrivacyRequest {
        id: get("id")?,
        customer_id: get("customer_id")?,
        kind,
        channel: get("channel")?,
        details: get("details")?,
        state,
        received_at: get("received_at")?,
        received_by: get("received_by")?,
        urgency: urgency(state, due, today()),
        deadline,
        extended: extended_at.is_some(),
        extension_reason: get("extension_reason")?,
        outcome: serde_json::from_str(&get("outcome")?).unwrap_or(Value::Null),
        updated_at: get("updated_at")?,
        steps: Vec::new(),
        version: r.try_get("version").map_err(StorageError::from)?,
    })
}

impl Requests {
    /// Request handling over `store` (its database, audit trail and keys).
    pub fn new(store: ConsentStore) -> Self {
        Self { store }
    }

    /// The consent store.
    pub fn consents(&self) -> &ConsentStore {
        &self.store
    }

    async fn audit_read(
        &self,
        ctx: &AccessContext,
        action: aloft_kernel::audit::AuditAction,
        resource_type: &str,
        resource: Option<String>,
        fields: Vec<String>,
    ) -> Result<(), RequestError> {
        if let Some(a) = self.store.auditor() {
            a.record(ctx.entry(action, resource_type, resource, fields, "success"))
                .await
                .map_err(|_| RequestError::AuditUnavailable)?;
        }
        Ok(())
    }

    async fn step(
        tx: &mut WriteTx,
        req: &PrivacyRequest,
        from: &str,
        to: &str,
        note: &str,
        at: &str,
        ctx: &AccessContext,
    ) -> Result<(), StorageError> {
        let b = aloft_kernel::Backend::of(tx.conn());
        let ps: Vec<String> = (1..=7).map(|n| b.param(n)).collect();
        sqlx::query(&format!(
            "INSERT INTO privacy_request_steps (request_id, customer_id, from_state, to_state, note, at, actor) VALUES ({})",
            ps.join(", ")
        ))
        .bind(&req.id)
        .bind(&req.customer_id)
        .bind(from)
        .bind(to)
        .bind(note)
        .bind(at)
        .bind(&ctx.actor.id)
        .execute(tx.conn())
        .await?;
        tx.emit(&CloudEvent::of(&RequestChanged {
            request_id: req.id.clone(),
            customer_id: req.customer_id.clone(),
            kind: req.kind.as_str().into(),
            change: to.into(),
            state: req.state.as_str().into(),
            deadline: req.deadline.clone(),
        }))
        .await?;
        Ok(())
    }

    /// Opens a request. `verified` is the note of an identity already verified (a passenger
    /// signed in to self-service): the request then starts in `identity_verified`.
    pub async fn open(
        &self,
        new: &NewRequest,
        verified: Option<&str>,
        ctx: &AccessContext,
    ) -> Result<PrivacyRequest, RequestError> {
        let db = self.store.db();
        let b = db.backend();
        let exists = sqlx::query(&format!(
            "SELECT 1 FROM customers WHERE id = {}",
            b.param(1)
        ))
        .bind(&new.customer_id)
        .fetch_optional(db.pool())
        .await
        .map_err(StorageError::from)?;
        if exists.is_none() {
            return Err(RequestError::UnknownCustomer);
        }
        let received = now();
        let at = to_db_time(received);
        let mut req = PrivacyRequest {
            id: uuid::Uuid::now_v7().to_string(),
            customer_id: new.customer_id.clone(),
            kind: new.kind,
            channel: new.channel.into(),
            details: new.details.clone(),
            state: RequestState::Received,
            received_at: at.clone(),
            received_by: ctx.actor.id.clone(),
            deadline: deadline(received).format("%Y-%m-%d").to_string(),
            extended: false,
            extension_reason: String::new(),
            urgency: Urgency::OnTrack,
            outcome: json!({}),
            updated_at: at.clone(),
            steps: Vec::new(),
            version: 1,
        };
        let mut tx = db.begin_write().await?;
        let ps: Vec<String> = (1..=12).map(|n| b.param(n)).collect();
        let state = if verified.is_some() {
            RequestState::IdentityVerified
        } else {
            RequestState::Received
        };
        sqlx::query(&format!(
            "INSERT INTO privacy_requests (id, customer_id, kind, channel, details, state, received_at, received_by, deadline, outcome, updated_at, version) VALUES ({})",
            ps.join(", ")
        ))
        .bind(&req.id)
        .bind(&req.customer_id)
        .bind(req.kind.as_str())
        .bind(&req.channel)
        .bind(&req.details)
        .bind(state.as_str())
        .bind(&at)
        .bind(&req.received_by)
        .bind(&req.deadline)
        .bind("{}")
        .bind(&at)
        .bind(1_i64)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        Self::step(&mut tx, &req, "", "received", "", &at, ctx).await?;
        if let Some(note) = verified {
            req.state = RequestState::IdentityVerified;
            Self::step(
                &mut tx,
                &req,
                "received",
                RequestState::IdentityVerified.as_str(),
                note,
                &at,
                ctx,
            )
            .await?;
        }
        tx.audit(&[ctx.entry(
            audit::REQUEST_RECEIVED,
            "customer",
            Some(req.customer_id.clone()),
            vec![format!("privacy_requests.{}", req.kind.as_str())],
            "success",
        )])
        .await?;
        tx.commit().await?;
        req.urgency = urgency(req.state, deadline(received), today());
        Ok(req)
    }

    async fn load(&self, id: &str) -> Result<PrivacyRequest, RequestError> {
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(RequestError::NotFound);
        }
        let db = self.store.db();
        let b = db.backend();
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM privacy_requests WHERE id = {}",
            b.param(1)
        ))
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .map_err(StorageError::from)?
        .ok_or(RequestError::NotFound)?;
        let mut req = row_to_request(&row)?;
        let steps = sqlx::query(&format!(
            "SELECT from_state, to_state, note, at, actor FROM privacy_request_steps WHERE request_id = {} ORDER BY seq",
            b.param(1)
        ))
        .bind(id)
        .fetch_all(db.pool())
        .await
        .map_err(StorageError::from)?;
        req.steps = steps
            .iter()
            .map(|r| {
                Ok(Step {
                    from: r.try_get("from_state")?,
                    to: r.try_get("to_state")?,
                    note: r.try_get("note")?,
                    at: r.try_get("at")?,
                    actor: r.try_get("actor")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StorageError::from)?;
        Ok(req)
    }

    /// One request with its steps (audited as a read of the person's data by `ctx`).
    pub async fn get(&self, id: &str, ctx: &AccessContext) -> Result<PrivacyRequest, RequestError> {
        let req = self.load(id).await?;
        self.audit_read(
            ctx,
            audit::REQUEST_READ,
            "customer",
            Some(req.customer_id.clone()),
            vec![format!("privacy_requests.{}", req.id)],
        )
        .await?;
        Ok(req)
    }

    /// Requests matching `filter` (and of `customer`, if given), oldest deadline first, without
    /// what the person wrote (audited as one listing by `ctx`).
    pub async fn list(
        &self,
        filter: Filter,
        customer: Option<CustomerId>,
        ctx: &AccessContext,
    ) -> Result<Vec<PrivacyRequest>, RequestError> {
        let db = self.store.db();
        let mut sql = format!(
            "SELECT {COLUMNS} FROM privacy_requests WHERE {}",
            filter.sql()
        );
        if customer.is_some() {
            sql.push_str(&format!(" AND customer_id = {}", db.backend().param(1)));
        }
        sql.push_str(" ORDER BY deadline, received_at LIMIT 1000");
        let mut q = sqlx::query(&sql);
        if let Some(c) = customer {
            q = q.bind(c.to_string());
        }
        let rows = q.fetch_all(db.pool()).await.map_err(StorageError::from)?;
        let mut out = rows
            .iter()
            .map(row_to_request)
            .collect::<Result<Vec<_>, _>>()?;
        for r in &mut out {
            r.details.clear();
        }
        self.audit_read(
            ctx,
            audit::REQUESTS_LISTED,
            if customer.is_some() {
                "customer"
            } else {
                "privacy_request"
            },
            customer.map(|c| c.to_string()),
            vec!["privacy_requests".into()],
        )
        .await?;
        Ok(out)
    }

    /// Moves a request; completing it fulfils it (see the module doc).
    pub async fn transition(
        &self,
        id: &str,
        t: &Transition,
        ctx: &AccessContext,
    ) -> Result<Moved, RequestError> {
        let mut req = self.load(id).await?;
        let from = req.state;
        if !check_move(from, t.to) {
            return Err(RequestError::Illegal {
                from: from.as_str(),
                to: t.to.as_str(),
            });
        }
        let customer = CustomerId::parse(&req.customer_id).ok_or(RequestError::NotFound)?;
        let db = self.store.db();
        let mut export = None;
        let mut outcome = req.outcome.clone();
        // Work that cannot share the request's transaction, done first.
        if t.to == RequestState::Completed {
            match req.kind {
                RequestKind::Access | RequestKind::Portability => {
                    let mut sections = crate::coverage::export(db, customer).await?;
                    if sections
                        .iter()
                        .all(|s| s.table != "customers" || s.rows.is_empty())
                    {
                        return Err(RequestError::CustomerGone);
                    }
                    let key = self.store.data_key(customer).await?;
                    crate::coverage::open_sealed(&mut sections, key.as_ref());
                    outcome = json!({
                        "export": {
                            "href": format!("/api/v1/customers/{customer}/export"),
                            "formats": ["json", "csv"],
                            "tables": sections.iter().filter(|s| !s.rows.is_empty()).map(|s| json!({"table": s.table, "column": s.column, "rows": s.rows.len()})).collect::<Vec<_>>(),
                            "rows": sections.iter().map(|s| s.rows.len()).sum::<usize>(),
                        }
                    });
                    export = Some(sections);
                }
                RequestKind::Erasure => {
                    let report = crate::erasure::erase(db, customer, ctx).await?;
                    outcome = json!({
                        "erasure": {
                            "already_erased": report.already_erased,
                            "key_destroyed": report.key_destroyed,
                            "tables": report.tables.iter().filter(|t| t.rows > 0).map(|t| json!({"table": t.table, "action": t.action, "rows": t.rows, "legal_basis": t.legal_basis})).collect::<Vec<_>>(),
                        }
                    });
                }
                _ => {}
            }
        }
        let at = to_db_time(now());
        let b = db.backend();
        let mut tx = db.begin_write().await?;
        if t.to == RequestState::Completed {
            match req.kind {
                RequestKind::Access | RequestKind::Portability => {
                    tx.audit(&[ctx.entry(
                        audit::SUBJECT_EXPORTED,
                        "customer",
                        Some(req.customer_id.clone()),
                        vec!["*".into()],
                        "success",
                    )])
                    .await?;
                }
                RequestKind::Restriction => {
                    outcome = self.restrict(&mut tx, &req, &at, ctx).await?;
                }
                RequestKind::Objection => {
                    outcome = self.object(&mut tx, &req, customer, t, ctx).await?;
                }
                RequestKind::Rectification => {
                    let versions: Vec<i64> = sqlx::query_scalar(&format!(
                        "SELECT version FROM customer_changes WHERE customer_id = {} AND changed_at >= {} ORDER BY version",
                        b.param(1),
                        b.param(2)
                    ))
                    .bind(&req.customer_id)
                    .bind(&req.received_at)
                    .fetch_all(tx.conn())
                    .await
                    .map_err(StorageError::from)?;
                    outcome = json!({
                        "rectification": {
                            "corrected_fields": t.corrected_fields,
                            "by": ctx.actor.id,
                            "customer": format!("/api/v1/customers/{customer}"),
                            "profile_versions_since_receipt": versions,
                        }
                    });
                }
                RequestKind::Erasure => {}
            }
        }
        if t.to == RequestState::Refused {
            outcome = json!({"refused": {"reason_given": true}});
        }
        let updated = sqlx::query(&format!(
            "UPDATE privacy_requests SET state = {}, outcome = {}, updated_at = {}, version = version + 1 WHERE id = {} AND version = {}",
            b.param(1),
            b.param(2),
            b.param(3),
            b.param(4),
            b.param(5)
        ))
        .bind(t.to.as_str())
        .bind(outcome.to_string())
        .bind(&at)
        .bind(&req.id)
        .bind(req.version)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if updated != 1 {
            return Err(RequestError::Busy);
        }
        req.state = t.to;
        Self::step(
            &mut tx,
            &req,
            from.as_str(),
            t.to.as_str(),
            &t.note,
            &at,
            ctx,
        )
        .await?;
        tx.audit(&[ctx.entry(
            audit::REQUEST_CHANGED,
            "customer",
            Some(req.customer_id.clone()),
            vec![format!("privacy_requests.{}", t.to.as_str())],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(Moved {
            request: self.load(id).await?,
            export,
        })
    }

    async fn restrict(
        &self,
        tx: &mut WriteTx,
        req: &PrivacyRequest,
        at: &str,
        ctx: &AccessContext,
    ) -> Result<Value, RequestError> {
        let b = self.store.db().backend();
        let exists = sqlx::query(&format!(
            "SELECT 1 FROM customers WHERE id = {}",
            b.param(1)
        ))
        .bind(&req.customer_id)
        .fetch_optional(tx.conn())
        .await
        .map_err(StorageError::from)?;
        if exists.is_none() {
            return Err(RequestError::CustomerGone);
        }
        let ps: Vec<String> = (1..=3).map(|n| b.param(n)).collect();
        sqlx::query(&format!(
            "INSERT INTO privacy_restrictions (customer_id, request_id, since) VALUES ({}) \
             ON CONFLICT (customer_id) DO UPDATE SET request_id = excluded.request_id, since = excluded.since, lifted_at = NULL, lifted_by = NULL",
            ps.join(", ")
        ))
        .bind(&req.customer_id)
        .bind(&req.id)
        .bind(at)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        if let Some(c) = CustomerId::parse(&req.customer_id) {
            crate::store::refresh_allowed(tx, c).await?;
        }
        tx.audit(&[ctx.entry(
            audit::PROCESSING_RESTRICTED,
            "customer",
            Some(req.customer_id.clone()),
            vec!["privacy_restrictions".into()],
            "success",
        )])
        .await?;
        let allowed: Vec<&str> = PURPOSES
            .iter()
            .filter(|p| p.required_by_law)
            .map(|p| p.code)
            .collect();
        Ok(json!({"restriction": {"since": at, "purposes_still_allowed": allowed}}))
    }

    async fn object(
        &self,
        tx: &mut WriteTx,
        req: &PrivacyRequest,
        customer: CustomerId,
        t: &Transition,
        ctx: &AccessContext,
    ) -> Result<Value, RequestError> {
        let b = self.store.db().backend();
        let withdrawn_now: Vec<(String, String)> = sqlx::query(&format!(
            "SELECT purpose, channel FROM privacy_consent_state WHERE customer_id = {} AND granted = 0",
            b.param(1)
        ))
        .bind(&req.customer_id)
        .fetch_all(tx.conn())
        .await
        .map_err(StorageError::from)?
        .iter()
        .map(|r| Ok((r.try_get("purpose")?, r.try_get("channel")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StorageError::from)?;
        let mut withdrawn = Vec::new();
        for code in &t.purposes {
            let Some(p) = purpose(code) else { continue };
            for channel in p.channels {
                if withdrawn_now
                    .iter()
                    .any(|(pp, c)| pp == p.code && c == channel)
                {
                    continue;
                }
                let change = ConsentChange {
                    purpose: p,
                    channel,
                    granted: false,
                    lawful_basis: p.bases[0],
                    notice_version: p.current_notice(),
                    source: "privacy_request",
                    proof: format!("privacy request {}", req.id),
                };
                let rec = insert_change(tx, customer, &change, ctx).await?;
                withdrawn
                    .push(json!({"purpose": p.code, "channel": channel, "consent_id": rec.id}));
            }
        }
        Ok(json!({"objection": {"purposes": t.purposes, "withdrawn": withdrawn}}))
    }

    /// Extends a request's deadline by two further months (Art. 12(3)), with the reason the
    /// person is told.
    pub async fn extend(
        &self,
        id: &str,
        reason: &str,
        ctx: &AccessContext,
    ) -> Result<PrivacyRequest, RequestError> {
        let mut req = self.load(id).await?;
        let due = NaiveDate::parse_from_str(&req.deadline, "%Y-%m-%d")
            .map_err(|_| StorageError::Corrupt("bad deadline".into()))?;
        may_extend(req.state, req.extended, due, today())?;
        let received = aloft_kernel::db::from_db_time(&req.received_at)?;
        req.deadline = extended_deadline(received).format("%Y-%m-%d").to_string();
        let at = to_db_time(now());
        let db = self.store.db();
        let b = db.backend();
        let mut tx = db.begin_write().await?;
        let updated = sqlx::query(&format!(
            "UPDATE privacy_requests SET deadline = {}, extended_at = {}, extension_reason = {}, updated_at = {}, version = version + 1 WHERE id = {} AND version = {}",
            b.param(1),
            b.param(2),
            b.param(3),
            b.param(4),
            b.param(5),
            b.param(6)
        ))
        .bind(&req.deadline)
        .bind(&at)
        .bind(reason)
        .bind(&at)
        .bind(&req.id)
        .bind(req.version)
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if updated != 1 {
            return Err(RequestError::Busy);
        }
        let state = req.state.as_str();
        Self::step(&mut tx, &req, state, "extended", reason, &at, ctx).await?;
        tx.audit(&[ctx.entry(
            audit::REQUEST_CHANGED,
            "customer",
            Some(req.customer_id.clone()),
            vec!["privacy_requests.extended".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.load(id).await
    }

    /// Lifts `customer`'s restriction of processing (Art. 18(3): the person is told first, with
    /// `reason`). The reason becomes a step of the request that restricted it, with its event
    /// (`change` = `restriction_lifted`) and audit record, in one transaction.
    pub async fn lift_restriction(
        &self,
        customer: CustomerId,
        reason: &str,
        ctx: &AccessContext,
    ) -> Result<PrivacyRequest, RequestError> {
        let db = self.store.db();
        let b = db.backend();
        let request_id: String = sqlx::query_scalar(&format!(
            "SELECT request_id FROM privacy_restrictions WHERE customer_id = {} AND lifted_at IS NULL",
            b.param(1)
        ))
        .bind(customer.to_string())
        .fetch_optional(db.pool())
        .await
        .map_err(StorageError::from)?
        .ok_or(RequestError::NotRestricted)?;
        let req = self.load(&request_id).await?;
        let at = to_db_time(now());
        let mut tx = db.begin_write().await?;
        let lifted = sqlx::query(&format!(
            "UPDATE privacy_restrictions SET lifted_at = {}, lifted_by = {} WHERE customer_id = {} AND lifted_at IS NULL",
            b.param(1),
            b.param(2),
            b.param(3)
        ))
        .bind(&at)
        .bind(&ctx.actor.id)
        .bind(customer.to_string())
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?
        .rows_affected();
        if lifted != 1 {
            return Err(RequestError::NotRestricted);
        }
        crate::store::refresh_allowed(&mut tx, customer).await?;
        Self::step(
            &mut tx,
            &req,
            req.state.as_str(),
            "restriction_lifted",
            reason,
            &at,
            ctx,
        )
        .await?;
        tx.audit(&[ctx.entry(
            audit::RESTRICTION_LIFTED,
            "customer",
            Some(customer.to_string()),
            vec!["privacy_restrictions".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.load(&request_id).await
    }

    /// Consent given and withdrawn per purpose, counted over people (the DPO console).
    pub async fn consent_stats(&self) -> Result<Vec<PurposeStats>, StorageError> {
        let rows = sqlx::query(
            "SELECT purpose, \
               COUNT(DISTINCT CASE WHEN granted = 1 THEN customer_id END) AS given, \
               COUNT(DISTINCT customer_id) AS asked \
             FROM privacy_consent_state GROUP BY purpose",
        )
        .fetch_all(self.store.db().pool())
        .await?;
        let mut out: Vec<PurposeStats> = PURPOSES
            .iter()
            .map(|p| PurposeStats {
                purpose: p.code.into(),
                given: 0,
                withdrawn: 0,
            })
            .collect();
        for r in rows {
            let code: String = r.try_get("purpose")?;
            let given: i64 = r.try_get("given")?;
            let asked: i64 = r.try_get("asked")?;
            if let Some(s) = out.iter_mut().find(|s| s.purpose == code) {
                s.given = given;
                s.withdrawn = asked - given;
            }
        }
        Ok(out)
    }
}
