//! Customer profile persistence, identical on SQLite and PostgreSQL.
//!
//! A profile is stored as its validated JSON document — sensitive fields encrypted one by one
//! under the customer's own data key (see [`crate::sealing`]) — plus derived search keys: folded
//! names in the clear for prefix search, blind indexes for exact e-mail, phone, loyalty and
//! passport look-ups (see `migrations/0002_customers.sql` and `0005_customer_encryption.sql`). Every change bumps `version` (optimistic concurrency: an
//! update names the version it read and fails if another writer got there first) and appends its
//! CloudEvent to the outbox in the same transaction.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;
use utoipa::ToSchema;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{
    AccessContext, ApiError, Auditor, Backend, CloudEvent, Database, FieldError, Statements,
    StorageError, WriteTx,
};

use std::sync::Arc;

use aloft_authz::{Principal, RowScope, ScopeGrant};

use crate::permissions;
use aloft_kernel::keys::SharedKeys;

use crate::model::{CustomerId, Profile, changed_fields, merge_patch, name_key_variants};
use crate::sealing::{Indexed, SealedFields, Vault};
use aloft_security::DataKey;

pub use crate::events::{
    CUSTOMER_CREATED, CUSTOMER_MERGED, CUSTOMER_UNMERGED, CUSTOMER_UPDATED, EVENT_SOURCE,
};

/// A stored customer profile.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Customer {
    /// Stable identifier.
    #[schema(value_type = String, format = Uuid)]
    pub id: CustomerId,
    /// Increases by one with every change; sent as the `ETag`.
    pub version: i64,
    /// When the profile was created (UTC).
    pub created_at: DateTime<Utc>,
    /// When the profile last changed (UTC).
    pub updated_at: DateTime<Utc>,
    /// The profile itself.
    #[serde(flatten)]
    pub profile: Profile,
    /// Set when this profile was merged into another (the survivor, whose id to use instead).
    /// A merged profile is kept for unmerge and lineage but no longer appears in searches.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub merged_into: Option<CustomerId>,
}

/// Why a customer operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// No customer has that id.
    #[error("customer not found")]
    NotFound,
    /// The expected version is not the current one.
    #[error("stale version")]
    StaleVersion,
    /// The resulting profile is invalid.
    #[error("invalid profile")]
    Invalid(Vec<FieldError>),
    /// A unique value (loyalty number) belongs to another customer.
    #[error("duplicate value")]
    Duplicate(FieldError),
    /// The profile was merged into another and can no longer change; change the survivor.
    #[error("customer merged into {0}")]
    Merged(CustomerId),
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<CustomerError> for ApiError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::NotFound => ApiError::NotFound("customer"),
            CustomerError::StaleVersion => ApiError::PreconditionFailed,
            CustomerError::Invalid(errs) => ApiError::Invalid(errs),
            CustomerError::Duplicate(err) => ApiError::Conflict(err),
            CustomerError::Merged(survivor) => ApiError::Conflict(FieldError::new(
                "",
                format!("this profile was merged into customer {survivor}; change that profile"),
            )),
            CustomerError::Storage(s) => s.into(),
        }
    }
}

fn duplicate_or(err: StorageError) -> CustomerError {
    match err {
        StorageError::Conflict(c) if c.contains("loyalty") => {
            CustomerError::Duplicate(FieldError::new(
                "/loyalty_number",
                "this loyalty number already belongs to another customer",
            ))
        }
        other => CustomerError::Storage(other),
    }
}

/// Filters for listing and searching. All given filters must match.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    /// Name prefix: matches first or last name, accent- and case-insensitively; two or more words
    /// match "first last" or "last first".
    pub name: Option<String>,
    /// Exact e-mail (case-insensitive).
    pub email: Option<String>,
    /// Exact phone (E.164).
    pub phone: Option<String>,
    /// Exact loyalty number.
    pub loyalty_number: Option<String>,
    /// Exact passport number.
    pub passport_number: Option<String>,
    /// Continue after this position (from a previous page).
    pub cursor: Option<Cursor>,
    /// Page size (1–100).
    pub limit: u32,
}

/// A position in a result list. Listings page by id (stable under inserts); name searches are
/// ordered alphabetically and page by offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After this id.
    After(CustomerId),
    /// Skip this many.
    Offset(u32),
}

impl Cursor {
    /// The opaque text form used in URLs.
    pub fn encode(&self) -> String {
        match self {
            Cursor::After(id) => format!("i{id}"),
            Cursor::Offset(n) => format!("o{n}"),
        }
    }

    /// Parses [`Cursor::encode`]'s output.
    pub fn decode(s: &str) -> Option<Self> {
        match s.split_at_checked(1)? {
            ("i", id) => CustomerId::parse(id).map(Cursor::After),
            ("o", n) => n.parse().ok().map(Cursor::Offset),
            _ => None,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone)]
pub struct CustomerPage {
    /// The customers on this page.
    pub items: Vec<Customer>,
    /// Where the next page starts, if there is one.
    pub next: Option<Cursor>,
}

/// Upper bound of the `name` prefix range: every string that starts with the prefix sorts below
/// prefix + U+10FFFF in byte (C/BINARY) order.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Access to customer profiles.
#[derive(Debug, Clone)]
pub struct CustomerStore {
    db: Database,
    auditor: Option<Auditor>,
    vault: Vault,
    scopes: Option<Arc<dyn RowScopes>>,
}

/// Who is reading: the rows a read may return depend on it. There is no default: every
/// listing, search and visibility check names its reader, and a request without a principal
/// sees nothing (fail-closed).
#[derive(Debug, Clone, Copy)]
pub enum Reader<'a> {
    /// The system itself: loaders, the ingest pipeline, tools. Sees every row.
    System,
    /// A signed-in or token-bearing caller, limited by their row scope.
    Principal(&'a Principal),
    /// A request that carries no principal: sees no row.
    Nobody,
}

impl<'a> Reader<'a> {
    /// The reader of an HTTP request: its principal, or nobody.
    pub fn request(principal: Option<&'a Principal>) -> Self {
        principal.map_or(Reader::Nobody, Reader::Principal)
    }
}

/// A subquery selecting the ids of the customers a row scope lets a principal see, rendered by
/// the domain that owns the data behind the scope (travel for a station's departures, access
/// and travel for a crew roster). Each `{}` in `sql` is a parameter, bound to `binds` in
/// order; the store numbers them, so the condition joins the query *before* its `LIMIT` and
/// pages hold exactly the visible rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSql {
    /// `SELECT customer_id FROM … WHERE … = {}`.
    pub sql: String,
    /// The parameters, in the order of the `{}` markers.
    pub binds: Vec<String>,
}

/// Resolves row scopes this crate cannot answer alone (it does not depend on travel or
/// access): the binary implements it over their tables.
pub trait RowScopes: Send + Sync + 'static {
    /// The customers visible under `grant` at `now`, or `None` for a kind this resolver does not
    /// know (the store then shows nothing).
    fn visible_ids(&self, grant: &ScopeGrant, now: DateTime<Utc>) -> Option<ScopeSql>;
}

impl std::fmt::Debug for dyn RowScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RowScopes")
    }
}

/// How a reader's scope limits a query.
enum Limit {
    /// Every row.
    None,
    /// No row at all.
    Nothing,
    /// Only `customers.id IN (subquery)`.
    Ids(ScopeSql),
}

const COLUMNS: &str = "id, version, profile, data_key, sealed, created_at, updated_at, merged_into";

/// Customers' data keys for the other domains that encrypt their data (travel records' free
/// text…): one key per customer covers everything about them, so destroying it erases it all.
impl aloft_kernel::keys::CustomerKeys for CustomerStore {
    fn data_keys<'a>(
        &'a self,
        customers: &'a [uuid::Uuid],
    ) -> aloft_kernel::keys::CustomerKeysFuture<'a> {
        Box::pin(async move {
            let backend = self.db.backend();
            let mut out = std::collections::HashMap::with_capacity(customers.len());
            for chunk in customers.chunks(500) {
                let params: Vec<String> = (1..=chunk.len()).map(|i| backend.param(i)).collect();
                let sql = format!(
                    "SELECT id, data_key FROM customers WHERE data_key IS NOT NULL AND id IN ({})",
                    params.join(", ")
                );
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(id.to_string());
                }
                for row in q.fetch_all(self.db.pool()).await? {
                    let id: String = row.try_get("id")?;
                    let wrapped: String = row.try_get("data_key")?;
                    let uuid = uuid::Uuid::try_parse(&id)
                        .map_err(|_| StorageError::Corrupt(format!("customer {id}: bad id")))?;
                    let key = self.vault.unwrap_data_key(&wrapped).map_err(|_| {
                        StorageError::Corrupt(format!(
                            "customer {id}: data key cannot be unwrapped"
                        ))
                    })?;
                    out.insert(uuid, key);
                }
            }
            Ok(out)
        })
    }
}

impl CustomerStore {
    /// A store over `db`, encrypting sensitive fields with the instance `keys`.
    pub fn new(db: Database, keys: impl Into<SharedKeys>) -> Self {
        Self {
            db,
            auditor: None,
            vault: Vault::new(keys),
            scopes: None,
        }
    }

    /// The same store, resolving row scopes (stations, rosters) through `scopes`.
    pub fn with_row_scopes(mut self, scopes: Arc<dyn RowScopes>) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// How `reader`'s row scope limits a query. Fail-closed: no principal, `Nothing`, an
    /// unknown kind or no resolver all mean no row.
    fn limit(&self, reader: Reader<'_>) -> Limit {
        let grant = match reader {
            Reader::System => return Limit::None,
            Reader::Nobody => return Limit::Nothing,
            Reader::Principal(p) => match &p.scope {
                RowScope::All => return Limit::None,
                RowScope::Nothing => return Limit::Nothing,
                RowScope::Only(grant) => grant,
            },
        };
        if grant.kind == permissions::OWN_RECORD {
            return Limit::Ids(ScopeSql {
                sql: "SELECT {}".into(),
                binds: vec![grant.value.clone()],
            });
        }
        match self
            .scopes
            .as_ref()
            .and_then(|s| s.visible_ids(grant, chrono::Utc::now()))
        {
            Some(sql) => Limit::Ids(sql),
            None => Limit::Nothing,
        }
    }

    /// Whether `reader` may see `customer` given their row scope: the system and unscoped roles
    /// see everyone; a check-in agent only passengers departing from their station soon; cabin
    /// crew only the passengers of their rostered flights; a passenger only themselves; a
    /// request without a principal nobody. The same condition as [`CustomerStore::search`].
    pub async fn visible(
        &self,
        reader: Reader<'_>,
        customer: CustomerId,
    ) -> Result<bool, StorageError> {
        let scope = match self.limit(reader) {
            Limit::None => return Ok(true),
            Limit::Nothing => return Ok(false),
            Limit::Ids(scope) => scope,
        };
        let mut binds = vec![customer.to_string()];
        let condition = render_scope(&scope, &mut |v| {
            binds.push(v);
            format!("${}", binds.len())
        });
        let sql = format!("SELECT 1 FROM customers WHERE id = $1 AND id IN ({condition})");
        let mut query = sqlx::query(&sql);
        for b in &binds {
            query = query.bind(b.as_str());
        }
        Ok(query.fetch_optional(self.db.pool()).await?.is_some())
    }

    /// The same store, recording reads through `auditor` (the server always does).
    pub fn with_auditor(mut self, auditor: Auditor) -> Self {
        self.auditor = Some(auditor);
        self
    }

    /// Audits that `ctx` is shown these customers (field names only), returning once the
    /// records are committed: show nothing on `Err` (no customer data leaves the server before
    /// its audit record is durable).
    pub async fn record_reads(
        &self,
        ctx: &AccessContext,
        action: aloft_kernel::audit::AuditAction,
        customers: &[Customer],
    ) -> Result<(), StorageError> {
        if let Some(auditor) = &self.auditor {
            let entries = customers
                .iter()
                .map(|c| {
                    ctx.entry(
                        action,
                        "customer",
                        Some(c.id.to_string()),
                        shown_fields(&c.profile),
                        "success",
                    )
                })
                .collect();
            auditor.record_all(entries).await?;
        }
        Ok(())
    }

    /// The database behind this store.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Creates a profile (version 1), its `aloft.customer.created` event and its audit record.
    pub async fn create(
        &self,
        profile: Profile,
        ctx: &AccessContext,
    ) -> Result<Customer, CustomerError> {
        let customer = Customer {
            id: CustomerId::generate(),
            version: 1,
            created_at: now(),
            updated_at: now(),
            profile,
            merged_into: None,
        };
        let row = StoredRow::of(&self.vault, &customer, None)?;
        let mut inserts = Statements::new(self.db.backend());
        render_inserts(&mut inserts, &[(&customer, &row)]);
        inserts.emit(&[created_event(&customer)])?;
        let mut tx = self.db.begin_write().await?;
        tx.execute(inserts).await.map_err(duplicate_or)?;
        let fields = shown_fields(&customer.profile);
        let entry = ctx.entry(
            crate::events::audit::CUSTOMER_CREATE,
            "customer",
            Some(customer.id.to_string()),
            fields,
            "success",
        );
        tx.audit(&[entry]).await?;
        tx.commit().await?;
        Ok(customer)
    }

    /// Creates many profiles in one transaction (demo data, bulk loads), each with its event; the
    /// batch is audited as one `customer.bulk_create` record by `ctx`.
    pub async fn create_many(
        &self,
        profiles: Vec<Profile>,
        ctx: &AccessContext,
    ) -> Result<Vec<CustomerId>, CustomerError> {
        let new = self.prepare_new(profiles)?;
        let mut tx = self.db.begin_write().await?;
        new.insert_in(&mut tx, ctx).await?;
        tx.commit().await?;
        Ok(new.ids().collect())
    }

    /// New profiles given their ids and sealed, to be inserted with
    /// [`NewCustomers::insert_in`] in a transaction of the caller's (the ingest pipeline
    /// creates a batch's new profiles in the transaction that records the batch). CPU only.
    pub fn prepare_new(&self, profiles: Vec<Profile>) -> Result<NewCustomers, StorageError> {
        let stamp = now();
        let customers: Vec<Customer> = profiles
            .into_iter()
            .map(|profile| Customer {
                id: CustomerId::generate(),
                version: 1,
                created_at: stamp,
                updated_at: stamp,
                profile,
                merged_into: None,
            })
            .collect();
        let rows = aloft_kernel::cpu::bound(customers.len(), || {
            customers
                .iter()
                .map(|c| StoredRow::of(&self.vault, c, None))
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(NewCustomers { customers, rows })
    }

    /// Reads one profile.
    pub async fn get(&self, id: CustomerId) -> Result<Option<Customer>, StorageError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|r| self.decode(&r).map(|(c, _)| c)).transpose()
    }

    /// Applies a JSON merge patch (RFC 7396). With `expected_version`, fails with
    /// [`CustomerError::StaleVersion`] unless it is current; without, applies on top of whatever
    /// is current (concurrent patches of different fields all survive). A patch that changes
    /// nothing writes nothing.
    pub async fn update(
        &self,
        id: CustomerId,
        expected_version: Option<i64>,
        patch: &Value,
        today: NaiveDate,
        ctx: &AccessContext,
    ) -> Result<Customer, CustomerError> {
        if !patch.is_object() {
            return Err(CustomerError::Invalid(vec![FieldError::new(
                "",
                "the body must be a JSON object (a merge patch)",
            )]));
        }
        // Take the write slot first, then read: on PostgreSQL the row is locked (`FOR UPDATE`), on
        // SQLite writers are serialised, so nobody can change the profile between our read and
        // our write and a merge patch never needs a retry.
        let mut tx = self.db.begin_write().await?;
        let row = match self.db.backend() {
            Backend::Postgres => sqlx::query(&format!(
                "SELECT {COLUMNS} FROM customers WHERE id = $1 FOR UPDATE"
            ))
            .bind(id.to_string())
            .fetch_optional(&mut *tx.conn())
            .await
            .map_err(StorageError::from)?,
            // The write transaction has not touched the database yet, so reading through the
            // pool sees the latest commit, and SQLite's first statement in `tx` is the UPDATE.
            Backend::Sqlite => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM customers WHERE id = $1"))
                    .bind(id.to_string())
                    .fetch_optional(self.db.pool())
                    .await
                    .map_err(StorageError::from)?
            }
        };
        let (current, data_key) = row
            .map(|r| self.decode(&r))
            .transpose()?
            .ok_or(CustomerError::NotFound)?;
        if let Some(survivor) = current.merged_into {
            return Err(CustomerError::Merged(survivor));
        }
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(CustomerError::StaleVersion);
        }
        let mut doc = current.profile.to_document();
        merge_patch(&mut doc, patch);
        let profile = Profile::parse(&doc, today).map_err(CustomerError::Invalid)?;
        let changed = changed_fields(&current.profile, &profile);
        if changed.is_empty() {
            return Ok(current);
        }
        let updated = Customer {
            version: current.version + 1,
            updated_at: now(),
            profile,
            ..current.clone()
        };
        write_row(
            tx.conn(),
            &self.vault,
            &updated,
            current.version,
            data_key.as_deref(),
        )
        .await?;
        let event = CloudEvent::of(&crate::events::CustomerUpdated {
            customer_id: id.to_string(),
            version: updated.version,
            changed_fields: changed.iter().map(|f| f.to_string()).collect(),
        });
        tx.emit(&event).await?;
        // The domain's change log (field names only): what unmerge reads to keep later edits.
        sqlx::query(
            "INSERT INTO customer_changes (customer_id, version, changed_fields, changed_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(updated.version)
        .bind(serde_json::to_string(&changed).unwrap_or_else(|_| "[]".into()))
        .bind(to_db_time(now()))
        .execute(tx.conn())
        .await
        .map_err(StorageError::from)?;
        let fields = changed.iter().map(|f| f.to_string()).collect();
        tx.audit(&[ctx.entry(
            crate::events::audit::CUSTOMER_UPDATE,
            "customer",
            Some(id.to_string()),
            fields,
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Lists or searches the profiles `reader` may see, one page at a time. The row scope is
    /// a condition of the query itself, applied before its `LIMIT`: a page holds exactly the
    /// visible rows, and the next page's cursor is a visible row's.
    pub async fn search(
        &self,
        q: &CustomerQuery,
        reader: Reader<'_>,
    ) -> Result<CustomerPage, StorageError> {
        let limit = q.limit.clamp(1, 100);
        let scope = match self.limit(reader) {
            Limit::None => None,
            Limit::Nothing => {
                return Ok(CustomerPage {
                    items: vec![],
                    next: None,
                });
            }
            Limit::Ids(scope) => Some(scope),
        };
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut bind = |value: String| {
            binds.push(value);
            format!("${}", binds.len())
        };
        // A row scope's visible ids, computed once per query (a check-in agent's station holds a
        // few thousand passengers; each name branch below reuses them).
        let scope_cte = scope.as_ref().map(|scope| render_scope(scope, &mut bind));
        if scope_cte.is_some() {
            // Name searches walk the name indexes in order and keep the visible rows until the
            // page is full; SQLite's `+` stops it from driving the query from the id list
            // instead, which would look up and sort every visible row for every branch.
            // Listings (ordered by id) drive from the list, which suits small scopes.
            let column = if q.name.is_some() && self.db.backend() == Backend::Sqlite {
                "+id"
            } else {
                "id"
            };
            conditions.push(format!("{column} IN (SELECT id FROM visible)"));
        }
        for (column, which, value) in [
            (
                "email_key",
                Indexed::Email,
                q.email.as_deref().map(str::to_lowercase),
            ),
            ("phone_key", Indexed::Phone, q.phone.clone()),
            ("loyalty_key", Indexed::Loyalty, q.loyalty_number.clone()),
            ("passport_key", Indexed::Passport, q.passport_number.clone()),
        ] {
            if let Some(v) = value {
                conditions.push(format!("{column} = {}", bind(self.vault.index(which, &v))));
            }
        }
        // The query's two keys (see `name_key_variants`): its ICAO fold is matched against the
        // ICAO-folded columns, its umlaut-less fold against the plain ones.
        let name = q
            .name
            .as_deref()
            .map(name_key_variants)
            .filter(|[icao, _]| !icao.is_empty());
        // Name matches in rank order; each is (condition, sort keys). See `name_branches_sql`.
        let mut ranked: Vec<(String, String)> = Vec::new();
        if let Some(keys) = &name {
            let mut range = |column: &str, prefix: &str| {
                let lo = bind(prefix.to_owned());
                let hi = bind(prefix_end(prefix));
                format!("({column} >= {lo} AND {column} < {hi})")
            };
            let spellings = [
                ("first_name_key", "last_name_key", keys[0].as_str()),
                (
                    "first_name_plain_key",
                    "last_name_plain_key",
                    keys[1].as_str(),
                ),
            ];
            let mut kinds: Vec<Vec<(String, String)>> = vec![vec![]; 4];
            for (first, last, key) in spellings {
                let by_last = format!("{last}, {first}");
                let by_first = format!("{first}, {last}");
                if let Some((head, tail)) = key.split_once(' ') {
                    let first_last = format!("{} AND {}", range(first, head), range(last, tail));
                    let last_first = format!("{} AND {}", range(last, head), range(first, tail));
                    kinds[0].push((first_last, by_last.clone()));
                    kinds[1].push((last_first, by_last.clone()));
                }
                kinds[2].push((range(last, key), by_last));
                kinds[3].push((range(first, key), by_first));
            }
            ranked = kinds.into_iter().flatten().collect();
        }
        let ordered_by_name = name.is_some();
        if !ordered_by_name {
            // Merged profiles leave every search. Name searches need no condition (a merged
            // row's name keys are empty, so no prefix range reaches it) and so stay answered
            // from the covering name indexes alone.
            conditions.push("merged_into IS NULL".into());
        }
        let mut offset = 0;
        match &q.cursor {
            Some(Cursor::After(id)) if !ordered_by_name => {
                conditions.push(format!("id > {}", bind(id.to_string())));
            }
            Some(Cursor::Offset(n)) if ordered_by_name => offset = *n,
            _ => {}
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let mut items = if ordered_by_name {
            // Two steps: order and page over the covering name indexes (keys and id only), then
            // read the few profiles of the page. Sorting whole profiles would cost 5–10× more.
            let sql = with_visible(
                &scope_cte,
                name_branches_sql(&ranked, &conditions, limit, offset),
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql);
            for b in &binds {
                query = query.bind(b.as_str());
            }
            let ids = query.fetch_all(self.db.pool()).await?;
            self.get_many(&ids).await?
        } else {
            let sql = with_visible(
                &scope_cte,
                format!(
                    "SELECT {COLUMNS} FROM customers {filter} ORDER BY id LIMIT {}",
                    limit + 1
                ),
            );
            let mut query = sqlx::query(&sql);
            for b in &binds {
                query = query.bind(b.as_str());
            }
            let rows = query.fetch_all(self.db.pool()).await?;
            rows.iter()
                .map(|r| self.decode(r).map(|(c, _)| c))
                .collect::<Result<Vec<_>, _>>()?
        };
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            Some(if ordered_by_name {
                Cursor::Offset(offset + limit)
            } else {
                Cursor::After(items[items.len() - 1].id)
            })
        } else {
            None
        };
        Ok(CustomerPage { items, next })
    }

    /// Reads many profiles by id in a few round trips (chunks of 500), in no particular order;
    /// missing ones are skipped. For lists whose row scope the caller has already applied (a
    /// manifest of the crew member's rostered flight): this read does not check scopes.
    pub async fn get_all(&self, ids: &[CustomerId]) -> Result<Vec<Customer>, StorageError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let ids: Vec<String> = chunk.iter().map(ToString::to_string).collect();
            out.extend(self.get_many(&ids).await?);
        }
        Ok(out)
    }

    /// Reads the profiles with these ids, in the order given (missing ones are skipped).
    async fn get_many(&self, ids: &[String]) -> Result<Vec<Customer>, StorageError> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let params: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM customers WHERE id IN ({})",
            params.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in ids {
            query = query.bind(id.as_str());
        }
        let mut found = query
            .fetch_all(self.db.pool())
            .await?
            .iter()
            .map(|r| self.decode(r).map(|(c, _)| c))
            .collect::<Result<Vec<_>, _>>()?;
        let position = |c: &Customer| ids.iter().position(|i| *i == c.id.to_string());
        found.sort_by_key(position);
        Ok(found)
    }

    /// The blind index of an e-mail address as profiles store it (`None` if it is not one).
    pub fn email_blind_index(&self, email: &str) -> Option<String> {
        crate::model::EmailAddress::parse(email)
            .ok()
            .map(|e| self.vault.index(Indexed::Email, &e.key()))
    }

    /// The customer holding this loyalty number **and** this e-mail address (self-service
    /// registration proves ownership with both).
    pub async fn find_by_loyalty_and_email(
        &self,
        loyalty_number: &str,
        email: &str,
    ) -> Result<Option<CustomerId>, StorageError> {
        let (Ok(loyalty), Ok(email)) = (
            crate::model::LoyaltyNumber::parse(loyalty_number),
            crate::model::EmailAddress::parse(email),
        ) else {
            return Ok(None);
        };
        let page = self
            .search(
                &CustomerQuery {
                    loyalty_number: Some(loyalty.as_str().to_owned()),
                    email: Some(email.key()),
                    limit: 2,
                    ..CustomerQuery::default()
                },
                Reader::System,
            )
            .await?;
        Ok(match page.items.as_slice() {
            [one] => Some(one.id),
            _ => None,
        })
    }

    /// How many profiles exist.
    pub async fn count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM customers")
            .fetch_one(self.db.pool())
            .await?)
    }

    /// Some customer ids (for benchmarks and demos), in id order.
    pub async fn sample_ids(&self, limit: i64) -> Result<Vec<CustomerId>, StorageError> {
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM customers ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        ids.iter()
            .map(|s| {
                CustomerId::parse(s).ok_or_else(|| StorageError::Corrupt(format!("bad id {s}")))
            })
            .collect()
    }
}

/// The id query of a name search: the best kinds of match first ("first last" or "last first" for
/// two words, then last-name prefix, then first-name prefix), alphabetical within each kind.
///
/// Each kind is a branch that excludes the earlier kinds, reads one covering index in its own
/// order and stops after `offset + limit + 1` rows, so a page costs O(page) however many people
/// share a common prefix. (One `OR` of ranges sorted as a whole costs O(matches), and tempts
/// PostgreSQL to walk an entire index.)
/// `sql` with the row scope's visible ids as a materialised `visible(id)` (computed once per
/// query), when there is a scope.
fn with_visible(scope: &Option<String>, sql: String) -> String {
    match scope {
        Some(ids) => format!("WITH visible(id) AS MATERIALIZED ({ids}) {sql}"),
        None => sql,
    }
}

/// The scope's subquery with its `{}` markers replaced by numbered parameters from `bind`.
fn render_scope(scope: &ScopeSql, bind: &mut impl FnMut(String) -> String) -> String {
    let mut out = String::with_capacity(scope.sql.len() + 16);
    let mut values = scope.binds.iter();
    let mut pieces = scope.sql.split("{}");
    if let Some(first) = pieces.next() {
        out.push_str(first);
    }
    for piece in pieces {
        out.push_str(&bind(values.next().cloned().unwrap_or_default()));
        out.push_str(piece);
    }
    out
}

fn name_branches_sql(
    ranked: &[(String, String)],
    common: &[String],
    limit: u32,
    offset: u32,
) -> String {
    let take = offset + limit + 1;
    let common: String = common.iter().map(|c| format!(" AND {c}")).collect();
    let branches: Vec<String> = ranked
        .iter()
        .enumerate()
        .map(|(rank, (condition, order))| {
            let earlier: String = ranked[..rank].iter().map(|(c, _)| format!(" AND NOT ({c})")).collect();
            let (key1, key2) = order.split_once(", ").unwrap_or((order.as_str(), order.as_str()));
            format!(
                "SELECT * FROM (SELECT id, {rank} AS match_rank, {key1} AS key1, {key2} AS key2 FROM customers \
                 WHERE {condition}{earlier}{common} ORDER BY {order}, id LIMIT {take}) AS branch{rank}"
            )
        })
        .collect();
    format!(
        "SELECT id FROM ({}) AS matches ORDER BY match_rank, key1, key2, id LIMIT {} OFFSET {offset}",
        branches.join(" UNION ALL "),
        limit + 1
    )
}

/// The names of the fields a profile holds (what a reader was shown).
fn shown_fields(p: &Profile) -> Vec<String> {
    match p.to_document() {
        Value::Object(m) => m.keys().cloned().collect(),
        _ => vec![],
    }
}

fn created_event(c: &Customer) -> CloudEvent {
    CloudEvent::of(&crate::events::CustomerCreated {
        customer_id: c.id.to_string(),
        version: c.version,
    })
}

/// New profiles ready to insert ([`CustomerStore::prepare_new`]): ids given, sensitive fields
/// sealed under fresh data keys, search keys computed.
pub struct NewCustomers {
    customers: Vec<Customer>,
    rows: Vec<StoredRow>,
}

impl std::fmt::Debug for NewCustomers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCustomers")
            .field("count", &self.customers.len())
            .finish_non_exhaustive()
    }
}

impl NewCustomers {
    /// Their ids, in the order the profiles were given.
    pub fn ids(&self) -> impl Iterator<Item = CustomerId> + '_ {
        self.customers.iter().map(|c| c.id)
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Their unwrapped data keys, for sealing their other data before they are stored.
    pub fn data_keys(&self) -> impl Iterator<Item = (CustomerId, &DataKey)> + '_ {
        self.customers
            .iter()
            .zip(&self.rows)
            .map(|(c, r)| (c.id, &r.data_key))
    }

    /// Inserts them in `tx` with their `aloft.customer.created` events and one
    /// `customer.bulk_create` audit record. A loyalty number another profile holds fails with
    /// [`CustomerError::Duplicate`] (and the caller's transaction with it).
    pub async fn insert_in(
        &self,
        tx: &mut WriteTx,
        ctx: &AccessContext,
    ) -> Result<(), CustomerError> {
        let mut inserts = Statements::new(Backend::of(tx.conn()));
        self.render(&mut inserts, ctx)?;
        tx.execute(inserts).await.map_err(duplicate_or)
    }

    /// Renders what [`NewCustomers::insert_in`] writes, to execute in a transaction later (see
    /// [`Statements`]). A loyalty number another profile holds makes the execution fail with
    /// [`StorageError::Conflict`] naming the loyalty key.
    pub fn render(&self, into: &mut Statements, ctx: &AccessContext) -> Result<(), StorageError> {
        if self.customers.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&Customer, &StoredRow)> = self.customers.iter().zip(&self.rows).collect();
        render_inserts(into, &rows);
        let events: Vec<CloudEvent> = self.customers.iter().map(created_event).collect();
        into.emit(&events)?;
        into.audit([ctx.entry(
            crate::events::audit::CUSTOMER_BULK_CREATE,
            "customer",
            None,
            vec![],
            "success",
        )]);
        Ok(())
    }
}

/// A customer as stored: the plain part of the document, the sealed sensitive fields and the
/// search keys (blind indexes for the exact ones).
struct StoredRow {
    profile: String,
    sealed: SealedFields,
    keys: crate::model::SearchKeys,
    /// The unwrapped data key `sealed` was sealed under.
    data_key: DataKey,
}

impl StoredRow {
    fn of(vault: &Vault, c: &Customer, data_key: Option<&str>) -> Result<Self, StorageError> {
        let id = c.id.to_string();
        let mut doc = c.profile.to_document();
        let (sealed, data_key) = vault
            .seal_keeping_key(&id, &mut doc, data_key)
            .map_err(|e| StorageError::Corrupt(format!("customer {id}: cannot seal: {e}")))?;
        let mut keys = c.profile.search_keys();
        keys.email = keys.email.map(|v| vault.index(Indexed::Email, &v));
        keys.phone = keys.phone.map(|v| vault.index(Indexed::Phone, &v));
        keys.loyalty = keys.loyalty.map(|v| vault.index(Indexed::Loyalty, &v));
        keys.passport = keys.passport.map(|v| vault.index(Indexed::Passport, &v));
        Ok(Self {
            profile: doc.to_string(),
            sealed,
            keys,
            data_key,
        })
    }
}

/// Writes `updated` over the row at `expected_version` (search keys recomputed, sealed fields
/// re-sealed under the existing data key).
async fn write_row(
    conn: &mut sqlx::AnyConnection,
    vault: &Vault,
    updated: &Customer,
    expected_version: i64,
    data_key: Option<&str>,
) -> Result<(), CustomerError> {
    let stored = StoredRow::of(vault, updated, data_key)?;
    let done = sqlx::query(
        "UPDATE customers SET version = $1, profile = $2, first_name_key = $3, last_name_key = $4, \
         email_key = $5, phone_key = $6, loyalty_key = $7, passport_key = $8, updated_at = $9, \
         data_key = $12, sealed = $13, merged_into = $14, first_name_plain_key = $15, \
         last_name_plain_key = $16 WHERE id = $10 AND version = $11",
    )
    .bind(updated.version)
    .bind(stored.profile)
    .bind(stored.keys.first_name)
    .bind(stored.keys.last_name)
    .bind(stored.keys.email)
    .bind(stored.keys.phone)
    .bind(stored.keys.loyalty)
    .bind(stored.keys.passport)
    .bind(to_db_time(updated.updated_at))
    .bind(updated.id.to_string())
    .bind(expected_version)
    .bind(stored.sealed.data_key)
    .bind(stored.sealed.fields)
    .bind(updated.merged_into.map(|m| m.to_string()))
    .bind(stored.keys.first_name_plain)
    .bind(stored.keys.last_name_plain)
    .execute(&mut *conn)
    .await
    .map_err(|e| duplicate_or(e.into()))?;
    if done.rows_affected() == 0 {
        // Cannot happen while the write slot is held; refuse rather than overwrite blindly.
        return Err(CustomerError::StaleVersion);
    }
    Ok(())
}

/// Inserts new customers, many rows per statement.
/// Renders the inserts of new rows, many per statement.
fn render_inserts(into: &mut Statements, rows: &[(&Customer, &StoredRow)]) {
    into.insert(
        "INSERT INTO customers (id, version, profile, first_name_key, last_name_key, email_key, phone_key, \
         loyalty_key, passport_key, created_at, updated_at, data_key, sealed, first_name_plain_key, \
         last_name_plain_key) VALUES ",
        "",
        15,
        100,
        rows,
        |v, (c, stored)| {
            v.bind(c.id.to_string())
                .bind(c.version)
                .bind(stored.profile.clone())
                .bind(stored.keys.first_name.clone())
                .bind(stored.keys.last_name.clone())
                .bind(stored.keys.email.clone())
                .bind(stored.keys.phone.clone())
                .bind(stored.keys.loyalty.clone())
                .bind(stored.keys.passport.clone())
                .bind(to_db_time(c.created_at))
                .bind(to_db_time(c.updated_at))
                .bind(stored.sealed.data_key.clone())
                .bind(stored.sealed.fields.clone())
                .bind(stored.keys.first_name_plain.clone())
                .bind(stored.keys.last_name_plain.clone());
        },
    );
}

impl CustomerStore {
    /// Decodes a row, decrypting its sealed fields; also returns its wrapped data key (to reuse
    /// on update). Rows from before encryption (no data key) are read as they are until
    /// [`CustomerStore::seal_plaintext_rows`] converts them.
    fn decode(&self, row: &AnyRow) -> Result<(Customer, Option<String>), StorageError> {
        let id: String = row.try_get("id")?;
        let data_key: Option<String> = row.try_get("data_key")?;
        let profile = self.open_profile(
            &id,
            &row.try_get::<String, _>("profile")?,
            data_key.as_deref(),
            row.try_get::<Option<String>, _>("sealed")?,
        )?;
        Ok((
            Customer {
                id: CustomerId::parse(&id)
                    .ok_or_else(|| StorageError::Corrupt(format!("bad id {id}")))?,
                version: row.try_get("version")?,
                created_at: from_db_time(&row.try_get::<String, _>("created_at")?)?,
                updated_at: from_db_time(&row.try_get::<String, _>("updated_at")?)?,
                profile,
                merged_into: match row.try_get::<Option<String>, _>("merged_into")? {
                    Some(s) => Some(CustomerId::parse(&s).ok_or_else(|| {
                        StorageError::Corrupt(format!("customer {id}: bad merged_into"))
                    })?),
                    None => None,
                },
            },
            data_key,
        ))
    }

    /// The profile of stored columns: the plain document `doc` and, under the wrapped
    /// `data_key`, its `sealed` fields.
    fn open_profile(
        &self,
        id: &str,
        doc: &str,
        data_key: Option<&str>,
        sealed: Option<String>,
    ) -> Result<Profile, StorageError> {
        let mut doc: Value = serde_json::from_str(doc)
            .map_err(|e| StorageError::Corrupt(format!("customer {id}: {e}")))?;
        if let Some(key) = data_key {
            let sealed = SealedFields {
                data_key: key.to_owned(),
                fields: sealed.unwrap_or_else(|| "{}".into()),
            };
            self.vault.open(id, &mut doc, &sealed).map_err(|e| {
                StorageError::Corrupt(format!("customer {id}: sealed fields do not open: {e}"))
            })?;
        }
        // Stored documents were validated on the way in; parse again so the type guarantees hold.
        // The date bound is far in the future so that no stored date of birth can fail it.
        let far = NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        Profile::parse(&doc, far).map_err(|errs| {
            StorageError::Corrupt(format!("customer {id}: {} invalid fields", errs.len()))
        })
    }

    /// Re-wraps customers' data keys under the current master key (the per-customer step of a
    /// master-key rotation; the data itself is not re-encrypted). Compare-and-set per row, so a
    /// concurrent update is never overwritten. Returns how many keys were re-wrapped.
    pub async fn rewrap_data_keys(&self) -> Result<u64, StorageError> {
        let mut done = 0u64;
        let current = format!("{}:%", self.vault.current_master_id());
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, data_key FROM customers WHERE data_key IS NOT NULL AND data_key NOT LIKE $1 \
                 ORDER BY id LIMIT 500",
            )
            .bind(&current)
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut tx = self.db.begin_write().await?;
            for (id, key) in &rows {
                let Some(fresh) = self.vault.rewrap(key).map_err(|e| {
                    StorageError::Corrupt(format!("customer {id}: cannot re-wrap: {e}"))
                })?
                else {
                    continue;
                };
                sqlx::query("UPDATE customers SET data_key = $1 WHERE id = $2 AND data_key = $3")
                    .bind(fresh)
                    .bind(id)
                    .bind(key)
                    .execute(&mut *tx.conn())
                    .await?;
            }
            tx.commit().await?;
            done += rows.len() as u64;
        }
    }

    /// Converts the rows written by earlier versions, at start-up, in batches; idempotent.
    /// Encrypts the rows written before encryption at rest existed (no data key yet) and
    /// replaces their plaintext search keys with blind indexes; then gives rows written before
    /// migration 0022 their name keys as they are derived now (see
    /// [`CustomerStore::derive_name_keys`]). Returns how many conversions it made.
    pub async fn seal_plaintext_rows(&self) -> Result<u64, StorageError> {
        let mut done = 0;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM customers WHERE data_key IS NULL LIMIT 500"
            ))
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(done + self.derive_name_keys().await?);
            }
            let mut tx = self.db.begin_write().await?;
            for row in &rows {
                let (c, _) = self.decode(row)?;
                let stored = StoredRow::of(&self.vault, &c, None)?;
                sqlx::query(
                    "UPDATE customers SET profile = $1, email_key = $2, phone_key = $3, loyalty_key = $4, \
                     passport_key = $5, data_key = $6, sealed = $7 WHERE id = $8 AND data_key IS NULL",
                )
                .bind(stored.profile)
                .bind(stored.keys.email)
                .bind(stored.keys.phone)
                .bind(stored.keys.loyalty)
                .bind(stored.keys.passport)
                .bind(stored.sealed.data_key)
                .bind(stored.sealed.fields)
                .bind(c.id.to_string())
                .execute(&mut *tx.conn())
                .await?;
            }
            tx.commit().await?;
            done += rows.len() as u64;
        }
    }
}

impl CustomerStore {
    /// Re-derives both name keys (ICAO fold and umlaut-less fold, `name_key_variants`) of the
    /// rows that have no umlaut-less key yet — those written before migration 0022, whose
    /// first/last name keys were folded by the previous rule (umlauts dropped, punctuation
    /// kept). Merged rows keep empty keys. Batched; a row updated meanwhile already has its keys
    /// and is left alone. Returns how many rows it re-keyed.
    pub async fn derive_name_keys(&self) -> Result<u64, StorageError> {
        let mut done = 0;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM customers WHERE last_name_plain_key IS NULL ORDER BY id LIMIT 500"
            ))
            .fetch_all(self.db.pool())
            .await?;
            if rows.is_empty() {
                return Ok(done);
            }
            let mut tx = self.db.begin_write().await?;
            for row in &rows {
                let (c, _) = self.decode(row)?;
                let keys = match c.merged_into {
                    Some(_) => [String::new(), String::new(), String::new(), String::new()],
                    None => {
                        let k = c.profile.search_keys();
                        [
                            k.first_name,
                            k.last_name,
                            k.first_name_plain,
                            k.last_name_plain,
                        ]
                    }
                };
                let [first, last, first_plain, last_plain] = keys;
                sqlx::query(
                    "UPDATE customers SET first_name_key = $1, last_name_key = $2, \
                     first_name_plain_key = $3, last_name_plain_key = $4 \
                     WHERE id = $5 AND last_name_plain_key IS NULL",
                )
                .bind(first)
                .bind(last)
                .bind(first_plain)
                .bind(last_plain)
                .bind(c.id.to_string())
                .execute(&mut *tx.conn())
                .await?;
            }
            tx.commit().await?;
            done += rows.len() as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let id = CustomerId::generate();
        for c in [Cursor::After(id), Cursor::Offset(150)] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::decode("x1"), None);
        assert_eq!(Cursor::decode(""), None);
    }

    #[test]
    fn prefix_range_contains_every_extension() {
        let end = prefix_end("mul");
        for s in ["mul", "muller", "mulzzz", "mul\u{10FFFE}"] {
            assert!(s >= "mul" && s < end.as_str(), "{s}");
        }
        assert!("mum" >= end.as_str());
    }
}

/// A profile row read inside a write transaction, for a merge or an unmerge
/// (`aloft_ingest::merge`): the customer, its wrapped data key and its stored profile columns
/// (the lineage keeps those as the snapshot unmerge restores).
#[derive(Debug, Clone)]
pub struct LockedCustomer {
    /// The decoded profile.
    pub customer: Customer,
    data_key: Option<String>,
    /// The stored `profile` column (the plain part of the document).
    pub stored_profile: String,
    /// The stored `sealed` column (the sensitive fields, encrypted under the data key).
    pub stored_sealed: Option<String>,
}

/// Merging and unmerging profiles. These run inside the caller's transaction and emit no
/// events or audit records of their own: the merge emits `aloft.customer.merged` /
/// `aloft.customer.unmerged` for the whole operation.
impl CustomerStore {
    /// Reads a profile inside `tx`, locking it (PostgreSQL `FOR UPDATE`; SQLite writers are
    /// serialised by the write slot).
    pub async fn lock(
        &self,
        tx: &mut WriteTx,
        id: CustomerId,
    ) -> Result<Option<LockedCustomer>, StorageError> {
        let lock = match self.db.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM customers WHERE id = $1{lock}"
        ))
        .bind(id.to_string())
        .fetch_optional(&mut *tx.conn())
        .await?;
        row.map(|r| {
            let (customer, data_key) = self.decode(&r)?;
            Ok(LockedCustomer {
                customer,
                data_key,
                stored_profile: r.try_get("profile")?,
                stored_sealed: r.try_get("sealed")?,
            })
        })
        .transpose()
    }

    /// Writes `profile` as the next version of a locked profile, which then stands on its own
    /// (`merged_into` cleared).
    pub async fn replace_profile(
        &self,
        tx: &mut WriteTx,
        locked: &LockedCustomer,
        profile: Profile,
    ) -> Result<Customer, CustomerError> {
        let updated = Customer {
            version: locked.customer.version + 1,
            updated_at: now(),
            profile,
            merged_into: None,
            ..locked.customer.clone()
        };
        let key = locked.data_key.as_deref();
        write_row(
            tx.conn(),
            &self.vault,
            &updated,
            locked.customer.version,
            key,
        )
        .await?;
        Ok(updated)
    }

    /// Marks a locked profile as merged into `survivor`: its search keys are cleared (it leaves
    /// every search and frees its loyalty number for the survivor); its profile is kept as is.
    pub async fn mark_merged(
        &self,
        tx: &mut WriteTx,
        absorbed: &LockedCustomer,
        survivor: CustomerId,
    ) -> Result<Customer, CustomerError> {
        let c = &absorbed.customer;
        let done = sqlx::query(
            "UPDATE customers SET merged_into = $1, first_name_key = '', last_name_key = '', \
             first_name_plain_key = '', last_name_plain_key = '', \
             email_key = NULL, phone_key = NULL, loyalty_key = NULL, passport_key = NULL, \
             version = $2, updated_at = $3 WHERE id = $4 AND version = $5 AND merged_into IS NULL",
        )
        .bind(survivor.to_string())
        .bind(c.version + 1)
        .bind(to_db_time(now()))
        .bind(c.id.to_string())
        .bind(c.version)
        .execute(&mut *tx.conn())
        .await
        .map_err(StorageError::from)?;
        if done.rows_affected() == 0 {
            return Err(CustomerError::StaleVersion);
        }
        Ok(Customer {
            version: c.version + 1,
            merged_into: Some(survivor),
            ..c.clone()
        })
    }

    /// Undoes [`CustomerStore::mark_merged`]: the profile stands on its own again, findable
    /// under its own keys (a loyalty number now held by someone else is a conflict).
    pub async fn release(
        &self,
        tx: &mut WriteTx,
        absorbed: &LockedCustomer,
    ) -> Result<Customer, CustomerError> {
        // The next version of the same profile, `merged_into` cleared and search keys rebuilt.
        self.replace_profile(tx, absorbed, absorbed.customer.profile.clone())
            .await
    }

    /// The profile a lineage snapshot holds (stored `profile` and `sealed` columns of `locked`
    /// taken earlier), decrypted with the customer's data key.
    pub fn open_snapshot(
        &self,
        locked: &LockedCustomer,
        stored_profile: &str,
        stored_sealed: Option<&str>,
    ) -> Result<Profile, StorageError> {
        self.open_profile(
            &locked.customer.id.to_string(),
            stored_profile,
            locked.data_key.as_deref(),
            stored_sealed.map(str::to_owned),
        )
    }
}
