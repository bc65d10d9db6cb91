//! Identity resolution in front of storage: every source record links to exactly one golden
//! customer profile.
//!
//! Order of evidence, strongest first:
//! 1. **an earlier link** of the same (source, source record id) in `identity_links` — a re-import
//!    or redelivery goes to the same customer, whatever changed since;
//! 2. **deterministic** keys, exact through the customers' blind indexes: loyalty number,
//!    passport number (the nationality must agree when both are known), e-mail address (unique
//!    holder only, and only when the given and family names agree too: a family or corporate
//!    booker shares an address, so a shared e-mail alone is no identity);
//! 3. **probabilistic**: `aloft_identity::Resolver` (Fellegi–Sunter), seeded at start-up with one
//!    record per existing profile; a match links to that profile;
//! 4. otherwise a **new profile** from the hints (PNR name split into given and family name).
//!    An uncertain match (the resolver's review decision) also gets a new profile, plus a row in
//!    `identity_review` for a data steward — a wrong merge mixes two people's data, a missed one
//!    only delays a merge.
//!
//! Every link is stored with its method, weight and an explanation of field names and weights
//! (never values). Deterministic look-ups are answered from in-memory maps filled at seeding and
//! kept up to date for profiles this process creates; profiles created elsewhere are learned at
//! the start of each batch from the profiles whose ids (UUIDv7, time-ordered) follow the newest
//! one known. Known limit: a change of identifiers on an existing profile (a loyalty number added
//! by an agent) is learned at the next re-seed (restart), not at once.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde_json::{Value, json};
use sqlx::Row;

use aloft_customers::model::{
    CountryCode, EmailAddress, LoyaltyNumber, PassportNumber, PhoneNumber,
};
use aloft_customers::storage::Cursor;
use aloft_customers::{CustomerId, CustomerQuery, CustomerStore, NewCustomers, Profile};
use aloft_identity::normalise::names::{clean_name, parse_pnr_name};
use aloft_identity::{Decision, Explanation, GoldenId, PersonRecord, Resolver, ResolverConfig};
use aloft_kernel::db::{now, to_db_time};
use aloft_kernel::{AccessContext, Database, Statements, StorageError};
use aloft_security::DataKey;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::IngestError;
use crate::envelope::{IdentityHints, Rejection};

/// The reason given when a record carries nothing to identify its passenger by.
pub const NO_IDENTITY: &str =
    "cannot identify the passenger: no loyalty number, e-mail, passport or name";

/// The resolver's source name for the seeded profiles (record id = customer id).
const PROFILE_SOURCE: &str = "aloft.customer";

/// How a record was linked to its customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkMethod {
    /// Same loyalty number.
    Loyalty,
    /// Same passport number (and nationality when known).
    Passport,
    /// Same e-mail address and name.
    Email,
    /// The probabilistic resolver accepted the match.
    Probabilistic,
    /// No profile matched: a new one was created.
    New,
}

impl LinkMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMethod::Loyalty => "loyalty",
            LinkMethod::Passport => "passport",
            LinkMethod::Email => "email",
            LinkMethod::Probabilistic => "probabilistic",
            LinkMethod::New => "new",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "loyalty" => LinkMethod::Loyalty,
            "passport" => LinkMethod::Passport,
            "email" => LinkMethod::Email,
            "probabilistic" => LinkMethod::Probabilistic,
            "new" => LinkMethod::New,
            _ => return None,
        })
    }
}

/// The customer a record belongs to, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The golden customer profile.
    pub customer_id: CustomerId,
    /// How it was decided.
    pub method: LinkMethod,
    /// Match weight in bits (probabilistic links).
    pub weight: Option<f64>,
    /// Field names and weights behind the decision (no personal values).
    pub explanation: Value,
    /// Decided by this call (false: an earlier link was reused).
    pub fresh: bool,
    /// The profile was created by this call.
    pub created_customer: bool,
}

/// One record to link.
#[derive(Debug, Clone)]
pub struct LinkItem {
    /// Position in the input (for rejections).
    pub position: u64,
    /// The event id (for rejections).
    pub event_id: Option<String>,
    /// Source system name (`data.source`).
    pub source: String,
    /// The source's record id.
    pub source_record_id: String,
    /// Who it is about.
    pub hints: IdentityHints,
}

/// Hints validated into the customer domain's value types.
#[derive(Debug, Default)]
struct Clean {
    loyalty: Option<LoyaltyNumber>,
    email: Option<EmailAddress>,
    phone: Option<PhoneNumber>,
    passport: Option<PassportNumber>,
    nationality: Option<CountryCode>,
    dob: Option<NaiveDate>,
    /// Folded given names and surname.
    name: Option<(String, String)>,
}

/// What the linker remembers of a profile for the e-mail and passport rules.
#[derive(Debug, Clone)]
struct Facts {
    given: String,
    surname: String,
    nationality: Option<String>,
}

/// A profile to create at the end of the batch.
struct Pending {
    profile: Profile,
    /// The item that asked for it.
    owner: usize,
}

/// The profiles a batch creates so far, and the keys that find them: later items of the same
/// batch link to a pending profile exactly as they would to a stored one.
#[derive(Default)]
struct BatchProfiles {
    /// Profiles to create, in order.
    pending: Vec<Pending>,
    loyalty: HashMap<String, usize>,
    passport: HashMap<String, usize>,
    email: HashMap<String, usize>,
    /// Golden ids of the resolver that belong to a pending profile.
    golden: HashMap<GoldenId, usize>,
    /// Pending profiles with their review candidates.
    reviews: Vec<(usize, Vec<Candidate>)>,
}

impl BatchProfiles {
    /// Registers `profile` (asked for by item `owner`) under its keys and `golden` id; returns
    /// its number and the decision linking the item to it.
    fn create(
        &mut self,
        owner: usize,
        profile: Profile,
        clean: &Clean,
        golden: GoldenId,
        explanation: Value,
    ) -> (usize, Decided) {
        let p = self.pending.len();
        if let Some(l) = &clean.loyalty {
            self.loyalty.insert(l.as_str().to_owned(), p);
        }
        if let Some(pp) = &clean.passport {
            self.passport.insert(pp.as_str().to_owned(), p);
        }
        if let Some(e) = &clean.email {
            self.email.insert(e.key(), p);
        }
        self.golden.insert(golden, p);
        self.pending.push(Pending { profile, owner });
        (p, (Target::Pending(p), LinkMethod::New, None, explanation))
    }
}

/// The decision of a record seen twice in one batch: the first one's, its rejections
/// addressed to the repeat.
fn repeated(
    first: &Option<Result<Decided, Vec<Rejection>>>,
    item: &LinkItem,
) -> Option<Result<Decided, Vec<Rejection>>> {
    match first.as_ref()? {
        Ok(decided) => Some(Ok(decided.clone())),
        Err(rejections) => Some(Err(rejections
            .iter()
            .map(|r| Rejection {
                position: item.position,
                event_id: item.event_id.clone(),
                ..r.clone()
            })
            .collect())),
    }
}

/// Why a record without a usable name cannot be linked: no key matched and there is nothing
/// to create a profile from.
fn unidentified(item: &LinkItem, clean: &Clean) -> Rejection {
    let has_key = clean.loyalty.is_some() || clean.passport.is_some() || clean.email.is_some();
    let reason = if item.hints.passenger_name.is_none() && has_key {
        "cannot identify the passenger: the loyalty number, passport or e-mail matches no profile, and there is no name to create one"
    } else if item.hints.is_empty() || item.hints.passenger_name.is_none() {
        NO_IDENTITY
    } else {
        "the passenger name needs a family name and a given name (SURNAME/GIVEN)"
    };
    Rejection::new(
        item.position,
        item.event_id.as_deref(),
        "/passengername",
        reason,
    )
}

/// A decision for one item: where it goes, by which method, with which weight and why.
type Decided = (Target, LinkMethod, Option<f64>, Value);

/// A review candidate: the other profile, the match weight, the explanation.
type Candidate = (CustomerId, f64, Value);

/// What [`Linker::match_all`] decided for a batch.
struct Matched {
    /// Per item: its decision, or `None` where an earlier link is reused.
    out: Vec<Option<Result<Decided, Vec<Rejection>>>>,
    /// Per item: the earlier link it keeps.
    reused: Vec<Option<Link>>,
    /// Profiles to create, in order.
    pending: Vec<Pending>,
    /// Golden ids of the resolver that belong to a pending profile.
    golden_pending: HashMap<GoldenId, usize>,
    /// Pending profiles with their review candidates.
    reviews: Vec<(usize, Vec<Candidate>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Existing(CustomerId),
    Pending(usize),
}

/// The identity linker. Holds the resolver and the deterministic look-up maps; one per process,
/// used by one batch at a time (the pipeline keeps it behind a mutex).
pub struct Linker {
    customers: CustomerStore,
    db: Database,
    resolver: Resolver,
    golden: HashMap<GoldenId, CustomerId>,
    loyalty: HashMap<String, CustomerId>,
    passport: HashMap<String, Vec<CustomerId>>,
    email: HashMap<String, Vec<CustomerId>>,
    facts: HashMap<CustomerId, Facts>,
    stale: bool,
    /// The merge epoch ([`crate::merge::merge_epoch`]) the maps were built at: a merge or
    /// unmerge anywhere moves it, and the linker re-seeds.
    epoch: (i64, i64),
    /// The merge epoch [`Linker::must_reseed`] read, for the re-seed that follows: one read per
    /// batch, and the re-seed is about what the caller waited for.
    epoch_read: Option<(i64, i64)>,
    /// The greatest profile id known: profiles created elsewhere after it are learned at the
    /// start of the next batch (ids are UUIDv7, ordered by creation time).
    watermark: Option<CustomerId>,
    /// Links decided by batches not committed yet, with the number of the batch: a record
    /// seen again in a later batch keeps its link even before it is in `identity_links`.
    unsettled: HashMap<(String, String), (Link, u64)>,
    /// Data keys of the profiles created by batches not committed yet, with the number of the
    /// batch: records linked to them in a later batch are sealed before they are stored.
    unsettled_keys: HashMap<CustomerId, (DataKey, u64)>,
    /// The number the next batch gets.
    next_batch: u64,
    /// What became of the batches linked: committed up to which, failed how often.
    settlement: Settlement,
    /// The failure count at the last batch: a failure since means re-seeding.
    failures_seen: u64,
}

/// What became of the batches a linker linked, shared with their [`Receipt`]s.
#[derive(Debug, Clone)]
struct Settlement {
    /// Batches up to this number have committed.
    committed: Arc<AtomicU64>,
    /// How many batches failed to commit (a change makes the linker re-seed).
    failed: Arc<AtomicU64>,
    /// The lowest number of a batch that failed since the linker last re-seeded: batches
    /// numbered above it may link to what it decided.
    lowest_failed: Arc<AtomicU64>,
}

impl Default for Settlement {
    fn default() -> Self {
        Self {
            committed: Arc::default(),
            failed: Arc::default(),
            lowest_failed: Arc::new(AtomicU64::new(u64::MAX)),
        }
    }
}

/// A linked batch's duty to report whether its writes ([`LinkWrites`]) committed: the linker
/// already counts on them. Dropped without [`Receipt::committed`], it reports a failure (if
/// the batch had anything to write: otherwise nothing depends on it).
#[derive(Debug)]
pub struct Receipt {
    batch: u64,
    has_writes: bool,
    settlement: Settlement,
    reported: bool,
}

impl Receipt {
    /// Whether no batch linked before this one has failed to commit. If one has, this batch
    /// may link to profiles that were never stored: it must not commit, but link again.
    pub fn still_valid(&self) -> bool {
        self.settlement.lowest_failed.load(Ordering::Acquire) > self.batch
    }

    /// The batch's writes are committed.
    pub fn committed(mut self) {
        self.reported = true;
        self.settlement
            .committed
            .fetch_max(self.batch, Ordering::AcqRel);
    }
}

impl Drop for Receipt {
    /// The batch's writes did not commit: the linker re-seeds before its next batch, and every
    /// batch linked meanwhile is no longer [`Receipt::still_valid`] (it may link to a profile
    /// of this batch's). Drop it before the next batch takes its turn to record.
    fn drop(&mut self) {
        if !self.reported && self.has_writes {
            self.settlement
                .lowest_failed
                .fetch_min(self.batch, Ordering::AcqRel);
            self.settlement.failed.fetch_add(1, Ordering::AcqRel);
        }
    }
}

impl std::fmt::Debug for Linker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Linker")
            .field("profiles", &self.facts.len())
            .field("resolver_records", &self.resolver.len())
            .finish_non_exhaustive()
    }
}

fn title_case(folded: &str) -> String {
    folded
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.split('-')
                .map(|p| {
                    let mut c = p.chars();
                    match c.next() {
                        Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                        None => String::new(),
                    }
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn profile_record(id: CustomerId, p: &Profile) -> PersonRecord {
    let mut given = p.first_name.as_str().to_owned();
    if let Some(m) = &p.middle_name {
        given.push(' ');
        given.push_str(m.as_str());
    }
    PersonRecord {
        source: PROFILE_SOURCE.into(),
        record_id: id.to_string(),
        given_name: Some(given),
        surname: Some(p.last_name.as_str().to_owned()),
        date_of_birth: p.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()),
        email: p.email.as_ref().map(|e| e.as_str().to_owned()),
        phone: p.phone.as_ref().map(|e| e.as_str().to_owned()),
        loyalty_number: p.loyalty_number.as_ref().map(|e| e.as_str().to_owned()),
        passport_number: p.passport_number.as_ref().map(|e| e.as_str().to_owned()),
        nationality: p.nationality.as_ref().map(|e| e.as_str().to_owned()),
        ..PersonRecord::default()
    }
}

/// The explanation stored with a probabilistic decision: field names, levels and weights.
pub fn explanation_json(e: &Explanation) -> Value {
    json!({
        "match_weight": e.match_weight,
        "probability": e.probability,
        "prior_bits": e.prior,
        "names_swapped": e.names_swapped,
        "fields": e.fields.iter().map(|f| json!({
            "field": f.field.name(),
            "level": f.level,
            "weight": f.weight,
        })).collect::<Vec<_>>(),
    })
}

impl Linker {
    /// A linker that seeds itself before its first batch.
    pub fn unseeded(customers: CustomerStore) -> Self {
        let db = customers.database().clone();
        Self {
            customers,
            db,
            resolver: Resolver::new(ResolverConfig::default()),
            golden: HashMap::new(),
            loyalty: HashMap::new(),
            passport: HashMap::new(),
            email: HashMap::new(),
            facts: HashMap::new(),
            stale: true,
            epoch: (0, 0),
            epoch_read: None,
            watermark: None,
            unsettled: HashMap::new(),
            unsettled_keys: HashMap::new(),
            next_batch: 1,
            settlement: Settlement::default(),
            failures_seen: 0,
        }
    }

    /// Forgets everything; the next batch re-seeds (after a merge or unmerge).
    pub fn invalidate(&mut self) {
        self.stale = true;
    }

    /// Seeds the linker if it has not been seeded, or was left stale by a failed batch or read,
    /// or a merge anywhere.
    ///
    /// A batch's failure to commit is taken into account only by [`Linker::must_reseed`]: a
    /// failure reported after that check leaves the next batch linking on the old state, and
    /// that batch then fails at its turn (its [`Receipt`] is no longer valid), so the linker
    /// never re-seeds while batches that linked before are still in flight.
    pub async fn ensure_seeded(&mut self) -> Result<(), IngestError> {
        let epoch = match self.epoch_read.take() {
            Some(epoch) => epoch,
            None => crate::merge::merge_epoch(&self.db).await?,
        };
        if self.stale || epoch != self.epoch {
            self.reseed().await?;
            self.epoch = epoch;
        }
        Ok(())
    }

    /// Whether the next batch re-seeds the linker from the database (a batch failed to commit,
    /// a read failed, a merge happened). The caller, holding the linker, lets every batch that
    /// linked before end first, so that what they decided is stored or forgotten when the
    /// linker re-reads it (see `Pipeline`).
    pub async fn must_reseed(&mut self) -> Result<bool, IngestError> {
        let failures = self.settlement.failed.load(Ordering::Acquire);
        if failures != self.failures_seen {
            // A batch failed to commit what it decided: forget it all.
            self.stale = true;
            self.failures_seen = failures;
        }
        let epoch = crate::merge::merge_epoch(&self.db).await?;
        self.epoch_read = Some(epoch);
        Ok(self.stale || epoch != self.epoch)
    }

    async fn reseed(&mut self) -> Result<(), IngestError> {
        self.resolver = Resolver::new(ResolverConfig::default());
        self.golden.clear();
        self.watermark = None;
        self.unsettled.clear();
        self.unsettled_keys.clear();
        // Every batch linked before has ended (the caller waited): none can fail any more.
        self.settlement
            .lowest_failed
            .store(u64::MAX, Ordering::Release);
        self.loyalty.clear();
        self.passport.clear();
        self.email.clear();
        self.facts.clear();
        let mut ids = Vec::new();
        let mut records = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .customers
                .search(
                    &CustomerQuery {
                        cursor,
                        limit: 100,
                        ..CustomerQuery::default()
                    },
                    aloft_customers::Reader::System,
                )
                .await?;
            for c in &page.items {
                self.remember(c.id, &c.profile);
                self.watermark = self.watermark.max(Some(c.id));
                ids.push(c.id);
                records.push(profile_record(c.id, &c.profile));
            }
            match page.next {
                Some(next @ Cursor::After(_)) => cursor = Some(next),
                _ => break,
            }
        }
        let report = self
            .resolver
            .resolve_batch(&records)
            .map_err(|e| IngestError::Identity(e.to_string()))?;
        for (id, golden) in ids.into_iter().zip(report.assignments) {
            // Duplicates already in the database share a golden id; the first keeps it.
            self.golden.entry(golden).or_insert(id);
        }
        self.stale = false;
        tracing::info!(profiles = self.facts.len(), "identity linker seeded");
        Ok(())
    }

    /// Number of profiles the linker knows.
    pub fn profiles(&self) -> usize {
        self.facts.len()
    }

    fn remember(&mut self, id: CustomerId, p: &Profile) {
        if let Some(l) = &p.loyalty_number {
            self.loyalty.insert(l.as_str().to_owned(), id);
        }
        if let Some(pp) = &p.passport_number {
            let v = self.passport.entry(pp.as_str().to_owned()).or_default();
            if !v.contains(&id) {
                v.push(id);
            }
        }
        if let Some(e) = &p.email {
            let v = self.email.entry(e.key()).or_default();
            if !v.contains(&id) {
                v.push(id);
            }
        }
        self.facts.insert(
            id,
            Facts {
                given: clean_name(&match &p.middle_name {
                    Some(m) => format!("{} {}", p.first_name.as_str(), m.as_str()),
                    None => p.first_name.as_str().to_owned(),
                }),
                surname: clean_name(p.last_name.as_str()),
                nationality: p.nationality.as_ref().map(|n| n.as_str().to_owned()),
            },
        );
    }

    /// Learns about a profile created elsewhere (found in the database after seeding).
    fn learn(&mut self, id: CustomerId, p: &Profile) {
        if self.facts.contains_key(&id) {
            return;
        }
        self.remember(id, p);
        if let Ok(r) = self.resolver.resolve(&profile_record(id, p)) {
            self.golden.entry(r.golden_id).or_insert(id);
        }
    }

    /// Learns the profiles created elsewhere (the API, another importer) since the watermark:
    /// one indexed range read, usually empty, instead of a database look-up per unknown key.
    async fn catch_up(&mut self) -> Result<(), StorageError> {
        let mut cursor = self.watermark.map(Cursor::After);
        loop {
            let page = self
                .customers
                .search(
                    &CustomerQuery {
                        cursor,
                        limit: 100,
                        ..CustomerQuery::default()
                    },
                    aloft_customers::Reader::System,
                )
                .await?;
            for c in &page.items {
                self.learn(c.id, &c.profile);
                self.watermark = self.watermark.max(Some(c.id));
            }
            match page.next {
                Some(next @ Cursor::After(_)) => cursor = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// Links a batch of records. Each item gets its link or its rejections (invalid hints, nothing
    /// to identify the passenger by). Nothing is written: new profiles, links and review rows
    /// come back as [`Linked::writes`] for the caller to write in the transaction that records
    /// the batch, and the linker already counts on them (the next batch may link to a profile
    /// this one creates). So batches must commit in the order they linked, and the caller
    /// reports each outcome on the [`Receipt`]; after a failure, batches linked since must link
    /// again. A database error while reading fails the batch and leaves the linker to re-seed.
    pub async fn link_batch(&mut self, items: &[LinkItem]) -> Result<Linked, IngestError> {
        self.ensure_seeded().await?;
        if let Err(e) = self.catch_up().await {
            self.stale = true;
            return Err(e.into());
        }
        match self.link_inner(items).await {
            Ok(v) => Ok(v),
            Err(e) => {
                self.stale = true;
                Err(e)
            }
        }
    }

    /// Decides every item of a batch from the linker's indexes: an earlier link, a
    /// deterministic key ([`Linker::by_key`]), the resolver or a new profile
    /// ([`Linker::by_resolver`]; new profiles stay pending until created). No IO.
    fn match_all(
        &mut self,
        items: &[LinkItem],
        keys: &[(&str, &str)],
        existing: &HashMap<(String, String), Link>,
        today: NaiveDate,
    ) -> Result<Matched, IngestError> {
        let mut out: Vec<Option<Result<Decided, Vec<Rejection>>>> = Vec::with_capacity(items.len());
        let mut reused: Vec<Option<Link>> = vec![None; items.len()];
        let mut first_of_key: HashMap<(&str, &str), usize> = HashMap::new();
        let mut batch = BatchProfiles::default();
        for (i, item) in items.iter().enumerate() {
            let key = keys[i];
            if let Some(link) = existing.get(&(key.0.to_owned(), key.1.to_owned())) {
                reused[i] = Some(link.clone());
                out.push(None);
                continue;
            }
            if let Some(&first) = first_of_key.get(&key) {
                // The same record twice in one batch: the same decision.
                let again = repeated(&out[first], item);
                out.push(again);
                continue;
            }
            first_of_key.insert(key, i);
            let decided = match clean_hints(item) {
                Err(rejections) => Err(rejections),
                Ok(clean) => match self.by_key(&clean, &batch) {
                    Some(decided) => Ok(decided),
                    None => self.by_resolver(i, item, &clean, today, &mut batch)?,
                },
            };
            out.push(Some(decided));
        }
        Ok(Matched {
            out,
            reused,
            pending: batch.pending,
            golden_pending: batch.golden,
            reviews: batch.reviews,
        })
    }

    /// Rules 1–3, deterministic keys, each finding a stored profile or one this batch creates:
    /// the loyalty number; the passport number (with the nationality, when both sides have
    /// one) held by exactly one profile; the e-mail held by exactly one profile of the same name.
    fn by_key(&self, clean: &Clean, batch: &BatchProfiles) -> Option<Decided> {
        if let Some(loyalty) = &clean.loyalty {
            let loyalty = loyalty.as_str();
            if let Some(&p) = batch.loyalty.get(loyalty) {
                return Some(by_rule(
                    Target::Pending(p),
                    LinkMethod::Loyalty,
                    "loyalty_number",
                ));
            }
            if let Some(&c) = self.loyalty.get(loyalty) {
                return Some(by_rule(
                    Target::Existing(c),
                    LinkMethod::Loyalty,
                    "loyalty_number",
                ));
            }
        }
        if let Some(passport) = &clean.passport {
            let passport = passport.as_str();
            if let Some(&p) = batch.passport.get(passport) {
                return Some(by_rule(
                    Target::Pending(p),
                    LinkMethod::Passport,
                    "passport_number",
                ));
            }
            let nationality = clean.nationality.as_ref().map(|n| n.as_str());
            let mut hits = self.passport.get(passport).cloned().unwrap_or_default();
            hits.retain(|c| {
                match (
                    nationality,
                    self.facts.get(c).and_then(|f| f.nationality.as_deref()),
                ) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
            });
            if let [c] = hits.as_slice() {
                let rule = if nationality.is_some() {
                    "passport_number+nationality"
                } else {
                    "passport_number"
                };
                return Some(by_rule(Target::Existing(*c), LinkMethod::Passport, rule));
            }
        }
        if let Some(email) = &clean.email {
            let email = email.key();
            let same_name = |f: Option<&Facts>| match (&clean.name, f) {
                (Some((g, s)), Some(f)) => *g == f.given && *s == f.surname,
                (None, _) => true,
                _ => false,
            };
            if let Some(&p) = batch.email.get(&email) {
                let profile = &batch.pending[p].profile;
                let facts = Facts {
                    given: clean_name(profile.first_name.as_str()),
                    surname: clean_name(profile.last_name.as_str()),
                    nationality: None,
                };
                if same_name(Some(&facts)) {
                    return Some(by_rule(Target::Pending(p), LinkMethod::Email, "email+name"));
                }
            }
            if let Some([c]) = self.email.get(&email).map(Vec::as_slice)
                && same_name(self.facts.get(c))
            {
                return Some(by_rule(
                    Target::Existing(*c),
                    LinkMethod::Email,
                    "email+name",
                ));
            }
        }
        None
    }

    /// Rule 4: the probabilistic resolver, else a new profile — both need a name. A record
    /// the resolver has seen before keeps its golden record's profile; an uncertain match
    /// creates a profile and sends the candidates to the data steward's review queue.
    fn by_resolver(
        &mut self,
        i: usize,
        item: &LinkItem,
        clean: &Clean,
        today: NaiveDate,
        batch: &mut BatchProfiles,
    ) -> Result<Result<Decided, Vec<Rejection>>, IngestError> {
        let Some((given, surname)) = clean.name.clone() else {
            return Ok(Err(vec![unidentified(item, clean)]));
        };
        let profile = match new_profile(clean, &given, &surname, today) {
            Ok(p) => p,
            Err(mut rejections) => {
                for r in &mut rejections {
                    r.position = item.position;
                    r.event_id = item.event_id.clone();
                }
                return Ok(Err(rejections));
            }
        };
        let record = PersonRecord {
            source: item.source.clone(),
            record_id: item.source_record_id.clone(),
            given_name: Some(given),
            surname: Some(surname),
            date_of_birth: clean.dob.map(|d| d.format("%Y-%m-%d").to_string()),
            email: clean.email.as_ref().map(|e| e.as_str().to_owned()),
            phone: clean.phone.as_ref().map(|e| e.as_str().to_owned()),
            loyalty_number: clean.loyalty.as_ref().map(|e| e.as_str().to_owned()),
            passport_number: clean.passport.as_ref().map(|e| e.as_str().to_owned()),
            nationality: clean.nationality.as_ref().map(|e| e.as_str().to_owned()),
            ..PersonRecord::default()
        };
        let resolution = match self
            .resolver
            .golden_id(&item.source, &item.source_record_id)
        {
            // Resolved before (its link was not stored): treat as new evidence-free.
            Some(g) => Err(g),
            None => Ok(self
                .resolver
                .resolve(&record)
                .map_err(|e| IngestError::Identity(e.to_string()))?),
        };
        // The profile behind the record's golden id, if there is one (decided before any new
        // profile of this record is registered).
        let known = {
            let g = match &resolution {
                Err(g) => *g,
                Ok(r) => r.golden_id,
            };
            self.golden
                .get(&g)
                .map(|c| Target::Existing(*c))
                .or_else(|| batch.golden.get(&g).map(|p| Target::Pending(*p)))
        };
        let no_match = || json!({"reason": "no matching profile"});
        let decided = match resolution {
            Err(g) => match known {
                Some(t) => by_rule(t, LinkMethod::Probabilistic, "resolved_before"),
                None => batch.create(i, profile, clean, g, no_match()).1,
            },
            Ok(r) => match r.decision {
                Decision::Matched {
                    weight,
                    rule,
                    explanation,
                } => match known {
                    Some(t) => {
                        let mut ex = explanation_json(&explanation);
                        if let Some(rule) = rule {
                            ex["rule"] = json!(rule.name());
                        }
                        (t, LinkMethod::Probabilistic, Some(weight), ex)
                    }
                    None => {
                        let why = json!({"reason": "matched an unlinked record"});
                        batch.create(i, profile, clean, r.golden_id, why).1
                    }
                },
                Decision::New => batch.create(i, profile, clean, r.golden_id, no_match()).1,
                Decision::Review { candidates } => {
                    let candidates: Vec<Candidate> = candidates
                        .iter()
                        .filter_map(|c| {
                            self.golden.get(&c.golden_id).map(|id| {
                                (
                                    *id,
                                    c.explanation.match_weight,
                                    explanation_json(&c.explanation),
                                )
                            })
                        })
                        .collect();
                    let why = json!({"reason": "uncertain match sent to review", "review_candidates": candidates.len()});
                    let (p, decided) = batch.create(i, profile, clean, r.golden_id, why);
                    if !candidates.is_empty() {
                        batch.reviews.push((p, candidates));
                    }
                    decided
                }
            },
        };
        Ok(Ok(decided))
    }

    async fn link_inner(&mut self, items: &[LinkItem]) -> Result<Linked, IngestError> {
        let keys: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.source.as_str(), i.source_record_id.as_str()))
            .collect();
        // What committed is read before the stored links: a batch committing in between is
        // then still found in `unsettled` (read after, its links could be in neither).
        let committed = self.settlement.committed.load(Ordering::Acquire);
        self.unsettled.retain(|_, (_, batch)| *batch > committed);
        self.unsettled_keys
            .retain(|_, (_, batch)| *batch > committed);
        let mut existing = load_links(&self.db, &keys).await?;
        for key in &keys {
            let key = (key.0.to_owned(), key.1.to_owned());
            if !existing.contains_key(&key)
                && let Some((link, _)) = self.unsettled.get(&key)
            {
                existing.insert(key, link.clone());
            }
        }
        let today = chrono::Utc::now().date_naive();
        // Matching and sealing the new profiles are pure CPU for the whole batch: off the async
        // worker (see `cpu::bound`).
        let (matched, new_customers) = aloft_kernel::cpu::bound(items.len(), || {
            let matched = self.match_all(items, &keys, &existing, today)?;
            let profiles = matched.pending.iter().map(|p| p.profile.clone()).collect();
            let new = self.customers.prepare_new(profiles)?;
            Ok::<_, IngestError>((matched, new))
        })?;
        let Matched {
            out,
            mut reused,
            pending,
            golden_pending,
            reviews,
        } = matched;
        let created: Vec<CustomerId> = new_customers.ids().collect();
        for (p, id) in created.iter().enumerate() {
            self.remember(*id, &pending[p].profile);
            self.watermark = self.watermark.max(Some(*id));
        }
        for (g, p) in &golden_pending {
            self.golden.entry(*g).or_insert(created[*p]);
        }
        // Assemble the links; a created profile is announced by its first link only.
        let mut announced: HashSet<usize> = HashSet::new();
        let mut links: Vec<Result<Link, Vec<Rejection>>> = Vec::with_capacity(items.len());
        for (i, o) in out.into_iter().enumerate() {
            links.push(match (reused[i].take(), o) {
                (Some(link), _) => Ok(link),
                (None, Some(Ok((target, method, weight, explanation)))) => {
                    let (customer_id, created_customer) = match target {
                        Target::Existing(c) => (c, false),
                        Target::Pending(p) => (created[p], announced.insert(p)),
                    };
                    Ok(Link {
                        customer_id,
                        method,
                        weight,
                        explanation,
                        fresh: true,
                        created_customer,
                    })
                }
                (None, Some(Err(r))) => Err(r),
                (None, None) => Err(vec![]),
            });
        }
        let review_rows: Vec<ReviewRow> = reviews
            .into_iter()
            .flat_map(|(p, cands)| {
                let owner = &items[pending[p].owner];
                let customer = created[p];
                cands
                    .into_iter()
                    .map(move |(candidate, weight, explanation)| ReviewRow {
                        source: owner.source.clone(),
                        source_record_id: owner.source_record_id.clone(),
                        customer,
                        candidate,
                        weight,
                        explanation,
                    })
            })
            .collect();
        let batch = self.next_batch;
        self.next_batch += 1;
        for (id, key) in new_customers.data_keys() {
            self.unsettled_keys.insert(id, (key.clone(), batch));
        }
        let data_keys = links
            .iter()
            .flatten()
            .filter_map(|l| {
                let (key, _) = self.unsettled_keys.get(&l.customer_id)?;
                Some((l.customer_id, key.clone()))
            })
            .collect();
        let mut fresh: Vec<LinkRow> = Vec::new();
        let mut in_batch = HashSet::new();
        for (item, link) in items.iter().zip(&links) {
            if let Ok(link) = link
                && link.fresh
                && in_batch.insert((item.source.as_str(), item.source_record_id.as_str()))
            {
                let key = (item.source.clone(), item.source_record_id.clone());
                // A later batch reusing the link needs only whom and how, not why.
                let reusable = Link {
                    customer_id: link.customer_id,
                    method: link.method,
                    weight: link.weight,
                    explanation: Value::Null,
                    fresh: false,
                    created_customer: false,
                };
                self.unsettled.insert(key.clone(), (reusable, batch));
                fresh.push(LinkRow {
                    key,
                    customer_id: link.customer_id,
                    method: link.method,
                    weight: link.weight,
                    explanation: link.explanation.to_string(),
                });
            }
        }
        Ok(Linked {
            receipt: Receipt {
                batch,
                has_writes: !(new_customers.is_empty()
                    && fresh.is_empty()
                    && review_rows.is_empty()),
                settlement: self.settlement.clone(),
                reported: false,
            },
            links,
            data_keys,
            writes: LinkWrites {
                new_customers,
                links: fresh,
                reviews: review_rows,
            },
        })
    }
}

/// A linked batch ([`Linker::link_batch`]).
#[derive(Debug)]
pub struct Linked {
    /// Where to report whether `writes` committed.
    pub receipt: Receipt,
    /// Per item: its link or its rejections.
    pub links: Vec<Result<Link, Vec<Rejection>>>,
    /// Data keys of the linked profiles that are not stored yet (this batch's new ones, and
    /// those of batches ahead that have not committed).
    pub data_keys: HashMap<CustomerId, DataKey>,
    /// What to write for it.
    pub writes: LinkWrites,
}

/// What linking a batch decided to write: new profiles, new links and review rows. Rendered by
/// [`LinkWrites::render`] to be written in the caller's transaction.
#[derive(Debug)]
pub struct LinkWrites {
    /// Profiles nobody matched.
    pub new_customers: NewCustomers,
    links: Vec<LinkRow>,
    reviews: Vec<ReviewRow>,
}

impl LinkWrites {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.new_customers.is_empty() && self.links.is_empty() && self.reviews.is_empty()
    }

    /// Renders them to write in the caller's transaction (see [`Statements`]). A loyalty number
    /// that another writer gave a profile since the batch linked makes the execution fail with
    /// [`StorageError::Conflict`] (the linker must re-seed and the batch link again).
    pub fn render(&self, into: &mut Statements, ctx: &AccessContext) -> Result<(), StorageError> {
        self.new_customers.render(into, ctx)?;
        render_links(into, &self.links, &self.reviews);
        Ok(())
    }
}

/// A deterministic decision: the record goes to `target` by `method`, explained by its `rule`
/// (no weight: deterministic keys are not scored).
fn by_rule(target: Target, method: LinkMethod, rule: &str) -> Decided {
    (target, method, None, json!({ "rule": rule }))
}

/// A new link to store.
#[derive(Debug)]
struct LinkRow {
    key: (String, String),
    customer_id: CustomerId,
    method: LinkMethod,
    weight: Option<f64>,
    /// The explanation as stored (JSON text).
    explanation: String,
}

/// A row of the data steward's review queue.
#[derive(Debug)]
struct ReviewRow {
    source: String,
    source_record_id: String,
    customer: CustomerId,
    candidate: CustomerId,
    weight: f64,
    explanation: Value,
}

/// The stored links of these records.
async fn load_links(
    db: &Database,
    keys: &[(&str, &str)],
) -> Result<HashMap<(String, String), Link>, StorageError> {
    let backend = db.backend();
    let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
    for (s, id) in keys {
        by_source.entry(s).or_default().push(id);
    }
    let mut out = HashMap::new();
    for (source, mut ids) in by_source {
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(500) {
            let params: Vec<String> = (2..chunk.len() + 2).map(|i| backend.param(i)).collect();
            let sql = format!(
                "SELECT source_record_id, customer_id, method, weight, explanation FROM identity_links \
                 WHERE source = {} AND source_record_id IN ({})",
                backend.param(1),
                params.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(source);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(db.pool()).await? {
                let cid: String = row.try_get("customer_id")?;
                let method: String = row.try_get("method")?;
                let bad = || StorageError::Corrupt("identity link: bad customer or method".into());
                let link = Link {
                    customer_id: CustomerId::parse(&cid).ok_or_else(bad)?,
                    method: LinkMethod::parse(&method).ok_or_else(bad)?,
                    weight: row.try_get("weight")?,
                    explanation: serde_json::from_str(&row.try_get::<String, _>("explanation")?)
                        .unwrap_or(Value::Null),
                    fresh: false,
                    created_customer: false,
                };
                out.insert(
                    (
                        source.to_owned(),
                        row.try_get::<String, _>("source_record_id")?,
                    ),
                    link,
                );
            }
        }
    }
    Ok(out)
}

/// Renders the inserts of new links (a link already stored by a concurrent writer is kept) and
/// review rows.
fn render_links(into: &mut Statements, links: &[LinkRow], reviews: &[ReviewRow]) {
    let stamp = to_db_time(now());
    // Links with and without a weight go in separate statements: through sqlx's `Any` driver a
    // NULL and a float in the same column of one multi-row insert reach PostgreSQL with
    // conflicting parameter formats ("incorrect binary data format").
    let (weighted, unweighted): (Vec<_>, Vec<_>) =
        links.iter().partition(|row| row.weight.is_some());
    for (rows, with_weight) in [(weighted, true), (unweighted, false)] {
        let head = format!(
            "INSERT INTO identity_links (source, source_record_id, customer_id, method, {}explanation, created_at) VALUES ",
            if with_weight { "weight, " } else { "" },
        );
        into.insert(
            &head,
            " ON CONFLICT (source, source_record_id) DO NOTHING",
            if with_weight { 7 } else { 6 },
            200,
            rows,
            |v, row| {
                v.bind(row.key.0.clone())
                    .bind(row.key.1.clone())
                    .bind(row.customer_id.to_string())
                    .bind(row.method.as_str());
                if let Some(w) = row.weight {
                    v.bind(w);
                }
                v.bind(row.explanation.clone()).bind(stamp.clone());
            },
        );
    }
    into.insert(
        "INSERT INTO identity_review (source, source_record_id, customer_id, candidate_customer_id, weight, explanation, status, created_at) VALUES ",
        "",
        8,
        200,
        reviews,
        |v, r| {
            v.bind(r.source.clone())
                .bind(r.source_record_id.clone())
                .bind(r.customer.to_string())
                .bind(r.candidate.to_string())
                .bind(r.weight)
                .bind(r.explanation.to_string())
                .bind("open")
                .bind(stamp.clone());
        },
    );
}

/// Maps a profile validation pointer back to the hint attribute it came from.
fn hint_pointer(profile_pointer: &str) -> &'static str {
    match profile_pointer {
        "/loyalty_number" => "/loyaltynumber",
        "/email" => "/email",
        "/phone" => "/phone",
        "/date_of_birth" => "/dateofbirth",
        "/passport_number" => "/passportnumber",
        "/nationality" => "/nationality",
        _ => "/passengername",
    }
}

/// Validates the hints into the customer domain's types; every bad hint is a rejection naming
/// its attribute.
fn clean_hints(item: &LinkItem) -> Result<Clean, Vec<Rejection>> {
    let h = &item.hints;
    let mut errors = Vec::new();
    let mut check = |attr: &str, value: &Option<String>, f: &dyn Fn(&str) -> Result<(), String>| {
        if let Some(v) = value
            && let Err(reason) = f(v)
        {
            errors.push(Rejection::new(
                item.position,
                item.event_id.as_deref(),
                format!("/{attr}"),
                reason,
            ));
        }
    };
    check("loyaltynumber", &h.loyalty_number, &|v| {
        LoyaltyNumber::parse(v).map(|_| ())
    });
    check("email", &h.email, &|v| EmailAddress::parse(v).map(|_| ()));
    check("phone", &h.phone, &|v| PhoneNumber::parse(v).map(|_| ()));
    check("passportnumber", &h.passport_number, &|v| {
        PassportNumber::parse(v).map(|_| ())
    });
    check("nationality", &h.nationality, &|v| {
        CountryCode::parse(v).map(|_| ())
    });
    check("dateofbirth", &h.date_of_birth, &|v| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map(|_| ())
            .map_err(|_| "must be a date YYYY-MM-DD".to_owned())
    });
    let name = match &h.passenger_name {
        None => None,
        Some(n) => match parse_pnr_name(n) {
            Some(s) if !s.given.is_empty() && !s.surname.is_empty() => Some((s.given, s.surname)),
            _ => {
                check("passengername", &h.passenger_name, &|_| {
                    Err("must be a reservation name SURNAME/GIVEN NAMES with both parts".to_owned())
                });
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Clean {
        loyalty: h
            .loyalty_number
            .as_deref()
            .and_then(|v| LoyaltyNumber::parse(v).ok()),
        email: h.email.as_deref().and_then(|v| EmailAddress::parse(v).ok()),
        phone: h.phone.as_deref().and_then(|v| PhoneNumber::parse(v).ok()),
        passport: h
            .passport_number
            .as_deref()
            .and_then(|v| PassportNumber::parse(v).ok()),
        nationality: h
            .nationality
            .as_deref()
            .and_then(|v| CountryCode::parse(v).ok()),
        dob: h
            .date_of_birth
            .as_deref()
            .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()),
        name,
    })
}

/// A new profile from validated hints.
fn new_profile(
    clean: &Clean,
    given: &str,
    surname: &str,
    today: NaiveDate,
) -> Result<Profile, Vec<Rejection>> {
    let mut doc = serde_json::Map::new();
    doc.insert("first_name".into(), json!(title_case(given)));
    doc.insert("last_name".into(), json!(title_case(surname)));
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            doc.insert(k.into(), json!(v));
        }
    };
    put(
        "loyalty_number",
        clean.loyalty.as_ref().map(|v| v.as_str().to_owned()),
    );
    put("email", clean.email.as_ref().map(|v| v.as_str().to_owned()));
    put("phone", clean.phone.as_ref().map(|v| v.as_str().to_owned()));
    put(
        "passport_number",
        clean.passport.as_ref().map(|v| v.as_str().to_owned()),
    );
    put(
        "nationality",
        clean.nationality.as_ref().map(|v| v.as_str().to_owned()),
    );
    put(
        "date_of_birth",
        clean.dob.map(|d| d.format("%Y-%m-%d").to_string()),
    );
    Profile::parse(&Value::Object(doc), today).map_err(|errs| {
        errs.into_iter()
            .map(|e| Rejection::new(0, None, hint_pointer(&e.pointer), e.detail))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pnr_names_become_profile_names() {
        assert_eq!(title_case("john paul"), "John Paul");
        assert_eq!(title_case("smith-jones"), "Smith-Jones");
        let s = parse_pnr_name("SMITH/JOHNMR").unwrap();
        assert_eq!((s.given.as_str(), s.surname.as_str()), ("john", "smith"));
    }
}
