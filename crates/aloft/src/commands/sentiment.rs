//! `aloft sentiment train|classify`: the CSV contract of issue 22 around `aloft_sentiment`.
//! Outputs are written to a temporary file beside the target and renamed into place, so a
//! failed run never leaves a half-written model or result.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use aloft_sentiment::{Label, Model};

/// Sentiment and topics of free text.
#[derive(Debug, Subcommand)]
pub(crate) enum SentimentCommand {
    /// Train a model on labelled texts (CSV `id,text,label`, label one of negative, neutral,
    /// positive); prints the held-out accuracy.
    Train(TrainArgs),
    /// Label texts (CSV `id,text`) into CSV `id,label,score,topics`.
    Classify(ClassifyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The labelled CSV file.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the model (JSON).
    #[arg(long)]
    output: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct ClassifyArgs {
    /// A model written by `aloft sentiment train`; without it, the built-in lexicon model.
    #[arg(long)]
    model: Option<PathBuf>,
    /// The CSV file of texts (`id,text`).
    #[arg(long)]
    input: PathBuf,
    /// Where to write `id,label,score,topics`.
    #[arg(long)]
    output: PathBuf,
}

/// Reads a model file written by `aloft sentiment train`.
pub(crate) fn load_model(path: &Path) -> anyhow::Result<Model> {
    let json = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the sentiment model {}", path.display()))?;
    Model::from_json(&json).with_context(|| format!("{}", path.display()))
}

/// Writes through `write` into a temporary file next to `target`, then renames it over
/// `target`; on any error the temporary file is removed and `target` is untouched.
fn write_atomically(
    target: &Path,
    write: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .with_context(|| format!("{} is not a file name", target.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        write(&mut file)?;
        file.flush()?;
        file.sync_all()?;
        std::fs::rename(&tmp, target).with_context(|| format!("cannot write {}", target.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Runs `aloft sentiment …`.
pub(crate) fn run(command: SentimentCommand) -> anyhow::Result<()> {
    match command {
        SentimentCommand::Train(args) => {
            let file = std::fs::File::open(&args.input)
                .with_context(|| format!("cannot read {}", args.input.display()))?;
            let rows = aloft_sentiment::read_labelled(std::io::BufReader::new(file))
                .with_context(|| format!("{}", args.input.display()))?;
            let (model, report) = aloft_sentiment::train(&rows)?;
            let json = model.to_json();
            write_atomically(&args.output, |f| Ok(f.write_all(json.as_bytes())?))?;
            let pct =
                |a: Option<f64>| a.map_or("n/a".to_owned(), |a| format!("{:.1} %", a * 100.0));
            println!(
                "Trained a naive Bayes sentiment model on {} texts.",
                report.rows
            );
            for label in Label::ALL {
                println!("  {:<8} {}", label, report.per_label[label as usize]);
            }
            println!(
                "Held-out accuracy: {} on {} texts (trained on {}); built-in model on the same texts: {}.",
                pct(report.accuracy),
                report.held_out_rows,
                report.train_rows,
                pct(report.builtin_accuracy)
            );
            println!(
                "Model: {} ({} features), refit on all texts.",
                args.output.display(),
                report.features
            );
            Ok(())
        }
        SentimentCommand::Classify(args) => {
            let model = match &args.model {
                Some(path) => load_model(path)?,
                None => Model::builtin(),
            };
            let file = std::fs::File::open(&args.input)
                .with_context(|| format!("cannot read {}", args.input.display()))?;
            let started = std::time::Instant::now();
            let mut written = 0;
            write_atomically(&args.output, |f| {
                written = aloft_sentiment::classify_csv(
                    &model,
                    std::io::BufReader::new(file),
                    std::io::BufWriter::new(f),
                )
                .with_context(|| format!("{}", args.input.display()))?;
                Ok(())
            })?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "Labelled {written} texts with the {} model in {:.3} s ({:.0} texts/s).",
                model.describe(),
                secs,
                written as f64 / secs.max(1e-9)
            );
            Ok(())
        }
    }
}
