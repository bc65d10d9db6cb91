//! `aloft model train churn`: trains the defection model on the history in the server's
//! database (time-based split), prints its validation AUC, calibration table and Brier score,
//! and stores it as the newest version — the one the 360° page's "Retention risk" tab uses.

use std::time::Instant;

use clap::{Args, Subcommand};

use aloft_churn::ChurnStore;
use aloft_churn::storage::decimal;
use aloft_kernel::AccessContext;

use super::StorageArgs;

/// Predictive models.
#[derive(Debug, Subcommand)]
pub(crate) enum ModelCommand {
    /// Train a model on the airline's history and store it.
    #[command(subcommand)]
    Train(TrainCommand),
}

/// Which model.
#[derive(Debug, Subcommand)]
pub(crate) enum TrainCommand {
    /// Defection (churn) risk: no flight in the six months after a cutoff. Trained at one
    /// cutoff, validated at a later one; prints AUC, the calibration table and the Brier score.
    Churn(ChurnArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ChurnArgs {
    #[command(flatten)]
    storage: StorageArgs,
}

/// Runs `aloft model …`.
pub(crate) async fn run(command: ModelCommand) -> anyhow::Result<()> {
    let ModelCommand::Train(TrainCommand::Churn(args)) = command;
    let db = args.storage.open_existing("no model was trained").await?;
    let store = ChurnStore::new(db.clone());
    let start = Instant::now();
    let result = store
        .train_and_store(chrono::Utc::now(), &AccessContext::system("model-train"))
        .await;
    db.close().await;
    let stored = result.map_err(|e| anyhow::anyhow!("the churn model was not trained: {e}"))?;
    let m = &stored.model;
    let x = &m.metrics;
    println!(
        "Trained churn model v{} in {:.2} s: defected = no flight in the {} days after a cutoff.",
        stored.version,
        start.elapsed().as_secs_f64(),
        m.window_days
    );
    println!(
        "Training cutoff {}: {} customers, {} defected. Validation cutoff {}: {} customers, {} defected.",
        m.train_cutoff,
        x.train_rows,
        x.train_defected,
        m.validation_cutoff,
        x.validation_rows,
        x.validation_defected
    );
    println!("AUC (validation): {:.3}", x.auc);
    println!(
        "Brier score: {:.4} (base rate only: {:.4})",
        x.brier, x.brier_baseline
    );
    println!("Calibration (validation, by decile of predicted risk):");
    println!("  decile  customers  predicted  observed");
    for b in &x.calibration {
        println!(
            "  {:>6}  {:>9}  {:>8.1}%  {:>7.1}%",
            b.decile,
            b.count,
            b.predicted * 100.0,
            b.observed * 100.0
        );
    }
    println!(
        "Expected value (next {} days, EUR): mean absolute error {} (without the risk {}), mean actual spend {}.",
        m.window_days,
        decimal(x.value_mae_minor),
        decimal(x.value_mae_naive_minor),
        decimal(x.value_mean_actual_minor)
    );
    println!("Coefficients (log-odds per standard deviation):");
    for c in m.coefficients() {
        println!("  {:<32} {:+.3}", c.feature, c.weight);
    }
    Ok(())
}
