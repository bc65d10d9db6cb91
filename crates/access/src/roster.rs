//! Cabin crew rosters: which flights a crew member works, and so whose profiles they may see.
//!
//! Cabin crew hold `customer.read`, but only through the row scope `RowScope::Roster`: a
//! passenger is visible to them only while a flight on their roster is near (from the day
//! before its departure date to the end of the day after — long-haul flights cross midnight
//! and the date is the local date at the origin) and the passenger has a segment on it. The
//! roster is set by an administrator (or, later, fed by the crew scheduling system) and every
//! change is audited.
//!
//! [`RosteredFlight::parse_list`] and [`RosteredFlight::active`] are pure; [`AccountStore`]
//! keeps the rows (`crew_rosters`, migration 0010).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sqlx::Row;
use uuid::Uuid;

use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, StorageError};
use aloft_vocab::FlightNumber;

use crate::storage::AccountStore;

/// Most flights one roster holds (a month of short-haul sectors is well under this).
pub const MAX_ROSTER: usize = 200;

/// One flight on a crew member's roster.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RosteredFlight {
    /// IATA flight designator (`BA117`).
    pub flight_number: String,
    /// Departure date, local at the origin.
    pub departure_date: NaiveDate,
}

impl RosteredFlight {
    /// Parses one roster line, `BA117 2026-03-12` (flight designator, then the local departure
    /// date).
    pub fn parse(line: &str) -> Result<Self, String> {
        let mut parts = line.split_whitespace();
        let (Some(flight), Some(date), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err("each line must be a flight and its date, e.g. BA117 2026-03-12".into());
        };
        // The shared flight-number rule, so a rostered flight is written exactly as the
        // bookings it is matched against (`BA0117` is `BA117`).
        let flight = FlightNumber::parse(flight).map_err(|_| {
            format!(
                "{} is not a flight designator (airline code and 1–4 digits, e.g. BA117)",
                flight
                    .to_ascii_uppercase()
                    .chars()
                    .take(12)
                    .collect::<String>()
            )
        })?;
        let departure_date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| "the date must be YYYY-MM-DD".to_owned())?;
        Ok(Self {
            flight_number: flight.to_string(),
            departure_date,
        })
    }

    /// Parses a roster: one flight per line, blank lines ignored, duplicates dropped. Every bad
    /// line is reported with its number.
    pub fn parse_list(text: &str) -> Result<Vec<Self>, Vec<String>> {
        let mut flights = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match Self::parse(line) {
                Ok(f) => flights.push(f),
                Err(e) => errors.push(format!("line {}: {e}", i + 1)),
            }
        }
        flights.sort();
        flights.dedup();
        if flights.len() > MAX_ROSTER {
            errors.push(format!("a roster holds at most {MAX_ROSTER} flights"));
        }
        if errors.is_empty() {
            Ok(flights)
        } else {
            Err(errors)
        }
    }

    /// Whether the flight is near enough at `at` for its crew to see its passengers: from the
    /// start of the day before the departure date (UTC) to the end of the day after it.
    pub fn active(&self, at: DateTime<Utc>) -> bool {
        let start = self
            .departure_date
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc());
        match start {
            Some(start) => at >= start - Duration::days(1) && at < start + Duration::days(2),
            None => false,
        }
    }
}

impl AccountStore {
    /// The flights of `crew`'s roster that are active at `at` (see [`RosteredFlight::active`]),
    /// as a subquery yielding flight keys (`BA117 2026-03-12`) with `{}` parameter markers and
    /// their values: the cabin crew's row scope, joined to the passengers' flights by the
    /// composition root.
    pub fn active_roster_flights_sql(crew: &str, at: DateTime<Utc>) -> (String, Vec<String>) {
        // Active from the start of the day before the departure date to the end of the day
        // after: the departure date lies within one day of `at`'s UTC date.
        let today = at.date_naive();
        (
            "SELECT flight_number || ' ' || departure_date FROM crew_rosters \
             WHERE account_id = {} AND departure_date >= {} AND departure_date <= {}"
                .into(),
            vec![
                crew.to_owned(),
                (today - Duration::days(1)).to_string(),
                (today + Duration::days(1)).to_string(),
            ],
        )
    }

    /// The flights on account `id`'s roster, oldest first.
    pub async fn roster(&self, id: &str) -> Result<Vec<RosteredFlight>, StorageError> {
        let rows = sqlx::query(
            "SELECT flight_number, departure_date FROM crew_rosters WHERE account_id = $1 \
             ORDER BY departure_date, flight_number",
        )
        .bind(id)
        .fetch_all(self.database().pool())
        .await?;
        rows.iter()
            .map(|r| {
                let date: String = r.try_get("departure_date")?;
                Ok(RosteredFlight {
                    flight_number: r.try_get("flight_number")?,
                    departure_date: NaiveDate::parse_from_str(&date, "%Y-%m-%d").map_err(|_| {
                        StorageError::Corrupt(format!("crew roster of {id}: bad date"))
                    })?,
                })
            })
            .collect()
    }

    /// Replaces account `id`'s roster (audited as `account.roster_set`, flight count only).
    pub async fn set_roster(
        &self,
        id: Uuid,
        flights: &[RosteredFlight],
        ctx: &AccessContext,
    ) -> Result<(), StorageError> {
        let t = to_db_time(now());
        let mut tx = self.database().begin_write().await?;
        sqlx::query("DELETE FROM crew_rosters WHERE account_id = $1")
            .bind(id.to_string())
            .execute(tx.conn())
            .await?;
        for f in flights {
            sqlx::query(
                "INSERT INTO crew_rosters (account_id, flight_number, departure_date, assigned_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(&f.flight_number)
            .bind(f.departure_date.format("%Y-%m-%d").to_string())
            .bind(&t)
            .execute(tx.conn())
            .await?;
        }
        tx.audit(&[ctx.entry(
            crate::events::audit::ACCOUNT_ROSTER_SET,
            "staff_account",
            Some(id.to_string()),
            vec![format!("flights:{}", flights.len())],
            "success",
        )])
        .await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn roster_lines_parse_and_every_bad_line_is_named() {
        let flights =
            RosteredFlight::parse_list("ba117 2026-03-12\n\nEK5 2026-03-13\nBA117 2026-03-12")
                .unwrap();
        assert_eq!(flights.len(), 2, "duplicates dropped");
        assert_eq!(flights[0].flight_number, "BA117");
        let errors = RosteredFlight::parse_list(
            "BA117\n117 2026-03-12\nBA12345 2026-03-12\nBA117 12/03/2026",
        )
        .unwrap_err();
        assert_eq!(errors.len(), 4);
        assert!(errors[0].starts_with("line 1:") && errors[3].starts_with("line 4:"));
        assert!(RosteredFlight::parse("U21234A 2026-03-12").is_ok());
        // The shared rule writes a flight one way: a leading zero is dropped, as in bookings.
        assert_eq!(
            RosteredFlight::parse("ba0117 2026-03-12")
                .unwrap()
                .flight_number,
            "BA117"
        );
    }

    #[test]
    fn a_flight_is_visible_to_its_crew_only_around_its_date() {
        let f = RosteredFlight::parse("BA117 2026-03-12").unwrap();
        assert!(!f.active(at("2026-03-10T23:59:59Z")));
        assert!(f.active(at("2026-03-11T00:00:00Z")));
        assert!(f.active(at("2026-03-13T23:59:59Z")));
        assert!(!f.active(at("2026-03-14T00:00:00Z")));
    }
}
