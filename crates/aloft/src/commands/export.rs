//! `aloft export parquet --output DIR`: the lake export (`aloft_lake`) of an existing instance.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};

use aloft_customers::CustomerStore;
use aloft_kernel::AccessContext;
use aloft_kernel::keys::CustomerKeys;

use super::StorageArgs;

/// What to export.
#[derive(Debug, Subcommand)]
pub(crate) enum ExportCommand {
    /// Pseudonymised facts (customers, flight segments, interactions) as Parquet files
    /// partitioned by date, for DuckDB, Spark or Trino. Incremental: a second run into the same
    /// directory writes only what changed since the first.
    Parquet(ParquetArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ParquetArgs {
    #[command(flatten)]
    storage: StorageArgs,

    /// The lake directory (created if missing; an earlier export's directory continues it).
    #[arg(long)]
    output: PathBuf,

    /// How far behind the present the export stops, in milliseconds (transactions stamped
    /// before they committed are caught by the next run).
    #[arg(long, default_value_t = 5_000, hide = true)]
    settle_ms: i64,
}

/// Runs `aloft export …`.
pub(crate) async fn run(command: ExportCommand) -> anyhow::Result<()> {
    let ExportCommand::Parquet(args) = command;
    let db = args.storage.open_existing("nothing was exported").await?;
    let keys = Arc::new(aloft_access::InstanceKeys::load(&db, &args.storage.key_source()).await?);
    // The lake's own pseudonym key: derived for this purpose alone, so lake pseudonyms match
    // no blind index or id used anywhere else.
    let pseudonym_key = *keys.derive_secret("lake-pseudonyms");
    let customer_keys: Arc<dyn CustomerKeys> = Arc::new(CustomerStore::new(db.clone(), keys));
    let exporter = aloft_lake::Exporter::new(db.clone(), customer_keys, pseudonym_key)
        .settling(chrono::Duration::milliseconds(args.settle_ms));
    let report = exporter
        .export(&args.output, &AccessContext::system("lake-export"))
        .await?;
    db.close().await;
    let rows: Vec<String> = report
        .run
        .rows
        .iter()
        .map(|(table, n)| format!("{n} {table}"))
        .collect();
    println!(
        "{} export {} into {}: {} in {} file(s), changes up to {}.",
        if report.first { "First" } else { "Incremental" },
        report.run.id,
        args.output.display(),
        if rows.is_empty() {
            "nothing changed".to_owned()
        } else {
            rows.join(", ")
        },
        report.run.files.len(),
        report
            .run
            .until
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    let l = &report.run.left_out;
    if l.customers + l.travel_records > 0 {
        println!(
            "Left out for the analytics purpose (the privacy register): {} profile(s) and {} travel record(s) of {} person(s) who objected and {} whose processing is restricted.",
            l.customers, l.travel_records, l.objected_people, l.restricted_people
        );
    }
    Ok(())
}
