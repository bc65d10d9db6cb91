//! The export: reads what changed since the last export into the same directory, turns it into
//! pseudonymised rows, writes one Parquet file per table and date, then records the new
//! watermark.
//!
//! Layout (Hive-style partitions, which DuckDB, Spark and Trino read as a `date` column):
//!
//! ```text
//! DIR/_aloft_lake.json                                  the watermark and every export
//! DIR/customers/date=2026-12-06/part-<export>.parquet   by the day the profile changed
//! DIR/flight_segments/date=2026-12-07/part-<export>.parquet   by departure day (UTC)
//! DIR/interactions/date=2026-12-01/part-<export>.parquet      by the day it happened
//! DIR/left_out/date=2026-12-07/part-<export>.parquet          by the day it took effect
//! ```
//!
//! A row that changes again is exported again by a later export: readers keep the newest
//! `updated_at` per key (`customer`; `customer, flight_number, departure`; `record`).
//!
//! Only people the privacy register's `analytics` purpose allows are exported ([`PURPOSE`],
//! [`left_out_sql`]): whoever objected to it or withdrew it, and whoever's processing is
//! restricted (GDPR Art. 18), is left out, and each run's manifest entry counts them
//! ([`LeftOut`]). Someone exported earlier who objects, withdraws or is restricted later is
//! listed in `left_out` (pseudonym, reason, since) by the next incremental export: readers drop
//! that customer's rows updated before `since` (a row updated after it — the person allowed
//! again — stands).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;
use sqlx::Row;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::keys::{CustomerKeys, open_fields};
use aloft_kernel::{AccessContext, Database};
use aloft_privacy::model::Purpose;

use crate::LakeError;
use crate::columns::{self, Column, Values};

/// The manifest file in the output directory.
pub const MANIFEST: &str = "_aloft_lake.json";

/// How far behind the present an export stops: a transaction that stamped its rows a moment
/// before it committed is still caught by this export or the next (none runs for seconds).
pub const SETTLE: Duration = Duration::seconds(5);

/// Rows read per query.
const BATCH: i64 = 2_000;

/// What the output directory remembers of its exports.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version.
    pub format: u32,
    /// Everything changed up to this instant has been exported.
    pub watermark: Option<DateTime<Utc>>,
    /// Every export into this directory, oldest first.
    pub exports: Vec<ExportRun>,
}

/// One export.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportRun {
    /// Its id (UUIDv7), also in its file names.
    pub id: String,
    /// Changes after this instant…
    pub since: Option<DateTime<Utc>>,
    /// …up to this one.
    pub until: DateTime<Utc>,
    /// Rows written per table.
    pub rows: BTreeMap<String, u64>,
    /// Files written, relative to the directory.
    pub files: Vec<String>,
    /// What changed in the window but was left out because [`PURPOSE`] does not allow it
    /// (absent in manifests written before it was counted: nothing was left out then).
    #[serde(default)]
    pub left_out: LeftOut,
}

/// What one export left out for the privacy register's [`PURPOSE`], so an analyst and the
/// data protection officer see that the lake is not the whole population, and by how much.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// People (distinct) with a changed profile or record left out because their processing is
    /// restricted (Art. 18).
    pub restricted_people: u64,
    /// People (distinct, not restricted) left out because they objected to the purpose or
    /// withdrew it (an objection records a withdrawal; Art. 21(1)).
    pub objected_people: u64,
    /// Changed customer profiles left out.
    pub customers: u64,
    /// Changed travel records (bookings, contacts, feedback) left out.
    pub travel_records: u64,
}

/// The purpose of the privacy register (`aloft_privacy::model::PURPOSES`) a lake export
/// serves: analyses that improve the network and the service.
pub const PURPOSE: &str = "analytics";

/// Whether, and why, a customer is left out of an export for a purpose: privacy's one
/// definition (see there), which follows the purpose's lawful basis.
pub use aloft_privacy::store::left_out_sql;

/// The people an export left out, by id, with the strongest reason seen (`2` restricted, `1`
/// objected); only counted, never written.
#[derive(Default)]
struct Excluded {
    people: std::collections::HashMap<String, i64>,
    customers: u64,
    travel_records: u64,
}

impl Excluded {
    fn person(&mut self, id: String, reason: i64) {
        let r = self.people.entry(id).or_default();
        *r = (*r).max(reason);
    }

    fn counts(&self) -> LeftOut {
        let restricted = self.people.values().filter(|r| **r >= 2).count() as u64;
        LeftOut {
            restricted_people: restricted,
            objected_people: self.people.len() as u64 - restricted,
            customers: self.customers,
            travel_records: self.travel_records,
        }
    }
}

/// The pseudonym of a customer in the lake: the first 128 bits of HMAC-SHA256 under the lake's
/// own key, in hex. Stable across exports (so tables join), not reversible without the key, and
/// different from every id and blind index Aloft uses elsewhere.
pub fn pseudonym(key: &[u8; 32], customer_id: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"aloft/lake/customer/v1:");
    mac.update(customer_id.as_bytes());
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An age band for analysis (`35-44`), never the date of birth itself.
pub fn age_band(born: NaiveDate, today: NaiveDate) -> &'static str {
    let mut age = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    match age {
        i32::MIN..=17 => "0-17",
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        55..=64 => "55-64",
        _ => "65+",
    }
}

/// Rows of one table, grouped by partition date.
struct Partitions<R>(BTreeMap<NaiveDate, Vec<R>>);

impl<R> Default for Partitions<R> {
    fn default() -> Self {
        Self(BTreeMap::new())
    }
}

impl<R> Partitions<R> {
    fn push(&mut self, day: NaiveDate, row: R) {
        self.0.entry(day).or_default().push(row);
    }
}

/// A customer as the lake knows them.
struct CustomerRow {
    customer: String,
    loyalty_tier: Option<String>,
    nationality: Option<String>,
    home_airport: Option<String>,
    age_band: Option<&'static str>,
    meal_preference: Option<String>,
    updated_at: DateTime<Utc>,
}

/// One flight segment of a booking.
struct SegmentRow {
    customer: String,
    flight_number: Option<String>,
    origin: Option<String>,
    destination: Option<String>,
    departure: Option<DateTime<Utc>>,
    cabin: Option<String>,
    status: Option<String>,
    delay_minutes: Option<i64>,
    updated_at: DateTime<Utc>,
}

/// Someone whose data the purpose stopped allowing within an export's window.
struct LeftOutRow {
    customer: String,
    reason: &'static str,
    since: DateTime<Utc>,
}

/// A contact (call, e-mail, chat) or a piece of feedback, without its text.
struct InteractionRow {
    record: String,
    customer: String,
    kind: String,
    channel: Option<String>,
    direction: Option<String>,
    occurred_at: DateTime<Utc>,
    duration_seconds: Option<i64>,
    rating: Option<i64>,
    updated_at: DateTime<Utc>,
}

/// The fields an export reads, as its audit record names them.
pub const FIELDS_READ: &[&str] = &[
    "loyalty_tier",
    "nationality",
    "location.home_airport",
    "date_of_birth",
    "preferences.meal",
    "travel_records.booking",
    "travel_records.interaction",
    "travel_records.feedback",
];

/// What an export wrote.
#[derive(Debug, Clone)]
pub struct Report {
    /// The export, as the manifest records it.
    pub run: ExportRun,
    /// Whether this was the directory's first export (everything) or an incremental one.
    pub first: bool,
}

/// Exports the database to a directory of Parquet files.
pub struct Exporter {
    db: Database,
    keys: Arc<dyn CustomerKeys>,
    pseudonym_key: [u8; 32],
    settle: Duration,
}

impl Exporter {
    /// An exporter over `db`, opening dates of birth with `keys` (for age bands), naming
    /// customers by [`pseudonym`] under `pseudonym_key`.
    pub fn new(db: Database, keys: Arc<dyn CustomerKeys>, pseudonym_key: [u8; 32]) -> Self {
        Self {
            db,
            keys,
            pseudonym_key,
            settle: SETTLE,
        }
    }

    /// Stops `settle` behind the present instead of [`SETTLE`] (tests, which commit nothing
    /// while they export).
    pub fn settling(mut self, settle: Duration) -> Self {
        self.settle = settle;
        self
    }

    /// Exports what changed since the directory's last export (everything the first time).
    ///
    /// The read is audited (`lake.exported`, the fields read) before any file is written; the
    /// manifest is replaced last, so an export that fails part-way is done again in full by the
    /// next run (its files carry their own export id, and readers keep the newest row per key).
    pub async fn export(&self, out: &Path, ctx: &AccessContext) -> Result<Report, LakeError> {
        std::fs::create_dir_all(out)?;
        let mut manifest = read_manifest(out)?;
        let since = manifest.watermark;
        let until = now() - self.settle;
        let id = uuid::Uuid::now_v7().to_string();
        let (since_text, until_text) =
            (since.map(to_db_time).unwrap_or_default(), to_db_time(until));

        let mut tx = self.db.begin_write().await?;
        tx.audit(&[ctx.entry(
            crate::audit::LAKE_EXPORTED,
            "customer_population",
            Some(id.clone()),
            FIELDS_READ.iter().map(|f| (*f).to_owned()).collect(),
            "success",
        )])
        .await?;
        tx.commit().await?;

        let purpose = aloft_privacy::purpose(PURPOSE)
            .ok_or_else(|| LakeError::Manifest(format!("no purpose {PURPOSE} in the register")))?;
        let mut excluded = Excluded::default();
        let customers = self
            .customers(purpose, &since_text, &until_text, &mut excluded)
            .await?;
        let (segments, interactions) = self
            .travel(purpose, &since_text, &until_text, &mut excluded)
            .await?;
        // Nothing was exported before a first export, so nothing is to be dropped.
        let newly_left_out = if since.is_some() {
            self.newly_left_out(purpose, &since_text, &until_text)
                .await?
        } else {
            Partitions::default()
        };

        let mut run = ExportRun {
            id: id.clone(),
            since,
            until,
            rows: BTreeMap::new(),
            files: Vec::new(),
            left_out: excluded.counts(),
        };
        for (day, rows) in customers.0 {
            let file = write_partition(out, "customers", day, &id, &customer_columns(rows))?;
            *run.rows.entry("customers".into()).or_default() += file.1;
            run.files.push(file.0);
        }
        for (day, rows) in segments.0 {
            let file = write_partition(out, "flight_segments", day, &id, &segment_columns(rows))?;
            *run.rows.entry("flight_segments".into()).or_default() += file.1;
            run.files.push(file.0);
        }
        for (day, rows) in interactions.0 {
            let cols = interaction_columns(rows);
            let file = write_partition(out, "interactions", day, &id, &cols)?;
            *run.rows.entry("interactions".into()).or_default() += file.1;
            run.files.push(file.0);
        }
        for (day, rows) in newly_left_out.0 {
            let file = write_partition(out, "left_out", day, &id, &left_out_columns(rows))?;
            *run.rows.entry("left_out".into()).or_default() += file.1;
            run.files.push(file.0);
        }
        manifest.format = 1;
        manifest.watermark = Some(until);
        manifest.exports.push(run.clone());
        write_manifest(out, &manifest)?;
        Ok(Report {
            run,
            first: since.is_none(),
        })
    }

    /// The changed profiles of people `purpose` allows; the others are counted in `excluded`
    /// (their profile is not even read: the query returns it only for those included).
    async fn customers(
        &self,
        purpose: &Purpose,
        since: &str,
        until: &str,
        excluded: &mut Excluded,
    ) -> Result<Partitions<CustomerRow>, LakeError> {
        #[derive(Default, Deserialize)]
        struct Facts {
            loyalty_tier: Option<String>,
            nationality: Option<String>,
            location: Option<Location>,
            preferences: Option<Preferences>,
        }
        #[derive(Default, Deserialize)]
        struct Location {
            home_airport: Option<String>,
        }
        #[derive(Default, Deserialize)]
        struct Preferences {
            meal: Option<String>,
        }
        let today = now().date_naive();
        let mut out = Partitions::default();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT id, CASE WHEN left_out = 0 THEN profile END AS profile, \
                 CASE WHEN left_out = 0 THEN sealed END AS sealed, updated_at, left_out FROM \
                 (SELECT c.id, c.profile, c.sealed, c.updated_at, {} AS left_out FROM customers c \
                 WHERE c.merged_into IS NULL AND c.updated_at > $1 AND c.updated_at <= $2 \
                 AND c.id > $3 ORDER BY c.id LIMIT $4) page ORDER BY id",
                left_out_sql(purpose, "c.id")
            ))
            .bind(since)
            .bind(until)
            .bind(&after)
            .bind(BATCH)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            let ids: Vec<uuid::Uuid> = rows
                .iter()
                .filter(|r| r.try_get::<i64, _>("left_out").is_ok_and(|l| l == 0))
                .filter_map(|r| r.try_get::<String, _>("id").ok())
                .filter_map(|id| uuid::Uuid::try_parse(&id).ok())
                .collect();
            let keys = self.keys.data_keys(&ids).await?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let left_out: i64 = row.try_get("left_out")?;
                if left_out != 0 {
                    excluded.customers += 1;
                    excluded.person(id, left_out);
                    continue;
                }
                let profile: Option<String> = row.try_get("profile")?;
                let facts: Facts = profile
                    .and_then(|p| serde_json::from_str(&p).ok())
                    .unwrap_or_default();
                let sealed: Option<String> = row.try_get("sealed")?;
                // Only the date of birth is opened, turned into a band and dropped.
                let born = sealed
                    .as_deref()
                    .and_then(|s| serde_json::from_str::<serde_json::Map<String, Value>>(s).ok())
                    .and_then(|mut m| m.remove("date_of_birth"))
                    .and_then(|ct| {
                        let key = keys.get(&uuid::Uuid::try_parse(&id).ok()?)?;
                        let mut doc = Value::Object(serde_json::Map::new());
                        let one = serde_json::Map::from_iter([("date_of_birth".to_owned(), ct)]);
                        open_fields(key, &id, &mut doc, one).ok()?;
                        doc.get("date_of_birth")
                            .and_then(Value::as_str)
                            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                    });
                let updated_at = from_db_time(&row.try_get::<String, _>("updated_at")?)?;
                out.push(
                    updated_at.date_naive(),
                    CustomerRow {
                        customer: pseudonym(&self.pseudonym_key, &id),
                        loyalty_tier: facts.loyalty_tier,
                        nationality: facts.nationality,
                        home_airport: facts.location.and_then(|l| l.home_airport),
                        age_band: born.map(|b| age_band(b, today)),
                        meal_preference: facts.preferences.and_then(|p| p.meal),
                        updated_at,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The people `purpose` stopped allowing in `(since, until]` — a withdrawal or objection
    /// recorded, a restriction begun — and still does not allow, by pseudonym: their earlier
    /// exported rows are to be dropped by readers.
    async fn newly_left_out(
        &self,
        purpose: &Purpose,
        since: &str,
        until: &str,
    ) -> Result<Partitions<LeftOutRow>, LakeError> {
        let sql = format!(
            "SELECT customer_id, 'objected' AS reason, updated_at AS took_effect FROM privacy_consent_state x \
             WHERE purpose = $1 AND granted = 0 AND updated_at > $2 AND updated_at <= $3 \
             AND {lo} <> 0 \
             UNION ALL SELECT customer_id, 'restricted', since FROM privacy_restrictions x \
             WHERE lifted_at IS NULL AND since > $4 AND since <= $5 AND {lo} <> 0",
            lo = left_out_sql(purpose, "x.customer_id")
        );
        let rows = sqlx::query(&sql)
            .bind(purpose.code)
            .bind(since)
            .bind(until)
            .bind(since)
            .bind(until)
            .fetch_all(self.db.pool())
            .await?;
        let mut out = Partitions::default();
        let mut seen = std::collections::HashSet::new();
        for row in &rows {
            let id: String = row.try_get("customer_id")?;
            if !seen.insert(id.clone()) {
                continue;
            }
            let reason = if row.try_get::<String, _>("reason")? == "restricted" {
                "restricted"
            } else {
                "objected"
            };
            let at = from_db_time(&row.try_get::<String, _>("took_effect")?)?;
            out.push(
                at.date_naive(),
                LeftOutRow {
                    customer: pseudonym(&self.pseudonym_key, &id),
                    reason,
                    since: at,
                },
            );
        }
        Ok(out)
    }

    /// The changed travel records of people `purpose` allows; the others are counted in
    /// `excluded` (their documents are not read).
    async fn travel(
        &self,
        purpose: &Purpose,
        since: &str,
        until: &str,
        excluded: &mut Excluded,
    ) -> Result<(Partitions<SegmentRow>, Partitions<InteractionRow>), LakeError> {
        let mut segments = Partitions::default();
        let mut interactions = Partitions::default();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(&format!(
                "SELECT id, customer_id, kind, occurred_at, \
                 CASE WHEN left_out = 0 THEN document END AS document, updated_at, left_out FROM \
                 (SELECT tr.id, tr.customer_id, tr.kind, tr.occurred_at, tr.document, tr.updated_at, \
                 {} AS left_out FROM travel_records tr \
                 WHERE tr.updated_at > $1 AND tr.updated_at <= $2 AND tr.id > $3 \
                 AND tr.customer_id IS NOT NULL AND tr.kind IN ('booking', 'interaction', 'feedback') \
                 ORDER BY tr.id LIMIT $4) page ORDER BY id",
                left_out_sql(purpose, "tr.customer_id")
            ))
            .bind(since)
            .bind(until)
            .bind(&after)
            .bind(BATCH)
            .fetch_all(self.db.pool())
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("id")?;
            for row in &rows {
                let id: String = row.try_get("id")?;
                let customer_id: String = row.try_get("customer_id")?;
                let left_out: i64 = row.try_get("left_out")?;
                if left_out != 0 {
                    excluded.travel_records += 1;
                    excluded.person(customer_id, left_out);
                    continue;
                }
                let customer = pseudonym(&self.pseudonym_key, &customer_id);
                let kind: String = row.try_get("kind")?;
                let updated_at = from_db_time(&row.try_get::<String, _>("updated_at")?)?;
                let occurred_at = from_db_time(&row.try_get::<String, _>("occurred_at")?)?;
                // The plain part only: texts (subjects, bodies, feedback) are sealed and stay so.
                let doc: Value = row
                    .try_get::<Option<String>, _>("document")?
                    .and_then(|d| serde_json::from_str(&d).ok())
                    .unwrap_or(Value::Null);
                let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                match kind.as_str() {
                    "booking" => {
                        for s in doc["segments"].as_array().into_iter().flatten() {
                            let departure = s["scheduled_departure_utc"]
                                .as_str()
                                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                                .map(|t| t.with_timezone(&Utc));
                            segments.push(
                                departure.unwrap_or(occurred_at).date_naive(),
                                SegmentRow {
                                    customer: customer.clone(),
                                    flight_number: text(s, "flight_number"),
                                    origin: text(s, "origin"),
                                    destination: text(s, "destination"),
                                    departure,
                                    cabin: text(s, "cabin"),
                                    status: text(s, "status"),
                                    delay_minutes: s["delay_minutes"].as_i64(),
                                    updated_at,
                                },
                            );
                        }
                    }
                    _ => interactions.push(
                        occurred_at.date_naive(),
                        InteractionRow {
                            record: pseudonym(&self.pseudonym_key, &id),
                            customer,
                            kind: if kind == "feedback" {
                                text(&doc, "kind").unwrap_or(kind)
                            } else {
                                kind
                            },
                            channel: text(&doc, "channel"),
                            direction: text(&doc, "direction"),
                            occurred_at,
                            duration_seconds: doc["duration_seconds"].as_i64(),
                            rating: doc["rating"].as_i64(),
                            updated_at,
                        },
                    ),
                }
            }
        }
        Ok((segments, interactions))
    }
}

fn text_col(name: &'static str, v: Vec<Option<String>>) -> Column {
    Column {
        name,
        nullable: true,
        values: Values::Text(v),
    }
}

fn customer_columns(rows: Vec<CustomerRow>) -> Vec<Column> {
    vec![
        Column {
            name: "customer",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.customer.clone())).collect()),
        },
        text_col(
            "loyalty_tier",
            rows.iter().map(|r| r.loyalty_tier.clone()).collect(),
        ),
        text_col(
            "nationality",
            rows.iter().map(|r| r.nationality.clone()).collect(),
        ),
        text_col(
            "home_airport",
            rows.iter().map(|r| r.home_airport.clone()).collect(),
        ),
        text_col(
            "age_band",
            rows.iter().map(|r| r.age_band.map(str::to_owned)).collect(),
        ),
        text_col(
            "meal_preference",
            rows.iter().map(|r| r.meal_preference.clone()).collect(),
        ),
        Column {
            name: "updated_at",
            nullable: false,
            values: Values::Timestamp(rows.iter().map(|r| Some(r.updated_at)).collect()),
        },
    ]
}

fn left_out_columns(rows: Vec<LeftOutRow>) -> Vec<Column> {
    vec![
        Column {
            name: "customer",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.customer.clone())).collect()),
        },
        Column {
            name: "reason",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.reason.to_owned())).collect()),
        },
        Column {
            name: "since",
            nullable: false,
            values: Values::Timestamp(rows.iter().map(|r| Some(r.since)).collect()),
        },
    ]
}

fn segment_columns(rows: Vec<SegmentRow>) -> Vec<Column> {
    vec![
        Column {
            name: "customer",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.customer.clone())).collect()),
        },
        text_col(
            "flight_number",
            rows.iter().map(|r| r.flight_number.clone()).collect(),
        ),
        text_col("origin", rows.iter().map(|r| r.origin.clone()).collect()),
        text_col(
            "destination",
            rows.iter().map(|r| r.destination.clone()).collect(),
        ),
        Column {
            name: "departure",
            nullable: true,
            values: Values::Timestamp(rows.iter().map(|r| r.departure).collect()),
        },
        text_col("cabin", rows.iter().map(|r| r.cabin.clone()).collect()),
        text_col("status", rows.iter().map(|r| r.status.clone()).collect()),
        Column {
            name: "delay_minutes",
            nullable: true,
            values: Values::Int(rows.iter().map(|r| r.delay_minutes).collect()),
        },
        Column {
            name: "updated_at",
            nullable: false,
            values: Values::Timestamp(rows.iter().map(|r| Some(r.updated_at)).collect()),
        },
    ]
}

fn interaction_columns(rows: Vec<InteractionRow>) -> Vec<Column> {
    vec![
        Column {
            name: "record",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.record.clone())).collect()),
        },
        Column {
            name: "customer",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.customer.clone())).collect()),
        },
        Column {
            name: "kind",
            nullable: false,
            values: Values::Text(rows.iter().map(|r| Some(r.kind.clone())).collect()),
        },
        text_col("channel", rows.iter().map(|r| r.channel.clone()).collect()),
        text_col(
            "direction",
            rows.iter().map(|r| r.direction.clone()).collect(),
        ),
        Column {
            name: "occurred_at",
            nullable: false,
            values: Values::Timestamp(rows.iter().map(|r| Some(r.occurred_at)).collect()),
        },
        Column {
            name: "duration_seconds",
            nullable: true,
            values: Values::Int(rows.iter().map(|r| r.duration_seconds).collect()),
        },
        Column {
            name: "rating",
            nullable: true,
            values: Values::Int(rows.iter().map(|r| r.rating).collect()),
        },
        Column {
            name: "updated_at",
            nullable: false,
            values: Values::Timestamp(rows.iter().map(|r| Some(r.updated_at)).collect()),
        },
    ]
}

/// Writes one partition's file under a temporary name, then renames it into place; returns its
/// path relative to `out` and its rows.
fn write_partition(
    out: &Path,
    table: &'static str,
    day: NaiveDate,
    export: &str,
    columns: &[Column],
) -> Result<(String, u64), LakeError> {
    let relative = PathBuf::from(table)
        .join(format!("date={day}"))
        .join(format!("part-{export}.parquet"));
    let path = out.join(&relative);
    let dir = path.parent().expect("a partition has a directory");
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".part-{export}.parquet.tmp"));
    let rows = columns::write(&temporary, table, columns)?;
    std::fs::rename(&temporary, &path)?;
    Ok((relative.to_string_lossy().into_owned(), rows))
}

fn read_manifest(out: &Path) -> Result<Manifest, LakeError> {
    match std::fs::read(out.join(MANIFEST)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| LakeError::Manifest(format!("{MANIFEST}: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Refuse to mix a first export into a directory holding other files.
            let foreign = std::fs::read_dir(out)?
                .filter_map(Result::ok)
                .any(|e| !e.file_name().to_string_lossy().starts_with('.'));
            if foreign {
                return Err(LakeError::Manifest(format!(
                    "{} holds files but no {MANIFEST}: choose an empty directory or one an earlier export wrote",
                    out.display()
                )));
            }
            Ok(Manifest::default())
        }
        Err(e) => Err(e.into()),
    }
}

fn write_manifest(out: &Path, manifest: &Manifest) -> Result<(), LakeError> {
    let temporary = out.join(format!(".{MANIFEST}.tmp"));
    let text = serde_json::to_vec_pretty(manifest)
        .map_err(|e| LakeError::Manifest(format!("{MANIFEST}: {e}")))?;
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, out.join(MANIFEST))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_not_the_id() {
        let k1 = [7u8; 32];
        let k2 = [8u8; 32];
        let id = "0193a0f4-0000-7000-8000-000000000001";
        assert_eq!(pseudonym(&k1, id), pseudonym(&k1, id));
        assert_ne!(pseudonym(&k1, id), pseudonym(&k2, id));
        assert_eq!(pseudonym(&k1, id).len(), 32);
        assert!(!pseudonym(&k1, id).contains("0193a0f4"));
    }

    #[test]
    fn a_first_export_refuses_a_directory_holding_other_files() {
        let dir = std::env::temp_dir().join(format!("aloft-lake-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(
            read_manifest(&dir).unwrap().watermark.is_none(),
            "empty: fine"
        );
        std::fs::write(dir.join("notes.txt"), "someone else's").unwrap();
        let refused = read_manifest(&dir).unwrap_err().to_string();
        assert!(
            refused.contains("holds files but no _aloft_lake.json"),
            "{refused}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// `analytics` rests on legitimate interests too, so only a withdrawal (or objection)
    /// leaves a person out, never a missing answer; a consent-only purpose needs consent given;
    /// restriction leaves out of both, not out of a purpose a law requires.
    #[test]
    fn who_is_left_out_follows_the_purposes_lawful_basis() {
        let analytics = aloft_privacy::purpose(PURPOSE).unwrap();
        assert!(analytics.bases.contains(&"legitimate_interests"));
        let sql = left_out_sql(analytics, "c.id");
        assert!(
            sql.contains("pcs.purpose = 'analytics' AND pcs.granted = 0"),
            "{sql}"
        );
        assert!(
            !sql.contains("NOT EXISTS"),
            "never asked is included: {sql}"
        );
        assert!(sql.contains("prs.lifted_at IS NULL) THEN 2"), "{sql}");

        let personalisation = aloft_privacy::purpose("personalisation").unwrap();
        let sql = left_out_sql(personalisation, "c.id");
        assert!(
            sql.contains("NOT EXISTS (SELECT 1 FROM privacy_consent_state"),
            "{sql}"
        );
        assert!(sql.contains("pcs.granted = 1"), "{sql}");

        let alerts = aloft_privacy::purpose("disruption_alerts").unwrap();
        assert!(!left_out_sql(alerts, "c.id").contains("privacy_restrictions"));
    }

    #[test]
    fn people_are_counted_once_by_their_strongest_reason() {
        let mut e = Excluded::default();
        e.person("a".into(), 1);
        e.person("a".into(), 2);
        e.person("b".into(), 1);
        e.person("b".into(), 1);
        e.customers = 2;
        e.travel_records = 5;
        assert_eq!(
            e.counts(),
            LeftOut {
                restricted_people: 1,
                objected_people: 1,
                customers: 2,
                travel_records: 5,
            }
        );
    }

    #[test]
    fn age_bands_count_the_birthday() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_band(d("1990-06-15"), d("2025-06-14")), "25-34");
        assert_eq!(age_band(d("1990-06-15"), d("2025-06-15")), "35-44");
        assert_eq!(age_band(d("2010-01-01"), d("2026-12-06")), "0-17");
        assert_eq!(age_band(d("1950-01-01"), d("2026-12-06")), "65+");
    }
}
