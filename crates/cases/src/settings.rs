//! What the CMP manager configures: the case workflow (a new version per change; open cases
//! keep theirs) and the business calendar of each station. Every change, its CloudEvent and
//! its audit record commit in one transaction; a refused definition changes nothing.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;
use utoipa::ToSchema;

use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{AccessContext, CloudEvent, StorageError};

use crate::calendar::CalendarDef;
use crate::events::{CalendarChanged, WorkflowPublished, audit};
use crate::model::{Workflow, WorkflowProblem};
use crate::service::Cases;

/// Why a configuration change is refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The definition is incoherent: every problem, named by JSON pointer.
    #[error("the definition has {} problem(s)", .0.len())]
    Invalid(Vec<WorkflowProblem>),
    /// Someone else published a version at the same moment; read the current one and retry.
    #[error("another version was published meanwhile")]
    Conflict,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl From<sqlx::Error> for SettingsError {
    fn from(e: sqlx::Error) -> Self {
        SettingsError::Storage(e.into())
    }
}

/// One published workflow version.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WorkflowVersion {
    /// The version.
    pub version: i64,
    /// When it was published.
    pub published_at: DateTime<Utc>,
    /// Who published it (staff actor id; `system:cases` for the shipped one).
    pub published_by: String,
    /// How many open cases follow it.
    pub open_cases: i64,
}

/// A station's calendar as stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StoredCalendar {
    /// IATA code, or `default`.
    pub station: String,
    /// The definition.
    #[serde(flatten)]
    pub definition: CalendarDef,
    /// Counts the station's changes.
    pub version: i64,
    /// Last saved.
    pub updated_at: DateTime<Utc>,
    /// By whom.
    pub updated_by: String,
}

impl Cases {
    /// Every workflow version, newest first, with the open cases following each.
    pub async fn workflow_history(&self) -> Result<Vec<WorkflowVersion>, StorageError> {
        self.current_workflow().await?;
        let rows = sqlx::query(
            "SELECT w.version, w.created_at, w.created_by, \
             (SELECT COUNT(*) FROM cases c WHERE c.is_open = 1 \
              AND c.workflow_version = w.version) AS open_cases \
             FROM case_workflows w ORDER BY w.version DESC",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let at: String = r.try_get("created_at")?;
                Ok(WorkflowVersion {
                    version: r.try_get("version")?,
                    published_at: from_db_time(&at)?,
                    published_by: r.try_get("created_by")?,
                    open_cases: r.try_get("open_cases")?,
                })
            })
            .collect()
    }

    /// Publishes `definition` as the next workflow version (its `version` field is ignored):
    /// new cases follow it, open cases keep the version they were opened under. Refused with
    /// every problem when it is incoherent ([`Workflow::problems`]).
    pub async fn publish_workflow(
        &self,
        mut definition: Workflow,
        ctx: &AccessContext,
    ) -> Result<Workflow, SettingsError> {
        let problems = definition.problems();
        if !problems.is_empty() {
            return Err(SettingsError::Invalid(problems));
        }
        let current = self.current_workflow().await?;
        definition.version = current.version + 1;
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO case_workflows (version, definition, created_at, created_by) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
        )
        .bind(definition.version)
        .bind(serde_json::to_string(&definition).unwrap_or_default())
        .bind(to_db_time(now()))
        .bind(&ctx.actor.id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(SettingsError::Conflict);
        }
        tx.emit(&CloudEvent::of(&WorkflowPublished {
            version: definition.version,
            previous: current.version,
            states: definition.states.iter().map(|s| s.name.clone()).collect(),
            transitions: definition.transitions.len(),
            categories: definition
                .categories
                .iter()
                .map(|c| c.name.clone())
                .collect(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::WORKFLOW_PUBLISHED,
            "case_workflow",
            Some(definition.version.to_string()),
            vec![
                "states".into(),
                "transitions".into(),
                "categories".into(),
                "initial".into(),
            ],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(definition)
    }

    /// Every station calendar saved, by station (`default` among them once saved).
    pub async fn calendars(&self) -> Result<Vec<StoredCalendar>, StorageError> {
        let rows = sqlx::query(
            "SELECT station, definition, version, updated_at, updated_by FROM case_calendars \
             ORDER BY station",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(decode_calendar).collect()
    }

    /// The saved calendar of `station`, if any.
    pub async fn calendar(&self, station: &str) -> Result<Option<StoredCalendar>, StorageError> {
        sqlx::query(
            "SELECT station, definition, version, updated_at, updated_by FROM case_calendars \
             WHERE station = $1",
        )
        .bind(station)
        .fetch_optional(self.db.pool())
        .await?
        .as_ref()
        .map(decode_calendar)
        .transpose()
    }

    /// Saves the calendar of `station` (an IATA code or `default`; the caller checks the
    /// name). Clocks of the station's cases run on it from the next change or read on; due
    /// instants already stored move at the case's next change. Refused with every problem
    /// when the definition does not compile.
    pub async fn save_calendar(
        &self,
        station: &str,
        definition: &CalendarDef,
        ctx: &AccessContext,
    ) -> Result<StoredCalendar, SettingsError> {
        definition.compile().map_err(SettingsError::Invalid)?;
        let json = serde_json::to_string(definition).unwrap_or_default();
        let at = to_db_time(now());
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE case_calendars SET definition = $1, version = version + 1, updated_at = $2, \
             updated_by = $3 WHERE station = $4",
        )
        .bind(&json)
        .bind(&at)
        .bind(&ctx.actor.id)
        .bind(station)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if updated == 0 {
            sqlx::query(
                "INSERT INTO case_calendars (station, definition, version, updated_at, \
                 updated_by) VALUES ($1, $2, 1, $3, $4)",
            )
            .bind(station)
            .bind(&json)
            .bind(&at)
            .bind(&ctx.actor.id)
            .execute(tx.conn())
            .await?;
        }
        let version: i64 = sqlx::query("SELECT version FROM case_calendars WHERE station = $1")
            .bind(station)
            .fetch_one(tx.conn())
            .await?
            .try_get("version")?;
        tx.emit(&CloudEvent::of(&CalendarChanged {
            station: station.to_owned(),
            version,
            time_zone: definition.time_zone.clone(),
            holidays: definition.holidays.len(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::CALENDAR_SAVED,
            "case_calendar",
            Some(station.to_owned()),
            vec!["time_zone".into(), "hours".into(), "holidays".into()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        self.forget_calendars();
        self.calendar(station).await?.ok_or_else(|| {
            SettingsError::Storage(StorageError::Corrupt("calendar vanished".into()))
        })
    }
}

fn decode_calendar(r: &sqlx::any::AnyRow) -> Result<StoredCalendar, StorageError> {
    let def: String = r.try_get("definition")?;
    let at: String = r.try_get("updated_at")?;
    Ok(StoredCalendar {
        station: r.try_get("station")?,
        definition: serde_json::from_str(&def).map_err(|e| StorageError::Corrupt(e.to_string()))?,
        version: r.try_get("version")?,
        updated_at: from_db_time(&at)?,
        updated_by: r.try_get("updated_by")?,
    })
}
