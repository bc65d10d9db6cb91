//! `aloft import`: a source system's export through the ingestion pipeline.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use aloft_customers::CustomerStore;
use aloft_kernel::Database;

use super::StorageArgs;

#[derive(Debug, Args)]
pub(crate) struct ImportCliArgs {
    #[command(flatten)]
    storage: StorageArgs,

    /// The source system's name: every record's `data.source` must equal it (CSV rows with an
    /// empty `source` column take it).
    #[arg(long)]
    source: String,

    /// Where rejected lines go (one JSON object per problem: line, pointer, column, reason,
    /// text). Default: FILE.rejects.ndjson.
    #[arg(long)]
    reject_file: Option<PathBuf>,

    /// Events linked and written per transaction. Larger batches import faster; smaller ones
    /// hold SQLite's single write slot for less time (about half a second at the default) while
    /// the server is also serving agents.
    #[arg(long, default_value_t = aloft_ingest::import::BATCH_EVENTS)]
    batch_events: usize,

    /// The file: `.ndjson`/`.jsonl` (one CloudEvent per line) or `.csv` (booking export).
    file: PathBuf,
}

/// `aloft import`: the file through the ingestion pipeline, with a progress line on stderr.
pub(crate) async fn import(args: ImportCliArgs) -> anyhow::Result<()> {
    use std::io::{IsTerminal, Write};
    let db = Database::connect(&args.storage.settings())
        .await
        .context("cannot open the database")?;
    aloft_kernel::migrate::run(&db).await?;
    let keys = aloft_access::InstanceKeys::load(&db, &args.storage.key_source()).await?;
    let customers = CustomerStore::new(db.clone(), std::sync::Arc::new(keys));
    customers.seal_plaintext_rows().await?;
    let travel = aloft_travel::TravelStore::new(db.clone(), std::sync::Arc::new(customers.clone()));
    travel.seal_plaintext_rows().await?;
    let pipeline = aloft_ingest::Pipeline::new(db.clone(), customers, travel);
    let started = Instant::now();
    pipeline.warm().await?;
    eprintln!(
        "identity resolution ready in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let tty = std::io::stderr().is_terminal();
    let mut last = Instant::now();
    let summary = aloft_ingest::import::run_import(
        aloft_ingest::import::ImportArgs {
            source: args.source,
            file: args.file,
            reject_file: args.reject_file,
            batch_events: args.batch_events,
        },
        &pipeline,
        &aloft_kernel::AccessContext::system("import"),
        |done, total| {
            let pct = (done * 100).checked_div(total).unwrap_or(100);
            if tty {
                eprint!("\r  {done}/{total} lines ({pct}%)");
                let _ = std::io::stderr().flush();
                if done == total {
                    eprintln!();
                }
            } else if last.elapsed() >= Duration::from_secs(5) || done == total {
                eprintln!("  {done}/{total} lines ({pct}%)");
                last = Instant::now();
            }
        },
    )
    .await?;
    println!("{summary}");
    println!("  rate:          {:.0} records/s", summary.rate());
    db.close().await;
    if summary.report.rejected_events > 0 {
        // Scripts notice partial imports; the accepted records are stored.
        std::process::exit(2);
    }
    Ok(())
}
