//! `aloft demo` and the demo data `aloft serve --demo` loads: synthetic customers, their travel
//! history, and cross-source duplicates for identity resolution.

use std::time::Instant;

use anyhow::Context;
use clap::Args;

use aloft_customers::CustomerStore;
use aloft_kernel::Database;

use super::StorageArgs;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    #[command(flatten)]
    storage: StorageArgs,

    /// Number of customers to create.
    #[arg(long, default_value_t = 100_000)]
    customers: u64,

    /// Seed of the generator: the same seed gives the same population.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// How many demo customers get a travel history.
const DEMO_TRAVELLERS: i64 = 2_000;

/// Adds `customers` deterministic demo customers (from `seed`) unless customers exist, and a
/// travel history for the first [`DEMO_TRAVELLERS`] of them.
pub(crate) async fn load_demo(
    store: &CustomerStore,
    seed: u64,
    customers: u64,
) -> anyhow::Result<()> {
    let db = store.database();
    let start = Instant::now();
    let step = (customers / 10).max(1_000);
    let mut next_report = step;
    let created = aloft_customers::demo::load(store, seed, customers, |done| {
        if done >= next_report || done == customers {
            eprintln!("demo data: {done}/{customers} customers");
            next_report += step;
        }
    })
    .await?;
    if created > 0 {
        db.analyze().await?;
    }
    if created == 0 {
        println!("The database already holds customers; demo customers not loaded again.");
    } else {
        println!(
            "Created {created} demo customers in {:.1} s.",
            start.elapsed().as_secs_f64()
        );
    }
    // Travel history for the first customers (idempotent: a second run adds nothing).
    let start = Instant::now();
    let ids = store.sample_ids(DEMO_TRAVELLERS).await?;
    let travel = aloft_travel::TravelStore::new(db.clone(), std::sync::Arc::new(store.clone()));
    let records = aloft_travel::demo::load(&travel, seed, &ids).await?;
    if records > 0 {
        println!(
            "Recorded {records} demo travel records (bookings, bags, purchases, calls, feedback, lounge visits) for {} customers in {:.1} s.",
            ids.len(),
            start.elapsed().as_secs_f64()
        );
    }
    load_demo_duplicates(store, travel).await
}

/// How many demo travellers other source systems also know (cross-source duplicates).
const DEMO_DUPLICATES: i64 = 400;

/// Sends the demo duplicates (`aloft_ingest::demo`) through the ingestion pipeline, so identity
/// resolution links them (and sends the uncertain ones to the review queue). Idempotent.
pub(crate) async fn load_demo_duplicates(
    store: &CustomerStore,
    travel: aloft_travel::TravelStore,
) -> anyhow::Result<()> {
    let mut customers = Vec::new();
    for id in store.sample_ids(DEMO_DUPLICATES).await? {
        if let Some(c) = store.get(id).await? {
            customers.push(c);
        }
    }
    let events: Vec<aloft_ingest::SourceEvent> = aloft_ingest::demo::duplicates(&customers)
        .iter()
        .enumerate()
        .filter_map(|(i, v)| aloft_ingest::envelope::parse_value(i as u64, v).ok())
        .collect();
    let pipeline = aloft_ingest::Pipeline::new(store.database().clone(), store.clone(), travel);
    let report = pipeline
        .ingest(events, &aloft_kernel::AccessContext::system("demo"))
        .await?;
    if report.recorded > 0 {
        let methods: Vec<String> = report
            .linked_by_method
            .iter()
            .map(|(m, n)| format!("{n} by {m}"))
            .collect();
        println!(
            "Linked {} demo records from other source systems ({}); {} uncertain matches wait in the identity review queue.",
            report.recorded,
            methods.join(", "),
            aloft_ingest::merge::open_reviews(store.database()).await?
        );
    }
    if report.rejected_events > 0 {
        anyhow::bail!("demo duplicates rejected: {:?}", report.rejected);
    }
    Ok(())
}

/// Runs `aloft demo`.
pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let db = Database::connect(&args.storage.settings())
        .await
        .context("cannot open the database")?;
    aloft_kernel::migrate::run(&db).await?;
    let keys = aloft_access::InstanceKeys::load(&db, &args.storage.key_source()).await?;
    let store = CustomerStore::new(db.clone(), std::sync::Arc::new(keys));
    store.seal_plaintext_rows().await?;
    load_demo(&store, args.seed, args.customers).await
}
