//! Accuracy and speed on the FEBRL data sets (see `data/febrl/README.md`), in release mode:
//!
//! ```sh
//! cargo run --release -p aloft-identity --example febrl_bench            # figures
//! cargo run --release -p aloft-identity --example febrl_bench -- --diagnose   # plus errors
//! ```
//!
//! FEBRL 3 is deduplicated as one file; FEBRL 4 is linked (file A against file B, only pairs
//! across the files are compared and counted). The `soc_sec_id` column is ignored, and the
//! record ids are used only to score the result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use aloft_identity::csv::read_records;
use aloft_identity::evaluate::pairwise;
use aloft_identity::{PersonRecord, Resolver, ResolverConfig};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/febrl")
}

fn load(file: &str, source: &str) -> Vec<PersonRecord> {
    let maps = [("soc_sec_id".to_owned(), "ignore".to_owned())];
    read_records(&data_dir().join(file), source, &maps)
        .expect("read FEBRL file")
        .records
}

/// The entity number in `rec-123-org` / `rec-123-dup-0`: ground truth only.
fn entity(record: &PersonRecord) -> u32 {
    record
        .record_id
        .split('-')
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("FEBRL record id")
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn run(name: &str, files: &[(&str, &str)], link: bool, diagnose: bool) {
    let repeats: usize = std::env::args()
        .find_map(|a| a.strip_prefix("--repeat=").and_then(|n| n.parse().ok()))
        .unwrap_or(5);
    let mut config = ResolverConfig {
        link_only: link,
        ..ResolverConfig::default()
    };
    config.train.em_u = !std::env::args().any(|a| a == "--fixed-u");
    config.household_guard = !std::env::args().any(|a| a == "--no-household-guard");
    if let Some(p) = std::env::args().find_map(|a| {
        a.strip_prefix("--match-probability=")
            .and_then(|p| p.parse().ok())
    }) {
        config.match_probability = p;
    }
    // End to end (read the CSV files, resolve), repeated; the median is reported.
    let mut end_to_end = Vec::new();
    let mut resolve_only = Vec::new();
    let mut records = Vec::new();
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        records = files
            .iter()
            .flat_map(|(file, source)| load(file, source))
            .collect();
        let read = start.elapsed().as_secs_f64();
        let mut resolver = Resolver::new(config.clone());
        let report = resolver.resolve_batch(&records).expect("resolve");
        let total = start.elapsed().as_secs_f64();
        end_to_end.push(total);
        resolve_only.push(total - read);
        last = Some((resolver, report));
    }
    let end_to_end = median(end_to_end);
    let elapsed = median(resolve_only);
    let (resolver, report) = last.expect("at least one run");
    let truth: Vec<u32> = records.iter().map(entity).collect();
    let sources: Vec<u32> = records.iter().map(|r| u32::from(r.source == "b")).collect();
    let metrics = pairwise(
        &report.assignments,
        &truth,
        link.then_some(sources.as_slice()),
    );
    println!(
        "{name}: {} records, {} candidate pairs, {metrics}\n  resolve {:.3} s ({:.0} records/s), read CSV + resolve {:.3} s median of {repeats} ({:.0} records/s)",
        records.len(),
        report.pairs_compared,
        elapsed,
        records.len() as f64 / elapsed,
        end_to_end,
        records.len() as f64 / end_to_end,
    );
    if let Some(t) = &report.training {
        println!(
            "  EM: {} iterations over {} patterns, prior {:.4}, accepted {}",
            t.iterations, t.patterns, t.prior, t.accepted
        );
    }
    if link {
        let all = pairwise(&report.assignments, &truth, None);
        println!("  same result scored as one combined deduplication: {all}");
    }

    // Incremental: a resolver with the trained model, fed one record at a time.
    let mut incremental = Resolver::with_model(
        ResolverConfig {
            train_on_batch: false,
            ..config
        },
        resolver.model().clone(),
    );
    let start = Instant::now();
    let mut worst = 0.0f64;
    for r in &records {
        let t = Instant::now();
        incremental.resolve(r).expect("resolve");
        worst = worst.max(t.elapsed().as_secs_f64());
    }
    let inc_elapsed = start.elapsed().as_secs_f64();
    let assignments: Vec<_> = records
        .iter()
        .map(|r| {
            incremental
                .golden_id(&r.source, &r.record_id)
                .expect("known")
        })
        .collect();
    let inc = pairwise(&assignments, &truth, link.then_some(sources.as_slice()));
    println!(
        "  incremental (one record at a time, trained model): {:.1} µs/record mean, {:.0} µs worst, {inc}",
        inc_elapsed * 1e6 / records.len() as f64,
        worst * 1e6
    );

    if diagnose {
        println!("{}", resolver.model());
        let mut by_entity: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, &e) in truth.iter().enumerate() {
            by_entity.entry(e).or_default().push(i);
        }
        let mut shown = 0;
        for members in by_entity.values() {
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    if report.assignments[i] != report.assignments[j]
                        && (!link || sources[i] != sources[j])
                        && shown < 25
                    {
                        shown += 1;
                        let (a, b) = (&records[i], &records[j]);
                        let e = resolver
                            .explain((&a.source, &a.record_id), (&b.source, &b.record_id))
                            .expect("known");
                        println!("FN {} | {}\n   {e}", summary(a), summary(b));
                    }
                }
            }
        }
        let mut by_cluster: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, g) in report.assignments.iter().enumerate() {
            by_cluster.entry(*g).or_default().push(i);
        }
        let mut shown = 0;
        for members in by_cluster.values() {
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    if truth[i] != truth[j] && (!link || sources[i] != sources[j]) && shown < 25 {
                        shown += 1;
                        let (a, b) = (&records[i], &records[j]);
                        let e = resolver
                            .explain((&a.source, &a.record_id), (&b.source, &b.record_id))
                            .expect("known");
                        println!("FP {} | {}\n   {e}", summary(a), summary(b));
                    }
                }
            }
        }
    }
}

fn summary(r: &PersonRecord) -> String {
    let a = &r.address;
    let f = |v: &Option<String>| v.clone().unwrap_or_default();
    format!(
        "{} {} {} {} {} {} {} {} {} {}",
        r.record_id,
        f(&r.given_name),
        f(&r.surname),
        f(&r.date_of_birth),
        f(&a.street_number),
        f(&a.line1),
        f(&a.line2),
        f(&a.city),
        f(&a.postcode),
        f(&a.state)
    )
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, values: &'a [String]) -> &'a str {
        &values[self.below(values.len())]
    }
}

/// A one-character typo (substitution, deletion or transposition).
fn typo(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    if chars.len() < 3 {
        return s.to_owned();
    }
    let i = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 => chars[i] = (b'a' + rng.below(26) as u8) as char,
        1 => {
            chars.remove(i);
        }
        _ => chars.swap(i, i + 1),
    }
    chars.into_iter().collect()
}

/// Incremental latency on a large index: synthetic people built from the FEBRL value pools
/// (names, streets, suburbs), indexed one by one, then new arrivals (half of them typo
/// duplicates of indexed people) resolved and timed individually.
fn scale(index_size: usize, arrivals: usize) {
    let mut pools: [Vec<String>; 4] = Default::default();
    for r in load("dataset3.csv", "pool")
        .into_iter()
        .chain(load("dataset4a.csv", "pool"))
    {
        let a = r.address;
        for (pool, v) in pools
            .iter_mut()
            .zip([r.given_name, r.surname, a.line1, a.city])
        {
            if let Some(v) = v {
                pool.push(v);
            }
        }
    }
    let [givens, surnames, streets, cities] = &pools;
    let mut rng = Rng(42);
    let person = |rng: &mut Rng, id: usize| {
        let mut r = PersonRecord::new("synthetic", id.to_string())
            .with_name(rng.pick(givens), rng.pick(surnames))
            .with_dob(&format!(
                "{}{:02}{:02}",
                1920 + rng.below(90),
                1 + rng.below(12),
                1 + rng.below(28)
            ));
        r.address.street_number = Some((1 + rng.below(300)).to_string());
        r.address.line1 = Some(rng.pick(streets).to_owned());
        r.address.city = Some(rng.pick(cities).to_owned());
        r.address.postcode = Some((2000 + rng.below(7000)).to_string());
        if rng.below(2) == 0 {
            r.email = Some(format!("p{id}@example.com"));
        }
        r
    };
    let people: Vec<PersonRecord> = (0..index_size).map(|i| person(&mut rng, i)).collect();
    // Train on a sample, as a deployment would train on its history, then index one by one.
    let mut trainer = Resolver::new(ResolverConfig::default());
    trainer
        .resolve_batch(&people[..20_000.min(index_size)])
        .expect("train");
    let config = ResolverConfig {
        train_on_batch: false,
        ..ResolverConfig::default()
    };
    let mut resolver = Resolver::with_model(config, trainer.model().clone());
    let start = Instant::now();
    for p in &people {
        resolver.resolve(p).expect("resolve");
    }
    let build = start.elapsed().as_secs_f64();
    println!(
        "  {} distinct synthetic people indexed as {} profiles",
        index_size,
        resolver.profile_count()
    );
    if std::env::args().any(|a| a == "--diagnose") {
        println!("{}", trainer.model());
    }
    let mut latencies = Vec::with_capacity(arrivals);
    let mut matched = 0;
    for k in 0..arrivals {
        let record = if k % 2 == 0 {
            let original = &people[rng.below(index_size)];
            let mut dup = original.clone();
            dup.source = "arrivals".into();
            dup.record_id = format!("dup-{k}");
            dup.given_name = dup.given_name.map(|g| typo(&mut rng, &g));
            dup.email = None;
            dup
        } else {
            let mut p = person(&mut rng, index_size + k);
            p.source = "arrivals".into();
            p
        };
        let t = Instant::now();
        let resolution = resolver.resolve(&record).expect("resolve");
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
        if k % 2 == 0
            && matches!(
                resolution.decision,
                aloft_identity::Decision::Matched { .. }
            )
        {
            matched += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "Incremental on a {index_size}-record index (built one by one in {build:.2} s, {:.1} µs/record): {arrivals} arrivals, \
         latency p50 {:.1} µs, p99 {:.1} µs, max {:.0} µs; typo duplicates matched {matched}/{}",
        build * 1e6 / index_size as f64,
        at(0.5),
        at(0.99),
        at(1.0),
        arrivals / 2
    );
}

fn main() {
    let diagnose = std::env::args().any(|a| a == "--diagnose");
    run("FEBRL3 (dedupe)", &[("dataset3.csv", "a")], false, diagnose);
    run(
        "FEBRL4 (link A-B)",
        &[("dataset4a.csv", "a"), ("dataset4b.csv", "b")],
        true,
        diagnose,
    );
    if !std::env::args().any(|a| a == "--no-scale") {
        let size = std::env::args()
            .find_map(|a| a.strip_prefix("--index=").and_then(|n| n.parse().ok()))
            .unwrap_or(100_000);
        scale(size, 10_000);
    }
}
