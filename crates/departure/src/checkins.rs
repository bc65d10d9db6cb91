//! Check-in status: which passengers of a flight are checked in, how and when.
//!
//! Aloft is not the departure control system; it learns of a check-in where its own staff see
//! one: a boarding pass scanned at the desk (a pass is issued only at check-in, and its check-in
//! sequence number says so) or a passenger the agent checks in at the desk. The first record of
//! a passenger's check-in for a flight stands; later ones change nothing and emit nothing.
//!
//! Each record, its event (`aloft.passenger.checked_in`) and its audit entry commit in one
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use aloft_customers::CustomerId;
use aloft_kernel::db::{from_db_time, now, to_db_time};
use aloft_kernel::{AccessContext, CloudEvent, Database, StorageError};

use crate::events::{PassengerCheckedIn, audit};

/// How a check-in became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A boarding pass scanned at the desk (the passenger checked in online or at a kiosk).
    BoardingPass,
    /// Checked in by the agent at the desk.
    Desk,
}

impl Method {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BoardingPass => "boarding_pass",
            Self::Desk => "desk",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "desk" {
            Self::Desk
        } else {
            Self::BoardingPass
        }
    }

    /// How a line of the console says it.
    pub fn label(self) -> &'static str {
        match self {
            Self::BoardingPass => "boarding pass",
            Self::Desk => "at the desk",
        }
    }
}

/// One passenger's check-in for one flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// How it became known.
    pub method: Method,
    /// The check-in sequence number printed on the boarding pass, if scanned.
    pub sequence: Option<String>,
}

/// The check-in records.
#[derive(Clone)]
pub struct CheckIns {
    db: Database,
}

impl std::fmt::Debug for CheckIns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckIns")
    }
}

impl CheckIns {
    /// The records in `db`.
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// Records that `customer` is checked in for `flight` (`EK201 2026-12-06`) unless already
    /// recorded; returns whether this call recorded it.
    pub async fn record(
        &self,
        flight: &str,
        customer: CustomerId,
        method: Method,
        sequence: Option<&str>,
        ctx: &AccessContext,
    ) -> Result<bool, StorageError> {
        let at = now();
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO departure_checkins \
             (flight_key, customer_id, checked_in_at, method, sequence_number, recorded_by) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (flight_key, customer_id) DO NOTHING",
        )
        .bind(flight)
        .bind(customer.to_string())
        .bind(to_db_time(at))
        .bind(method.as_str())
        .bind(sequence)
        .bind(&ctx.actor.id)
        .execute(tx.conn())
        .await?
        .rows_affected()
            == 1;
        if !inserted {
            // Nothing changed: nothing to emit or audit (the transaction rolls back on drop).
            return Ok(false);
        }
        tx.emit(&CloudEvent::of(&PassengerCheckedIn {
            customer_id: customer.to_string(),
            flight: flight.to_owned(),
            method: method.as_str().to_owned(),
        }))
        .await?;
        tx.audit(&[ctx.entry(
            audit::CHECKIN_RECORDED,
            "customer",
            Some(customer.to_string()),
            vec!["check_in".to_owned()],
            "success",
        )])
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The check-ins of these flights, by (flight key, customer).
    pub async fn of_flights(
        &self,
        flights: &[&str],
    ) -> Result<HashMap<(String, CustomerId), CheckIn>, StorageError> {
        let mut out = HashMap::new();
        for chunk in flights.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT flight_key, customer_id, checked_in_at, method, sequence_number \
                 FROM departure_checkins WHERE flight_key IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for f in chunk {
                q = q.bind(*f);
            }
            for row in q.fetch_all(self.db.pool()).await? {
                let id: String = row.try_get("customer_id")?;
                let Some(id) = CustomerId::parse(&id) else {
                    continue;
                };
                let at: String = row.try_get("checked_in_at")?;
                let method: String = row.try_get("method")?;
                out.insert(
                    (row.try_get("flight_key")?, id),
                    CheckIn {
                        at: from_db_time(&at)?,
                        method: Method::parse(&method),
                        sequence: row.try_get("sequence_number")?,
                    },
                );
            }
        }
        Ok(out)
    }
}
