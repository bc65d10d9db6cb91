//! The incremental resolver: an in-memory index of every record seen and the golden profile each
//! belongs to. [`Resolver::resolve`] places one new record in microseconds (blocking lookups,
//! a few dozen comparisons, a cluster merge); [`Resolver::resolve_batch`] loads a whole file,
//! estimating the model from it first.
//!
//! A pair is accepted when a deterministic key agrees or when its posterior match probability
//! reaches [`ResolverConfig::match_probability`], except that the **household guard** never
//! accepts a pair whose given names and dates of birth both clearly differ (two members of one
//! family share surname, address, phone and e-mail; only those two fields tell them apart).
//! Accepted pairs merge clusters in order of strength, deterministic first, unless a
//! [`Veto`] forbids it; vetoed or borderline pairs become review candidates.
//!
//! Every merge is kept in the lineage with its evidence, and [`Resolver::unmerge`] splits a
//! record back out, restoring the profiles that existed before it bridged them.

use std::collections::HashMap;
use std::fmt;

use crate::blocking::{
    BlockIndex, DeterministicRule, KeyMap, blocking_keys, candidate_pairs, deterministic_keys,
};
use crate::cluster::{Clusters, Edge, EdgeReason, GoldenId, Veto, VetoFacts, VetoPolicy};
use crate::compare::{Comparison, FIELD_COUNT, Field, compare};
use crate::error::{IdentityError, Result};
use crate::model::{Explanation, Model, TermFrequencies, TrainOptions, TrainReport};
use crate::normalise::{NormalisedRecord, normalise};
use crate::record::PersonRecord;

/// Settings of a [`Resolver`].
#[derive(Debug, Clone, PartialEq)]
pub struct ResolverConfig {
    /// Posterior probability from which a pair is merged automatically.
    pub match_probability: f64,
    /// Posterior probability from which a pair that is not merged is offered for review.
    pub review_probability: f64,
    /// Blocks with more records than this are not used (see [`crate::blocking`]).
    pub max_block_size: usize,
    /// Compare only records of different sources (record linkage rather than deduplication).
    pub link_only: bool,
    /// Vetoes.
    pub veto: VetoPolicy,
    /// Never auto-merge a pair whose given names are not the same name (below "close") while
    /// both dates of birth clearly differ: the signature of two members of one household.
    /// Costs a little recall on data where both fields are corrupted in true duplicates
    /// (about 0.3 % of FEBRL pairs); turn off only for data without households.
    pub household_guard: bool,
    /// Kinds of evidence — name, date of birth, contact (e-mail, phone), address — of which at
    /// least this many must agree for a probabilistic merge: a name alone, or a date of birth
    /// alone, however rare, goes to review. Deterministic keys are exempt.
    pub min_evidence_groups: usize,
    /// Estimate the model from each batch (see [`Resolver::resolve_batch`]).
    pub train_on_batch: bool,
    /// Options of that estimation.
    pub train: TrainOptions,
    /// Smallest batch worth estimating a model from; smaller batches use the current model.
    pub min_training_records: usize,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        Self {
            match_probability: 0.9,
            review_probability: 0.2,
            max_block_size: 100,
            link_only: false,
            veto: VetoPolicy::default(),
            household_guard: true,
            min_evidence_groups: 2,
            train_on_batch: true,
            train: TrainOptions::default(),
            min_training_records: 200,
        }
    }
}

/// A record as the lineage names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordRef {
    /// The record's source.
    pub source: String,
    /// The record's id within its source.
    pub record_id: String,
}

impl fmt::Display for RecordRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.record_id)
    }
}

/// Why a merge happened.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeEvidence {
    /// The deterministic key that agreed, if any.
    pub rule: Option<DeterministicRule>,
    /// The probabilistic evidence (computed for deterministic merges too).
    pub explanation: Explanation,
}

/// One entry of the lineage: how profiles came to be what they are.
#[derive(Debug, Clone, PartialEq)]
pub enum LineageEvent {
    /// A record arrived and started its own profile.
    Created {
        /// The new profile.
        golden: GoldenId,
        /// The record.
        record: RecordRef,
    },
    /// Two profiles became one; the older id survived.
    Merged {
        /// The surviving (older) profile.
        survivor: GoldenId,
        /// The profile that was absorbed.
        absorbed: GoldenId,
        /// The pair of records whose agreement caused the merge.
        pair: (RecordRef, RecordRef),
        /// The evidence.
        evidence: MergeEvidence,
    },
    /// A record was split out of its profile by a person.
    Unmerged {
        /// The record split out.
        record: RecordRef,
        /// The profile it was in.
        from: GoldenId,
        /// The profiles that exist afterwards, the record's own first.
        parts: Vec<GoldenId>,
    },
}

impl LineageEvent {
    fn mentions(&self, id: GoldenId) -> bool {
        match self {
            LineageEvent::Created { golden, .. } => *golden == id,
            LineageEvent::Merged {
                survivor, absorbed, ..
            } => *survivor == id || *absorbed == id,
            LineageEvent::Unmerged { from, parts, .. } => *from == id || parts.contains(&id),
        }
    }
}

/// A profile the new record might belong to, for a person to decide.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The candidate profile.
    pub golden_id: GoldenId,
    /// The record in it that was compared.
    pub record: RecordRef,
    /// The evidence.
    pub explanation: Explanation,
    /// The veto that stopped an otherwise accepted merge, if any.
    pub veto: Option<Veto>,
}

/// What happened to a resolved record.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// No existing profile matched: the record starts a new one.
    New,
    /// The record joined an existing profile (and possibly bridged several).
    Matched {
        /// Match weight of the strongest accepted pair, in bits.
        weight: f64,
        /// The deterministic key, when one decided.
        rule: Option<DeterministicRule>,
        /// Per-field evidence of the strongest accepted pair.
        explanation: Explanation,
    },
    /// The record starts its own profile, but these profiles might be the same person.
    Review {
        /// The candidates, strongest first.
        candidates: Vec<Candidate>,
    },
}

/// The outcome of [`Resolver::resolve`].
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// The golden profile the record now belongs to.
    pub golden_id: GoldenId,
    /// Why.
    pub decision: Decision,
    /// Other profiles that the record bridged into this one.
    pub absorbed: Vec<GoldenId>,
    /// Records compared.
    pub compared: usize,
}

/// The outcome of [`Resolver::unmerge`].
#[derive(Debug, Clone, PartialEq)]
pub struct Unmerge {
    /// The profile the record was in.
    pub from: GoldenId,
    /// The record's own profile now.
    pub record_golden: GoldenId,
    /// The profiles the rest of the old profile now forms (restored ids).
    pub restored: Vec<GoldenId>,
}

/// The outcome of [`Resolver::resolve_batch`].
#[derive(Debug, Clone, PartialEq)]
pub struct BatchReport {
    /// Golden id of every record of the batch, in input order.
    pub assignments: Vec<GoldenId>,
    /// Candidate pairs compared.
    pub pairs_compared: usize,
    /// Pairs accepted (deterministic or above the match probability).
    pub pairs_accepted: usize,
    /// Accepted pairs that a veto stopped.
    pub pairs_vetoed: usize,
    /// Pairs between the review and the match probability, or stopped by the household guard.
    pub pairs_for_review: usize,
    /// Blocks skipped for being over the cap.
    pub oversized_blocks: usize,
    /// The estimation, when the batch trained the model.
    pub training: Option<TrainReport>,
}

#[derive(Debug, Clone)]
struct Stored {
    source: u32,
    record_id: Box<str>,
    norm: NormalisedRecord,
    keys: Vec<u64>,
    det: Vec<(DeterministicRule, u64)>,
}

enum PairClass {
    Accept(Option<DeterministicRule>, f64),
    Review(f64),
    Reject,
}

/// The identity resolver. See the module documentation.
#[derive(Debug, Clone)]
pub struct Resolver {
    config: ResolverConfig,
    model: Model,
    tf: TermFrequencies,
    records: Vec<Stored>,
    sources: Vec<String>,
    source_ids: HashMap<String, u32>,
    by_id: HashMap<(u32, Box<str>), u32>,
    index: BlockIndex,
    det_index: KeyMap<Vec<u32>>,
    clusters: Clusters,
    lineage: Vec<LineageEvent>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new(ResolverConfig::default())
    }
}

impl Resolver {
    /// An empty resolver with the default (untrained) model.
    pub fn new(config: ResolverConfig) -> Self {
        Self::with_model(config, Model::default())
    }

    /// An empty resolver with a given model (for example one trained on earlier data).
    pub fn with_model(config: ResolverConfig, model: Model) -> Self {
        Self {
            index: BlockIndex::new(config.max_block_size),
            clusters: Clusters::new(config.veto),
            config,
            model,
            tf: TermFrequencies::default(),
            records: Vec::new(),
            sources: Vec::new(),
            source_ids: HashMap::new(),
            by_id: HashMap::new(),
            det_index: KeyMap::default(),
            lineage: Vec::new(),
        }
    }

    /// The model in use.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The settings.
    pub fn config(&self) -> &ResolverConfig {
        &self.config
    }

    /// Number of records resolved.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True before the first record.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Number of golden profiles.
    pub fn profile_count(&self) -> usize {
        self.clusters.len()
    }

    fn record_ref(&self, index: u32) -> RecordRef {
        let stored = &self.records[index as usize];
        RecordRef {
            source: self.sources[stored.source as usize].clone(),
            record_id: stored.record_id.to_string(),
        }
    }

    fn lookup(&self, source: &str, record_id: &str) -> Option<u32> {
        let s = *self.source_ids.get(source)?;
        self.by_id.get(&(s, Box::from(record_id))).copied()
    }

    /// The golden profile of a record.
    pub fn golden_id(&self, source: &str, record_id: &str) -> Option<GoldenId> {
        self.lookup(source, record_id)
            .map(|i| self.clusters.golden_of(i))
    }

    /// The records of a golden profile (empty when the id is not a live profile).
    pub fn members(&self, golden: GoldenId) -> Vec<RecordRef> {
        match self.clusters.root_record(golden) {
            Some(root) => self
                .clusters
                .members_of(root)
                .iter()
                .map(|&m| self.record_ref(m))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Every lineage event that concerns a golden id, oldest first.
    pub fn lineage(&self, golden: GoldenId) -> Vec<&LineageEvent> {
        self.lineage.iter().filter(|e| e.mentions(golden)).collect()
    }

    /// The per-field evidence between two known records.
    pub fn explain(&self, a: (&str, &str), b: (&str, &str)) -> Result<Explanation> {
        let unknown = |(s, r): (&str, &str)| IdentityError::UnknownRecord {
            source_name: s.into(),
            record_id: r.into(),
        };
        let i = self.lookup(a.0, a.1).ok_or_else(|| unknown(a))?;
        let j = self.lookup(b.0, b.1).ok_or_else(|| unknown(b))?;
        let cmp = compare(
            &self.records[i as usize].norm,
            &self.records[j as usize].norm,
        );
        Ok(self
            .model
            .explain(&cmp, &self.records[i as usize].norm, &self.tf))
    }

    /// Adds a record to the store (not yet to the blocking index).
    fn store(&mut self, record: &PersonRecord) -> Result<u32> {
        let next_source = self.sources.len() as u32;
        let source = *self
            .source_ids
            .entry(record.source.clone())
            .or_insert(next_source);
        if source == next_source {
            self.sources.push(record.source.clone());
        }
        let id_key = (source, Box::from(record.record_id.as_str()));
        if self.by_id.contains_key(&id_key) {
            return Err(IdentityError::DuplicateRecord {
                source_name: record.source.clone(),
                record_id: record.record_id.clone(),
            });
        }
        let norm = normalise(record);
        let keys = blocking_keys(&norm);
        let det = deterministic_keys(&norm);
        let index = self.records.len() as u32;
        self.clusters.add_record(VetoFacts::of(&norm, source));
        self.tf.add(&norm);
        self.by_id.insert(id_key, index);
        self.records.push(Stored {
            source,
            record_id: record.record_id.as_str().into(),
            norm,
            keys,
            det,
        });
        self.lineage.push(LineageEvent::Created {
            golden: GoldenId::of_record(index),
            record: self.record_ref(index),
        });
        Ok(index)
    }

    fn index_record(&mut self, index: u32) {
        let stored = &self.records[index as usize];
        self.index.insert(index, &stored.keys);
        for &(_, k) in &stored.det {
            self.det_index.entry(k).or_default().push(index);
        }
    }

    fn deterministic_rule(&self, i: u32, j: u32) -> Option<DeterministicRule> {
        let (a, b) = (&self.records[i as usize], &self.records[j as usize]);
        a.det
            .iter()
            .find(|(_, k)| b.det.iter().any(|(_, kb)| kb == k))
            .map(|&(rule, _)| rule)
    }

    fn household_conflict(&self, cmp: &Comparison) -> bool {
        self.config.household_guard
            && cmp.level(Field::GivenName) >= 3
            && cmp.level(Field::DateOfBirth) == 4
    }

    /// How many independent kinds of evidence (name, date of birth, contact, address) agree.
    fn evidence_groups(&self, cmp: &Comparison) -> usize {
        const GROUPS: [&[Field]; 4] = [
            &[Field::GivenName, Field::Surname],
            &[Field::DateOfBirth],
            &[Field::Email, Field::Phone],
            &[
                Field::StreetNumber,
                Field::AddressLine1,
                Field::AddressLine2,
                Field::City,
                Field::Postcode,
            ],
        ];
        GROUPS
            .iter()
            .filter(|group| {
                group.iter().any(|&f| {
                    let level = cmp.level(f);
                    level != crate::compare::MISSING && self.model.weight(f, level) > 0.0
                })
            })
            .count()
    }

    fn classify(&self, i: u32, j: u32, cmp: &Comparison) -> PairClass {
        let weight = self
            .model
            .match_weight(cmp, &self.records[i as usize].norm, &self.tf);
        if let Some(rule) = self.deterministic_rule(i, j) {
            return PairClass::Accept(Some(rule), weight);
        }
        let p = self.model.probability(weight);
        if p >= self.config.match_probability
            && !self.household_conflict(cmp)
            && self.evidence_groups(cmp) >= self.config.min_evidence_groups
        {
            PairClass::Accept(None, weight)
        } else if p >= self.config.review_probability {
            PairClass::Review(weight)
        } else {
            PairClass::Reject
        }
    }

    fn candidates_for(&self, index: u32) -> Vec<u32> {
        let stored = &self.records[index as usize];
        let mut out = Vec::new();
        for &(_, k) in &stored.det {
            if let Some(block) = self.det_index.get(&k) {
                out.extend_from_slice(block);
            }
        }
        for &k in &stored.keys {
            if let Some(block) = self.index.block(k) {
                out.extend_from_slice(block);
            }
        }
        out.sort_unstable();
        out.dedup();
        let source = stored.source;
        out.retain(|&c| {
            c != index && !(self.config.link_only && self.records[c as usize].source == source)
        });
        out
    }

    /// Merges the clusters of `a` and `b` (new record first) unless vetoed; records the lineage.
    fn try_merge(
        &mut self,
        a: u32,
        b: u32,
        rule: Option<DeterministicRule>,
        weight: f64,
    ) -> std::result::Result<Option<GoldenId>, Veto> {
        if self.clusters.same(a, b) {
            return Ok(None);
        }
        if let Some(veto) = self.clusters.veto(a, b) {
            return Err(veto);
        }
        let reason = match rule {
            Some(rule) => EdgeReason::Deterministic(rule),
            None => EdgeReason::Probabilistic { weight },
        };
        let merged = self.clusters.merge(Edge {
            a,
            b,
            reason,
            active: true,
        });
        if let Some((survivor, absorbed)) = merged {
            let cmp = compare(
                &self.records[a as usize].norm,
                &self.records[b as usize].norm,
            );
            let explanation = self
                .model
                .explain(&cmp, &self.records[a as usize].norm, &self.tf);
            self.lineage.push(LineageEvent::Merged {
                survivor,
                absorbed,
                pair: (self.record_ref(a), self.record_ref(b)),
                evidence: MergeEvidence { rule, explanation },
            });
            return Ok(Some(absorbed));
        }
        Ok(None)
    }

    /// Resolves one new record against everything seen so far and returns its golden profile.
    /// The model is used as it is (no training); term frequencies include the new record.
    pub fn resolve(&mut self, record: &PersonRecord) -> Result<Resolution> {
        let index = self.store(record)?;
        let candidates = self.candidates_for(index);
        let mut accepted = Vec::new();
        let mut review = Vec::new();
        for &c in &candidates {
            let cmp = compare(
                &self.records[index as usize].norm,
                &self.records[c as usize].norm,
            );
            match self.classify(index, c, &cmp) {
                PairClass::Accept(rule, weight) => accepted.push((rule, weight, c, cmp)),
                PairClass::Review(weight) => review.push((weight, c, cmp, None)),
                PairClass::Reject => {}
            }
        }
        accepted.sort_by(|x, y| {
            y.0.is_some()
                .cmp(&x.0.is_some())
                .then(y.1.total_cmp(&x.1))
                .then(x.2.cmp(&y.2))
        });
        let mut best: Option<(Option<DeterministicRule>, f64, Comparison)> = None;
        let mut absorbed = Vec::new();
        for (rule, weight, c, cmp) in accepted {
            match self.try_merge(index, c, rule, weight) {
                Ok(gone) => {
                    if best.is_none() {
                        best = Some((rule, weight, cmp));
                    }
                    absorbed.extend(gone.filter(|&g| g != GoldenId::of_record(index)));
                }
                Err(veto) => review.push((weight, c, cmp, Some(veto))),
            }
        }
        self.index_record(index);
        let golden_id = self.clusters.golden_of(index);
        let norm = &self.records[index as usize].norm;
        let decision = if let Some((rule, weight, cmp)) = best {
            Decision::Matched {
                weight,
                rule,
                explanation: self.model.explain(&cmp, norm, &self.tf),
            }
        } else if !review.is_empty() {
            review.sort_by(|x, y| y.0.total_cmp(&x.0));
            let candidates = review
                .into_iter()
                .filter(|(_, c, _, _)| !self.clusters.same(index, *c))
                .map(|(_, c, cmp, veto)| Candidate {
                    golden_id: self.clusters.golden_of(c),
                    record: self.record_ref(c),
                    explanation: self.model.explain(&cmp, norm, &self.tf),
                    veto,
                })
                .collect();
            Decision::Review { candidates }
        } else {
            Decision::New
        };
        Ok(Resolution {
            golden_id,
            decision,
            absorbed,
            compared: candidates.len(),
        })
    }

    /// Resolves many records at once. When [`ResolverConfig::train_on_batch`] is set and the
    /// batch is large enough, the model is first estimated from the batch (u from random pairs,
    /// then EM over the candidate pairs). Then every candidate pair is scored, and accepted
    /// pairs merge clusters strongest first, so the result does not depend on input order.
    pub fn resolve_batch(&mut self, records: &[PersonRecord]) -> Result<BatchReport> {
        let first_new = self.records.len() as u32;
        let mut new = Vec::with_capacity(records.len());
        for record in records {
            new.push(self.store(record)?);
        }
        for &i in &new {
            self.index_record(i);
        }
        let link_only = self.config.link_only;
        let sources: Vec<u32> = self.records.iter().map(|r| r.source).collect();
        let mut pairs = candidate_pairs(&self.index, |a, b| {
            b >= first_new && !(link_only && sources[a as usize] == sources[b as usize])
        });
        // Deterministic keys are never capped.
        for block in self.det_index.values() {
            for (x, &i) in block.iter().enumerate() {
                for &j in &block[x + 1..] {
                    let (a, b) = (i.min(j), i.max(j));
                    if b >= first_new && !(link_only && sources[a as usize] == sources[b as usize])
                    {
                        pairs.push((a, b));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let comparisons: Vec<Comparison> = pairs
            .iter()
            .map(|&(a, b)| {
                compare(
                    &self.records[a as usize].norm,
                    &self.records[b as usize].norm,
                )
            })
            .collect();

        let mut training = None;
        if self.config.train_on_batch && records.len() >= self.config.min_training_records {
            let mut model = Model::default();
            let norms: Vec<&NormalisedRecord> = self.records.iter().map(|r| &r.norm).collect();
            model.estimate_u(&norms, &self.config.train);
            let mut patterns: HashMap<[u8; FIELD_COUNT], u64> = HashMap::new();
            for cmp in &comparisons {
                *patterns.entry(cmp.levels).or_default() += 1;
            }
            training = Some(model.train_em(&patterns, &self.config.train));
            self.model = model;
        }

        let mut accepted = Vec::new();
        let mut for_review = 0;
        for (&(a, b), cmp) in pairs.iter().zip(&comparisons) {
            match self.classify(a, b, cmp) {
                PairClass::Accept(rule, weight) => accepted.push((rule, weight, a, b)),
                PairClass::Review(_) => for_review += 1,
                PairClass::Reject => {}
            }
        }
        accepted.sort_by(|x, y| {
            y.0.is_some()
                .cmp(&x.0.is_some())
                .then(y.1.total_cmp(&x.1))
                .then((x.2, x.3).cmp(&(y.2, y.3)))
        });
        let mut vetoed = 0;
        for &(rule, weight, a, b) in &accepted {
            // The newer record goes first so the lineage reads "new record joined …".
            if self.try_merge(b, a, rule, weight).is_err() {
                vetoed += 1;
            }
        }
        Ok(BatchReport {
            assignments: new.iter().map(|&i| self.clusters.golden_of(i)).collect(),
            pairs_compared: pairs.len(),
            pairs_accepted: accepted.len(),
            pairs_vetoed: vetoed,
            pairs_for_review: for_review,
            oversized_blocks: self.index.oversized(),
            training,
        })
    }

    /// Splits a record out of its profile: it gets a profile of its own, may not rejoin the
    /// records it was with, and the rest of the profile falls back into the profiles (and ids)
    /// it had before the record joined. Remaining parts that still match each other on their
    /// own evidence are joined again.
    pub fn unmerge(&mut self, source: &str, record_id: &str) -> Result<Unmerge> {
        let index = self
            .lookup(source, record_id)
            .ok_or_else(|| IdentityError::UnknownRecord {
                source_name: source.into(),
                record_id: record_id.into(),
            })?;
        let from = self.clusters.golden_of(index);
        let records = &self.records;
        let parts = self.clusters.split_out(index, |m| {
            VetoFacts::of(&records[m as usize].norm, records[m as usize].source)
        });
        // Re-join remaining parts on evidence that does not involve the record (small profiles
        // only: this compares every pair across parts).
        let rest: Vec<u32> = parts.iter().skip(1).flatten().copied().collect();
        if parts.len() > 2 && rest.len() <= 200 {
            let mut accepted = Vec::new();
            for (x, &i) in rest.iter().enumerate() {
                for &j in &rest[x + 1..] {
                    if self.clusters.same(i, j) {
                        continue;
                    }
                    let cmp = compare(
                        &self.records[i as usize].norm,
                        &self.records[j as usize].norm,
                    );
                    if let PairClass::Accept(rule, weight) = self.classify(i, j, &cmp) {
                        accepted.push((rule, weight, i, j));
                    }
                }
            }
            accepted.sort_by(|x, y| y.0.is_some().cmp(&x.0.is_some()).then(y.1.total_cmp(&x.1)));
            for (rule, weight, i, j) in accepted {
                let _ = self.try_merge(i, j, rule, weight);
            }
        }
        let record_golden = self.clusters.golden_of(index);
        let mut restored: Vec<GoldenId> =
            rest.iter().map(|&m| self.clusters.golden_of(m)).collect();
        restored.sort_unstable();
        restored.dedup();
        let mut all = vec![record_golden];
        all.extend(&restored);
        self.lineage.push(LineageEvent::Unmerged {
            record: self.record_ref(index),
            from,
            parts: all,
        });
        Ok(Unmerge {
            from,
            record_golden,
            restored,
        })
    }
}
