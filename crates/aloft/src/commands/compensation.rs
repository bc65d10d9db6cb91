//! `aloft compensation evaluate`: the evaluation contract on the command line — a claim as JSON
//! on standard input, the decisions as JSON on standard output (`aloft_rights`).

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use aloft_rights::Rules;

/// Passenger-rights work.
#[derive(Debug, Subcommand)]
pub(crate) enum CompensationCommand {
    /// Judge one claim: reads it as JSON on stdin, prints the decision per regime as JSON.
    /// A claim with a missing or invalid fact prints a problem naming every one (JSON pointers)
    /// and exits with status 2.
    Evaluate(EvaluateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct EvaluateArgs {
    /// Amounts, thresholds and reductions to judge by, instead of the compiled-in ones (a JSON
    /// document shaped like crates/rights/src/rules.json).
    #[arg(long)]
    rules: Option<PathBuf>,
}

/// Runs `aloft compensation …`; `Ok(false)` when the claim was refused.
pub(crate) fn run(command: CompensationCommand) -> anyhow::Result<bool> {
    let CompensationCommand::Evaluate(args) = command;
    let rules = match &args.rules {
        Some(path) => Rules::from_json(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )?,
        None => Rules::default_rules(),
    };
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the claim from standard input")?;
    let claim: serde_json::Value = match serde_json::from_str(&input) {
        Ok(v) => v,
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"title": "The claim is not JSON", "detail": e.to_string(), "errors": []})
            );
            return Ok(false);
        }
    };
    match aloft_rights::evaluate_json(&claim, &rules) {
        Ok(decisions) => {
            println!("{}", serde_json::to_string_pretty(&decisions)?);
            Ok(true)
        }
        Err(errors) => {
            let errors: Vec<_> = errors
                .iter()
                .map(|e| serde_json::json!({"pointer": e.pointer, "detail": e.message}))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "title": "The claim cannot be judged: facts are missing or invalid",
                    "errors": errors,
                }))?
            );
            Ok(false)
        }
    }
}
