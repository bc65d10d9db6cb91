//! `aloft bench-ingest`: ingestion throughput and streaming latency.
//!
//! 1. **Bulk import.** Writes a deterministic NDJSON file of `--events` source events about
//!    `--passengers` people (most with a loyalty number, many only with a name and e-mail or name,
//!    date of birth and phone: see `aloft_ingest::synthetic`) and imports it exactly as
//!    `aloft import` does: parse, validate, resolve every record to one profile (creating
//!    profiles for new people), store records, timeline entries, outbox events and audit rows.
//! 2. **Streaming** (with `--nats-url`). Publishes events to JetStream at `--stream-rate` per
//!    second for `--stream-secs` while the durable consumer ingests them, and measures for every
//!    event the time from its publication to its commit (the moment it is visible on the
//!    timeline). Open loop: publication never waits for ingestion.
//!
//! Each run uses fresh event ids and a fresh source name, so runs can be repeated on the same
//! database. Output is Markdown for `BENCHMARKS.md`.

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use hdrhistogram::Histogram;
use sqlx::Row;

use aloft_customers::CustomerStore;
use aloft_ingest::Pipeline;
use aloft_ingest::consumer::{ConsumerSettings, run_consumer};
use aloft_ingest::import::{ImportArgs, run_import};
use aloft_ingest::synthetic;
use aloft_kernel::db::from_db_time;
use aloft_kernel::{AccessContext, Database, DatabaseSettings};
use aloft_travel::TravelStore;

/// Flags of `aloft bench-ingest`.
#[derive(Debug, Clone, Args)]
pub struct BenchIngestArgs {
    /// Database to benchmark (default: a SQLite file in --data-dir).
    #[arg(long, env = "ALOFT_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Directory of the SQLite database (and the generated file) when --database-url is not given.
    #[arg(long, default_value = "aloft-bench-ingest")]
    pub data_dir: std::path::PathBuf,

    /// Events in the bulk-import file.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,

    /// Distinct people the events are about.
    #[arg(long, default_value_t = 50_000)]
    pub passengers: u64,

    /// Events per import batch (one link step and one write transaction), as `aloft import
    /// --batch-events`.
    #[arg(long, default_value_t = aloft_ingest::import::BATCH_EVENTS)]
    pub batch_events: usize,

    /// NATS server for the streaming scenario (skipped without it).
    #[arg(long, env = "ALOFT_NATS_URL")]
    pub nats_url: Option<String>,

    /// Events per second published in the streaming scenario.
    #[arg(long, default_value_t = 2_000)]
    pub stream_rate: u32,

    /// Seconds the streaming scenario publishes.
    #[arg(long, default_value_t = 20)]
    pub stream_secs: u64,
}

/// Runs the benchmark and prints the results.
pub async fn run(args: BenchIngestArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir)?;
    let settings = match &args.database_url {
        Some(url) => DatabaseSettings::new(url.clone()),
        None => DatabaseSettings::sqlite_in(&args.data_dir),
    };
    let backend = if settings.url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let db = Database::connect(&settings)
        .await
        .context("cannot open the database")?;
    aloft_kernel::migrate::run(&db).await?;
    let key_source = aloft_access::KeySource::File(args.data_dir.join("aloft.keys"));
    let keys = std::sync::Arc::new(aloft_access::InstanceKeys::load(&db, &key_source).await?);
    let customers = CustomerStore::new(db.clone(), keys);
    let travel = TravelStore::new(db.clone(), std::sync::Arc::new(customers.clone()));
    let pipeline = Pipeline::new(db.clone(), customers.clone(), travel.clone());
    let run = format!("bench-{}", chrono::Utc::now().format("%Y%m%d%H%M%S"));
    let seed = 42;
    let before = customers.count().await?;

    // 1. Bulk import.
    let file = args.data_dir.join(format!("{run}.ndjson"));
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for i in 0..args.events {
            serde_json::to_writer(&mut out, &synthetic::event(seed, args.passengers, i, &run))?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
    }
    let t = Instant::now();
    pipeline.warm().await?;
    let warm = t.elapsed();
    let slot_before = db.write_slot_stats();
    let summary = run_import(
        ImportArgs {
            batch_events: args.batch_events,
            ..ImportArgs::new(run.clone(), file.clone())
        },
        &pipeline,
        &AccessContext::system("bench"),
        |_, _| {},
    )
    .await?;
    let slot = db.write_slot_stats().since(slot_before);
    let _ = std::fs::remove_file(&file);
    anyhow::ensure!(
        summary.report.rejected_events == 0,
        "the synthetic events were rejected: {:?}",
        summary.report.rejected.first()
    );
    let created = customers.count().await? - before;
    println!(
        "Backend: {backend}; {} events about {} people; {} profiles before",
        args.events, args.passengers, before
    );
    println!();
    println!("| Scenario | Records | Time | Throughput | Notes |");
    println!("|---|---:|---:|---:|---|");
    let methods: Vec<String> = summary
        .report
        .linked_by_method
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let writes = if backend == "SQLite" {
        format!(
            "{} write transactions held the write slot {:.1} s ({:.0} % of the import), writers queued {:.1} s",
            slot.transactions,
            slot.held.as_secs_f64(),
            100.0 * slot.held.as_secs_f64() / summary.elapsed.as_secs_f64(),
            slot.waited.as_secs_f64(),
        )
    } else {
        // No single write slot: transactions overlap, so their summed time says little.
        format!("{} write transactions", slot.transactions)
    };
    println!(
        "| bulk import with resolution | {} | {:.1} s | {:.0} records/s | {} new profiles; linked by {}; resolver seeded in {:.1} s; {writes} |",
        summary.report.recorded,
        summary.elapsed.as_secs_f64(),
        summary.rate(),
        created,
        methods.join(", "),
        warm.as_secs_f64(),
    );

    // 2. Streaming.
    if let Some(url) = &args.nats_url {
        stream(&args, url, &db, pipeline.clone(), seed, &format!("{run}-s")).await?;
    }
    db.close().await;
    Ok(())
}

async fn stream(
    args: &BenchIngestArgs,
    url: &str,
    db: &Database,
    pipeline: Pipeline,
    seed: u64,
    run: &str,
) -> anyhow::Result<()> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let settings = ConsumerSettings {
        stream: format!("BENCH_SOURCES_{id}"),
        subject_prefix: format!("bench_sources_{id}"),
        durable: format!("bench_{id}"),
        dead_letter_subject: format!("bench_dead_letter_{id}"),
        dead_letter_stream: format!("BENCH_DLQ_{id}"),
        ..ConsumerSettings::new(url)
    };
    let js = async_nats::jetstream::new(async_nats::connect(url).await?);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let consumer = tokio::spawn(run_consumer(settings.clone(), pipeline, async {
        let _ = stop_rx.await;
    }));
    for _ in 0..100 {
        if js.get_stream(&settings.stream).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subject = format!("{}.bench", settings.subject_prefix);
    let total = u64::from(args.stream_rate) * args.stream_secs;
    let mut published: HashMap<String, chrono::DateTime<chrono::Utc>> =
        HashMap::with_capacity(total as usize);
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.stream_rate.max(1)));
    let start = tokio::time::Instant::now();
    let mut acks = Vec::with_capacity(total as usize);
    for i in 0..total {
        tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
        let event = synthetic::event(seed + 1, args.passengers, i, run);
        let payload = event.to_string();
        published.insert(format!("{run}-{i}"), chrono::Utc::now());
        acks.push(js.publish(subject.clone(), payload.into()).await?);
    }
    for ack in acks {
        ack.await?;
    }
    let published_in = start.elapsed();
    // Wait for the consumer to drain.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut stored = 0i64;
    while Instant::now() < deadline {
        stored = sqlx::query_scalar("SELECT COUNT(*) FROM travel_records WHERE source = $1")
            .bind(run)
            .fetch_one(db.pool())
            .await?;
        if stored as u64 >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop_tx.send(());
    let _ = consumer.await;
    let rows =
        sqlx::query("SELECT source_record_id, recorded_at FROM travel_records WHERE source = $1")
            .bind(run)
            .fetch_all(db.pool())
            .await?;
    let mut h = Histogram::<u64>::new_with_bounds(1, 600_000, 3)?;
    for row in &rows {
        let id: String = row.try_get("source_record_id")?;
        let at = from_db_time(&row.try_get::<String, _>("recorded_at")?)?;
        if let Some(sent) = published.get(&id) {
            let ms = (at - *sent).num_milliseconds().max(1) as u64;
            h.record(ms.min(600_000))?;
        }
    }
    let _ = js.delete_stream(&settings.stream).await;
    let _ = js.delete_stream(&settings.dead_letter_stream).await;
    println!(
        "| streaming, published → on the timeline | {stored} of {total} | {:.1} s | {} events/s offered | p50 {} ms, p99 {} ms, max {} ms |",
        published_in.as_secs_f64(),
        args.stream_rate,
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.99),
        h.max()
    );
    anyhow::ensure!(
        stored as u64 == total,
        "only {stored} of {total} events arrived"
    );
    Ok(())
}
