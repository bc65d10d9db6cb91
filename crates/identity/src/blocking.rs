//! Blocking: only records that share at least one *blocking key* are compared, so the cost grows
//! with the number of records times the size of their blocks instead of quadratically. Several
//! keys are used because each one misses some duplicates (a typo in the surname, a new postcode,
//! swapped name fields): a pair is a candidate when *any* key agrees.
//!
//! Blocks larger than a cap are skipped: a key shared by thousands of records ("state = nsw",
//! a corporate booker's e-mail) says too little to be worth the comparisons, and the other keys
//! still find the true duplicates inside it. This keeps both the batch run and one incremental
//! lookup near-linear.
//!
//! Deterministic keys (loyalty number, passport with nationality, verified e-mail, booking
//! reference with name) are kept apart: they are never capped, and agreement on one is a match
//! by itself unless a veto applies.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::normalise::NormalisedRecord;

/// Keys are 64-bit hashes already, so the map does not hash them again.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A hash map keyed by pre-hashed `u64` keys.
pub type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<IdentityHasher>>;

/// FNV-1a over the key kind and parts, with a separator so ("ab","c") ≠ ("a","bc"); finished
/// with a mixer so the identity hasher spreads well.
fn key(kind: u8, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind);
    for part in parts {
        for &b in *part {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// The rule behind a deterministic match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeterministicRule {
    /// Same frequent-flyer number.
    LoyaltyNumber,
    /// Same passport number and nationality.
    Passport,
    /// Same e-mail address, verified on both records.
    VerifiedEmail,
    /// Same booking reference or ticket number and the same surname and first initial.
    BookingAndName,
}

impl DeterministicRule {
    /// A short name for explanations.
    pub fn name(self) -> &'static str {
        match self {
            DeterministicRule::LoyaltyNumber => "loyalty_number",
            DeterministicRule::Passport => "passport_number+nationality",
            DeterministicRule::VerifiedEmail => "verified_email",
            DeterministicRule::BookingAndName => "booking_reference+name",
        }
    }
}

/// The deterministic keys of a record.
pub fn deterministic_keys(r: &NormalisedRecord) -> Vec<(DeterministicRule, u64)> {
    let mut keys = Vec::new();
    if let Some(loyalty) = &r.loyalty {
        keys.push((
            DeterministicRule::LoyaltyNumber,
            key(b'L', &[loyalty.as_bytes()]),
        ));
    }
    if let (Some(passport), Some(nationality)) = (&r.passport, &r.nationality) {
        keys.push((
            DeterministicRule::Passport,
            key(b'V', &[passport.as_bytes(), nationality.as_bytes()]),
        ));
    }
    if let (Some(email), true) = (&r.email, r.email_verified) {
        keys.push((
            DeterministicRule::VerifiedEmail,
            key(b'E', &[email.as_bytes()]),
        ));
    }
    if let (Some(booking), Some(surname), Some(given)) = (&r.booking, &r.surname, &r.given) {
        let initial = &given.first.as_bytes()[..1];
        keys.push((
            DeterministicRule::BookingAndName,
            key(
                b'B',
                &[booking.as_bytes(), surname.text.as_bytes(), initial],
            ),
        ));
    }
    keys
}

fn prefix(s: &str, n: usize) -> &[u8] {
    &s.as_bytes()[..s.len().min(n)]
}

/// The probabilistic blocking keys of a record. Each is chosen to survive a different kind of
/// error: phonetic keys survive spelling, the sorted name pair survives swapped fields, keys
/// without the name survive a changed or mistyped name, keys without the date survive a wrong
/// date.
pub fn blocking_keys(r: &NormalisedRecord) -> Vec<u64> {
    let mut keys = Vec::with_capacity(24);
    let year = r.dob.as_ref().map(|d| &d.0[..4]);
    let given = r.given.as_ref();
    let surname = r.surname.as_ref();
    // Name keys are made from the given name and the surname alike (same key kind), so that
    // records with the two fields exchanged still share them.
    for name in [given, surname].into_iter().flatten() {
        let phonetic = name.phonetic.as_bytes();
        if let Some(y) = year {
            keys.push(key(1, &[phonetic, y]));
        }
        if let Some(p) = &r.postcode {
            keys.push(key(2, &[phonetic, p.as_bytes()]));
        }
        if let Some(c) = &r.city {
            keys.push(key(3, &[phonetic, c.as_bytes()]));
        }
        if let Some(n) = &r.street_number {
            keys.push(key(11, &[phonetic, n.as_bytes()]));
        }
    }
    if let (Some(g), Some(s)) = (given, surname) {
        let (x, y) = if g.phonetic <= s.phonetic {
            (&g.phonetic, &s.phonetic)
        } else {
            (&s.phonetic, &g.phonetic)
        };
        keys.push(key(4, &[x.as_bytes(), y.as_bytes()]));
    }
    if let Some(d) = &r.dob {
        keys.push(key(5, &[&d.0]));
    }
    if let Some(p) = &r.postcode {
        if let Some(n) = &r.street_number {
            keys.push(key(6, &[n.as_bytes(), p.as_bytes()]));
        }
        // Both address lines under one key kind: lines are swapped between sources.
        for line in [&r.line1, &r.line2].into_iter().flatten() {
            keys.push(key(7, &[prefix(line, 5), p.as_bytes()]));
        }
        if let Some(c) = &r.city {
            keys.push(key(8, &[c.as_bytes(), p.as_bytes()]));
        }
    }
    if let Some(line) = &r.line1 {
        keys.push(key(
            9,
            &[
                line.as_bytes(),
                r.street_number.as_deref().unwrap_or("").as_bytes(),
            ],
        ));
    }
    if let (Some(n), Some(c)) = (&r.street_number, &r.city) {
        keys.push(key(10, &[n.as_bytes(), c.as_bytes()]));
    }
    if let Some(e) = &r.email {
        keys.push(key(12, &[e.as_bytes()]));
    }
    if let Some(p) = &r.phone {
        keys.push(key(13, &[p.as_bytes()]));
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// An inverted index from blocking key to the records that have it.
#[derive(Debug, Default, Clone)]
pub struct BlockIndex {
    blocks: KeyMap<Vec<u32>>,
    cap: usize,
}

impl BlockIndex {
    /// An empty index whose blocks are ignored beyond `cap` records.
    pub fn new(cap: usize) -> Self {
        Self {
            blocks: KeyMap::default(),
            cap,
        }
    }

    /// Adds a record under its keys. Blocks already over the cap stop growing: they are never
    /// read again, so storing more would only cost memory.
    pub fn insert(&mut self, record: u32, keys: &[u64]) {
        for &k in keys {
            let block = self.blocks.entry(k).or_default();
            if block.len() <= self.cap {
                block.push(record);
            }
        }
    }

    /// Removes a record from the blocks of its keys.
    pub fn remove(&mut self, record: u32, keys: &[u64]) {
        for k in keys {
            if let Some(block) = self.blocks.get_mut(k) {
                block.retain(|&r| r != record);
            }
        }
    }

    /// The usable block of a key: `None` when empty or over the cap.
    pub fn block(&self, key: u64) -> Option<&[u32]> {
        self.blocks
            .get(&key)
            .filter(|b| !b.is_empty() && b.len() <= self.cap)
            .map(Vec::as_slice)
    }

    /// Every usable block.
    pub fn blocks(&self) -> impl Iterator<Item = &[u32]> {
        self.blocks
            .values()
            .filter(|b| b.len() >= 2 && b.len() <= self.cap)
            .map(Vec::as_slice)
    }

    /// Number of blocks skipped for being over the cap.
    pub fn oversized(&self) -> usize {
        self.blocks.values().filter(|b| b.len() > self.cap).count()
    }
}

/// Candidate pairs `(i, j)` with `i < j` from every usable block, deduplicated, keeping only
/// pairs that `keep` accepts (link mode keeps pairs from different sources; a batch added to a
/// non-empty index keeps pairs with at least one new record).
pub fn candidate_pairs(
    index: &BlockIndex,
    mut keep: impl FnMut(u32, u32) -> bool,
) -> Vec<(u32, u32)> {
    let mut pairs: Vec<u64> = Vec::new();
    for block in index.blocks() {
        for (x, &i) in block.iter().enumerate() {
            for &j in &block[x + 1..] {
                let (a, b) = if i < j { (i, j) } else { (j, i) };
                if a != b && keep(a, b) {
                    pairs.push((u64::from(a) << 32) | u64::from(b));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
        .into_iter()
        .map(|p| ((p >> 32) as u32, p as u32))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::normalise;
    use crate::record::PersonRecord;

    #[test]
    fn swapped_names_share_a_key() {
        let a = normalise(&PersonRecord::new("t", "1").with_name("alice", "neumann"));
        let b = normalise(&PersonRecord::new("t", "2").with_name("neumann", "alice"));
        let ka = blocking_keys(&a);
        assert!(blocking_keys(&b).iter().any(|k| ka.contains(k)));
    }

    #[test]
    fn oversized_blocks_are_skipped() {
        let mut index = BlockIndex::new(3);
        for r in 0..5 {
            index.insert(r, &[42]);
        }
        index.insert(9, &[7]);
        index.insert(10, &[7]);
        assert!(index.block(42).is_none());
        assert_eq!(index.oversized(), 1);
        assert_eq!(candidate_pairs(&index, |_, _| true), vec![(9, 10)]);
    }
}
