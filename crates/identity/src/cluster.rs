//! Clusters of records (golden profiles) built from accepted pairs, with vetoes.
//!
//! Every record gets its own [`GoldenId`] on arrival, in arrival order. A cluster's golden id is
//! the id of its **oldest** record, so when two clusters merge the older id survives, and ids
//! never change except by a merge (to an older id) or an unmerge (back to the id the split-off
//! part had before).
//!
//! Each accepted pair that joins two clusters is kept as an [`Edge`] with its evidence. A cluster
//! is the connected component of its active edges, so undoing a merge is deactivating edges and
//! recomputing components; because a component's id is its oldest record, the parts get back
//! exactly the ids they had before the merge.
//!
//! **Vetoes** are checked between whole clusters, not only between the pair: two passports with
//! different numbers (for the same or an unknown nationality), two different verified dates of
//! birth, a manual "not the same person" from an unmerge, or (in one-per-source mode) two
//! records of one source can never end up in one cluster, however the pairs chain.

use std::collections::HashMap;
use std::fmt;

use crate::blocking::DeterministicRule;
use crate::compare::{DobAgreement, compare_dob};
use crate::normalise::{Dob, NormalisedRecord};

/// The stable identifier of a golden customer profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GoldenId(pub u64);

impl fmt::Display for GoldenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "G{:07}", self.0)
    }
}

impl GoldenId {
    /// The golden id minted for the record at `index` (arrival order).
    pub fn of_record(index: u32) -> Self {
        GoldenId(u64::from(index) + 1)
    }
}

/// Why two clusters may not merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Veto {
    /// Passport numbers differ for the same (or an unknown) nationality.
    DifferentPassport,
    /// Verified dates of birth differ beyond a typing error.
    DifferentVerifiedDob,
    /// Each cluster has a date of birth and they differ beyond a typing error (only under
    /// [`DobVeto::Always`]).
    DifferentDob,
    /// A person split these records apart (unmerge).
    ManualSplit,
    /// Both clusters hold a record of the same source (one-per-source mode).
    SameSource,
}

impl fmt::Display for Veto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Veto::DifferentPassport => "different passport numbers",
            Veto::DifferentVerifiedDob => "different verified dates of birth",
            Veto::DifferentDob => "different dates of birth",
            Veto::ManualSplit => "split apart by a person",
            Veto::SameSource => "two records of one source",
        })
    }
}

/// When a different date of birth vetoes a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DobVeto {
    /// Only when both dates were read from a travel document. Self-declared dates are mistyped
    /// or made up often enough (5–7 % of true duplicates in the FEBRL data sets) that a hard
    /// veto on them would lose many true matches; they weigh strongly against a match instead.
    #[default]
    WhenVerified,
    /// Whenever both dates are present and differ beyond a typing error.
    Always,
    /// Never; dates of birth only weigh.
    Never,
}

/// How an edge came to be.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeReason {
    /// A deterministic key agreed.
    Deterministic(DeterministicRule),
    /// The probabilistic match weight passed the threshold.
    Probabilistic {
        /// Match weight in bits.
        weight: f64,
    },
}

/// An accepted pair that joined two clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    /// One record of the pair (index in arrival order).
    pub a: u32,
    /// The other record.
    pub b: u32,
    /// Why the pair was accepted.
    pub reason: EdgeReason,
    /// False once an unmerge has cut it.
    pub active: bool,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    root: u32,
    members: Vec<u32>,
    edges: Vec<u32>,
    passports: Vec<(Box<str>, Option<Box<str>>)>,
    dobs: Vec<(Dob, bool)>,
    sources: Vec<u32>,
}

/// The identity attributes of one record that vetoes look at.
#[derive(Debug, Clone, Default)]
pub struct VetoFacts {
    passport: Option<(Box<str>, Option<Box<str>>)>,
    dob: Option<(Dob, bool)>,
    source: u32,
}

impl VetoFacts {
    /// The facts of a normalised record from source number `source`.
    pub fn of(record: &NormalisedRecord, source: u32) -> Self {
        Self {
            passport: record
                .passport
                .clone()
                .map(|p| (p, record.nationality.clone())),
            dob: record.dob.map(|d| (d, record.dob_verified)),
            source,
        }
    }
}

/// Vetoes configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VetoPolicy {
    /// When dates of birth veto.
    pub dob: DobVeto,
    /// At most one record per source in a cluster (for linking sources that are each free of
    /// duplicates).
    pub one_per_source: bool,
}

/// The clusters over all records.
#[derive(Debug, Clone, Default)]
pub struct Clusters {
    slot_of: Vec<u32>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    edges: Vec<Edge>,
    cannot_link: HashMap<u32, Vec<u32>>,
    policy: VetoPolicy,
}

impl Clusters {
    /// No clusters yet.
    pub fn new(policy: VetoPolicy) -> Self {
        Self {
            policy,
            ..Self::default()
        }
    }

    /// Only the dates of birth that can veto are kept, so veto checks stay cheap in big
    /// clusters.
    fn keep_dob(&self, dob: Option<(Dob, bool)>) -> Option<(Dob, bool)> {
        dob.filter(|(_, verified)| match self.policy.dob {
            DobVeto::Never => false,
            DobVeto::WhenVerified => *verified,
            DobVeto::Always => true,
        })
    }

    /// Adds a record (whose index must be the next one) as its own cluster.
    pub fn add_record(&mut self, facts: VetoFacts) -> u32 {
        let record = self.slot_of.len() as u32;
        let slot = Slot {
            root: record,
            members: vec![record],
            edges: Vec::new(),
            passports: facts.passport.into_iter().collect(),
            dobs: self.keep_dob(facts.dob).into_iter().collect(),
            sources: vec![facts.source],
        };
        let index = self.alloc(slot);
        self.slot_of.push(index);
        record
    }

    fn alloc(&mut self, slot: Slot) -> u32 {
        if let Some(i) = self.free.pop() {
            self.slots[i as usize] = slot;
            i
        } else {
            self.slots.push(slot);
            (self.slots.len() - 1) as u32
        }
    }

    /// The golden id of a record's cluster.
    pub fn golden_of(&self, record: u32) -> GoldenId {
        GoldenId::of_record(self.slots[self.slot_of[record as usize] as usize].root)
    }

    /// True when both records are in one cluster.
    pub fn same(&self, a: u32, b: u32) -> bool {
        self.slot_of[a as usize] == self.slot_of[b as usize]
    }

    /// The records of a record's cluster.
    pub fn members_of(&self, record: u32) -> &[u32] {
        &self.slots[self.slot_of[record as usize] as usize].members
    }

    /// The edges that hold a record's cluster together.
    pub fn edges_of(&self, record: u32) -> impl Iterator<Item = &Edge> {
        self.slots[self.slot_of[record as usize] as usize]
            .edges
            .iter()
            .map(|&e| &self.edges[e as usize])
    }

    /// The record index at the root of a golden id's cluster, if that id is a live cluster.
    pub fn root_record(&self, golden: GoldenId) -> Option<u32> {
        let record = u32::try_from(golden.0.checked_sub(1)?).ok()?;
        let slot = *self.slot_of.get(record as usize)?;
        (self.slots[slot as usize].root == record).then_some(record)
    }

    /// Number of clusters.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// True when there are no records.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// Why the clusters of `a` and `b` may not merge, if they may not.
    pub fn veto(&self, a: u32, b: u32) -> Option<Veto> {
        let (sa, sb) = (self.slot_of[a as usize], self.slot_of[b as usize]);
        if sa == sb {
            return None;
        }
        let (x, y) = (&self.slots[sa as usize], &self.slots[sb as usize]);
        for (pa, na) in &x.passports {
            for (pb, nb) in &y.passports {
                let same_country = match (na, nb) {
                    (Some(na), Some(nb)) => na == nb,
                    _ => true,
                };
                if same_country && pa != pb {
                    return Some(Veto::DifferentPassport);
                }
            }
        }
        if self.policy.dob != DobVeto::Never {
            for (da, va) in &x.dobs {
                for (db, vb) in &y.dobs {
                    let verified = *va && *vb;
                    if !verified && self.policy.dob != DobVeto::Always {
                        continue;
                    }
                    if matches!(
                        compare_dob(da, db),
                        DobAgreement::Different | DobAgreement::Partial
                    ) {
                        return Some(if verified {
                            Veto::DifferentVerifiedDob
                        } else {
                            Veto::DifferentDob
                        });
                    }
                }
            }
        }
        if self.policy.one_per_source && x.sources.iter().any(|s| y.sources.contains(s)) {
            return Some(Veto::SameSource);
        }
        let (small, other) = if x.members.len() <= y.members.len() {
            (x, sb)
        } else {
            (y, sa)
        };
        for m in &small.members {
            if let Some(list) = self.cannot_link.get(m)
                && list.iter().any(|&r| self.slot_of[r as usize] == other)
            {
                return Some(Veto::ManualSplit);
            }
        }
        None
    }

    /// Merges the clusters of the edge's records (the caller has checked [`Clusters::veto`]).
    /// Returns `(survivor, absorbed)` golden ids, or `None` when they were one cluster already.
    pub fn merge(&mut self, edge: Edge) -> Option<(GoldenId, GoldenId)> {
        let (sa, sb) = (self.slot_of[edge.a as usize], self.slot_of[edge.b as usize]);
        if sa == sb {
            return None;
        }
        let edge_index = self.edges.len() as u32;
        self.edges.push(edge);
        // Move the smaller cluster into the larger (amortised O(n log n)); the older root wins.
        let (keep, gone) =
            if self.slots[sa as usize].members.len() >= self.slots[sb as usize].members.len() {
                (sa, sb)
            } else {
                (sb, sa)
            };
        let absorbed = std::mem::take(&mut self.slots[gone as usize]);
        for &m in &absorbed.members {
            self.slot_of[m as usize] = keep;
        }
        self.free.push(gone);
        let target = &mut self.slots[keep as usize];
        let (survivor, loser) = if target.root <= absorbed.root {
            (target.root, absorbed.root)
        } else {
            (absorbed.root, target.root)
        };
        target.root = survivor;
        target.members.extend(absorbed.members);
        target.edges.extend(absorbed.edges);
        target.edges.push(edge_index);
        target.passports.extend(absorbed.passports);
        target.dobs.extend(absorbed.dobs);
        target.sources.extend(absorbed.sources);
        Some((GoldenId::of_record(survivor), GoldenId::of_record(loser)))
    }

    /// Records that `a` and `b` are different people (never to be merged again).
    pub fn forbid(&mut self, a: u32, b: u32) {
        self.cannot_link.entry(a).or_default().push(b);
        self.cannot_link.entry(b).or_default().push(a);
    }

    /// Splits `record` out of its cluster: cuts every edge whose evidence involves it, forbids
    /// it from rejoining the others, and rebuilds the rest from the remaining edges. Returns the
    /// records of each resulting part (the split-off record alone first). `facts` gives each
    /// record's veto facts.
    pub fn split_out(&mut self, record: u32, facts: impl Fn(u32) -> VetoFacts) -> Vec<Vec<u32>> {
        let slot_index = self.slot_of[record as usize];
        let slot = std::mem::take(&mut self.slots[slot_index as usize]);
        self.free.push(slot_index);
        for &m in &slot.members {
            if m != record {
                self.forbid(record, m);
            }
        }
        let mut kept = Vec::new();
        for &e in &slot.edges {
            let edge = &mut self.edges[e as usize];
            if edge.a == record || edge.b == record {
                edge.active = false;
            } else if edge.active {
                kept.push(e);
            }
        }
        // Every member becomes its own cluster again, then the kept edges are replayed.
        let mut members = slot.members.clone();
        members.sort_unstable();
        for &m in &members {
            let f = facts(m);
            let s = Slot {
                root: m,
                members: vec![m],
                edges: Vec::new(),
                passports: f.passport.into_iter().collect(),
                dobs: self.keep_dob(f.dob).into_iter().collect(),
                sources: vec![f.source],
            };
            let index = self.alloc(s);
            self.slot_of[m as usize] = index;
        }
        for e in kept {
            let edge = self.edges[e as usize].clone();
            let (sa, sb) = (self.slot_of[edge.a as usize], self.slot_of[edge.b as usize]);
            if sa != sb {
                // Re-use the edge entry instead of pushing a copy.
                let (keep, gone) = if self.slots[sa as usize].members.len()
                    >= self.slots[sb as usize].members.len()
                {
                    (sa, sb)
                } else {
                    (sb, sa)
                };
                let absorbed = std::mem::take(&mut self.slots[gone as usize]);
                for &m in &absorbed.members {
                    self.slot_of[m as usize] = keep;
                }
                self.free.push(gone);
                let target = &mut self.slots[keep as usize];
                target.root = target.root.min(absorbed.root);
                target.members.extend(absorbed.members);
                target.edges.extend(absorbed.edges);
                target.edges.push(e);
                target.passports.extend(absorbed.passports);
                target.dobs.extend(absorbed.dobs);
                target.sources.extend(absorbed.sources);
            }
        }
        let mut parts: Vec<Vec<u32>> = vec![vec![record]];
        let mut seen = Vec::new();
        for &m in &members {
            let s = self.slot_of[m as usize];
            if m != record && !seen.contains(&s) {
                seen.push(s);
                parts.push(self.slots[s as usize].members.clone());
            }
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(passport: Option<&str>, dob: Option<(&str, bool)>) -> VetoFacts {
        VetoFacts {
            passport: passport.map(|p| (p.into(), Some("au".into()))),
            dob: dob.map(|(d, v)| (Dob(d.as_bytes().try_into().unwrap()), v)),
            source: 0,
        }
    }

    fn edge(a: u32, b: u32) -> Edge {
        Edge {
            a,
            b,
            reason: EdgeReason::Probabilistic { weight: 20.0 },
            active: true,
        }
    }

    #[test]
    fn oldest_id_survives_and_vetoes_hold_across_chains() {
        let mut c = Clusters::new(VetoPolicy::default());
        c.add_record(facts(Some("P1"), None));
        c.add_record(facts(None, None));
        c.add_record(facts(Some("P2"), None));
        assert_eq!(c.veto(0, 1), None);
        assert_eq!(c.merge(edge(1, 0)), Some((GoldenId(1), GoldenId(2))));
        // 2 has another passport: it may not join 1, which is now in 0's cluster.
        assert_eq!(c.veto(1, 2), Some(Veto::DifferentPassport));
        assert_eq!(c.golden_of(1), GoldenId(1));
    }

    #[test]
    fn verified_dobs_veto_self_declared_do_not() {
        let mut c = Clusters::new(VetoPolicy::default());
        c.add_record(facts(None, Some(("19800101", true))));
        c.add_record(facts(None, Some(("19751231", true))));
        c.add_record(facts(None, Some(("19751231", false))));
        c.add_record(facts(None, Some(("19800110", true))));
        assert_eq!(c.veto(0, 1), Some(Veto::DifferentVerifiedDob));
        assert_eq!(c.veto(0, 2), None);
        assert_eq!(
            c.veto(0, 3),
            None,
            "day and month swapped is a typo, not a different date"
        );
        let mut strict = Clusters::new(VetoPolicy {
            dob: DobVeto::Always,
            one_per_source: false,
        });
        strict.add_record(facts(None, Some(("19800101", false))));
        strict.add_record(facts(None, Some(("19751231", false))));
        assert_eq!(strict.veto(0, 1), Some(Veto::DifferentDob));
    }

    #[test]
    fn split_out_restores_previous_clusters() {
        let mut c = Clusters::new(VetoPolicy::default());
        for _ in 0..5 {
            c.add_record(VetoFacts::default());
        }
        c.merge(edge(0, 1)); // cluster G1 = {0, 1}
        c.merge(edge(2, 3)); // cluster G3 = {2, 3}
        c.merge(edge(4, 0)); // 4 joins G1
        c.merge(edge(4, 2)); // 4 bridges G1 and G3
        assert_eq!(c.golden_of(3), GoldenId(1));
        let parts = c.split_out(4, |_| VetoFacts::default());
        assert_eq!(parts.len(), 3);
        assert_eq!(c.golden_of(4), GoldenId(5));
        assert_eq!(c.golden_of(1), GoldenId(1));
        assert_eq!(c.golden_of(3), GoldenId(3));
        assert_eq!(c.veto(4, 0), Some(Veto::ManualSplit));
        assert_eq!(c.len(), 3);
    }
}
