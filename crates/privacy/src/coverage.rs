//! Where personal data about one customer lives: every table that refers to a customer, listed
//! once ([`PERSONAL_TABLES`]) with its data category, the domain it comes from, and what an
//! erasure does to it. The subject access export reads exactly these tables; a test compares the
//! list with the live schema, so a migration adding a `customer_id` column that this list does
//! not cover fails the build's tests instead of silently escaping export and erasure.
//!
//! Some tables hold the person's words without a customer column: they are reached through
//! another key ([`PersonalTable::via`]) — a case's timeline (`case_entries`, the description
//! and every message) through the person's cases, the e-mails sent to them (`mail_messages`)
//! through the idempotency keys their cases, payments and account use, and events (`outbox`,
//! `webhook_deliveries`) through their id in the payload. The schema test cannot find these by
//! a column name, so the canary test (crates/aloft/tests/privacy.rs) is what holds them
//! covered: it writes a distinct word everywhere through the real APIs, erases, and scans every
//! column of every table.

use aloft_kernel::keys::open_fields;
use aloft_kernel::{Backend, Database, StorageError};
use aloft_security::{DataKey, decrypt_text};
use aloft_vocab::CustomerId;
use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::{Column, Row, TypeInfo};
use utoipa::ToSchema;

/// What an erasure does to a table's rows about the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum OnErasure {
    /// The rows are deleted.
    Delete,
    /// The rows stay with the person's values removed or crypto-shredded, because another law
    /// requires the record (`legal_basis` says which).
    Pseudonymise {
        /// The law that requires keeping the record.
        legal_basis: &'static str,
        /// Text columns emptied (the rest holds ids, codes, amounts and instants).
        clear: &'static [&'static str],
        /// Columns set back to an SQL literal instead of emptied (a JSON column that must
        /// stay valid JSON: `("detail", "'{}'")`).
        reset: &'static [(&'static str, &'static str)],
    },
    /// The rows stay as they are: they hold ids and codes only (the audit trail).
    KeepIdsOnly,
}

/// One table holding data about a customer.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PersonalTable {
    /// The table.
    pub table: &'static str,
    /// The column holding the customer's id.
    pub column: &'static str,
    /// An extra SQL condition on the table (`resource_type = 'customer'`), if any.
    pub condition: Option<&'static str>,
    /// For rows without a customer column: the SQL condition that finds the person's rows
    /// through another key, `{p}` standing for the customer's id (bound at each occurrence);
    /// `column` then names the column the condition goes through. `None`: `column = {p}`.
    pub via: Option<&'static str>,
    /// The data category (records of processing).
    pub category: &'static str,
    /// The domain the data comes from (the export's "source").
    pub source: &'static str,
    /// What erasure does.
    pub on_erasure: OnErasure,
}

const fn t(
    table: &'static str,
    column: &'static str,
    category: &'static str,
    source: &'static str,
    on_erasure: OnErasure,
) -> PersonalTable {
    PersonalTable {
        table,
        column,
        condition: None,
        via: None,
        category,
        source,
        on_erasure,
    }
}

/// Every table that refers to a customer. Tables of domains not yet migrated in a database are
/// skipped at run time (the list names them ahead of their migrations).
pub const PERSONAL_TABLES: &[PersonalTable] = &[
    t(
        "customers",
        "id",
        "identity, contact details, documents, preferences",
        "customers",
        OnErasure::Delete,
    ),
    t(
        "customers",
        "merged_into",
        "profiles merged into this one (the same person)",
        "customers",
        OnErasure::Delete,
    ),
    t(
        "customer_changes",
        "customer_id",
        "profile change history",
        "customers",
        OnErasure::Delete,
    ),
    t(
        "passenger_accounts",
        "customer_id",
        "self-service account",
        "access",
        OnErasure::Delete,
    ),
    t(
        "travel_records",
        "customer_id",
        "bookings, flights, bags, purchases, interactions",
        "travel, ingest",
        OnErasure::Delete,
    ),
    t(
        "timeline",
        "customer_id",
        "customer timeline",
        "travel",
        OnErasure::Delete,
    ),
    t(
        "identity_links",
        "customer_id",
        "source system identifiers",
        "ingest",
        OnErasure::Delete,
    ),
    t(
        "identity_review",
        "customer_id",
        "duplicate review",
        "ingest",
        OnErasure::Delete,
    ),
    t(
        "identity_review",
        "candidate_customer_id",
        "duplicate review",
        "ingest",
        OnErasure::Delete,
    ),
    t(
        "identity_merges",
        "survivor_id",
        "profile merges",
        "ingest",
        OnErasure::Delete,
    ),
    t(
        "identity_merges",
        "absorbed_id",
        "profile merges",
        "ingest",
        OnErasure::Delete,
    ),
    t(
        "departure_checkins",
        "customer_id",
        "check-ins",
        "departure",
        OnErasure::Delete,
    ),
    t(
        "cases",
        "customer_id",
        "complaints and service cases",
        "cases",
        OnErasure::Pseudonymise {
            legal_basis: "limitation periods for claims (e.g. EU261 claims, national civil codes): closed cases kept 6 years",
            clear: &["subject", "description", "booking_reference"],
            reset: &[],
        },
    ),
    t(
        "compensation_proposals",
        "customer_id",
        "compensation payments",
        "compensation",
        OnErasure::Pseudonymise {
            legal_basis: "commercial and tax record keeping (e.g. HGB § 257, AO § 147): payments kept 10 years",
            clear: &["record_locator"],
            reset: &[],
        },
    ),
    t(
        "compensation_goodwill_facts",
        "customer_id",
        "what was known of a disrupted passenger when goodwill was decided",
        "compensation",
        OnErasure::Delete,
    ),
    t(
        "compensation_goodwill_awards",
        "customer_id",
        "goodwill given (vouchers, miles, amounts)",
        "compensation",
        OnErasure::Pseudonymise {
            legal_basis: "commercial and tax record keeping (e.g. HGB § 257, AO § 147): benefits given kept 10 years",
            clear: &[],
            reset: &[],
        },
    ),
    t(
        "analytics_customer_facts",
        "customer_id",
        "derived profile facts for segments",
        "analytics",
        OnErasure::Delete,
    ),
    t(
        "insights_texts",
        "customer_id",
        "sentiment and topics of the person's texts (no words kept), for dashboards",
        "insights",
        OnErasure::Delete,
    ),
    t(
        "insights_flights",
        "customer_id",
        "flights flown, cancelled or delayed, for dashboards",
        "insights",
        OnErasure::Delete,
    ),
    t(
        "insights_sales",
        "customer_id",
        "purchases by route and category, for dashboards",
        "insights",
        OnErasure::Delete,
    ),
    t(
        "analytics_customer_routes",
        "customer_id",
        "derived travel patterns",
        "analytics",
        OnErasure::Delete,
    ),
    t(
        "analytics_customer_airports",
        "customer_id",
        "derived travel patterns",
        "analytics",
        OnErasure::Delete,
    ),
    t(
        "analytics_segment_members",
        "customer_id",
        "segment membership",
        "analytics",
        OnErasure::Delete,
    ),
    t(
        "analytics_offers",
        "customer_id",
        "offers made (next best action) and their outcome",
        "analytics",
        OnErasure::Delete,
    ),
    // Ids and codes only; the row keeps a retried disruption job from opening a case again.
    t(
        "case_disruption_passengers",
        "customer_id",
        "disruption handling (which case a disruption opened)",
        "cases",
        OnErasure::KeepIdsOnly,
    ),
    t(
        "privacy_consents",
        "customer_id",
        "consent history",
        "privacy",
        OnErasure::Pseudonymise {
            legal_basis: "GDPR Art. 7(1): proof that consent was given; proof text removed",
            clear: &["proof"],
            reset: &[],
        },
    ),
    t(
        "privacy_consent_state",
        "customer_id",
        "current consents",
        "privacy",
        OnErasure::Delete,
    ),
    t(
        "privacy_requests",
        "customer_id",
        "data-subject requests",
        "privacy",
        OnErasure::Pseudonymise {
            legal_basis: "GDPR Art. 5(2), 12: accountability — proof each request was answered in time; what the person wrote removed",
            clear: &["details"],
            reset: &[],
        },
    ),
    t(
        "privacy_request_steps",
        "customer_id",
        "data-subject request handling",
        "privacy",
        OnErasure::Pseudonymise {
            legal_basis: "GDPR Art. 5(2), 12: accountability — who handled each request and when; notes removed",
            clear: &["note"],
            reset: &[],
        },
    ),
    t(
        "privacy_restrictions",
        "customer_id",
        "restriction of processing",
        "privacy",
        OnErasure::Delete,
    ),
    t(
        "privacy_holds",
        "customer_id",
        "legal holds",
        "privacy",
        OnErasure::Pseudonymise {
            legal_basis: "GDPR Art. 5(2): accountability — that a hold was placed and lifted, by whom and when; reasons removed",
            clear: &["reason", "reference", "lift_reason"],
            reset: &[],
        },
    ),
    PersonalTable {
        table: "audit_log",
        column: "resource_id",
        condition: Some("resource_type = 'customer'"),
        via: None,
        category: "access log",
        source: "audit trail",
        on_erasure: OnErasure::KeepIdsOnly,
    },
    // The erasure's own event stays: downstream copies learn of the erasure from it.
    PersonalTable {
        table: "outbox",
        column: "subject",
        condition: Some("event_type <> 'aloft.customer.erased'"),
        via: None,
        category: "events published about the customer",
        source: "events",
        on_erasure: OnErasure::Delete,
    },
    // Reached through another key (`via`). Last in the list, so erasure (which runs the list
    // backwards) handles them while the rows they are found through still say whose they are.
    PersonalTable {
        table: "case_entries",
        column: "case_id",
        condition: None,
        via: Some("case_id IN (SELECT id FROM cases WHERE customer_id = {p})"),
        category: "case timeline: the description and every message of the person's cases",
        source: "cases",
        on_erasure: OnErasure::Pseudonymise {
            legal_basis: "limitation periods for claims (e.g. EU261 claims, national civil codes): the case's steps (who, when, which state) kept with the case; texts removed",
            clear: &["body"],
            reset: &[("detail", "'{}'")],
        },
    },
    PersonalTable {
        table: "mail_messages",
        column: "idempotency_key",
        condition: None,
        via: Some("{person_mail_keys}"),
        category: "e-mails sent to the person about their cases and compensation",
        source: "mail (cases, compensation)",
        on_erasure: OnErasure::Delete,
    },
    PersonalTable {
        table: "mail_messages",
        column: "idempotency_key",
        condition: None,
        via: Some(
            "idempotency_key LIKE 'passenger-verify:%' AND EXISTS (SELECT 1 FROM passenger_accounts a \
             WHERE a.customer_id = {p} AND mail_messages.idempotency_key LIKE 'passenger-verify:' || a.id || ':%')",
        ),
        category: "e-mails verifying the person's self-service address",
        source: "mail (access)",
        on_erasure: OnErasure::Delete,
    },
    PersonalTable {
        table: "passenger_sessions",
        column: "account_id",
        condition: None,
        via: Some("account_id IN (SELECT id FROM passenger_accounts WHERE customer_id = {p})"),
        category: "self-service sign-in sessions",
        source: "access",
        on_erasure: OnErasure::Delete,
    },
    // Events about the person under another subject (their cases, proposals, merges): every
    // Aloft event names the customer in its payload. The erasure's own event stays.
    PersonalTable {
        table: "outbox",
        column: "payload",
        condition: Some("event_type <> 'aloft.customer.erased'"),
        via: Some(
            "COALESCE(subject, '') <> {p} AND (payload LIKE '%' || {p} || '%' \
             OR subject IN (SELECT id FROM cases WHERE customer_id = {p}))",
        ),
        category: "events published about the person's cases, payments and profile",
        source: "events",
        on_erasure: OnErasure::Delete,
    },
    PersonalTable {
        table: "webhook_deliveries",
        column: "payload",
        condition: Some("event_type <> 'aloft.customer.erased'"),
        via: Some(
            "(payload LIKE '%' || {p} || '%' OR EXISTS (SELECT 1 FROM cases c \
             WHERE c.customer_id = {p} AND webhook_deliveries.payload LIKE '%' || c.id || '%'))",
        ),
        category: "events about the person delivered to webhook receivers",
        source: "webhooks",
        on_erasure: OnErasure::Delete,
    },
];

/// The idempotency keys of the e-mails sent about the cases `cases_where` selects (an SQL
/// condition on `cases`, its columns qualified where another table has them too): the key
/// formats of `aloft_cases` (`case-opened:{case}`, `case-closed:{case}`,
/// `case-status:{case}:{version}`, `case-reply:{case}:{version}`,
/// `case-disruption:{disruption}:{customer}`). Why keys rather than the address: the address is
/// sealed in the profile (only a blind index is in clear), and a key lookup goes through the
/// unique index on `idempotency_key`; a numbered key never exceeds the case's version + 1. The
/// disruption passengers are joined on their customer column too, so their index serves the
/// lookup (their key is the disruption and the customer, not the case).
pub fn case_mail_keys(cases_where: &str) -> String {
    let c = cases_where;
    format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
         WHERE i <= (SELECT COALESCE(MAX(version), 0) FROM cases WHERE {c})) \
         SELECT 'case-opened:' || id FROM cases WHERE {c} \
         UNION ALL SELECT 'case-closed:' || id FROM cases WHERE {c} \
         UNION ALL SELECT 'case-status:' || cases.id || ':' || n.i FROM cases, n WHERE {c} AND n.i <= cases.version + 1 \
         UNION ALL SELECT 'case-reply:' || cases.id || ':' || n.i FROM cases, n WHERE {c} AND n.i <= cases.version + 1 \
         UNION ALL SELECT 'case-disruption:' || d.disruption_id || ':' || d.customer_id \
         FROM cases, case_disruption_passengers d \
         WHERE {c} AND d.customer_id = cases.customer_id AND d.case_id = cases.id"
    )
}

/// The SQL condition selecting `pt`'s rows about the person (without `pt.condition`), with
/// `param` for the customer id, and how many times the id is to be bound (each `?` of SQLite
/// is a parameter of its own; PostgreSQL's `$1` is one however often it occurs).
pub fn person_where(pt: &PersonalTable, backend: Backend) -> (String, usize) {
    let p = backend.param(1);
    let sql = match pt.via {
        None => format!("{} = {p}", pt.column),
        Some("{person_mail_keys}") => format!(
            "idempotency_key IN ({} UNION ALL SELECT 'compensation:' || id FROM compensation_proposals WHERE customer_id = {p})",
            case_mail_keys(&format!("cases.customer_id = {p}"))
        ),
        Some(via) => via.replace("{p}", &p),
    };
    let binds = match backend {
        Backend::Sqlite => sql.matches('?').count(),
        Backend::Postgres => 1,
    };
    (sql, binds)
}

/// Whether `column` names a customer reference (the convention migrations follow).
pub fn is_customer_column(column: &str) -> bool {
    column == "customer_id" || column.ends_with("_customer_id")
}

/// Every (table, column) of the live schema whose column is a customer reference.
pub async fn customer_columns(db: &Database) -> Result<Vec<(String, String)>, StorageError> {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY 1, 2"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY 1, 2"
        }
    };
    let rows = sqlx::query(sql).fetch_all(db.pool()).await?;
    let mut out = Vec::new();
    for r in rows {
        let t: String = r.try_get("t")?;
        let c: String = r.try_get("c")?;
        if is_customer_column(&c) {
            out.push((t, c));
        }
    }
    Ok(out)
}

/// The tables of the live schema.
pub async fn tables(db: &Database) -> Result<Vec<String>, StorageError> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT name AS t FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    sqlx::query(sql)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("t").map_err(StorageError::from))
        .collect()
}

/// Customer columns of the schema that [`PERSONAL_TABLES`] does not cover.
pub async fn uncovered(db: &Database) -> Result<Vec<(String, String)>, StorageError> {
    Ok(customer_columns(db)
        .await?
        .into_iter()
        .filter(|(t, c)| {
            !PERSONAL_TABLES
                .iter()
                .any(|p| p.table == t && p.column == c)
        })
        .collect())
}

/// The rows of one table about the person, in the export.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExportSection {
    /// The table.
    pub table: String,
    /// The column that refers to the person.
    pub column: String,
    /// The data category.
    pub category: String,
    /// The domain the data comes from.
    pub source: String,
    /// The rows, column by column. Encrypted fields are opened with the person's data key (a
    /// `sealed` column becomes the object of its fields); where the key is destroyed (erasure)
    /// they say so instead of showing ciphertext.
    pub rows: Vec<Map<String, Value>>,
}

/// Encrypted text columns that are not a `sealed` object: table, column, the column holding the
/// record id bound into the ciphertext, and the field name bound with it. The field name is the
/// owning domain's (`aloft_travel::sealing::DETAIL_FIELD`); a test holds the two equal.
pub const SEALED_TEXT: &[(&str, &str, &str, &str)] =
    &[("timeline", "detail", "entry_id", "timeline.detail")];

/// What an export shows for an encrypted value it cannot open.
pub const UNREADABLE: &str = "[encrypted; the key is destroyed]";

/// Opens, in place, the encrypted values of the export with the person's data key: every
/// `sealed` column (a JSON object of field → ciphertext bound to the row's `id`, the one format
/// of `aloft_kernel::keys::seal_fields`) and every [`SEALED_TEXT`] column. The person is owed
/// their data, not its ciphertext (GDPR Art. 15(3)).
pub fn open_sealed(sections: &mut [ExportSection], key: Option<&DataKey>) {
    for section in sections {
        let text = SEALED_TEXT
            .iter()
            .find(|(t, ..)| *t == section.table)
            .map(|&(_, column, id_column, field)| (column, id_column, field));
        for row in &mut section.rows {
            let id = row.get("id").and_then(Value::as_str).map(str::to_owned);
            if let Some(Value::String(stored)) = row.get("sealed") {
                let opened = (|| {
                    let key = key?;
                    let fields: Map<String, Value> = serde_json::from_str(stored).ok()?;
                    let mut doc = Value::Object(Map::new());
                    open_fields(key, id.as_deref()?, &mut doc, fields).ok()?;
                    Some(doc)
                })();
                row.insert(
                    "sealed".into(),
                    opened.unwrap_or_else(|| Value::from(UNREADABLE)),
                );
            }
            if let Some((column, id_column, field)) = text {
                let record = row
                    .get(id_column)
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                if let Some(Value::String(stored)) = row.get(column) {
                    let opened = key
                        .zip(record.as_deref())
                        .and_then(|(k, r)| decrypt_text(k, r, field, stored).ok());
                    row.insert(
                        column.into(),
                        Value::from(opened.unwrap_or_else(|| UNREADABLE.to_owned())),
                    );
                }
            }
        }
    }
}

fn cell(row: &sqlx::any::AnyRow, i: usize) -> Value {
    // The column's type picks the decoding first: a failed `try_get` builds an error with a
    // formatted message, and the chain below would build one or more for most cells (a text
    // cell tried as an integer first) — hundreds of thousands for a long history.
    match row.columns()[i].type_info().name() {
        "NULL" => return Value::Null,
        "TEXT" => {
            if let Ok(v) = row.try_get::<Option<String>, _>(i) {
                return v.map(Value::from).unwrap_or(Value::Null);
            }
        }
        "REAL" | "DOUBLE" => {
            if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
                return v.map(Value::from).unwrap_or(Value::Null);
            }
        }
        "BOOLEAN" => {
            if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
                return v.map(Value::from).unwrap_or(Value::Null);
            }
        }
        _ => {}
    }
    if let Ok(v) = row.try_get::<Option<i64>, _>(i) {
        return v.map(Value::from).unwrap_or(Value::Null);
    }
    if let Ok(v) = row.try_get::<Option<String>, _>(i) {
        return v.map(Value::from).unwrap_or(Value::Null);
    }
    if let Ok(v) = row.try_get::<Option<f64>, _>(i) {
        return v.map(Value::from).unwrap_or(Value::Null);
    }
    if let Ok(v) = row.try_get::<Option<bool>, _>(i) {
        return v.map(Value::from).unwrap_or(Value::Null);
    }
    if let Ok(v) = row.try_get::<Option<Vec<u8>>, _>(i) {
        return v
            .map(|b| Value::from(b.iter().map(|x| format!("{x:02x}")).collect::<String>()))
            .unwrap_or(Value::Null);
    }
    Value::Null
}

/// Everything held about `customer`, table by table, from every table of [`PERSONAL_TABLES`]
/// present in this database.
pub async fn export(
    db: &Database,
    customer: CustomerId,
) -> Result<Vec<ExportSection>, StorageError> {
    let present = tables(db).await?;
    let mut out = Vec::new();
    for pt in PERSONAL_TABLES {
        if !present.iter().any(|t| t == pt.table) {
            continue;
        }
        let extra = pt
            .condition
            .map(|c| format!(" AND {c}"))
            .unwrap_or_default();
        let (which, binds) = person_where(pt, db.backend());
        let sql = format!("SELECT * FROM {} WHERE {which}{extra}", pt.table);
        let id = customer.to_string();
        let mut query = sqlx::query(&sql);
        for _ in 0..binds {
            query = query.bind(id.clone());
        }
        let rows = query.fetch_all(db.pool()).await?;
        let rows: Vec<Map<String, Value>> = rows
            .iter()
            .map(|r| {
                r.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (c.name().to_owned(), cell(r, i)))
                    .collect()
            })
            .collect();
        out.push(ExportSection {
            table: pt.table.into(),
            column: pt.column.into(),
            category: pt.category.into(),
            source: pt.source.into(),
            rows,
        });
    }
    Ok(out)
}

/// The export as CSV: one line per value (`table,column_of_person,row,field,value`), so every
/// table fits one file; values that a spreadsheet would run as a formula are quoted with `'`.
pub fn export_csv(sections: &[ExportSection]) -> String {
    /// Appends `s` quoted (RFC 4180), with `'` first when a spreadsheet would run it as a formula.
    fn q(out: &mut String, s: &str) {
        out.push('"');
        if s.starts_with(['=', '+', '-', '@']) {
            out.push('\'');
        }
        for ch in s.chars() {
            if ch == '"' {
                out.push('"');
            }
            out.push(ch);
        }
        out.push('"');
    }
    // Written into one buffer without a string per value: a person with 10,000 timeline
    // entries is some 200,000 lines (BENCHMARKS, "subject access export").
    let mut out = String::with_capacity(1 << 20);
    out.push_str("table,source,row,field,value\n");
    let mut scratch = String::new();
    for s in sections {
        let mut prefix = String::new();
        q(&mut prefix, &s.table);
        prefix.push(',');
        q(&mut prefix, &s.source);
        prefix.push(',');
        for (n, row) in s.rows.iter().enumerate() {
            for (k, v) in row {
                out.push_str(&prefix);
                out.push_str(itoa(n, &mut scratch));
                out.push(',');
                q(&mut out, k);
                out.push(',');
                match v {
                    Value::String(s) => q(&mut out, s),
                    Value::Null => q(&mut out, ""),
                    other => q(&mut out, &other.to_string()),
                }
                out.push('\n');
            }
        }
    }
    out
}

/// `n` in decimal, written into `buf`.
fn itoa(n: usize, buf: &mut String) -> &str {
    use std::fmt::Write;
    buf.clear();
    let _ = write!(buf, "{n}");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut row = Map::new();
        row.insert("note".into(), Value::from("=HYPERLINK(\"x\")"));
        let csv = export_csv(&[ExportSection {
            table: "timeline".into(),
            column: "customer_id".into(),
            category: "c".into(),
            source: "travel".into(),
            rows: vec![row],
        }]);
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
    }

    #[test]
    fn rows_without_a_customer_column_are_found_through_their_key_with_the_id_bound_each_time() {
        let of = |table: &str| PERSONAL_TABLES.iter().find(|t| t.table == table).unwrap();
        let (sql, n) = person_where(of("customers"), Backend::Postgres);
        assert_eq!((sql.as_str(), n), ("id = $1", 1));
        let (sql, n) = person_where(of("case_entries"), Backend::Sqlite);
        assert_eq!(
            (sql.as_str(), n),
            ("case_id IN (SELECT id FROM cases WHERE customer_id = ?)", 1)
        );
        // The mails: every key format of the person's cases, and their payments'.
        let (sql, n) = person_where(of("mail_messages"), Backend::Sqlite);
        for key in [
            "'case-opened:'",
            "'case-closed:'",
            "'case-status:'",
            "'case-reply:'",
            "'case-disruption:'",
            "'compensation:'",
        ] {
            assert!(
                sql.starts_with("idempotency_key IN (") && sql.contains(key),
                "{key}"
            );
        }
        assert_eq!(n, sql.matches('?').count());
        assert_eq!(n, 7, "six times for the cases, once for the payments");
        let (pg, n) = person_where(of("mail_messages"), Backend::Postgres);
        assert!(!pg.contains('?') && pg.contains("customer_id = $1") && n == 1);
        // Events: by payload, never the erasure's own (the condition).
        let outbox: Vec<_> = PERSONAL_TABLES
            .iter()
            .filter(|t| t.table == "outbox")
            .collect();
        assert_eq!(outbox.len(), 2);
        assert!(
            outbox
                .iter()
                .all(|t| t.condition.unwrap().contains("aloft.customer.erased"))
        );
    }

    #[test]
    fn rows_found_through_others_come_last_so_erasure_treats_them_first() {
        let first = PERSONAL_TABLES
            .iter()
            .position(|t| t.via.is_some())
            .unwrap();
        assert!(PERSONAL_TABLES[first..].iter().all(|t| t.via.is_some()));
        // What they are found through is kept or deleted after them.
        for through in ["cases", "passenger_accounts", "compensation_proposals"] {
            assert!(PERSONAL_TABLES[..first].iter().any(|t| t.table == through));
        }
    }

    #[test]
    fn customer_columns_follow_the_convention() {
        assert!(is_customer_column("customer_id"));
        assert!(is_customer_column("candidate_customer_id"));
        assert!(!is_customer_column("customer_ids_hint"));
    }

    use serde_json::json;

    fn section(table: &str, row: Value) -> ExportSection {
        ExportSection {
            table: table.into(),
            column: "customer_id".into(),
            category: String::new(),
            source: String::new(),
            rows: vec![row.as_object().unwrap().clone()],
        }
    }

    #[test]
    fn sealed_fields_and_texts_open_with_the_key_and_say_so_without_it() {
        let key = DataKey::from_bytes([7; 32]);
        let mut doc = json!({"email": "a@example.com", "tier": "gold"});
        let sealed = aloft_kernel::keys::seal_fields(&key, "c-1", &mut doc, &["email"]);
        let detail = aloft_security::encrypt_text(
            &key,
            "e-1",
            aloft_travel::sealing::DETAIL_FIELD,
            "Lost bag at LHR",
        );
        let sections = || {
            vec![
                section(
                    "customers",
                    json!({"id": "c-1", "sealed": Value::Object(sealed.clone()).to_string()}),
                ),
                section("timeline", json!({"entry_id": "e-1", "detail": detail})),
            ]
        };
        let mut opened = sections();
        open_sealed(&mut opened, Some(&key));
        assert_eq!(
            opened[0].rows[0]["sealed"],
            json!({"email": "a@example.com"})
        );
        assert_eq!(opened[1].rows[0]["detail"], "Lost bag at LHR");

        let mut erased = sections();
        open_sealed(&mut erased, None);
        assert_eq!(erased[0].rows[0]["sealed"], UNREADABLE);
        assert_eq!(erased[1].rows[0]["detail"], UNREADABLE);
        // Another person's key opens nothing either.
        let mut other = sections();
        open_sealed(&mut other, Some(&DataKey::from_bytes([8; 32])));
        assert_eq!(other[0].rows[0]["sealed"], UNREADABLE);
    }
}
