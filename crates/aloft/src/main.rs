//! The `aloft` command: parses flags and environment, then hands each subcommand to its module
//! in [`commands`] (`serve` assembles the application through `aloft::app`).

mod commands;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use aloft::bench::{self, BenchArgs};
use aloft_kernel::telemetry::{LogFormat, init_telemetry};

use commands::StorageArgs;
use commands::audit::AuditCommand;
use commands::compensation::CompensationCommand;
use commands::demo::DemoArgs;
use commands::export::ExportCommand;
use commands::import::ImportCliArgs;
use commands::keys::KeysCommand;
use commands::model::ModelCommand;
use commands::resolve::ResolveCliArgs;
use commands::sentiment::SentimentCommand;
use commands::serve::ServeArgs;
use commands::token::TokenCommand;

/// mimalloc instead of glibc's allocator: the bulk import allocates and frees many small
/// strings and JSON values on several threads, and glibc's `malloc`/`free` (with its arena
/// consolidation) was 30 % of the import's CPU time (`BENCHMARKS.md`, ingestion).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Aloft — customer management for airlines: one trustworthy view of every passenger.
#[derive(Debug, Parser)]
#[command(name = "aloft", version, about, long_about = None)]
struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, env = "ALOFT_LOG_FORMAT", value_enum, default_value_t = LogFormatArg::Json)]
    log_format: LogFormatArg,

    /// OpenTelemetry collector to export traces to over OTLP/HTTP (JSON), e.g.
    /// http://127.0.0.1:4318 (spans are POSTed to `<URL>/v1/traces`). Without it nothing is
    /// exported; log lines carry trace ids either way.
    #[arg(long, global = true, env = "ALOFT_OTLP_ENDPOINT")]
    otlp_endpoint: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    /// One JSON object per line.
    Json,
    /// Human-readable text.
    Text,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web application and API (applies pending migrations first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations, then exit.
    Migrate(StorageArgs),
    /// Fill the database with a deterministic synthetic passenger population.
    Demo(DemoArgs),
    /// Load-test profile read, search and update; prints p50/p99 and throughput.
    Bench(BenchArgs),
    /// Measure bulk import with identity resolution, and streaming latency through JetStream.
    BenchIngest(aloft::bench_ingest::BenchIngestArgs),
    /// Check or export the hash-chained audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Bearer tokens for scripts and operators on this host.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Identity resolution over a CSV file: writes `record_id,cluster_id` for every row.
    Resolve(ResolveCliArgs),
    /// Import a source system's export (NDJSON CloudEvents or a booking CSV) into customer
    /// timelines, resolving every record to a customer profile. Re-running is idempotent;
    /// rejected lines go to a reject file with their reasons.
    Import(ImportCliArgs),
    /// Manage the instance keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Export pseudonymised facts for analysis outside Aloft (`export parquet --output DIR`).
    #[command(subcommand)]
    Export(ExportCommand),
    /// Passenger rights: judge a claim under EU261, UK261, APPR and the Montreal Convention.
    #[command(subcommand)]
    Compensation(CompensationCommand),
    /// Sentiment and airline topics of free text: `sentiment train` on labelled CSV,
    /// `sentiment classify` into `id,label,score,topics`.
    #[command(subcommand)]
    Sentiment(SentimentCommand),
    /// Predictive models: `model train churn` trains the defection model on the history in
    /// the database (time-based split), prints AUC, calibration and Brier score, stores it.
    #[command(subcommand)]
    Model(ModelCommand),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Kept until `main` returns: dropping it exports the spans still queued.
    let _traces = init_telemetry(
        match cli.log_format {
            LogFormatArg::Json => LogFormat::Json,
            LogFormatArg::Text => LogFormat::Text,
        },
        cli.otlp_endpoint.as_deref(),
    )
    .context("--otlp-endpoint")?;
    match cli.command {
        Command::Serve(args) => commands::serve::serve(*args).await,
        Command::Migrate(storage) => commands::migrate(storage).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::BenchIngest(args) => aloft::bench_ingest::run(args).await,
        Command::Audit(command) => commands::audit::run(command).await,
        Command::Keys(command) => commands::keys::run(command).await,
        Command::Export(command) => commands::export::run(command).await,
        Command::Compensation(command) => {
            if !commands::compensation::run(command)? {
                std::process::exit(2);
            }
            Ok(())
        }
        Command::Sentiment(command) => commands::sentiment::run(command),
        Command::Model(command) => commands::model::run(command).await,
        Command::Resolve(args) => commands::resolve::run(args),
        Command::Import(args) => commands::import::import(args).await,
        Command::Token(command) => commands::token::run(command).await,
    }
}
