//! `aloft demo` and the demo data `aloft serve --demo` loads: first the demo population
//! (synthetic customers, their travel history, cross-source duplicates for identity
//! resolution), then each module's own data through its demo-data hook
//! (`DomainModule::demo_data`), which refers to the population's travellers.

use std::time::Instant;

use anyhow::Context;
use clap::Args;

use aloft::app::{AppConfig, Application};
use aloft_customers::CustomerStore;
use aloft_module::DemoContext;

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

/// Loads the whole demo: the population ([`load_population`]), then every module's demo data
/// in module order. Idempotent, like each of its parts.
pub(crate) async fn load_demo(app: &Application, seed: u64, customers: u64) -> anyhow::Result<()> {
    let travellers = load_population(app.customers(), seed, customers).await?;
    let demo = DemoContext {
        seed,
        travellers,
        now: chrono::Utc::now(),
    };
    for (module, data) in app.demo_data() {
        let start = Instant::now();
        let added = data
            .load(&demo)
            .await
            .with_context(|| format!("the {module} module's demo data"))?;
        if let Some(line) = added {
            println!("{line} ({:.1} s)", start.elapsed().as_secs_f64());
        }
    }
    Ok(())
}

/// Adds `customers` deterministic demo customers (from `seed`) unless customers exist, a
/// travel history for the first [`DEMO_TRAVELLERS`] of them, and their duplicates in other
/// source systems; returns the travellers.
pub(crate) async fn load_population(
    store: &CustomerStore,
    seed: u64,
    customers: u64,
) -> anyhow::Result<Vec<aloft_customers::CustomerId>> {
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
    load_demo_duplicates(store, travel).await?;
    Ok(ids)
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

/// Runs `aloft demo`: assembles the application as `aloft serve` does (so every module's
/// demo-data hook is there), on a loopback port nobody is served on, and loads the demo.
pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let app = Application::build(AppConfig::loopback(
        args.storage.settings(),
        args.storage.key_source(),
    ))
    .await?;
    app.customers().seal_plaintext_rows().await?;
    load_demo(&app, args.seed, args.customers).await
}
