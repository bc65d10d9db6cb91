//! `aloft audit verify|export`: check the hash-chained trail; write it out for a SIEM.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use aloft_kernel::Database;

use super::StorageArgs;

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Verify the whole chain; names the first broken link and exits 1 if there is one.
    Verify(StorageArgs),
    /// Write every audit record as JSON lines (for a SIEM), oldest first.
    Export {
        #[command(flatten)]
        storage: StorageArgs,
        /// File to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

/// Runs `aloft audit …`.
pub(crate) async fn run(command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify(storage) => {
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            match aloft_kernel::audit::verify(&db).await? {
                Ok(n) => {
                    println!("The audit trail is intact: {n} record(s), every link verified.");
                    Ok(())
                }
                Err(broken) => {
                    println!("The audit trail is BROKEN: {broken}");
                    std::process::exit(1);
                }
            }
        }
        AuditCommand::Export { storage, output } => {
            use std::io::Write;
            let db = Database::connect(&storage.settings())
                .await
                .context("cannot open the database")?;
            let mut out: Box<dyn Write> = match &output {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            // Page through the trail so that memory stays flat however long it is.
            let (mut after, mut count) = (0u64, 0usize);
            loop {
                let records = aloft_kernel::audit::page_after(&db, after, 10_000).await?;
                let Some(last) = records.last() else { break };
                after = last.sequence;
                for r in &records {
                    serde_json::to_writer(&mut out, r)?;
                    out.write_all(b"\n")?;
                }
                count += records.len();
            }
            out.flush()?;
            if output.is_some() {
                eprintln!("Exported {count} audit record(s).");
            }
            Ok(())
        }
    }
}
