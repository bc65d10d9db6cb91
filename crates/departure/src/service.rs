//! Departure control's reads: a station's departures today, a flight's passengers, a crew
//! member's rostered flights and a boarding pass's passenger — each limited by the principal's
//! row scope inside the query (the same subquery the customers domain uses, resolved by the
//! composition root's [`RowScopes`]) and audited before anything is shown.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use aloft_access::AccountStore;
use aloft_access::roster::RosteredFlight;
use aloft_authz::{Principal, RowScope};
use aloft_customers::permissions::{ROSTER, STATION};
use aloft_customers::storage::RowScopes;
use aloft_customers::{Customer, CustomerStore};
use aloft_kernel::{AccessContext, Auditor, StorageError};
use aloft_travel::storage::FlightPassenger;
use aloft_travel::{RecordKind, TravelStore};
use aloft_vocab::FlightNumber;

use crate::bcbp::{self, BoardingPass};
use crate::checkins::{CheckIn, CheckIns, Method};
use crate::events::audit;
use crate::manifest::{self, History, PassengerLine};

/// The fields of a profile a departure page shows (what the audit record names).
pub const SHOWN_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "loyalty_tier",
    "date_of_birth",
    "nationality",
    "passport_expiry",
    "preferences",
];

/// Departure control's view of the stores.
#[derive(Clone)]
pub struct Departures {
    checkins: CheckIns,
    station_days: StationDays,
    customers: CustomerStore,
    travel: TravelStore,
    accounts: AccountStore,
    auditor: Option<Auditor>,
    scopes: Arc<dyn RowScopes>,
}

impl std::fmt::Debug for Departures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Departures")
    }
}

/// A principal's row scope as a condition on passengers.
enum Scope {
    /// Every passenger (an unscoped role).
    All,
    /// Nobody.
    Nothing,
    /// The passengers this subquery (with `{}` markers) yields.
    Only((String, Vec<String>)),
}

/// One flight departing from a station, with counts of what the agent should prepare for.
#[derive(Debug, Clone, Default)]
pub struct FlightSummary {
    /// Flight number (`EK1`).
    pub number: String,
    /// Local departure date at the origin.
    pub date: NaiveDate,
    /// Earliest scheduled departure of its passengers (UTC).
    pub departure: DateTime<Utc>,
    /// The most frequent destination (IATA).
    pub destination: String,
    /// Passengers booked.
    pub passengers: usize,
    /// Passengers with any special service request.
    pub ssr: usize,
    /// Passengers needing assistance (PRM).
    pub prm: usize,
    /// Passengers with a special meal.
    pub meals: usize,
    /// Gold and platinum passengers.
    pub top_tier: usize,
    /// Passengers with documents to check.
    pub documents: usize,
    /// Passengers checked in.
    pub checked_in: usize,
}

/// How far ahead the departures list always looks, whatever the local hour.
pub const LOOKAHEAD: Duration = Duration::hours(12);

/// How long a computed departures list is shared (a check-in at the station drops it sooner).
pub const STATION_DAY_TTL: std::time::Duration = std::time::Duration::from_secs(15);

/// Departures lists computed recently, by station and row scope.
///
/// Why: the list is counts only, but computing it reads and decrypts the profile of every
/// passenger departing in the next twelve hours — about 40 ms of CPU for 2,000 passengers at a
/// hub, so twenty agents refreshing it saturated two cores (p50 6.7 s at 50 req/s). Agents of
/// one station share one computation per [`STATION_DAY_TTL`]; requests arriving while it runs
/// wait for it instead of starting their own (one lock per station and scope).
#[derive(Clone, Default)]
struct StationDays(Arc<std::sync::Mutex<Slots>>);

#[derive(Default)]
struct Slots {
    /// The lists, by `station|scope`.
    lists: HashMap<String, Arc<tokio::sync::Mutex<CachedDay>>>,
    /// Per station, how many check-ins it has recorded since start: a list computed at an
    /// older count is stale.
    epochs: HashMap<String, u64>,
}

/// A cached list: when it was computed, at which check-in epoch of its station.
type CachedDay = Option<(std::time::Instant, u64, Arc<StationDay>)>;

impl StationDays {
    fn lock(&self) -> std::sync::MutexGuard<'_, Slots> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn slot(&self, key: &str) -> Arc<tokio::sync::Mutex<CachedDay>> {
        self.lock().lists.entry(key.to_owned()).or_default().clone()
    }

    fn epoch(&self, station: &str) -> u64 {
        self.lock().epochs.get(station).copied().unwrap_or(0)
    }

    /// A check-in at `station` changed its counts: its lists are stale.
    fn forget(&self, station: &str) {
        *self.lock().epochs.entry(station.to_owned()).or_default() += 1;
    }
}

/// A station's departures on its local today.
#[derive(Debug, Clone)]
pub struct StationDay {
    /// The station (IATA).
    pub station: String,
    /// Its IANA zone.
    pub zone: chrono_tz::Tz,
    /// Its local date.
    pub date: NaiveDate,
    /// The flights, soonest first.
    pub flights: Vec<FlightSummary>,
}

/// A flight's passengers.
#[derive(Debug, Clone)]
pub struct FlightView {
    /// Flight number.
    pub number: String,
    /// Local departure date at the origin.
    pub date: NaiveDate,
    /// Origin (IATA).
    pub origin: String,
    /// Its IANA zone.
    pub zone: chrono_tz::Tz,
    /// The passengers the principal may see, by seat.
    pub passengers: Vec<PassengerLine>,
}

/// A rostered flight with what is known of it.
#[derive(Debug, Clone)]
pub struct RosterFlight {
    /// The roster line.
    pub flight: RosteredFlight,
    /// Whether its passengers are visible now (see [`RosteredFlight::active`]).
    pub active: bool,
}

/// What a scanned boarding pass found.
#[derive(Debug, Clone)]
pub struct ScanResult {
    /// The pass as read.
    pub pass: BoardingPass,
    /// The leg departing from the agent's station.
    pub leg: usize,
    /// The flight's local date (year inferred).
    pub date: NaiveDate,
    /// The passenger and their booking.
    pub passenger: PassengerLine,
}

/// Why a boarding pass found nobody.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The text is not a boarding pass.
    #[error(transparent)]
    Unreadable(#[from] bcbp::BcbpError),
    /// No leg departs from the agent's station.
    #[error("this boarding pass is for a flight from {from}; your station is {station}")]
    OtherStation {
        /// Where the pass's first leg departs.
        from: String,
        /// The agent's station.
        station: String,
    },
    /// No visible booking matches.
    #[error(
        "no passenger {surname} with booking {pnr} on {flight} on {date} departs from {station} in your check-in window"
    )]
    NotFound {
        /// Surname as on the pass.
        surname: String,
        /// The PNR.
        pnr: String,
        /// The flight.
        flight: String,
        /// The date.
        date: NaiveDate,
        /// The station.
        station: String,
    },
    /// The principal's credential names no station.
    #[error("your credential names no station")]
    NoStation,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Departures {
    /// Departure control over the stores; `customers` records reads through `auditor`.
    pub fn new(
        customers: CustomerStore,
        travel: TravelStore,
        accounts: AccountStore,
        auditor: Option<Auditor>,
        scopes: Arc<dyn RowScopes>,
    ) -> Self {
        Self {
            checkins: CheckIns::new(travel.database().clone()),
            station_days: StationDays::default(),
            customers,
            travel,
            accounts,
            auditor,
            scopes,
        }
    }

    fn scope(&self, principal: &Principal) -> Scope {
        match &principal.scope {
            RowScope::All => Scope::All,
            RowScope::Nothing => Scope::Nothing,
            RowScope::Only(grant) => match self.scopes.visible_ids(grant, Utc::now()) {
                Some(sql) => Scope::Only((sql.sql, sql.binds)),
                None => Scope::Nothing,
            },
        }
    }

    /// The check-in agent's station (their credential's station scope).
    pub fn station_of(principal: &Principal) -> Option<String> {
        match &principal.scope {
            RowScope::Only(g) if g.kind == STATION => Some(g.value.clone()),
            _ => None,
        }
    }

    /// The crew member whose roster limits the principal.
    pub fn crew_of(principal: &Principal) -> Option<String> {
        match &principal.scope {
            RowScope::Only(g) if g.kind == ROSTER => Some(g.value.clone()),
            _ => None,
        }
    }

    /// The flight entries of a station's departures between `from` and `to`, scoped.
    async fn station_entries(
        &self,
        principal: &Principal,
        station: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        match self.scope(principal) {
            Scope::Nothing => Ok(vec![]),
            Scope::All => {
                self.travel
                    .station_departures(station, from, to, None)
                    .await
            }
            Scope::Only(s) => {
                self.travel
                    .station_departures(station, from, to, Some(&s))
                    .await
            }
        }
    }

    /// A flight's entries, scoped.
    async fn flight_entries(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        match self.scope(principal) {
            Scope::Nothing => Ok(vec![]),
            Scope::All => self.travel.flight_manifest(key, None).await,
            Scope::Only(s) => self.travel.flight_manifest(key, Some(&s)).await,
        }
    }

    /// Profiles of these entries' passengers (merged ones skipped), read in bulk.
    async fn profiles(
        &self,
        entries: &[FlightPassenger],
    ) -> Result<HashMap<aloft_customers::CustomerId, Customer>, StorageError> {
        let mut ids: Vec<_> = entries.iter().map(|e| e.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        // One query per 500 profiles (a 300-seat manifest read one by one spent most of its
        // time on round trips); the entries were scoped in SQL already.
        let found = self.customers.get_all(&ids).await?;
        Ok(found
            .into_iter()
            .filter(|c| c.merged_into.is_none())
            .map(|c| (c.id, c))
            .collect())
    }

    /// Lines for `entries` (one per passenger and flight), with their recent history.
    ///
    /// With `audit`, the passengers shown are audited as soon as their profiles are read,
    /// while their recent records are still being read (a 300-seat manifest on PostgreSQL
    /// spent a fifth of its time waiting for the audit commit after everything else); nothing
    /// is returned before the audit record is committed.
    async fn lines(
        &self,
        entries: &[FlightPassenger],
        with_history: bool,
        audit: Option<(&AccessContext, aloft_kernel::audit::AuditAction)>,
    ) -> Result<Vec<PassengerLine>, StorageError> {
        let (from, to) = match entries.iter().map(|e| e.departure).min() {
            Some(first) => (
                first - manifest::RECENT,
                entries.iter().map(|e| e.departure).max().unwrap_or(first),
            ),
            None => return Ok(vec![]),
        };
        let kinds: &[RecordKind] = if with_history {
            &[
                RecordKind::Ancillary,
                RecordKind::Booking,
                RecordKind::Feedback,
            ]
        } else {
            &[RecordKind::Ancillary]
        };
        let mut ids: Vec<_> = entries.iter().map(|e| e.customer_id).collect();
        ids.sort_unstable();
        ids.dedup();
        // Profiles and recent records are independent reads: both at once.
        let profiles_audited = async {
            let profiles = self.profiles(entries).await?;
            if let Some((ctx, action)) = audit {
                self.audit_shown(ctx, action, profiles.keys().copied())
                    .await?;
            }
            Ok(profiles)
        };
        let mut flights: Vec<&str> = entries.iter().map(|e| e.flight.as_str()).collect();
        flights.sort_unstable();
        flights.dedup();
        let (mut profiles, docs, mut checkins) = futures_util::future::try_join3(
            profiles_audited,
            self.travel
                .documents_between(&ids, kinds, from, to + Duration::seconds(1)),
            self.checkins.of_flights(&flights),
        )
        .await?;
        let mut by_customer: HashMap<_, History<'_>> = HashMap::new();
        for (id, kind, doc) in &docs {
            by_customer
                .entry(*id)
                .or_default()
                .records
                .push((*kind, doc));
        }
        let empty = History::default();
        let mut lines = Vec::with_capacity(entries.len());
        // A passenger booked twice on one flight (a duplicate booking) is one line.
        let mut seen = std::collections::HashSet::new();
        for e in entries {
            let Some(customer) = profiles.get(&e.customer_id) else {
                continue;
            };
            if !seen.insert((e.customer_id, e.flight.as_str())) {
                continue;
            }
            let Some(date) = e
                .flight
                .split_once(' ')
                .and_then(|(_, d)| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            else {
                continue;
            };
            let destination = manifest::segment_of(e)
                .and_then(|s| s["destination"].as_str())
                .and_then(aloft_travel::airports::lookup)
                .map(|a| a.country.as_str());
            let mut line = manifest::assemble(
                e,
                customer.clone(),
                date,
                destination,
                by_customer.get(&e.customer_id).unwrap_or(&empty),
            );
            line.checked_in = checkins.remove(&(e.flight.clone(), e.customer_id));
            lines.push(line);
        }
        profiles.clear();
        Ok(lines)
    }

    /// Audits that `ctx` is shown these passengers; show nothing on `Err`.
    async fn audit(
        &self,
        ctx: &AccessContext,
        action: aloft_kernel::audit::AuditAction,
        lines: &[PassengerLine],
    ) -> Result<(), StorageError> {
        self.audit_shown(ctx, action, lines.iter().map(|l| l.customer.id))
            .await
    }

    /// Audits that `ctx` is shown these customers (each once); show nothing on `Err`.
    async fn audit_shown(
        &self,
        ctx: &AccessContext,
        action: aloft_kernel::audit::AuditAction,
        customers: impl Iterator<Item = aloft_customers::CustomerId>,
    ) -> Result<(), StorageError> {
        if let Some(auditor) = &self.auditor {
            let mut seen = std::collections::BTreeSet::new();
            let entries = customers
                .filter(|id| seen.insert(*id))
                .map(|id| {
                    ctx.entry(
                        action,
                        "customer",
                        Some(id.to_string()),
                        SHOWN_FIELDS.iter().map(|f| (*f).to_owned()).collect(),
                        "success",
                    )
                })
                .collect();
            auditor.record_all(entries).await?;
        }
        Ok(())
    }

    /// The station's departures on its local today, and at least the next [`LOOKAHEAD`] (late
    /// in the evening the agent prepares the first flights of the morning); flights that left
    /// more than the check-in window ago are outside the agent's scope and not listed. Counts
    /// only: no personal data is shown, so nothing is audited.
    pub async fn station_today(
        &self,
        principal: &Principal,
        station: &str,
        now: DateTime<Utc>,
    ) -> Result<StationDay, StorageError> {
        let scope = match &principal.scope {
            RowScope::All => "all".to_owned(),
            RowScope::Nothing => return self.compute_station_today(principal, station, now).await,
            RowScope::Only(grant) => format!("{}={}", grant.kind.as_str(), grant.value),
        };
        let slot = self.station_days.slot(&format!("{station}|{scope}"));
        let mut cached = slot.lock().await;
        let epoch = self.station_days.epoch(station);
        if let Some((at, seen, day)) = cached.as_ref()
            && *seen == epoch
            && at.elapsed() < STATION_DAY_TTL
            && day.date == now.with_timezone(&day.zone).date_naive()
        {
            return Ok(StationDay::clone(day));
        }
        let day = self.compute_station_today(principal, station, now).await?;
        *cached = Some((std::time::Instant::now(), epoch, Arc::new(day.clone())));
        Ok(day)
    }

    async fn compute_station_today(
        &self,
        principal: &Principal,
        station: &str,
        now: DateTime<Utc>,
    ) -> Result<StationDay, StorageError> {
        let zone = aloft_travel::airports::lookup(station)
            .map(|a| a.time_zone)
            .unwrap_or(chrono_tz::UTC);
        let date = now.with_timezone(&zone).date_naive();
        let (from, to) = local_day(zone, date);
        let to = to.max(now + LOOKAHEAD);
        let entries = self.station_entries(principal, station, from, to).await?;
        let lines = self.lines(&entries, false, None).await?;
        let mut flights: Vec<FlightSummary> = Vec::new();
        let mut destinations: HashMap<String, HashMap<String, usize>> = HashMap::new();
        for line in &lines {
            let Some((number, day)) = line.flight.split_once(' ') else {
                continue;
            };
            let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d") else {
                continue;
            };
            let i = match flights
                .iter()
                .position(|f| f.number == number && f.date == day)
            {
                Some(i) => i,
                None => {
                    flights.push(FlightSummary {
                        number: number.to_owned(),
                        date: day,
                        departure: line.departure,
                        ..FlightSummary::default()
                    });
                    flights.len() - 1
                }
            };
            let f = &mut flights[i];
            f.departure = f.departure.min(line.departure);
            f.passengers += 1;
            f.ssr += usize::from(!line.ssrs.is_empty());
            f.prm += usize::from(line.prm());
            f.meals += usize::from(line.meal.is_some());
            f.top_tier += usize::from(line.top_tier());
            f.documents += usize::from(!line.documents.is_empty());
            f.checked_in += usize::from(line.checked_in.is_some());
            *destinations
                .entry(line.flight.clone())
                .or_default()
                .entry(line.destination.clone())
                .or_default() += 1;
        }
        for f in &mut flights {
            let key = format!("{} {}", f.number, f.date);
            f.destination = destinations
                .get(&key)
                .and_then(|d| d.iter().max_by_key(|(_, n)| **n).map(|(d, _)| d.clone()))
                .unwrap_or_default();
        }
        flights.sort_by(|a, b| (a.departure, &a.number).cmp(&(b.departure, &b.number)));
        Ok(StationDay {
            station: station.to_owned(),
            zone,
            date,
            flights,
        })
    }

    /// A flight's passengers visible to the principal, by seat, audited as `action`. `None`
    /// when the principal sees nobody on it.
    pub async fn flight(
        &self,
        principal: &Principal,
        ctx: &AccessContext,
        number: &FlightNumber,
        date: NaiveDate,
        action: aloft_kernel::audit::AuditAction,
    ) -> Result<Option<FlightView>, StorageError> {
        let key = format!("{number} {date}");
        let entries = self.flight_entries(principal, &key).await?;
        let Some(origin) = entries.first().map(|e| e.station.clone()) else {
            return Ok(None);
        };
        let mut passengers = self.lines(&entries, true, Some((ctx, action))).await?;
        passengers.sort_by_key(PassengerLine::seat_key);
        let zone = aloft_travel::airports::lookup(&origin)
            .map(|a| a.time_zone)
            .unwrap_or(chrono_tz::UTC);
        Ok(Some(FlightView {
            number: number.to_string(),
            date,
            origin,
            zone,
            passengers,
        }))
    }

    /// Checks `customer` in at the desk for the flight `number` on `date` departing from the
    /// principal's station. `Ok(None)` when the principal does not see that passenger on that
    /// flight from their station (nothing is recorded); `Ok(Some(false))` when already checked
    /// in (nothing changes).
    pub async fn check_in(
        &self,
        principal: &Principal,
        ctx: &AccessContext,
        number: &FlightNumber,
        date: NaiveDate,
        customer: aloft_customers::CustomerId,
    ) -> Result<Option<bool>, StorageError> {
        let Some(station) = Self::station_of(principal) else {
            return Ok(None);
        };
        let key = format!("{number} {date}");
        let on_board = self
            .flight_entries(principal, &key)
            .await?
            .iter()
            .any(|e| e.customer_id == customer && e.station == station);
        if !on_board {
            return Ok(None);
        }
        let recorded = self
            .checkins
            .record(&key, customer, Method::Desk, None, ctx)
            .await?;
        self.station_days.forget(&station);
        Ok(Some(recorded))
    }

    /// The crew member's roster, soonest first, with whether each flight is active now.
    pub async fn roster(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<Vec<RosterFlight>, StorageError> {
        let Some(crew) = Self::crew_of(principal) else {
            return Ok(vec![]);
        };
        let today = now.date_naive();
        Ok(self
            .accounts
            .roster(&crew)
            .await?
            .into_iter()
            .filter(|f| f.departure_date >= today - Duration::days(1))
            .map(|f| RosterFlight {
                active: f.active(now),
                flight: f,
            })
            .collect())
    }

    /// The passenger of a scanned boarding pass departing from the agent's station, audited.
    pub async fn scan(
        &self,
        principal: &Principal,
        ctx: &AccessContext,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<ScanResult, ScanError> {
        let pass = bcbp::parse(text)?;
        let station = Self::station_of(principal).ok_or(ScanError::NoStation)?;
        let Some(leg_index) = pass.legs.iter().position(|l| l.from.as_str() == station) else {
            return Err(ScanError::OtherStation {
                from: pass.legs[0].from.to_string(),
                station,
            });
        };
        let leg = &pass.legs[leg_index];
        let zone = aloft_travel::airports::lookup(&station)
            .map(|a| a.time_zone)
            .unwrap_or(chrono_tz::UTC);
        let today = now.with_timezone(&zone).date_naive();
        let date = leg.date_near(today).unwrap_or(today);
        let not_found = || ScanError::NotFound {
            surname: pass.surname.clone(),
            pnr: leg.pnr.clone(),
            flight: leg.flight.to_string(),
            date,
            station: station.clone(),
        };
        let key = format!("{} {date}", leg.flight);
        let entries: Vec<FlightPassenger> = self
            .flight_entries(principal, &key)
            .await?
            .into_iter()
            .filter(|e| {
                e.station == station && e.booking["record_locator"].as_str() == Some(&leg.pnr)
            })
            .collect();
        if entries.is_empty() {
            return Err(not_found());
        }
        let lines = self.lines(&entries, true, None).await?;
        let surname = aloft_vocab::fold(&pass.surname).replace([' ', '-', '\''], "");
        let given = aloft_vocab::fold(&pass.given);
        // The passenger whose surname the pass prints (PNR names drop spaces and accents); of
        // several (a family on one booking), the one whose given name it starts with.
        let mut matching: Vec<&PassengerLine> = lines
            .iter()
            .filter(|l| {
                aloft_vocab::fold(l.customer.profile.last_name.as_str())
                    .replace([' ', '-', '\''], "")
                    .starts_with(&surname)
            })
            .collect();
        if matching.len() > 1 {
            matching.sort_by_key(|l| {
                !given.starts_with(&aloft_vocab::fold(l.customer.profile.first_name.as_str()))
            });
        }
        let Some(mut line) = matching.first().map(|l| (*l).clone()) else {
            return Err(not_found());
        };
        self.audit(ctx, audit::BOARDING_PASS_READ, std::slice::from_ref(&line))
            .await?;
        // A boarding pass is issued at check-in and its sequence number says so: the passenger
        // is checked in (the first record stands).
        if line.checked_in.is_none()
            && let Some(sequence) = leg.sequence.as_deref()
        {
            self.checkins
                .record(
                    &line.flight,
                    line.customer.id,
                    Method::BoardingPass,
                    Some(sequence),
                    ctx,
                )
                .await?;
            self.station_days.forget(&station);
            line.checked_in = Some(CheckIn {
                at: Utc::now(),
                method: Method::BoardingPass,
                sequence: Some(sequence.to_owned()),
            });
        }
        Ok(ScanResult {
            leg: leg_index,
            date,
            passenger: line,
            pass,
        })
    }

    /// Bookings departing from the principal's station (or on their roster) whose record
    /// locator is `pnr`: `(flight key, origin, destination, departure)`. No personal data.
    pub async fn find_pnr(
        &self,
        principal: &Principal,
        pnr: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String, String, DateTime<Utc>)>, StorageError> {
        let entries = self.reachable_entries(principal, now).await?;
        Ok(entries
            .iter()
            .filter(|e| e.booking["record_locator"].as_str() == Some(pnr))
            .map(|e| {
                let dest = manifest::segment_of(e)
                    .and_then(|s| s["destination"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                (e.flight.clone(), e.station.clone(), dest, e.departure)
            })
            .collect())
    }

    /// Flight entries carrying bag tag `tag` (same scope as [`Departures::find_pnr`]).
    pub async fn find_bag(
        &self,
        principal: &Principal,
        tag: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String, DateTime<Utc>)>, StorageError> {
        let entries = self.reachable_entries(principal, now).await?;
        Ok(entries
            .iter()
            .filter(|e| {
                manifest::segment_of(e)
                    .and_then(|s| s["bag_tags"].as_array())
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag)))
            })
            .map(|e| (e.flight.clone(), e.station.clone(), e.departure))
            .collect())
    }

    /// The flight entries a principal reaches: a station's departures in the check-in window,
    /// or the passengers of a crew member's active rostered flights.
    async fn reachable_entries(
        &self,
        principal: &Principal,
        now: DateTime<Utc>,
    ) -> Result<Vec<FlightPassenger>, StorageError> {
        if let Some(station) = Self::station_of(principal) {
            return self
                .station_entries(
                    principal,
                    &station,
                    now - Duration::hours(6),
                    now + Duration::hours(48),
                )
                .await;
        }
        let mut out = Vec::new();
        for f in self.roster(principal, now).await? {
            if f.active {
                let key = format!("{} {}", f.flight.flight_number, f.flight.departure_date);
                out.extend(self.flight_entries(principal, &key).await?);
            }
        }
        Ok(out)
    }
}

/// The UTC bounds of a local calendar day in `zone` (a day of 23 or 25 hours at a clock change).
pub fn local_day(zone: chrono_tz::Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |d: NaiveDate| {
        let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        zone.from_local_datetime(&midnight)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| midnight.and_utc())
    };
    (start(date), start(date + Duration::days(1)))
}
