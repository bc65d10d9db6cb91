//! The pure core of the tamper-evident audit log: who did what to which customer data, when,
//! why and with what outcome, in records chained by SHA-256 so that editing, deleting,
//! reordering or inserting a record is detected.
//!
//! Each record's `hash` is `SHA-256(prev_hash ‖ canonical bytes of the record)` and its
//! `prev_hash` is the previous record's `hash` ([`GENESIS_HASH`] for the first record, sequence
//! 1). Storage appends records; [`verify_chain`] re-derives every link.
//!
//! Canonical bytes ([`AuditRecord::canonical_bytes`]) are unambiguous by construction: every
//! field in a fixed order, every string prefixed by its length, optional fields by a presence
//! byte, lists by their count. See that method for the exact layout. The layout is part of the
//! stored format: changing it requires a new version label.
//!
//! Limits, stated so nobody relies on more: a chain proves internal consistency. Someone able to
//! rewrite the whole table can recompute every hash, and removing records from the *end* leaves
//! a valid shorter chain. Both are caught only by comparing with a head (sequence and hash)
//! kept elsewhere, such as a periodic checkpoint in another system; [`verify_chain_from`]
//! verifies onwards from such a checkpoint.

use std::borrow::Borrow;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record: 64 zeros, a value no SHA-256 output is expected to take.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The sequence number of the first record.
pub const FIRST_SEQUENCE: u64 = 1;

/// The version label that starts every record's canonical bytes.
const CANONICAL_LABEL: &str = "aloft.audit.v1";

/// One audit log entry. Values are identifiers and field *names*, never personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, from [`FIRST_SEQUENCE`], without gaps.
    pub sequence: u64,
    /// When it happened, RFC 3339 UTC (as stored, so the hashed text is exactly what is kept).
    pub occurred_at: String,
    /// Who acted: a staff or service account id.
    pub actor_id: String,
    /// The role the actor acted in (agents may hold several).
    pub actor_role: String,
    /// What was done, such as `customer.read` or `customer.update`.
    pub action: String,
    /// The kind of thing acted on, such as `customer`.
    pub resource_type: String,
    /// Which one, when the action concerns a single resource.
    pub resource_id: Option<String>,
    /// The names of the fields read or changed, in a stable order chosen by the caller.
    pub fields: Vec<String>,
    /// The declared purpose (for purpose-bound access to personal data).
    pub purpose: Option<String>,
    /// How it ended, such as `success`, `denied` or `error`.
    pub outcome: String,
    /// The request id that ties the record to logs and traces.
    pub request_id: String,
    /// The client's network address, when known.
    pub client_address: Option<String>,
    /// The previous record's `hash` ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// `SHA-256(prev_hash ‖ canonical bytes)`, lower-case hex: see [`compute_hash`].
    pub hash: String,
}

/// Appends a length-prefixed (u64, big-endian) string.
fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Appends an optional string: `0x00` when absent, `0x01` and the string when present.
fn push_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            push_str(out, s);
        }
    }
}

impl AuditRecord {
    /// The bytes that are hashed, in this order (`str` = u64 big-endian byte length, then UTF-8;
    /// `opt` = `0x00`, or `0x01` then `str`; `list` = u64 big-endian count, then each `str`):
    ///
    /// `str "aloft.audit.v1"`, `u64 BE sequence`, `str occurred_at`, `str actor_id`,
    /// `str actor_role`, `str action`, `str resource_type`, `opt resource_id`, `list fields`,
    /// `opt purpose`, `str outcome`, `str request_id`, `opt client_address`.
    ///
    /// `prev_hash` and `hash` are not included; [`compute_hash`] adds the former.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        push_str(&mut out, CANONICAL_LABEL);
        out.extend_from_slice(&self.sequence.to_be_bytes());
        push_str(&mut out, &self.occurred_at);
        push_str(&mut out, &self.actor_id);
        push_str(&mut out, &self.actor_role);
        push_str(&mut out, &self.action);
        push_str(&mut out, &self.resource_type);
        push_opt(&mut out, self.resource_id.as_deref());
        out.extend_from_slice(&(self.fields.len() as u64).to_be_bytes());
        for field in &self.fields {
            push_str(&mut out, field);
        }
        push_opt(&mut out, self.purpose.as_deref());
        push_str(&mut out, &self.outcome);
        push_str(&mut out, &self.request_id);
        push_opt(&mut out, self.client_address.as_deref());
        out
    }

    /// Links the record after `prev_hash`: sets `prev_hash` and `hash`. The writer calls this
    /// with the hash of the last stored record, inside the transaction that appends it.
    pub fn seal(mut self, prev_hash: &str) -> Self {
        self.hash = compute_hash(prev_hash, &self);
        self.prev_hash = prev_hash.to_string();
        self
    }
}

/// `SHA-256(str prev_hash ‖ record.canonical_bytes())` as lower-case hex. The record's own
/// `prev_hash` and `hash` fields are ignored, so this also recomputes a stored hash.
pub fn compute_hash(prev_hash: &str, record: &AuditRecord) -> String {
    let mut input = Vec::new();
    push_str(&mut input, prev_hash);
    input.extend_from_slice(&record.canonical_bytes());
    Sha256::digest(&input)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What is wrong at the first broken link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakReason {
    /// The record stored at this position carries another sequence number: the expected record
    /// was deleted, or records were reordered or inserted.
    SequenceGap {
        /// The sequence number found instead.
        found: u64,
    },
    /// The record's `prev_hash` is not the previous record's hash: the previous record was
    /// altered and re-hashed, or replaced.
    PrevHashMismatch,
    /// The record's `hash` does not match its contents: the record was altered.
    HashMismatch,
    /// The chain ends before the tip recorded elsewhere (a trusted checkpoint): records were cut
    /// off the end. The chain alone cannot show this; the caller compares with its checkpoint.
    Truncated {
        /// The last sequence number the checkpoint says exists.
        expected_last: u64,
    },
}

/// The first place where a chain does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at sequence {sequence}: {}", describe(.reason))]
pub struct ChainBreak {
    /// The sequence number expected at the break.
    pub sequence: u64,
    /// What is wrong there.
    pub reason: BreakReason,
}

/// A sentence for a break reason.
fn describe(reason: &BreakReason) -> String {
    match reason {
        BreakReason::SequenceGap { found } => format!("found sequence {found} instead"),
        BreakReason::PrevHashMismatch => "previous-hash link does not match".to_string(),
        BreakReason::HashMismatch => "record contents do not match its hash".to_string(),
        BreakReason::Truncated { expected_last } => {
            format!("the chain ends early; records up to {expected_last} are missing or altered")
        }
    }
}

/// Verifies a whole chain from the genesis record (sequence 1) in sequence order. Returns how
/// many records verified, or the first break.
pub fn verify_chain<I>(records: I) -> Result<u64, ChainBreak>
where
    I: IntoIterator,
    I::Item: Borrow<AuditRecord>,
{
    verify_chain_from(FIRST_SEQUENCE - 1, GENESIS_HASH, records)
}

/// Verifies records that follow a trusted checkpoint: the record with `after_sequence` whose
/// hash is `after_hash` (use `0` and [`GENESIS_HASH`] for the start of the chain). Lets a
/// verifier resume from its last checkpoint instead of re-reading years of records.
pub fn verify_chain_from<I>(
    after_sequence: u64,
    after_hash: &str,
    records: I,
) -> Result<u64, ChainBreak>
where
    I: IntoIterator,
    I::Item: Borrow<AuditRecord>,
{
    let mut prev_hash = after_hash.to_string();
    let mut count = 0u64;
    for record in records {
        let record = record.borrow();
        let sequence = after_sequence + count + 1;
        let broken = |reason| Err(ChainBreak { sequence, reason });
        if record.sequence != sequence {
            return broken(BreakReason::SequenceGap {
                found: record.sequence,
            });
        }
        if record.prev_hash != prev_hash {
            return broken(BreakReason::PrevHashMismatch);
        }
        if compute_hash(&prev_hash, record) != record.hash {
            return broken(BreakReason::HashMismatch);
        }
        prev_hash.clone_from(&record.hash);
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unsealed record with varied contents.
    fn draft(sequence: u64) -> AuditRecord {
        AuditRecord {
            sequence,
            occurred_at: format!("2025-03-0{}T10:15:30.123456Z", sequence % 9 + 1),
            actor_id: format!("agent-{}", sequence % 3),
            actor_role: "agent".into(),
            action: if sequence.is_multiple_of(2) {
                "customer.read"
            } else {
                "customer.update"
            }
            .into(),
            resource_type: "customer".into(),
            resource_id: (!sequence.is_multiple_of(4)).then(|| format!("0190a3c4-{sequence:04}")),
            fields: vec!["email".into(), "phone".into()],
            purpose: (sequence.is_multiple_of(2)).then(|| "complaint-handling".into()),
            outcome: "success".into(),
            request_id: format!("req-{sequence}"),
            client_address: Some("192.0.2.10".into()),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// A correctly sealed chain of `n` records.
    fn chain(n: u64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for sequence in 1..=n {
            let prev = out
                .last()
                .map_or(GENESIS_HASH.to_string(), |r| r.hash.clone());
            out.push(draft(sequence).seal(&prev));
        }
        out
    }

    fn broken_at(sequence: u64, reason: BreakReason) -> Result<u64, ChainBreak> {
        Err(ChainBreak { sequence, reason })
    }

    #[test]
    fn an_intact_chain_verifies() {
        let records = chain(6);
        assert_eq!(records[0].prev_hash, GENESIS_HASH);
        assert!(records.iter().all(|r| r.hash.len() == 64));
        assert_eq!(verify_chain(&records), Ok(6));
        assert_eq!(verify_chain(records.clone()), Ok(6));
        assert_eq!(verify_chain(Vec::<AuditRecord>::new()), Ok(0));
        assert_eq!(verify_chain_from(3, &records[2].hash, &records[3..]), Ok(3));
    }

    #[test]
    fn canonical_layout_is_as_documented() {
        // Rebuilds the documented layout by hand: a change here breaks every stored chain.
        let record = AuditRecord {
            sequence: 1,
            occurred_at: "2025-01-01T00:00:00.000000Z".into(),
            actor_id: "a".into(),
            actor_role: "r".into(),
            action: "x".into(),
            resource_type: "t".into(),
            resource_id: None,
            fields: vec![],
            purpose: None,
            outcome: "success".into(),
            request_id: "q".into(),
            client_address: None,
            prev_hash: String::new(),
            hash: String::new(),
        };
        // Written out independently of `push_str`, from the documented layout.
        let text = |s: &str| [&(s.len() as u64).to_be_bytes()[..], s.as_bytes()].concat();
        let expected = [
            text("aloft.audit.v1"),
            1u64.to_be_bytes().to_vec(),
            text("2025-01-01T00:00:00.000000Z"),
            text("a"),
            text("r"),
            text("x"),
            text("t"),
            vec![0],
            0u64.to_be_bytes().to_vec(),
            vec![0],
            text("success"),
            text("q"),
            vec![0],
        ]
        .concat();
        assert_eq!(record.canonical_bytes(), expected);

        let input = [text(GENESIS_HASH), expected].concat();
        let digest: String = Sha256::digest(&input)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(compute_hash(GENESIS_HASH, &record), digest);
    }

    #[test]
    fn sha256_matches_the_fips_180_2_example() {
        let digest: String = Sha256::digest(b"abc")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn the_layout_is_unambiguous() {
        // Moving text between adjacent fields, or between absent and empty, changes the hash.
        let base = draft(2);
        assert!(base.purpose.is_some());
        let mut shifted = base.clone();
        shifted.actor_id.push('x');
        shifted.actor_role = shifted.actor_role[1..].to_string();
        let mut empty = base.clone();
        empty.purpose = Some(String::new());
        let mut absent = base.clone();
        absent.purpose = None;
        let mut joined = base.clone();
        joined.fields = vec!["emailphone".into()];
        let mut split = base.clone();
        split.fields = vec!["email".into(), "".into(), "phone".into()];
        let hashes: Vec<String> = [&base, &shifted, &empty, &absent, &joined, &split]
            .iter()
            .map(|r| compute_hash(GENESIS_HASH, r))
            .collect();
        for (i, a) in hashes.iter().enumerate() {
            for b in &hashes[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn editing_any_field_is_detected_at_that_record() {
        type Edit = fn(&mut AuditRecord);
        let edits: [(&str, Edit); 14] = [
            ("sequence", |r| r.sequence += 100),
            ("occurred_at", |r| r.occurred_at.replace_range(0..4, "2024")),
            ("actor_id", |r| r.actor_id = "agent-9".into()),
            ("actor_role", |r| r.actor_role = "supervisor".into()),
            ("action", |r| r.action = "customer.delete".into()),
            ("resource_type", |r| r.resource_type = "case".into()),
            ("resource_id", |r| r.resource_id = None),
            ("fields", |r| {
                r.fields.pop();
            }),
            ("purpose", |r| r.purpose = Some("marketing".into())),
            ("outcome", |r| r.outcome = "denied".into()),
            ("request_id", |r| r.request_id = "req-x".into()),
            ("client_address", |r| r.client_address = None),
            ("prev_hash", |r| r.prev_hash = GENESIS_HASH.into()),
            ("hash", |r| r.hash = "f".repeat(64)),
        ];
        for (name, edit) in edits {
            let mut records = chain(5);
            edit(&mut records[2]);
            let result = verify_chain(&records);
            let expected = match name {
                "sequence" => BreakReason::SequenceGap { found: 103 },
                "prev_hash" => BreakReason::PrevHashMismatch,
                _ => BreakReason::HashMismatch,
            };
            assert_eq!(result, broken_at(3, expected), "{name}");
        }
    }

    #[test]
    fn an_edited_and_rehashed_record_is_detected_at_the_next_one() {
        let mut records = chain(5);
        records[2].outcome = "denied".into();
        let prev = records[1].hash.clone();
        records[2] = records[2].clone().seal(&prev);
        assert_eq!(
            verify_chain(&records),
            broken_at(4, BreakReason::PrevHashMismatch)
        );
    }

    #[test]
    fn deleting_a_record_is_detected_where_it_was() {
        for missing in 0..4 {
            let mut records = chain(5);
            records.remove(missing);
            let sequence = missing as u64 + 1;
            assert_eq!(
                verify_chain(&records),
                broken_at(
                    sequence,
                    BreakReason::SequenceGap {
                        found: sequence + 1
                    }
                ),
                "deleted {sequence}"
            );
        }
        // Truncating the tail is only visible against a checkpoint kept elsewhere.
        let records = chain(5);
        assert_eq!(verify_chain(&records[..4]), Ok(4));
    }

    #[test]
    fn reordering_is_detected_at_the_first_moved_record() {
        let mut records = chain(5);
        records.swap(1, 3);
        assert_eq!(
            verify_chain(&records),
            broken_at(2, BreakReason::SequenceGap { found: 4 })
        );

        // Renumbering the swapped records to hide the swap breaks the hash links instead.
        let mut records = chain(5);
        records.swap(1, 2);
        records[1].sequence = 2;
        records[2].sequence = 3;
        assert_eq!(
            verify_chain(&records),
            broken_at(2, BreakReason::PrevHashMismatch)
        );
    }

    #[test]
    fn insertion_is_detected_at_the_inserted_position() {
        // A forged record that links correctly to its predecessor...
        let mut records = chain(5);
        let forged = draft(3).seal(&records[1].hash);
        records.insert(2, forged);
        // ...pushes the genuine record 3 to where 4 is expected.
        assert_eq!(
            verify_chain(&records),
            broken_at(4, BreakReason::SequenceGap { found: 3 })
        );

        // A forged record with a made-up hash is caught where it stands.
        let mut records = chain(5);
        let mut forged = draft(3);
        forged.prev_hash = records[1].hash.clone();
        forged.hash = "ab".repeat(32);
        records.insert(2, forged);
        assert_eq!(
            verify_chain(&records),
            broken_at(3, BreakReason::HashMismatch)
        );

        // Renumbering everything after a linked forgery still breaks the next link.
        let mut records = chain(5);
        records.insert(2, draft(3).seal(&records[1].hash));
        for (i, r) in records.iter_mut().enumerate().skip(3) {
            r.sequence = i as u64 + 1;
        }
        assert_eq!(
            verify_chain(&records),
            broken_at(4, BreakReason::PrevHashMismatch)
        );
    }

    #[test]
    fn breaks_read_as_sentences() {
        let err = ChainBreak {
            sequence: 7,
            reason: BreakReason::SequenceGap { found: 9 },
        };
        assert_eq!(
            err.to_string(),
            "audit chain broken at sequence 7: found sequence 9 instead"
        );
    }

    #[test]
    fn records_round_trip_through_json() {
        let records = chain(3);
        let json = serde_json::to_string(&records).unwrap();
        let back: Vec<AuditRecord> = serde_json::from_str(&json).unwrap();
        assert_eq!(verify_chain(back), Ok(3));
    }
}
