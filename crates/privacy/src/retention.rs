//! Retention (GDPR Art. 5(1)(e), storage limitation): policies per data category — how long
//! rows are kept and what happens after — applied by the scheduled job
//! [`RETENTION_JOB`] (one occurrence per day across all instances: the kernel's `Schedule`
//! de-duplicates each slot), with a dry-run report of what a run would do.
//!
//! Holds: a person whose processing is restricted (Art. 18, `privacy_restrictions`) is skipped —
//! Art. 18(1)(b)–(d) is exactly "keep it, do nothing else with it", e.g. when the person needs the
//! data for a legal claim. Legal holds the airline places itself ([`crate::holds`]: on a person or
//! on a whole data category) are skipped too. The report counts what is held, and separately
//! what a legal hold holds.
//!
//! Every run (not dry runs) is kept in `privacy_retention_runs` (migration 0038) in the run's
//! transaction, so the DPO console lists past runs and what each changed.
//!
//! Every policy is idempotent: a deletion finds nothing the second time, a pseudonymisation only
//! touches rows whose text is not yet empty — so a retried or repeated run changes nothing more.

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::event_types::DomainEvent;
use aloft_kernel::{AccessContext, CloudEvent, Database, StorageError};
use chrono::{DateTime, Months, Utc};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use crate::events::{EVENT_SOURCE, audit};

/// The job kind of the daily retention run.
pub const RETENTION_JOB: &str = "privacy.retention";

/// What happens to a row past its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Action {
    /// Deleted (with the rows of `dependents` that refer to it first).
    Delete,
    /// Kept with these text columns emptied (the record's existence still counts in statistics).
    Clear {
        /// The columns emptied.
        columns: &'static [&'static str],
    },
}

/// What happens to the rows of another table holding copies of a policy's rows' text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum RelatedAction {
    /// Deleted.
    Delete,
    /// Kept with these columns set to these SQL literals (`("body", "''")`).
    Set {
        /// (column, SQL literal).
        columns: &'static [(&'static str, &'static str)],
    },
}

/// Rows of another table that go with a policy's rows.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Related {
    /// The table.
    pub table: &'static str,
    /// The SQL condition finding them: `{due}` stands for the condition selecting the policy's
    /// rows past their period (on the policy's table), `{case_mail_keys}` for the idempotency
    /// keys of the e-mails about the cases `{due}` selects ([`crate::coverage::case_mail_keys`]).
    pub via: &'static str,
    /// What happens to them.
    pub action: RelatedAction,
}

/// One retention policy.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Policy {
    /// The data category (records of processing).
    pub category: &'static str,
    /// The table.
    pub table: &'static str,
    /// Its key column (what dependents refer to).
    pub key: &'static str,
    /// The column naming the person (holds are checked on it).
    pub customer_column: &'static str,
    /// The instant the period runs from (RFC 3339 text).
    pub age_column: &'static str,
    /// Which rows the policy covers.
    pub condition: &'static str,
    /// The period, in months.
    pub months: u32,
    /// What happens after it.
    pub action: Action,
    /// Rows of other tables referring to the deleted ones: (table, column).
    pub dependents: &'static [(&'static str, &'static str)],
    /// Copies of the rows' text in other tables, treated with them (before them, while they
    /// still match): a closed case's messages in `case_entries`, its e-mails in
    /// `mail_messages`.
    pub related: &'static [Related],
    /// Why this period.
    pub reason: &'static str,
}

/// Every retention policy. The register of processing lists them; nothing else does.
pub const POLICIES: &[Policy] = &[
    Policy {
        category: "interactions",
        table: "travel_records",
        key: "id",
        customer_column: "customer_id",
        age_column: "occurred_at",
        condition: "kind = 'interaction'",
        months: 36,
        action: Action::Delete,
        dependents: &[("timeline", "record_id")],
        related: &[],
        reason: "Service history is useful to the passenger for three years; older contacts are no longer needed (Art. 5(1)(e)).",
    },
    Policy {
        category: "closed cases",
        table: "cases",
        key: "id",
        customer_column: "customer_id",
        age_column: "closed_at",
        condition: "closed_at IS NOT NULL",
        months: 72,
        action: Action::Clear {
            columns: &["subject", "description", "booking_reference"],
        },
        dependents: &[],
        related: &[
            Related {
                table: "case_entries",
                via: "case_id IN (SELECT id FROM cases WHERE {due})",
                action: RelatedAction::Set {
                    columns: &[("body", "''"), ("detail", "'{}'")],
                },
            },
            Related {
                table: "mail_messages",
                via: "idempotency_key IN ({case_mail_keys})",
                action: RelatedAction::Delete,
            },
        ],
        reason: "Kept six years for claims (limitation periods); afterwards only ids, codes and dates remain for statistics.",
    },
    Policy {
        category: "closed data-subject requests",
        table: "privacy_requests",
        key: "id",
        customer_column: "customer_id",
        age_column: "updated_at",
        condition: "state IN ('completed', 'refused')",
        months: 36,
        action: Action::Clear {
            columns: &["details"],
        },
        dependents: &[],
        related: &[],
        reason: "What the person wrote is kept three years after the answer; the request's dates and steps stay as proof (Art. 5(2)).",
    },
    Policy {
        category: "compensation payments",
        table: "compensation_proposals",
        key: "id",
        customer_column: "customer_id",
        age_column: "decided_at",
        condition: "decided_at IS NOT NULL",
        months: 120,
        action: Action::Delete,
        dependents: &[],
        related: &[Related {
            table: "mail_messages",
            via: "idempotency_key IN (SELECT 'compensation:' || id FROM compensation_proposals WHERE {due})",
            action: RelatedAction::Delete,
        }],
        reason: "Payments and refusals are kept ten years for commercial and tax record keeping (e.g. HGB § 257, AO § 147), then deleted with the e-mails about them.",
    },
    Policy {
        category: "goodwill given",
        table: "compensation_goodwill_awards",
        key: "id",
        customer_column: "customer_id",
        age_column: "created_at",
        condition: "1 = 1",
        months: 120,
        action: Action::Delete,
        dependents: &[],
        related: &[],
        reason: "Vouchers, miles and amounts given are kept ten years for commercial and tax record keeping, then deleted.",
    },
];

/// The instant before which rows of a policy of `months` are past their period at `at`.
pub fn cutoff(at: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    at.checked_sub_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn not_restricted(p: &Policy) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM privacy_restrictions h WHERE h.customer_id = {}.{} AND h.lifted_at IS NULL)",
        p.table, p.customer_column
    )
}

fn not_on_hold(p: &Policy) -> String {
    crate::holds::not_on_hold_sql(p.table, p.customer_column, p.category)
}

fn not_held(p: &Policy) -> String {
    format!("{} AND {}", not_restricted(p), not_on_hold(p))
}

/// The `WHERE` condition of the rows a policy covers that are past their period (`$1` is the
/// cutoff), without the hold.
fn due(p: &Policy, param: &str) -> String {
    let touched = match p.action {
        Action::Delete => String::new(),
        Action::Clear { columns } => {
            let c: Vec<String> = columns.iter().map(|c| format!("{c} <> ''")).collect();
            format!(" AND ({})", c.join(" OR "))
        }
    };
    format!("{} AND {} < {param}{touched}", p.condition, p.age_column)
}

/// The statement treating `rel`'s rows of the rows of `pol` past their period, and how often
/// the cutoff is to be bound (each `?` of SQLite is a parameter of its own). The rows are
/// selected whether or not `pol` already cleared them (without [`due`]'s "not yet cleared"), so a
/// case cleared before its copies were covered gets them cleared too; the statement itself
/// touches only rows not yet treated, so a repeated run changes nothing.
fn related_sql(pol: &Policy, rel: &Related, backend: aloft_kernel::Backend) -> (String, usize) {
    let p = backend.param(1);
    let due = format!(
        "{} AND {} < {p} AND {}",
        pol.condition,
        pol.age_column,
        not_held(pol)
    );
    let via = rel
        .via
        .replace("{case_mail_keys}", &crate::coverage::case_mail_keys(&due))
        .replace("{due}", &due);
    let sql = match rel.action {
        RelatedAction::Delete => format!("DELETE FROM {} WHERE {via}", rel.table),
        RelatedAction::Set { columns } => {
            let sets: Vec<String> = columns.iter().map(|(c, v)| format!("{c} = {v}")).collect();
            let cond: Vec<String> = columns.iter().map(|(c, v)| format!("{c} <> {v}")).collect();
            format!(
                "UPDATE {} SET {} WHERE {via} AND ({})",
                rel.table,
                sets.join(", "),
                cond.join(" OR ")
            )
        }
    };
    let binds = match backend {
        aloft_kernel::Backend::Sqlite => sql.matches('?').count(),
        aloft_kernel::Backend::Postgres => 1,
    };
    (sql, binds)
}

/// One policy's line of a report or run.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct PolicyOutcome {
    /// The data category.
    pub category: String,
    /// The table.
    pub table: String,
    /// The period in months.
    pub months: u32,
    /// `delete` or `clear`.
    pub action: String,
    /// Rows older than this (RFC 3339 UTC) are past the period.
    pub cutoff: String,
    /// Rows the run changes (or, in a dry run, would change).
    pub rows: u64,
    /// Rows past the period but kept because the person's processing is restricted or a legal
    /// hold covers them.
    pub held: u64,
    /// Of `held`, the rows a legal hold covers (on the person or on the whole category).
    #[serde(default)]
    pub legal_hold: u64,
}

/// A retention run or its dry run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionReport {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Policy by policy.
    pub policies: Vec<PolicyOutcome>,
}

/// `aloft.privacy.retention_applied`, version 1: counts per category, no ids.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RetentionApplied {
    /// The run.
    #[serde(flatten)]
    pub report: RetentionReport,
}

/// Event type of a retention run.
pub const RETENTION_APPLIED: &str = "aloft.privacy.retention_applied";

impl DomainEvent for RetentionApplied {
    const VERSION: u32 = 1;
    const SOURCE: &'static str = EVENT_SOURCE;
    fn event_type(&self) -> &'static str {
        RETENTION_APPLIED
    }
    fn subject(&self) -> Option<String> {
        None
    }
}

async fn count(db: &Database, sql: &str, cutoff: &str) -> Result<u64, StorageError> {
    let n: i64 = sqlx::query(sql)
        .bind(cutoff)
        .fetch_one(db.pool())
        .await?
        .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// What a run at `at` would do, changing nothing.
pub async fn dry_run(db: &Database, at: DateTime<Utc>) -> Result<RetentionReport, StorageError> {
    let present = crate::coverage::tables(db).await?;
    let p = db.backend().param(1);
    let mut out = Vec::new();
    for pol in POLICIES {
        if !present.iter().any(|t| t == pol.table) {
            continue;
        }
        let cut = to_db_time(cutoff(at, pol.months));
        let all = format!("SELECT COUNT(*) FROM {} WHERE {}", pol.table, due(pol, &p));
        let free = format!("{all} AND {}", not_held(pol));
        let on_hold = format!("{all} AND NOT ({})", not_on_hold(pol));
        let total = count(db, &all, &cut).await?;
        let rows = count(db, &free, &cut).await?;
        let legal = count(db, &on_hold, &cut).await?;
        let mut line = outcome(pol, cut, rows, total - rows);
        line.legal_hold = legal;
        out.push(line);
    }
    Ok(RetentionReport {
        at: to_db_time(at),
        dry_run: true,
        policies: out,
    })
}

fn outcome(pol: &Policy, cutoff: String, rows: u64, held: u64) -> PolicyOutcome {
    PolicyOutcome {
        category: pol.category.into(),
        table: pol.table.into(),
        months: pol.months,
        action: match pol.action {
            Action::Delete => "delete".into(),
            Action::Clear { .. } => "clear".into(),
        },
        cutoff,
        rows,
        held,
        legal_hold: 0,
    }
}

/// Applies every policy at `at`, in one transaction with its audit record and the event
/// `aloft.privacy.retention_applied` (counts only).
pub async fn apply(
    db: &Database,
    at: DateTime<Utc>,
    ctx: &AccessContext,
) -> Result<RetentionReport, StorageError> {
    let report = dry_run(db, at).await?;
    let p = db.backend().param(1);
    let mut tx = db.begin_write().await?;
    let mut out = Vec::new();
    for line in &report.policies {
        let Some(pol) = POLICIES.iter().find(|x| x.table == line.table) else {
            continue;
        };
        let which = format!("{} AND {}", due(pol, &p), not_held(pol));
        for rel in pol.related {
            let (sql, binds) = related_sql(pol, rel, db.backend());
            let mut query = sqlx::query(&sql);
            for _ in 0..binds {
                query = query.bind(&line.cutoff);
            }
            query.execute(tx.conn()).await?;
        }
        let rows = match pol.action {
            Action::Delete => {
                for (dt, dc) in pol.dependents {
                    sqlx::query(&format!(
                        "DELETE FROM {dt} WHERE {dc} IN (SELECT {} FROM {} WHERE {which})",
                        pol.key, pol.table
                    ))
                    .bind(&line.cutoff)
                    .execute(tx.conn())
                    .await?;
                }
                sqlx::query(&format!("DELETE FROM {} WHERE {which}", pol.table))
                    .bind(&line.cutoff)
                    .execute(tx.conn())
                    .await?
                    .rows_affected()
            }
            Action::Clear { columns } => {
                let sets: Vec<String> = columns.iter().map(|c| format!("{c} = ''")).collect();
                sqlx::query(&format!(
                    "UPDATE {} SET {} WHERE {which}",
                    pol.table,
                    sets.join(", ")
                ))
                .bind(&line.cutoff)
                .execute(tx.conn())
                .await?
                .rows_affected()
            }
        };
        let mut done = outcome(pol, line.cutoff.clone(), rows, line.held);
        done.legal_hold = line.legal_hold;
        out.push(done);
    }
    let report = RetentionReport {
        at: to_db_time(at),
        dry_run: false,
        policies: out,
    };
    sqlx::query(&format!(
        "INSERT INTO privacy_retention_runs (id, at, actor, report) VALUES ({}, {}, {}, {})",
        db.backend().param(1),
        db.backend().param(2),
        db.backend().param(3),
        db.backend().param(4)
    ))
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&report.at)
    .bind(&ctx.actor.id)
    .bind(serde_json::to_string(&report.policies).unwrap_or_else(|_| "[]".into()))
    .execute(tx.conn())
    .await?;
    tx.emit(&CloudEvent::of(&RetentionApplied {
        report: report.clone(),
    }))
    .await?;
    tx.audit(&[ctx.entry(
        audit::RETENTION_APPLIED,
        "retention",
        None,
        report
            .policies
            .iter()
            .map(|l| format!("{}:{}", l.table, l.rows))
            .collect(),
        "success",
    )])
    .await?;
    tx.commit().await?;
    Ok(report)
}

/// A past retention run.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PastRun {
    /// The run's id.
    pub id: String,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Who: the daily job (`system:privacy.retention`) or the officer's actor id.
    pub actor: String,
    /// Rows changed, over all policies.
    pub rows: u64,
    /// Rows held, over all policies.
    pub held: u64,
    /// Policy by policy.
    pub policies: Vec<PolicyOutcome>,
}

/// Past runs, newest first (at most `limit`).
pub async fn past_runs(db: &Database, limit: u32) -> Result<Vec<PastRun>, StorageError> {
    let rows = sqlx::query(&format!(
        "SELECT id, at, actor, report FROM privacy_retention_runs ORDER BY at DESC, id DESC LIMIT {}",
        limit.min(1000)
    ))
    .fetch_all(db.pool())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let report: String = r.try_get("report")?;
        let policies: Vec<PolicyOutcome> = serde_json::from_str(&report).unwrap_or_default();
        out.push(PastRun {
            id: r.try_get("id")?,
            at: r.try_get("at")?,
            actor: r.try_get("actor")?,
            rows: policies.iter().map(|p| p.rows).sum(),
            held: policies.iter().map(|p| p.held).sum(),
            policies,
        });
    }
    Ok(out)
}

/// The scheduled run: applies the policies now, as the system.
pub async fn run_now(db: &Database) -> Result<RetentionReport, StorageError> {
    apply(db, now(), &AccessContext::system("privacy.retention")).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_cutoff_counts_calendar_months() {
        let at = Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap();
        assert_eq!(
            cutoff(at, 36),
            Utc.with_ymd_and_hms(2023, 3, 31, 12, 0, 0).unwrap()
        );
        assert_eq!(
            cutoff(at, 1),
            Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap()
        );
    }

    #[test]
    fn clearing_touches_only_rows_not_yet_cleared_and_holds_are_checked_on_the_person() {
        let p = &POLICIES[2];
        let sql = due(p, "$1");
        assert!(sql.contains("details <> ''") && sql.contains("updated_at < $1"));
        assert!(
            not_held(p).contains(
                "privacy_restrictions h WHERE h.customer_id = privacy_requests.customer_id"
            )
        );
        assert!(not_held(p).contains("g.category = 'closed data-subject requests'"));
        assert!(!due(&POLICIES[0], "$1").contains("<> ''"));
    }

    #[test]
    fn a_closed_cases_copies_go_with_it_whether_or_not_it_was_cleared_before() {
        let cases = POLICIES.iter().find(|p| p.table == "cases").unwrap();
        let tables: Vec<_> = cases.related.iter().map(|r| r.table).collect();
        assert_eq!(tables, ["case_entries", "mail_messages"]);
        let (entries, n) = related_sql(cases, &cases.related[0], aloft_kernel::Backend::Sqlite);
        assert!(
            entries.starts_with("UPDATE case_entries SET body = '', detail = '{}' WHERE case_id IN (SELECT id FROM cases WHERE closed_at IS NOT NULL AND closed_at < ?"),
            "{entries}"
        );
        assert!(
            entries.ends_with("AND (body <> '' OR detail <> '{}')"),
            "{entries}"
        );
        assert!(
            !entries.contains("subject <> ''"),
            "cleared cases' copies too"
        );
        assert!(entries.contains("privacy_restrictions") && entries.contains("privacy_holds"));
        assert_eq!(n, 1);
        let (mails, n) = related_sql(cases, &cases.related[1], aloft_kernel::Backend::Sqlite);
        assert!(
            mails.starts_with("DELETE FROM mail_messages WHERE idempotency_key IN (WITH RECURSIVE")
        );
        assert!(mails.contains("'case-reply:'") && n == mails.matches('?').count() && n == 6);
        let (_, n) = related_sql(cases, &cases.related[1], aloft_kernel::Backend::Postgres);
        assert_eq!(n, 1);
    }

    #[test]
    fn every_policy_names_a_covered_table() {
        for p in POLICIES {
            assert!(
                crate::coverage::PERSONAL_TABLES
                    .iter()
                    .any(|t| t.table == p.table && t.column == p.customer_column),
                "{}",
                p.table
            );
            assert!(p.months > 0 && !p.reason.is_empty());
        }
    }
}
